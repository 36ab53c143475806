"""The baseline every benchmark reports against: a bare FastAPI app, none of ours.

Served by `common.start_bare` with the options `openspace serve` gives uvicorn, so a ratio to
it says what our app costs over FastAPI itself (our own `/healthz` already pays our
middleware: issue 25).
"""

from typing import Annotated

from fastapi import FastAPI, Form

app = FastAPI()


@app.get("/sync")
def sync() -> dict[str, bool]:
    return {"ok": True}


@app.get("/async")
async def asynchronous() -> dict[str, bool]:
    return {"ok": True}


@app.post("/form")
def form(csrf_token: Annotated[str, Form()]) -> dict[str, int]:
    """Reads a small form as a sign-up's POST carries one."""
    return {"length": len(csrf_token)}
