"""Memory and time of `openspace import` for an archive of 1,000,000 rows.

An archive is written the way `openspace export --format zip` writes it (event.json deflated
at level 1) with `--rows` rows in all: 100,000 participants, 10,000 topics with a report
each, 500,000 interests, 200,000 sign-ups and contributions for the rest, plus the event, its
slots, spaces and organiser. Then, each in a child process of its own on a fresh SQLite
database, one after the other:

- the baseline: a bare load — read event.json whole (`json.loads`, as the import before
  issue 31 did) and insert every row with sqlite3's `executemany` into plain tables of the
  same columns (a primary key, no other constraint or index), with no checking and the
  archive's own ids;
- `openspace import` itself (`python -m app.cli import`), which migrates the database first.

For each: peak resident memory (the child's `ru_maxrss`, from `wait4`) and wall time. Exits
non-zero if the import fails, or its peak is 300 MB or more.

    .venv/bin/python bench/import_memory.py                # 1,000,000 rows
    .venv/bin/python bench/import_memory.py --rows 100000
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from common import ROOT

LIMIT_MB = 300
NOW = "2026-12-07T09:00:00+00:00"
BASELINE = """
import json, sqlite3, sys, zipfile
archive, database = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(archive) as bundle:
    data = json.loads(bundle.read("event.json"))
connection = sqlite3.connect(database)
for name, rows in data["tables"].items():
    if rows:
        columns = list(rows[0])
        connection.execute(f"CREATE TABLE {name} ({', '.join(columns)}, PRIMARY KEY (id))")
        connection.executemany(
            f"INSERT INTO {name} VALUES ({', '.join('?' * len(columns))})",
            [tuple(row[c] for c in columns) for row in rows],
        )
connection.commit()
print(sum(len(rows) for rows in data["tables"].values()), "rows")
"""


def tables(total: int) -> Iterator[tuple[str, Iterator[dict[str, Any]]]]:
    """The archive's tables in the dump's order, `total` rows in all."""
    people, topics = total // 10, total // 100
    interests, signups = total // 2, total // 5
    fixed = 1 + 1 + 1 + 10 + 20 + topics * 2
    contributions = total - fixed - people - interests - signups
    yield (
        "event",
        iter(
            [
                {
                    "id": 1,
                    "name": "A very large event",
                    "theme_question": "How do we share what we know?",
                    "starts_on": "2027-05-04",
                    "timezone": "Europe/London",
                    "venue": "Town hall",
                    "principles": "Whoever comes are the right people.",
                    "languages": "en,pl,ur",
                    "join_code": "K7MA4QXC",
                    "projector_version": 1,
                    "marketplace_open": False,
                    "agenda_version": 1,
                    "projector_view": "opening",
                    "pitch_seconds": 60,
                    "vote_open": False,
                    "dots_per_person": 5,
                    "closed_at": None,
                    "created_at": NOW,
                }
            ]
        ),
    )
    yield (
        "organiser",
        iter([{"id": 1, "email": "bench@example.org", "name": "Bench", "created_at": NOW}]),
    )
    yield (
        "eventstaff",
        iter([{"id": 1, "event_id": 1, "organiser_id": 1, "role": "organiser", "created_at": NOW}]),
    )
    yield (
        "participant",
        (
            {
                "display_name": f"Person {n}",
                "organisation": "Łódź — اردو",
                "email": f"p{n}@example.org",
                "share_email": n % 2 == 0,
                "id": n,
                "event_id": 1,
                "join_key": None,
                "link_version": 1,
                "created_at": NOW,
            }
            for n in range(1, people + 1)
        ),
    )
    yield (
        "slot",
        (
            {
                "starts_at": f"2027-05-04T{8 + n:02d}:00:00+00:00",
                "ends_at": f"2027-05-04T{8 + n:02d}:45:00+00:00",
                "kind": "breakout",
                "title": "",
                "id": n,
                "event_id": 1,
            }
            for n in range(1, 11)
        ),
    )
    yield (
        "space",
        (
            {
                "name": f"Room {n}",
                "capacity": 50,
                "access_notes": "",
                "id": n,
                "event_id": 1,
                "position": n,
            }
            for n in range(1, 21)
        ),
    )
    yield (
        "topic",
        (
            {
                "title": f"Topic {n}",
                "description": "What we could do together about it",
                "language": "",
                "id": n,
                "event_id": 1,
                "convener_id": 1 + n % people,
                "slot_id": None,
                "space_id": None,
                "hidden": False,
                "merged_into_id": None,
                "propose_key": None,
                "created_at": NOW,
            }
            for n in range(1, topics + 1)
        ),
    )
    yield (
        "interest",
        (
            {
                "id": n + 1,
                "topic_id": 1 + n % topics,
                "participant_id": 1 + n // 5,
                "created_at": NOW,
            }
            for n in range(interests)
        ),
    )
    yield (
        "report",
        (
            {
                "id": n,
                "event_id": 1,
                "topic_id": n,
                "completed_at": None,
                "completed_by_id": None,
                "created_at": NOW,
            }
            for n in range(1, topics + 1)
        ),
    )
    yield (
        "signup",
        (
            {
                "id": n + 1,
                "topic_id": 1 + n % topics,
                "slot_id": 1 + n % 2,
                "participant_id": 1 + n // 2,
                "created_at": NOW,
                "promoted": False,
            }
            for n in range(signups)
        ),
    )
    yield (
        "contribution",
        (
            {
                "id": n,
                "report_id": 1 + n % topics,
                "author_id": 1 + n % people,
                "kind": "key_point",
                "body": f"Key point {n}: free bus passes for carers, warm spaces",
                "version": 1,
                "hidden": False,
                "write_key": None,
                "created_at": NOW,
                "edited_at": None,
            }
            for n in range(1, contributions + 1)
        ),
    )


def write_archive(path: Path, total: int) -> int:
    """The archive as an export writes it, streamed into the zip; how many rows it holds."""
    written = 0
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as bundle,
        bundle.open("event.json", "w", force_zip64=True) as out,
    ):
        header = {
            "format": "openspace-event",
            "version": 1,
            "schema": "",
            "exported_at": NOW,
            "event": {"id": 1, "name": "A very large event", "join_code": "K7MA4QXC"},
        }
        out.write(json.dumps(header, ensure_ascii=False)[:-1].encode() + b',"tables":{')
        for index, (name, rows) in enumerate(tables(total)):
            out.write(("," if index else "").encode() + f'"{name}":['.encode())
            for n, row in enumerate(rows):
                out.write((b"," if n else b"") + json.dumps(row, ensure_ascii=False).encode())
                written += 1
            out.write(b"]")
        out.write(b"}}")
    return written


def measured(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a child; its peak resident memory in MB, its wall time, what it printed."""
    started = time.monotonic()
    child = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert child.stdout is not None
    output = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.monotonic() - started
    if child.returncode != 0:
        raise SystemExit(f"{args[-2]} failed ({child.returncode}):\n{output}")
    return usage.ru_maxrss / 1024, elapsed, output.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    total = parser.parse_args().rows
    work = Path(tempfile.mkdtemp(prefix="openspace-import-"))
    path = work / "archive.zip"
    started = time.monotonic()
    rows = write_archive(path, total)
    with zipfile.ZipFile(path) as bundle:
        member = bundle.getinfo("event.json")
    print(
        f"archive: {rows:,} rows, event.json {member.file_size / 1e6:.1f} MB deflated to "
        f"{member.compress_size / 1e6:.1f} MB (×{member.file_size / member.compress_size:.1f}), "
        f"written in {time.monotonic() - started:.1f} s"
    )
    env = {**os.environ, "OPENSPACE_ENVIRONMENT": "test", "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    base_mb, base_s, base_out = measured(
        [sys.executable, "-c", BASELINE, str(path), str(work / "baseline.db")], env
    )
    print(
        f"baseline (json.loads whole + sqlite3 executemany, no checks): {base_mb:.0f} MB peak, "
        f"{base_s:.1f} s ({base_out})"
    )
    env["OPENSPACE_DATABASE_URL"] = f"sqlite:///{work / 'import.db'}"
    mb, seconds, out = measured([sys.executable, "-m", "app.cli", "import", str(path)], env)
    print(f"openspace import: {mb:.0f} MB peak, {seconds:.1f} s ({out.splitlines()[0]})")
    print(
        f"ratio to baseline: memory {mb / base_mb:.2f}, time {seconds / base_s:.2f}; "
        f"limit {LIMIT_MB} MB: {'met' if mb < LIMIT_MB else 'NOT MET'}"
    )
    for name in ("archive.zip", "baseline.db", "import.db"):
        (work / name).unlink(missing_ok=True)
    if mb >= LIMIT_MB:
        sys.exit(1)


if __name__ == "__main__":
    main()
