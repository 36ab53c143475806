"""Turning a posted form into a validated model, or messages to show next to the fields."""

import contextlib
import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from app.i18n import _
from app.models.base import MAX_ID, row_id
from app.services.errors import NotFound, Refused

M = TypeVar("M", bound=BaseModel)

FormErrors = dict[str, str]


def _message(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in {"missing", "string_too_short"} and ctx.get("min_length", 1) <= 1:
        return _("Please fill this in.")
    if kind == "string_too_short":
        return _("Please use at least %(n)s characters.", n=ctx["min_length"])
    if kind == "string_too_long":
        return _("Please keep this to %(n)s characters or fewer.", n=ctx["max_length"])
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return _("Please enter a whole number.")
    if kind == "greater_than_equal":
        return _("Please enter %(n)s or more.", n=ctx["ge"])
    if kind == "less_than_equal":
        return _("Please enter %(n)s or less.", n=ctx["le"])
    if kind.startswith("date") or kind.startswith("datetime"):
        return _("Please enter a date like 2026-06-21.")
    if kind.startswith("time"):
        return _("Please enter a time like 09:30.")
    if kind in {"enum", "literal_error"}:
        return _("Please choose one of the options.")
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"])


def validate(model: type[M], values: dict[str, Any]) -> tuple[M | None, FormErrors]:
    """The model built from the values, or the first message for each field at fault."""
    try:
        return model.model_validate(values), {}
    except ValidationError as exc:
        errors: FormErrors = {}
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "__all__"
            errors.setdefault(field, _message(error))
        return None, errors


# Fields that are a set of ticked boxes sharing one name, kept as a comma-separated list.
LIST_FIELDS = frozenset({"languages"})


class FormInvalid(Exception):
    """A form whose words do not fit: shown again (422) with the words kept and a message by
    each field at fault (see `again` in app/web/kit/routing.py)."""

    def __init__(self, values: dict[str, str], errors: FormErrors) -> None:
        super().__init__(next(iter(errors.values()), ""))
        self.values = values
        self.errors = errors


def valid(model: type[M], form: FormData, *names: str, **more: str) -> M:
    """The form's named fields as `model`, or FormInvalid. `more` are values worked out from
    the form that the page shows again with the words (ticked boxes, say)."""
    values = form_values(form, *names)
    data, errors = validate(model, values)
    if data is None:
        raise FormInvalid({**values, **more}, errors)
    return data


@contextlib.contextmanager
def named_by_the_form() -> Iterator[None]:
    """What a form names (a time and place, a topic, a person) may have gone since its page
    was drawn: that is a refusal, shown by the form (409), not a missing page (404)."""
    try:
        yield
    except NotFound as gone:
        raise Refused(gone.message, gone.field) from None


def typed_values(form: FormData) -> dict[str, str]:
    """Every field of a form as typed (a field sent several times, ticked boxes, joined by
    commas): what a page shown again puts back in its fields."""
    return {key: ",".join(map(str, form.getlist(key))) for key in form}


def form_values(form: FormData, *names: str) -> dict[str, str]:
    """The named fields as the person typed them (missing ones as empty text)."""
    return {
        name: ",".join(map(str, form.getlist(name)))
        if name in LIST_FIELDS
        else str(form.get(name) or "")
        for name in names
    }


def whole_number(value: object, most: int = MAX_ID) -> int | None:
    """A whole number typed in a form or a query, from 0 to `most`; None if it is not one."""
    digits = str(value or "")
    if not digits.isdecimal() or len(digits) > len(str(most)):
        return None
    return int(digits) if int(digits) <= most else None


def row_ids(values: Iterable[object]) -> list[int]:
    """The rows a set of ticked boxes names by their ids."""
    return [found for value in values if (found := row_id(value)) is not None]


def once_key(value: object, typed: dict[str, str] | None = None) -> str | None:
    """The key a form carries so that sending it twice acts once (see `new_secret`): None when
    it carries none we could have given it (at most 64 printable characters).

    With `typed`, the key stands for the form *with these words in it*: a double tap sends
    the same words and acts once, but the same form sent with other words is another act. A
    form can well come twice with one key — a page shown again from the browser's cache (its
    agenda unchanged), two tabs, a refused form sent again after the next was typed — and its
    second words must not vanish into the first."""
    key = str(value or "")[:64]
    if not key or not key.isprintable():
        return None
    if typed is None:
        return key
    words = json.dumps([key, sorted(typed.items())], ensure_ascii=False)
    return hashlib.sha256(words.encode()).hexdigest()[:48]
