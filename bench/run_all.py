"""Run every benchmark and write what they print into bench/README.md (the figures section).

    .venv/bin/python bench/run_all.py [--postgres postgresql://postgres@127.0.0.1:5432/openspace_bench]

The PostgreSQL database named there is emptied first. Nothing in the figures is typed by hand.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MARK = "<!-- figures: written by bench/run_all.py -->"


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
    pg = ["--database-url", parser.parse_args().postgres]
    sections = [
        run(["join_burst.py", "--people", "300", "--concurrency", "50"]),
        run(
            [
                "join_burst.py",
                "--people",
                "300",
                "--concurrency",
                "50",
                "--workers",
                "2",
                "--database-url",
                pg[1],
            ]
        ),
        run(["overbook.py"]),
        run(["overbook.py", "--workers", "4", *pg]),
        run(["signup_load.py"]),
        run(["signup_load.py", *pg]),
        run(["live_fanout.py"]),
        run(["live_fanout.py", "--workers", "4", *pg]),
        run(["exports.py"]),
        run(["exports.py", *pg]),
        run(["page_weight.py"]),
        run(["page_weight.py", "--language", "ur"]),
        run(["erase.py"]),
        run(["erase.py", "--workers", "2", *pg]),
    ]
    readme = HERE / "README.md"
    text = readme.read_text()
    head = text.split(MARK)[0]
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    readme.write_text(
        f"{head}{MARK}\n\nRun {stamp} on this project's machine (2 cores; the load generator "
        "shares them with the server).\n\n```\n" + "\n".join(sections) + "```\n"
    )


if __name__ == "__main__":
    main()
