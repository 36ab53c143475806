"""Replies by e-mail: an action owner answers one of our messages, and the answer becomes an
update on the action, like one posted through the update link.

Messages to owners carry a Reply-To of `reply+<message id>-<signature>@<reply domain>`. The
receiver (`mail_receiver.py`) hands each message here: its words are taken from the text part
(or the HTML made text), the quoted message and signature cut off, and posted on the action
the message was about, by its owner. A message about several actions goes to the one the reply
names by its title; anything that cannot be placed (an altered address, an erased owner, an
action given to someone else, nothing left but the quote) is kept for the organiser to place
or dismiss on the Outbox page. A message delivered twice is kept once.
"""

import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from sqlmodel import Session, col, func, select

from app.config import Settings
from app.db import Database
from app.i18n import _
from app.models import Action, ActionUpdate, Event, Participant
from app.models.mail import (
    INBOUND_TEXT_MAX,
    InboundMail,
    InboundState,
    Message,
    MessageCause,
    NotPlaced,
)
from app.models.outcomes import UPDATE_MAX, ProgressForm
from app.models.privacy import ERASED_NAME
from app.security import LinkSigner
from app.services import actions
from app.services.errors import NotFound, Refused
from app.services.mail import NAME_MAX, SUBJECT_MAX, one_line

PURPOSE = "reply"
PREFIX = "reply+"
# One message naming more reply addresses than this is not a reply.
MAX_ADDRESSES = 5
SENDER_MAX = 376


def reply_address(settings: Settings, signer: LinkSigner, message: Message) -> str:
    """Where replies to the message go; "" when replies by e-mail are not set up."""
    if not settings.reply_domain or message.id is None:
        return ""
    return f"{PREFIX}{signer.sign_address(PURPOSE, message.id)}@{settings.reply_domain}"


# --- reading a reply --------------------------------------------------------------------------


@dataclass
class Reply:
    """What a reply says, read from its bytes; never raises on what it is given."""

    sender: str = ""
    sender_address: str = ""
    subject: str = ""
    # The words of the reply, the quoted message cut off; and the whole text as it came.
    text: str = ""
    whole: str = ""
    # The tokens of the reply addresses it was sent to (envelope first, then headers).
    tokens: list[str] = field(default_factory=list)
    # A reply address was there, or none was.
    addressed: bool = False
    identity: str = ""
    readable: bool = True


# Control characters other than line breaks and tabs (PostgreSQL keeps no NUL in text).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _header(parsed: EmailMessage, name: str) -> str:
    """A header's text on one line ("" if missing); one that cannot be parsed as its kind
    (an address with a line break encoded in it) is read as plain text."""
    try:
        value = parsed.get(name)
        return one_line(str(value), 2000) if value is not None else ""
    except Exception:
        pass
    raw = next((v for k, v in parsed.raw_items() if k.lower() == name.lower()), "")
    try:
        return one_line(str(make_header(decode_header(str(raw)))), 2000)
    except Exception:
        return one_line(str(raw), 2000)


def _body(parsed: EmailMessage) -> str:
    """The text part, or the HTML part made text."""
    try:
        part = parsed.get_body(preferencelist=("plain", "html"))
    except Exception:
        part = None
    if part is None:
        return ""
    try:
        content = part.get_content()
    except Exception:  # an unknown charset, a broken transfer encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    return html_text(content) if part.get_content_subtype() == "html" else content


def read(raw: bytes, recipients: list[str]) -> Reply:
    """The reply in a message as it came off the wire."""
    identity = hashlib.sha256(raw).hexdigest()
    try:
        parsed = message_from_bytes(raw, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
    except Exception:
        whole = _CONTROL.sub("", raw[:INBOUND_TEXT_MAX].decode("utf-8", "replace"))
        tokens = _tokens(recipients)
        return Reply(
            whole=whole, identity=identity, readable=False, tokens=tokens, addressed=bool(tokens)
        )
    name, address = _sender(_header(parsed, "From"))
    sender = f"{name} <{address}>" if name and address else name or address
    headers = [_header(parsed, h) for h in ("To", "Cc", "Delivered-To", "X-Original-To")]
    tokens = _tokens(list(recipients) + [a for _n, a in getaddresses([h for h in headers if h])])
    whole = _CONTROL.sub("", _body(parsed).replace("\r\n", "\n").replace("\r", "\n"))
    message_id = one_line(_header(parsed, "Message-ID"), 250)
    return Reply(
        sender=one_line(sender, SENDER_MAX),
        sender_address=address.lower(),
        subject=one_line(_header(parsed, "Subject"), SUBJECT_MAX),
        text=strip_quoted(whole)[:INBOUND_TEXT_MAX],
        whole=whole.strip()[:INBOUND_TEXT_MAX],
        tokens=tokens,
        addressed=bool(tokens),
        identity=message_id or identity,
    )


_ANGLED = re.compile(r"^(.*)<([^<>\s]+@[^<>\s]+)>\s*$")


def _sender(header: str) -> tuple[str, str]:
    """The name and address in a From header (the address in <> wins over anything a name
    with a colon or an "@" in it could make a parser think)."""
    angled = _ANGLED.match(header)
    if angled:
        name, address = angled[1].strip().strip('"').strip(), angled[2]
    else:
        name, address = parseaddr(header)
    return one_line(name, NAME_MAX), one_line(address, 254)


def _tokens(addresses: list[str]) -> list[str]:
    """The tokens of the reply addresses among these, each once, in order."""
    tokens: list[str] = []
    for candidate in addresses:
        local = candidate.strip().strip("<>").rpartition("@")[0]
        if local[: len(PREFIX)].lower() == PREFIX:
            token = local[len(PREFIX) :].lower()
            if token not in tokens:
                tokens.append(token)
    return tokens[:MAX_ADDRESSES]


# The line that introduces the quoted message: "On Mon, 7 Jun 2027, Ann <a@b> wrote:" and its
# forms in other languages (mail programs wrap it over two or three lines).
_ATTRIBUTION = re.compile(
    r"^\s*(on\b.*\bwrote"
    r"|w dniu\b.*\bnapisa\w*(\s*\(a\))?"
    r"|am\b.*\bschrieb\b.*"
    r"|le\b.*\ba écrit"
    r"|el\b.*\bescribió"
    r"|il\b.*\bha scritto"
    r"|op\b.*\bschreef\b.*"
    r"|em\b.*\bescreveu"
    r"|.*نے لکھا"
    r")\s*:\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION_START = re.compile(r"^\s*(on|w dniu|am|le|el|il|op|em)\s", re.IGNORECASE)
# Outlook's and others' line above the quoted message.
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|wiadomość oryginalna"
    r"|oryginalna wiadomość|message d'origine|mensaje original|messaggio originale"
    r"|oorspronkelijk bericht|forwarded message|mensagem original)\s*-{2,}\s*$",
    re.IGNORECASE,
)
# Outlook's header block: "From: …" followed by "Sent:"/"To:"/"Subject:" (and their forms).
_FROM = re.compile(r"^\s*\*?(from|od|von|de|van|da|från|fra|مرسل)\s*:", re.IGNORECASE)
_FROM_NEXT = re.compile(
    r"^\s*\*?(sent|date|to|subject|cc|wysłano|data|do|temat|gesendet|an|betreff"
    r"|envoyé|à|objet|enviado|para|asunto|inviato|oggetto|verzonden|aan|onderwerp)\s*:",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*_{10,}\s*$")
_SENT_FROM = re.compile(r"^\s*(sent from my |get outlook for |wysłane z )", re.IGNORECASE)


def _quote_starts(lines: list[str], at: int) -> bool:
    """Whether the quoted message (or the signature) starts at this line."""
    line = lines[at]
    if line.rstrip() in ("--", "-- ") or _ORIGINAL.match(line) or _RULE.match(line):
        return True
    if _FROM.match(line) and any(_FROM_NEXT.match(n) for n in lines[at + 1 : at + 5]):
        return True
    if _ATTRIBUTION.match(line):
        return True
    if _ATTRIBUTION_START.match(line):  # wrapped over the next line or two
        for span in (2, 3):
            joined = lines[at : at + span]
            if all(x.strip() for x in joined) and _ATTRIBUTION.match(" ".join(joined)):
                return True
    # Any line ending in ":" right before the quoted lines, in a language not listed above.
    following = [n for n in lines[at + 1 : at + 4] if n.strip()]
    return line.rstrip().endswith(":") and bool(following) and following[0].startswith(">")


def strip_quoted(text: str) -> str:
    """The words of a reply: without the quoted message, the lines quoted with ">", the
    signature, and "Sent from my phone"."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for at, line in enumerate(lines):
        if _quote_starts(lines, at):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line.rstrip())
    while kept and (not kept[-1].strip() or _SENT_FROM.match(kept[-1])):
        kept.pop()
    words = "\n".join(kept).strip()
    return re.sub(r"\n{3,}", "\n\n", words)


class _HtmlText(HTMLParser):
    """HTML as plain text: blocks on their own lines, quoted blocks marked with ">"."""

    LINES = frozenset({"div", "br", "li", "tr", "ul", "ol", "section", "article", "header"})
    PARAGRAPHS = frozenset(
        {"p", "table", "pre", "hr", "blockquote"} | {f"h{n}" for n in range(1, 7)}
    )
    SKIPPED = frozenset({"script", "style", "head", "title"})
    # Gmail's, Outlook's and Thunderbird's quoted parts are divs, not blockquotes.
    QUOTE_MARKS = ("gmail_quote", "divrplyfwdmsg", "moz-cite-prefix", "yahoo_quoted")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.quoted = 0
        self.skipped = 0
        self.quote_divs: list[bool] = []

    def _break(self, *, blank: bool = False) -> None:
        if self.lines[-1]:
            self.lines.append("")
        if blank and len(self.lines) > 1 and self.lines[-2]:
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skipped += 1
            return
        if tag == "div":
            marks = " ".join(v or "" for k, v in attrs if k in ("class", "id")).lower()
            quote = any(mark in marks for mark in self.QUOTE_MARKS)
            self.quote_divs.append(quote)
            self.quoted += quote
        self.quoted += tag == "blockquote"
        if tag in self.LINES or tag in self.PARAGRAPHS:
            self._break(blank=tag in self.PARAGRAPHS)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self.skipped = max(0, self.skipped - 1)
            return
        if tag == "blockquote":
            self.quoted = max(0, self.quoted - 1)
        if tag == "div" and self.quote_divs:
            self.quoted = max(0, self.quoted - self.quote_divs.pop())
        if tag in self.LINES or tag in self.PARAGRAPHS:
            self._break(blank=tag in self.PARAGRAPHS)

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if self.skipped or not text:
            return
        if self.quoted and not self.lines[-1].startswith(">"):
            self._break()
            self.lines[-1] = ">"
        line = self.lines[-1]
        self.lines[-1] = f"{line} {text}" if line and not line.endswith(" ") else line + text


def html_text(html: str) -> str:
    """The text of an HTML message, its quoted parts marked with ">" as a text reply's are."""
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:
        return ""
    return "\n".join(line.rstrip() for line in parser.lines).strip()


# --- placing a reply --------------------------------------------------------------------------


def receive(database: Database, signer: LinkSigner, raw: bytes, recipients: list[str]) -> list[int]:
    """Keep a message that came in: posted as an update where it can be, else kept for the
    organiser; the ids of what was kept. The same message and address twice is kept once."""
    reply = read(raw, recipients)
    kept = []
    for token in reply.tokens or [""]:
        key = hashlib.sha256(f"{reply.identity}\n{token}".encode()).hexdigest()
        with database.write() as session:
            found = session.exec(select(InboundMail.id).where(InboundMail.key == key)).first()
            if found is None:
                found = _keep(session, signer, reply, token, key)
        kept.append(found)
    return kept


def _keep(session: Session, signer: LinkSigner, reply: Reply, token: str, key: str) -> int:
    row = InboundMail(key=key, sender=reply.sender, subject=reply.subject)
    why, message, owner, owned = _whose(session, signer, reply, token)
    if message is not None:
        row.message_id, row.event_id = message.id, message.event_id
    if owner is not None:
        row.participant_id, row.event_id = owner.id, owner.event_id
    elif row.event_id is None:
        row.event_id = _event_of_sender(session, reply.sender_address)
    if why is None and not reply.text:
        why = NotPlaced.empty
    if why is None:
        named = [a for a in owned if a.title.casefold() in reply.text.casefold()]
        if len(owned) == 1 or len(named) == 1:
            assert owner is not None
            action = owned[0] if len(owned) == 1 else named[0]
            update = _post(session, action, reply.text, owner.display_name)
            row.state, row.action_id, row.update_id = InboundState.placed, action.id, update.id
        else:
            why = NotPlaced.several
    if why is not None:
        row.state, row.reason = InboundState.unplaced, why
        row.text = reply.text or reply.whole
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def _whose(
    session: Session, signer: LinkSigner, reply: Reply, token: str
) -> tuple[NotPlaced | None, Message | None, Participant | None, list[Action]]:
    """Why the reply cannot be placed (None if it can), the message it answers, its owner,
    and the actions of that message they still own."""
    # A message with no sender, or that cannot be read, is no reply (even to a good address).
    unreadable = not reply.readable or not reply.sender_address
    if not reply.addressed:
        return NotPlaced.unreadable if unreadable else NotPlaced.no_address, None, None, []
    message_id = signer.read_address(PURPOSE, token)
    message = session.get(Message, message_id) if message_id is not None else None
    if message_id is None:
        return NotPlaced.bad_signature, None, None, []
    if unreadable:
        return NotPlaced.unreadable, message, None, []
    if message is None or message.participant_id is None:
        return NotPlaced.unknown, message, None, []
    owner = session.get(Participant, message.participant_id)
    if owner is None:
        return NotPlaced.unknown, message, None, []
    if owner.display_name == ERASED_NAME:
        return NotPlaced.erased, message, owner, []
    named = session.exec(
        select(Action)
        .join(MessageCause, col(MessageCause.action_id) == Action.id)
        .where(MessageCause.message_id == message.id)
        .order_by(col(Action.id))
    ).all()
    if not named:
        return NotPlaced.unknown, message, owner, []
    owned = [a for a in {a.id: a for a in named}.values() if a.owner_id == owner.id]
    owned = [a for a in owned if not a.hidden]
    if not owned:
        return NotPlaced.not_owner, message, owner, []
    return None, message, owner, owned


def _event_of_sender(session: Session, address: str) -> int | None:
    """The newest event the sender took part in with this address, to show the reply to its
    organisers when nothing else tells whose it is."""
    if not address:
        return None
    return session.exec(
        select(Participant.event_id)
        .where(func.lower(Participant.email) == address)
        .order_by(col(Participant.id).desc())
    ).first()


def _post(session: Session, action: Action, text: str, written_by: str) -> ActionUpdate:
    if len(text) > UPDATE_MAX:
        text = text[: UPDATE_MAX - 1].rstrip() + "…"
    form = ProgressForm(status=action.status, note=text)
    return actions.post_progress(
        session, action, form, via_link=False, via_mail=True, written_by=written_by
    )


# --- what the organiser does with the rest ----------------------------------------------------


def unplaced(session: Session, event: Event) -> list[InboundMail]:
    """The event's replies that wait for the organiser, newest first."""
    return list(
        session.exec(
            select(InboundMail)
            .where(InboundMail.event_id == event.id, InboundMail.state == InboundState.unplaced)
            .order_by(col(InboundMail.received_at).desc(), col(InboundMail.id).desc())
        )
    )


def waiting(session: Session, event: Event, inbound_id: int) -> InboundMail:
    """A reply of the event that waits for the organiser (404 if none, 409 if settled)."""
    row = session.get(InboundMail, inbound_id)
    if row is None or row.event_id != event.id:
        raise NotFound(_("There is no such reply."))
    if row.state != InboundState.unplaced:
        raise Refused(_("This reply has been placed or dismissed already."))
    return row


def settle(session: Session, event: Event, row: InboundMail, action_id: int | None) -> bool:
    """Post a kept reply (one `waiting`) as an update on an action of the event, in the
    sender's name; or, with no action, set it aside and delete its words. Whether it was
    posted."""
    if action_id is None:
        row.state, row.text = InboundState.dismissed, ""
        session.add(row)
        return False
    action = actions.action_in(session, event, action_id)
    person = session.get(Participant, row.participant_id) if row.participant_id else None
    name = person.display_name if person and person.display_name != ERASED_NAME else ""
    text = row.text.strip()
    if not text:
        raise Refused(_("This reply has no words to post: dismiss it instead."))
    update = _post(session, action, text, name or parseaddr(row.sender)[0])
    row.state, row.action_id, row.update_id = InboundState.placed, action.id, update.id
    row.text = ""
    session.add(row)
    return True
