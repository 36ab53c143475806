"""The domain: each module takes a session and plain values and returns domain objects."""
