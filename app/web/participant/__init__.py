"""Routes for participants (and action owners after the day), on their phones."""
