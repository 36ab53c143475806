"""Run every benchmark and write what they print into bench/README.md: each benchmark's output
replaces the block between its `<!-- figures: NAME -->` and `<!-- /figures: NAME -->` marks.

    .venv/bin/python bench/run_all.py [--postgres postgresql://postgres@127.0.0.1:5432/openspace_bench]

The PostgreSQL database named there is emptied first. Nothing in the figures is typed by hand.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(args: list[str]) -> str:
    print("$", " ".join(args), flush=True)
    result = subprocess.run(
        [sys.executable, *args], cwd=HERE, capture_output=True, text=True, check=False
    )
    output = (result.stdout + result.stderr).strip()
    print(output, flush=True)
    return f"$ python bench/{' '.join(args)}\n{output}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/openspace_bench"
    )
    parser.add_argument("--only", nargs="*", default=[], help="these scripts only, e.g. erase.py")
    options = parser.parse_args()
    pg = ["--database-url", options.postgres]
    runs = [
        ["join_burst.py", "--people", "300", "--concurrency", "50"],
        ["join_burst.py", "--people", "300", "--concurrency", "50", "--workers", "2", *pg],
        ["overbook.py"],
        ["overbook.py", "--workers", "4", *pg],
        ["signup_load.py"],
        ["signup_load.py", *pg],
        ["live_fanout.py"],
        ["live_fanout.py", "--workers", "4", *pg],
        ["exports.py"],
        ["exports.py", *pg],
        ["page_weight.py"],
        ["page_weight.py", "--language", "ur"],
        ["erase.py"],
        ["erase.py", "--workers", "2", *pg],
    ]
    outputs: dict[str, list[str]] = {}
    for args in runs:
        if options.only and args[0] not in options.only:
            continue
        outputs.setdefault(args[0], []).append(run(args))
    readme = HERE / "README.md"
    text = readme.read_text()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for name, printed in outputs.items():
        begin, end = f"<!-- figures: {name} -->", f"<!-- /figures: {name} -->"
        before, _old, after = text.partition(begin)
        _old, _end, after = after.partition(end)
        if not _end:
            raise SystemExit(f"bench/README.md has no {begin} … {end} block")
        body = "\n".join(printed)
        block = f"{begin}\nRun by `run_all.py` {stamp} (2 cores, shared with the load).\n\n"
        text = f"{before}{block}```\n{body}```\n{end}{after}"
    readme.write_text(text)


if __name__ == "__main__":
    main()
