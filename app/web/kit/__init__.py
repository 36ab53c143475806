"""The HTTP kit: how a request becomes an answer (routing, one transaction, the writer,
caches, limits, errors), and who is asking (the identity cookie, roles, the audit log of
their changes). Route modules use it; it knows nothing else of the product."""
