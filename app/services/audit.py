"""Writing and reading the audit log."""

from sqlmodel import Session, col, select

from app.models import AuditEntry, Event

HIDDEN_FIELDS = frozenset({"csrf_token", "password", "new_password", "current_password"})
LONGEST_VALUE = 80


def describe(params: dict[str, object], fields: dict[str, str]) -> str:
    """What a request acted on: its ids, then its form fields (secrets left out, long text
    shortened), as one line."""
    parts = [f"{_shown(key)}={_shown(value)}" for key, value in params.items()]
    for key, value in fields.items():
        if key in HIDDEN_FIELDS or key.startswith(("join_key", "idempotency")):
            continue
        text = " ".join(str(value).split())
        if len(text) > LONGEST_VALUE:
            text = text[: LONGEST_VALUE - 1] + "…"
        parts.append(f"{_shown(key)}={text!r}" if text else f"{_shown(key)}=''")
    return ", ".join(parts)[:1000]


def _shown(text: object) -> str:
    """Text as the log shows it: no control characters (PostgreSQL cannot even store NUL)."""
    return "".join(character for character in str(text) if character.isprintable())


def record(
    session: Session,
    event_id: int | None,
    actor: str,
    action: str,
    target: str,
    request_id: str = "",
) -> None:
    session.add(
        AuditEntry(
            event_id=event_id,
            actor=actor[:300],
            action=action[:200],
            target=target,
            request_id=request_id[:64],
        )
    )
    session.flush()


def entries(session: Session, event: Event, limit: int = 500) -> list[AuditEntry]:
    """The event's log, newest first."""
    return list(
        session.exec(
            select(AuditEntry)
            .where(AuditEntry.event_id == event.id)
            .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
            .limit(limit)
        ).all()
    )
