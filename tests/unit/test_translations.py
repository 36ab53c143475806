"""Every text of the interface is translated into every language we ship, and correctly."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app.config import ROOT
from app.i18n import CODES, DEFAULT, LOCALE_DIR

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy": None, "lazy_text": None}


def _interface_texts() -> set[str]:
    """The texts the code and templates would show, read from the source as it is now."""
    method_map = [("app/**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true"}}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.fixture(scope="module")
def texts() -> set[str]:
    found = _interface_texts()
    assert len(found) > 300, "the extraction found too little: is the interface wrapped?"
    return found


@pytest.mark.parametrize("code", [c for c in CODES if c != DEFAULT])
def test_every_text_is_translated(code: str, texts: set[str]) -> None:
    path = Path(LOCALE_DIR) / code / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        catalog = read_po(source, locale=code)
    missing, wrong = [], []
    for text in sorted(texts):
        message = catalog.get(text)
        strings = message.string if message is not None else None
        forms = strings if isinstance(strings, (tuple, list)) else (strings,)
        if message is None or message.fuzzy or not all(forms):
            missing.append(text)
            continue
        wanted = set(PLACEHOLDER.findall(text))
        if isinstance(message.id, (tuple, list)):
            wanted = set(PLACEHOLDER.findall(message.id[1])) - {"num"}
        for form in forms:
            if set(PLACEHOLDER.findall(form)) - {"num"} != wanted - {"num"}:
                wrong.append(f"{text!r} → {form!r}")
    assert not missing, f"{len(missing)} texts are not translated into {code}: {missing[:20]}"
    assert not wrong, f"placeholders differ in {code}: {wrong[:20]}"
