"""Calendar files (iCalendar, made with `icalendar`): the sessions, a participant's own
agenda, the actions' due dates and a pledge's reminder."""

from datetime import date, datetime, timedelta

from icalendar import Alarm, Calendar
from icalendar import Event as CalendarEvent
from sqlmodel import Session

from app.models import Event, Participant, Pledge, Slot, SlotKind
from app.models.base import utcnow
from app.services import actions, marketplace, signups
from app.services import events as event_service


def _calendar(title: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", "-//OpenSpace//open space events//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", title)
    return cal


def _item(uid: str, summary: str, start: datetime | date, end: datetime | date) -> CalendarEvent:
    item = CalendarEvent()
    item.add("uid", f"{uid}@openspace")
    item.add("dtstamp", utcnow())
    item.add("dtstart", start)
    item.add("dtend", end)
    item.add("summary", summary)
    return item


def _plenary(event: Event, slot: Slot) -> CalendarEvent:
    item = _item(
        f"slot-{slot.id}-{event.join_code}", slot.title or event.name, slot.starts_at, slot.ends_at
    )
    item.add("location", event.venue)
    return item


def _bytes(cal: Calendar) -> bytes:
    ics: bytes = cal.to_ical()
    return ics


def sessions(session: Session, event: Event, *, personal: bool = True) -> bytes:
    """Every plenary and every session on the wall, with its room (and its convener)."""
    cal = _calendar(event.name)
    for slot in event_service.slots(session, event):
        if slot.kind == SlotKind.plenary:
            cal.add_component(_plenary(event, slot))
    for card in marketplace.topic_cards(session, event):
        if card.slot is None or card.space is None:
            continue
        item = _item(
            f"topic-{card.topic.id}-{event.join_code}",
            card.topic.title,
            card.slot.starts_at,
            card.slot.ends_at,
        )
        item.add("location", f"{card.space.name}, {event.venue}".strip(", "))
        convened = f"Convened by {card.convener.display_name}. " if personal else ""
        item.add("description", f"{convened}{event.name}")
        cal.add_component(item)
    return _bytes(cal)


def my_agenda(session: Session, event: Event, participant: Participant) -> bytes:
    """The plenaries and the sessions the participant has a seat in or convenes."""
    cal = _calendar(f"My agenda · {event.name}")
    for row in signups.my_agenda(session, event, participant):
        slot = row.slot
        if slot.kind == SlotKind.plenary:
            item = _plenary(event, slot)
        elif (here := row.here) is not None:
            item = _item(
                f"seat-{slot.id}-{participant.id}-{event.join_code}",
                here.topic.title,
                slot.starts_at,
                slot.ends_at,
            )
            item.add("location", f"{here.space.name}, {event.venue}".strip(", "))
        else:
            continue
        cal.add_component(item)
    return _bytes(cal)


def action_due_dates(
    session: Session,
    event: Event,
    *,
    personal: bool = True,
    lines: list[actions.ActionLine] | None = None,
) -> bytes:
    """An all-day entry on each action's due date (with its owner); `lines` when read already."""
    cal = _calendar(f"Actions · {event.name}")
    for line in actions.action_lines(session, event) if lines is None else lines:
        due = line.action.due_on
        if due is None:
            continue
        item = _item(
            f"action-{line.action.id}-{event.join_code}",
            f"Due: {line.action.title}",
            due,
            due + timedelta(days=1),
        )
        owner = line.owner if personal or line.action.owner_id is None else ""
        item.add(
            "description",
            (f"Owner: {owner}. " if owner else "")
            + f"From the session “{line.report_title}” at {event.name}.",
        )
        cal.add_component(item)
    return _bytes(cal)


def pledge_reminder(event: Event, pledge: Pledge, link: str) -> bytes:
    """An all-day reminder of the pledge on its date, with an alarm that morning."""
    cal = _calendar(f"My pledge · {event.name}")
    item = _item(
        f"pledge-{pledge.id}-{event.join_code}",
        f"My pledge from {event.name}",
        pledge.remind_on,
        pledge.remind_on + timedelta(days=1),
    )
    item.add(
        "description",
        f"{pledge.text}\n\nWhat I pledged at {event.name} on "
        f"{event.starts_on.isoformat()}.\n{link}",
    )
    item.add("url", link)
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", f"My pledge: {pledge.text}")
    alarm.add("trigger", timedelta(hours=9))
    item.add_component(alarm)
    cal.add_component(item)
    return _bytes(cal)
