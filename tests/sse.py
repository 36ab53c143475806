"""A Server-Sent Events client for tests: reads a stream in a thread, as EventSource does."""

import contextlib
import http.client
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Message:
    name: str
    data: str
    id: str | None


class EventStream:
    """GET `url` and collect its events; `close()` drops the connection like a lost phone."""

    def __init__(
        self, url: str, *, cookies: dict[str, str] | None = None, last_id: str = ""
    ) -> None:
        parts = urlsplit(url)
        self.messages: queue.Queue[Message] = queue.Queue()
        self.last_id: str | None = None
        self.retry: int | None = None
        self.status: int | None = None
        self._opened = threading.Event()
        self._conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        headers = {"Accept": "text/event-stream"}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        if last_id:
            headers["Last-Event-ID"] = last_id
        self._conn.request(
            "GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if not self._opened.wait(10):
            raise TimeoutError("the stream did not answer")

    def _read(self) -> None:
        try:
            response = self._conn.getresponse()
            self.status = response.status
            self.content_type = response.getheader("content-type", "")
            self._opened.set()
            name, data, event_id = "message", [], None
            while True:
                raw = response.readline()
                if not raw:
                    return
                line = raw.decode().rstrip("\r\n")
                if line == "":
                    if event_id is not None:
                        self.last_id = event_id
                    if data:
                        self.messages.put(Message(name, "\n".join(data), event_id))
                    name, data, event_id = "message", [], None
                    continue
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "event":
                    name = value
                elif field == "data":
                    data.append(value)
                elif field == "id":
                    event_id = value
                elif field == "retry":
                    self.retry = int(value)
        except (OSError, http.client.HTTPException, ValueError, AttributeError):
            # AttributeError: http.client, when the connection was closed under it
            return
        finally:
            self._opened.set()

    def next(
        self, name: str, timeout: float = 5.0, where: Callable[[Message], bool] = lambda m: True
    ) -> Message:
        """The next event called `name` that passes `where`; others before it are dropped."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = self.messages.get(timeout=left)
            except queue.Empty:
                break
            if message.name == name and where(message):
                return message
        raise AssertionError(f"no {name!r} event within {timeout} s")

    def drain(self, seconds: float) -> list[Message]:
        """Every event that arrives in the next `seconds`."""
        got = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                got.append(self.messages.get(timeout=left))
            except queue.Empty:
                break
        return got

    def close(self) -> None:
        sock = self._conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._conn.close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
