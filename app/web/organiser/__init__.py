"""Routes for organisers: setting events up, following them up, exports and the audit log."""
