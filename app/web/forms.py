"""Turning a posted form into a validated model, or messages to show next to the fields."""

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

M = TypeVar("M", bound=BaseModel)

FormErrors = dict[str, str]


def _message(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in {"missing", "string_too_short"} and ctx.get("min_length", 1) <= 1:
        return "Please fill this in."
    if kind == "string_too_short":
        return f"Please use at least {ctx['min_length']} characters."
    if kind == "string_too_long":
        return f"Please keep this to {ctx['max_length']} characters or fewer."
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return "Please enter a whole number."
    if kind == "greater_than_equal":
        return f"Please enter {ctx['ge']} or more."
    if kind == "less_than_equal":
        return f"Please enter {ctx['le']} or less."
    if kind.startswith("date") or kind.startswith("datetime"):
        return "Please enter a date like 2026-06-21."
    if kind.startswith("time"):
        return "Please enter a time like 09:30."
    if kind in {"enum", "literal_error"}:
        return "Please choose one of the options."
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


def form_values(form: FormData, *names: str) -> dict[str, str]:
    """The named fields as the person typed them (missing ones as empty text)."""
    return {
        name: ",".join(map(str, form.getlist(name))) if name in LIST_FIELDS else str(form.get(name) or "")
        for name in names
    }
