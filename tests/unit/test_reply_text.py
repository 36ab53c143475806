"""What is left of a reply once the quoted message is cut off, as mail programs write them."""

import pytest

from app.services.mail_replies import html_text, read, strip_quoted

REPLIES = {
    "gmail, wrapped attribution": (
        "Done: the council agreed.\n\nOn Tue, 1 Jun 2027 at 10:00, Open Space <\n"
        "outbox@openspace.example> wrote:\n\n> Due soon: Bus passes\n> Post progress\n"
    ),
    "thunderbird": (
        "Done: the council agreed.\n\nOn 01/06/2027 10:00, Open Space wrote:\n> Due soon\n"
    ),
    "polish gmail": (
        "Done: the council agreed.\n\nW dniu wt., 1 cze 2027 o 10:00 Open Space\n"
        "<outbox@openspace.example> napisał(a):\n\n> Termin\n"
    ),
    "german": "Done: the council agreed.\n\nAm 01.06.2027 um 10:00 schrieb Open Space:\n> x\n",
    "french": "Done: the council agreed.\n\nLe mar. 1 juin 2027, Open Space a écrit :\n> x\n",
    "urdu": "Done: the council agreed.\n\n1 جون 2027 کو Open Space نے لکھا:\n> x\n",
    "another language": "Done: the council agreed.\n\n2027-06-01 Open Space yazdı:\n> x\n",
    "outlook": (
        "Done: the council agreed.\n\n-----Original Message-----\nFrom: Open Space\n"
        "Sent: 01 June 2027 10:00\nTo: Ada\nSubject: Due soon\n\nPost progress\n"
    ),
    "outlook, no separator": (
        "Done: the council agreed.\n\n________________________________\nFrom: Open Space "
        "<outbox@openspace.example>\nSent: Tuesday, June 1, 2027 10:00 AM\nTo: Ada\n"
    ),
    "outlook in polish": (
        "Done: the council agreed.\n\nOd: Open Space <outbox@openspace.example>\n"
        "Wysłano: wtorek, 1 czerwca 2027 10:00\nDo: Ada\nTemat: Termin\n\nTreść\n"
    ),
    "signature": "Done: the council agreed.\n\n-- \nAda Okafor\nBus users' forum\n",
    "phone": "Done: the council agreed.\n\nSent from my iPhone\n\n> On 1 Jun, x wrote:\n",
    "interleaved": "> How is it going?\nDone: the council agreed.\n> Anything else?\n",
}


@pytest.mark.parametrize("written", REPLIES.values(), ids=REPLIES.keys())
def test_only_the_reply_is_left(written: str) -> None:
    assert strip_quoted(written) == "Done: the council agreed."


def test_lines_that_only_look_like_quotes_stay() -> None:
    words = "From: my side, all fine.\nNext: we meet on Monday.\n1 > 0, so we go on."
    assert strip_quoted(words) == words


def test_the_html_part_loses_its_quoted_blocks() -> None:
    html = (
        "<html><head><style>p{}</style></head><body><div>First line</div><div>Second "
        "&amp; last</div><div class='gmail_quote'><div>On Tue, x wrote:</div><blockquote>"
        "Due soon</blockquote></div><script>alert(1)</script></body></html>"
    )
    assert strip_quoted(html_text(html)) == "First line\nSecond & last"


def test_an_html_only_reply_is_read() -> None:
    raw = (
        b"From: Ada <ada@example.org>\r\nTo: reply+1-abc@x.example\r\nSubject: Re: x\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>Zrobione \xe2\x80\x94 gotowe.</p>"
        b"<blockquote>old</blockquote>"
    )
    reply = read(raw, [])
    assert reply.text == "Zrobione — gotowe." and reply.tokens == ["1-abc"]
    assert reply.sender == "Ada <ada@example.org>" and reply.subject == "Re: x"
