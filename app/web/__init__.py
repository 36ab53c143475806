"""The web interface: routers by audience, and what they share."""
