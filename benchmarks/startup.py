"""CPU seconds of what users run most: ``sijreg --help`` and a report of the demo registry.

Each command runs in a new process, ``--repeat`` times; CPU is the child's user + system
time (its resource usage as the parent collects it), so start-up, imports and the end of
the process all count. Results go to benchmarks/STARTUP.md.

    python -m benchmarks.startup            # 7 repetitions
    python -m benchmarks.startup --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from benchmarks.run import Run, _machine, _sijreg

HERE = Path(__file__).parent

GOALS = {"--help": 0.3, "--version": 0.3, "report": 2.0}
"""Issue 12's goals in CPU seconds; --version has none of its own, it shares --help's."""


def _runs(repeat: int, *args: str) -> list[Run]:
    return [_sijreg(*args) for _ in range(repeat)]


def measure(repeat: int) -> dict[str, list[Run]]:
    """Every command's runs, on a demo registry made in a scratch folder first."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        database = str(folder / "demo.db")
        _sijreg("demo", "--database", database, "--out", str(folder / "demo"), "--quiet")
        return {
            "--help": _runs(repeat, "--help"),
            "--version": _runs(repeat, "--version"),
            "report": _runs(
                repeat, "report", "--database", database, "--out", str(folder / "r"), "--quiet"
            ),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    machine = _machine()  # with the load average before the runs
    runs = measure(repeat)
    lines = [
        "# Start-up and the small report",
        "",
        "Written by `benchmarks/startup.py` (`python -m benchmarks.startup`).",
        "",
        *machine,
        "",
        f"Each command in a new process, {repeat} times; CPU is user + system time of the "
        "process and its threads. `report` is `sijreg report --quiet` on the 111-patient demo "
        "registry (SQLite) that `sijreg demo` makes.",
        "",
        "| command | CPU median (s) | CPU min (s) | wall median (s) | goal, CPU (s) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for command, done in runs.items():
        cpu = [r.cpu for r in done]
        lines.append(
            f"| `sijreg {command}` | {statistics.median(cpu):.2f} | {min(cpu):.2f} | "
            f"{statistics.median(r.seconds for r in done):.2f} | <= {GOALS[command]} |"
        )
    text = "\n".join(lines) + "\n"
    (HERE / "STARTUP.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
