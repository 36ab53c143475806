"""The HTTP kit: how a request becomes an answer (routing, one transaction, the writer,
caches, limits, errors). Route modules use it; it knows nothing of the product."""
