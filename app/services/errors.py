"""Errors the domain raises for people to read."""


class Refused(Exception):
    """A request the domain will not carry out, with the reason and the field it concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(Refused):
    """What the request names is not there (any more): answered 404."""
