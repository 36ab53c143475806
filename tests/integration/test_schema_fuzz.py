"""Schemathesis over the JSON API's OpenAPI document, in this process and with every check on:
what `schemathesis run --checks all` does, as an organiser holding an API token.

Each operation gets its examples, the coverage phase (each field's boundaries and wrong types,
and the methods an address does not take: a 405 with an Allow header naming those it does)
and random cases, valid and not; then sequences of calls that carry one answer into the next
(an event made, then read, changed and given spaces and slots). Every answer must be as
documented, every valid request accepted, and every invalid one refused.

The document states the rules the server keeps; two are in words, as JSON Schema cannot say
them, and the fuzzer is taught them (keeps_to_the_rules_in_words): a slot ends after it starts
(ends_at's description; test_api.py tests the 422), and text is cleaned as a person meant it
before its limits apply (the API's description; a title of 81 characters, one of them a
control character, is 80 once cleaned and is taken).
"""

import os
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.engine import Status, events, from_schema
from schemathesis.python.asgi import shutdown_lifespans

from app.config import Settings
from app.db import Database
from app.main import create_app
from app.models.event import as_typed
from app.services import accounts
from tests.factories import Factory

# Random cases per operation and per sequence of calls: the file runs in about a minute.
EXAMPLES = 40
SEED = os.environ.get("FUZZ_SEED", "20261207")


@pytest.fixture(scope="module")
def fuzzed_app(settings: Settings, database: Database) -> Iterator[FastAPI]:
    # A script posts far faster than people: no rate limits (test_limits.py tests them).
    yield create_app(settings.model_copy(update={"rate_limit_scale": 0}))
    shutdown_lifespans()


@pytest.fixture
def api_schema(fuzzed_app: FastAPI, make: Factory) -> Any:
    """The API's document as Schemathesis reads it, sent with an organiser's API token."""
    with make.database.write() as session:
        _token, secret = accounts.create_api_token(session, make.organiser(), "fuzz")
    config = schemathesis.Config.from_dict(
        {
            "headers": {"Authorization": f"Bearer {secret}"},
            "checks": {"enabled": True},
            "generation": {"max-examples": EXAMPLES},
            # The same cases on every run (CI must not land or fail by luck); set
            # FUZZ_SEED to another number, or "random", to look further.
            **({} if SEED == "random" else {"seed": int(SEED)}),
        }
    )
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzzed_app, config=config)
    schema.hook("filter_case")(keeps_to_the_rules_in_words)
    return schema


def keeps_to_the_rules_in_words(_context: Any, case: schemathesis.Case) -> bool:
    """A case meant to be valid sends no slot that ends before it starts; one meant to be
    invalid sends no text that cleaning changes (it may be invalid before cleaning only)."""
    body = case.body
    if case.meta is None or not isinstance(body, dict):
        return True
    if case.meta.generation.mode == schemathesis.GenerationMode.NEGATIVE:
        return all(as_typed(value).strip() == value for value in _texts(body))
    if {"starts_at", "ends_at"} <= set(body):
        return _moment(body["ends_at"]) > _moment(body["starts_at"])
    return True


def _texts(body: dict[str, Any]) -> Iterator[str]:
    return (value for value in body.values() if isinstance(value, str))


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.upper())


def test_the_api_answers_as_its_document_says(api_schema: Any) -> None:
    sent: Counter[str] = Counter()
    failures: list[str] = []
    for event in from_schema(api_schema).execute():
        if isinstance(event, events.ScenarioFinished):
            sent[event.phase.value] += len(event.recorder.cases)
            failures.extend(
                f"{event.label}: {check.failure_info.failure.title}\n"
                f"{check.failure_info.failure.message}\n{check.failure_info.code_sample}"
                for checks in event.recorder.checks.values()
                for check in checks
                if check.status == Status.FAILURE and check.failure_info is not None
            )
        elif isinstance(event, events.NonFatalError):
            failures.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            raise event.exception
        elif isinstance(event, events.EngineFinished):
            failures.extend(str(failure) for failure in event.failures)
    seed = api_schema.config.seed
    assert not failures, f"seed {seed}:\n\n" + "\n\n".join(dict.fromkeys(failures))
    # Every phase ran: a phase that cannot start (no links between operations, say) is no test.
    assert all(sent[phase] > 0 for phase in ("coverage", "fuzzing", "stateful")), sent
