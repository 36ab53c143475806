"""Routes for facilitators, who run the day from a laptop."""
