"""Errors the domain raises for people to read, one kind per meaning.

The web turns each kind into its status in one place (app/web/kit/errors.py): a service says
what went wrong, never which HTTP status that is.
"""


class DomainError(Exception):
    """Something the domain will not carry out, with the reason and the field it concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Refused(DomainError):
    """Not possible now: the session is full, it changed since, the event's rules say no."""


class NotFound(DomainError):
    """What the request names is not there (any more)."""


class NotAllowed(DomainError):
    """Not this person's to do, whatever the state of things."""


class Invalid(DomainError):
    """What was sent is not in the expected form; `field` says where."""


class Gone(DomainError):
    """It was there and is no more: a single-use link used, run out or cancelled."""
