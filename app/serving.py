"""The server process of `openspace serve`: uvicorn, from a module that imports nothing of the
app, with deadlines for a request's headers.

uvicorn starts each worker as a fresh process that first imports the main module of the
process that started it (multiprocessing's spawn) and sets up its logging, and only then
answers its supervisor's health check; a worker silent for longer than the check's timeout
is killed. Started from the `openspace` command, that main module is app.cli and through it
most of the app: seconds on a busy machine, and workers were killed before they had
started. So `openspace serve` migrates, then hands over to `python -m app.serving` (the
same process, exec'd), whose workers answer the check at once and import the app after.
"""

import asyncio
import functools
import json
import os
import sys
from typing import Any, NoReturn

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# More header than any browser sends (nginx's default allows 32 KB): the HTTP parser keeps
# whatever it is given, so a client could otherwise fill the memory with one endless header.
MAX_HEADER_BYTES = 64 * 1024
_TOO_LARGE_MESSAGE = b"The request's headers are too large.\n"
TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_TOO_LARGE_MESSAGE), _TOO_LARGE_MESSAGE)
)


class HttpWithDeadlines(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 with a deadline for each request's headers, counted from the
    connection or the request's first byte, and a cap on their size.

    uvicorn times out only idle keep-alive connections: a client that connected and sent
    part of a header, or nothing, was kept for ever, and 200 of them held 200 connections.
    """

    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self._header_deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._await_headers()

    def on_headers_complete(self) -> None:
        self._headers_arrived()
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._header_deadline is None or self.transport.is_closing():
            return
        self._header_bytes += len(data)
        if self._header_bytes > MAX_HEADER_BYTES:
            self._headers_arrived()
            self.transport.write(TOO_LARGE)
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_arrived()
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        if self._header_deadline is None:
            self._header_bytes = 0
            self._header_deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _headers_arrived(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _too_slow(self) -> None:
        self._header_deadline = None
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()
        else:  # a request read in full is still being answered: close after it
            self.cycle.keep_alive = False


def hand_over(options: dict[str, Any], header_timeout: float) -> NoReturn:
    """Replace this process with the server, given uvicorn's options (JSON values)."""
    arguments = json.dumps({"uvicorn": options, "header_timeout": header_timeout})
    # exec keeps no buffers: what was printed (the demo's log-in) must be out first.
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "app.serving", arguments])


def main() -> None:
    """Serve with the options `hand_over` was given."""
    arguments = json.loads(sys.argv[1])
    http = functools.partial(HttpWithDeadlines, header_timeout=arguments["header_timeout"])
    uvicorn.run(**arguments["uvicorn"], http=http)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
