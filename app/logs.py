"""Structured logs: the request's id and the JSON formatter.

Imports nothing of the app: every uvicorn worker loads this formatter when it configures its
logging, before it answers its supervisor's health check (see app/serving.py).
"""

import json
import logging
from contextvars import ContextVar
from typing import Any

request_id: ContextVar[str] = ContextVar("openspace_request_id", default="-")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and any extras."""

    _standard = frozenset(vars(logging.makeLogRecord({}))) | {"color_message"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        entry.update(
            (key, value)
            for key, value in vars(record).items()
            if key not in self._standard and not key.startswith("_")
        )
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
