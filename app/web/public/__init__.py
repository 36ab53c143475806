"""Routes for everyone: the front door, the projector's display link, the live streams."""
