"""The closing circle's check-out: one question on every phone ("What will you take with
you?" in a few words, and how useful the day was, 1 to 5), answered once, anonymous unless
the person puts their name to it; on the projector as answers come in, and in the book.

One answer per person, without keeping who: while the check-out is open the event holds a
random key, and each answer keeps a keyed hash (HMAC-SHA256) of its author's participant id.
A second answer from the same person finds its hash and is refused. Closing the check-out
throws the key and the hashes away: from then on nobody, not the organisers and not whoever
holds the database, can tell whose answer is whose. Reopening makes a new key, so a person
who answered before may answer once more. Answers keep no time.
"""

import hashlib
import hmac
import re
import secrets
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.i18n import _
from app.models import CheckOut, Event, Participant, ProjectorView
from app.models.live import USEFULNESS, CheckOutForm
from app.services.agenda import agenda_changed
from app.services.errors import Refused

# Words too common to say anything in a word count (English; short words are left out in
# every language).
COMMON = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "from",
        "have",
        "will",
        "more",
        "about",
        "what",
        "our",
        "their",
        "them",
        "they",
        "you",
        "your",
        "into",
        "how",
        "not",
        "but",
        "all",
        "are",
        "was",
        "were",
        "its",
        "it's",
        "can",
        "get",
        "been",
        "being",
        "also",
        "just",
        "very",
        "some",
    ]
)
SHORTEST_WORD = 3
MOST_WORDS = 24


def open_check_out(session: Session, event: Event, is_open: bool) -> None:
    """Open the check-out (a new key; the projector shows the answers as they come) or close
    it (the key and every answer's hash go)."""
    if is_open and event.checkout_key is None:
        event.checkout_key = secrets.token_hex(32)
        event.projector_view = ProjectorView.checkout
    elif not is_open and event.checkout_key is not None:
        event.checkout_key = None
        session.execute(
            update(CheckOut).where(col(CheckOut.event_id) == event.id).values(marker=None)
        )
    session.add(event)
    agenda_changed(session, event.id)


def _marker(event: Event, participant: Participant) -> str:
    assert event.checkout_key is not None
    key = event.checkout_key.encode()
    return hmac.new(key, str(participant.id).encode(), hashlib.sha256).hexdigest()


def has_answered(session: Session, event: Event, participant: Participant) -> bool:
    """The person answered the check-out while it has been open this time."""
    if event.checkout_key is None:
        return False
    marker = _marker(event, participant)
    found = session.exec(
        select(CheckOut.id).where(CheckOut.event_id == event.id, CheckOut.marker == marker)
    ).first()
    return found is not None


def check_out(
    session: Session, event: Event, participant: Participant, data: CheckOutForm
) -> CheckOut:
    """Keep the person's answer: once per person while the check-out is open."""
    if event.checkout_key is None:
        raise Refused(_("The check-out is closed."))
    answer = CheckOut(
        event_id=event.id or 0,
        words=data.words,
        usefulness=data.usefulness,
        participant_id=participant.id if data.named else None,
        marker=_marker(event, participant),
    )
    try:
        with session.begin_nested():
            session.add(answer)
    except IntegrityError:
        raise Refused(_("You have answered already. Thank you.")) from None
    agenda_changed(session, event.id)
    return answer


@dataclass
class Line:
    """One answer as the room and the book see it (`name`: only for a named answer)."""

    words: str
    usefulness: int
    name: str


@dataclass
class Answers:
    """Every answer, newest first, with how many gave each mark and the words said most."""

    lines: list[Line]
    marks: list[tuple[int, int]]
    words: list[tuple[str, int]]

    @property
    def count(self) -> int:
        return len(self.lines)

    @property
    def average(self) -> float | None:
        return sum(line.usefulness for line in self.lines) / self.count if self.lines else None

    def weight(self, n: int) -> int:
        """How large a word is drawn, 1 to 5, by how often it was said."""
        most = self.words[0][1] if self.words else 1
        return 1 + round(4 * (n - 1) / (most - 1)) if most > 1 else 1


def word_counts(texts: list[str]) -> list[tuple[str, int]]:
    """The words said in most answers, most first (at most MOST_WORDS; ties in A–Z order).
    Each answer counts a word once; short and common words are left out."""
    counted: Counter[str] = Counter()
    for text in texts:
        for word in set(re.findall(r"\w+(?:['’]\w+)?", text.casefold())):
            if len(word) >= SHORTEST_WORD and word not in COMMON and not word.isdigit():
                counted[word] += 1
    return sorted(counted.items(), key=lambda pair: (-pair[1], pair[0]))[:MOST_WORDS]


def answers(session: Session, event: Event) -> Answers:
    """The check-out's answers, newest first."""
    rows = session.exec(
        select(CheckOut, Participant.display_name)
        .join(Participant, col(Participant.id) == CheckOut.participant_id, isouter=True)
        .where(CheckOut.event_id == event.id)
        .order_by(col(CheckOut.id).desc())
    ).all()
    lines = [Line(row.words, row.usefulness, name or "") for row, name in rows]
    marks = Counter(line.usefulness for line in lines)
    return Answers(
        lines=lines,
        marks=[(mark, marks[mark]) for mark in USEFULNESS],
        words=word_counts([line.words for line in lines]),
    )
