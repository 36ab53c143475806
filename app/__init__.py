"""OpenSpace: run an open space event and follow up what it agreed."""
