"""CPU seconds of what users run most: ``sijreg --help`` and reports of small registries.

``sijreg report`` runs on the demo registry and on generated 10,000- and 100,000-patient
registries (benchmarks/data/, made once by ``generate.py``), side by side in one run.
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

from benchmarks.generate import generate
from benchmarks.run import DATA, Run, _machine, _sijreg

HERE = Path(__file__).parent

SIZES = (10_000, 100_000)
"""Generated registries reported on besides the demo's."""
GOALS = {
    "--help": 0.3,
    "--version": 0.3,
    "report demo (111 patients)": 2.0,
    **{f"report {n:,} patients": 2.5 for n in SIZES},
}
"""Issue 12's goals in CPU seconds; --version has none of its own, it shares --help's."""


def _runs(repeat: int, *args: str) -> list[Run]:
    return [_sijreg(*args) for _ in range(repeat)]


def _registry(n: int) -> str:
    DATA.mkdir(exist_ok=True)
    database = DATA / f"registry-{n}.db"
    if not database.exists():
        print(f"generating {n} patients …", flush=True)
        generate(n, database)
    return str(database)


def measure(repeat: int) -> dict[str, list[Run]]:
    """Every command's runs, on a demo registry made in a scratch folder first and the
    generated registries (reports interleaved, so a busy spell hits every size alike)."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        demo = str(folder / "demo.db")
        _sijreg("demo", "--database", demo, "--out", str(folder / "demo"), "--quiet")
        registries = {"report demo (111 patients)": demo}
        registries |= {f"report {n:,} patients": _registry(n) for n in SIZES}
        runs: dict[str, list[Run]] = {
            "--help": _runs(repeat, "--help"),
            "--version": _runs(repeat, "--version"),
            **{command: [] for command in registries},
        }
        out = str(folder / "r")
        for _ in range(repeat):
            for command, database in registries.items():
                runs[command].append(_sijreg("report", "--database", database, "--out", out, "-q"))
        return runs


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
        "registry (SQLite) that `sijreg demo` makes, and on registries of 10,000 and 100,000 "
        "patients that `benchmarks/generate.py` makes (SQLite; reports of the three sizes "
        "taken in turn).",
        "",
        "| command | CPU median (s) | CPU min (s) | wall median (s) | goal, CPU (s) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for command, done in runs.items():
        cpu = [r.cpu for r in done]
        name, _, registry = command.partition(" ")
        lines.append(
            f"| `sijreg {name}` {registry} | {statistics.median(cpu):.2f} | {min(cpu):.2f} | "
            f"{statistics.median(r.seconds for r in done):.2f} | <= {GOALS[command]} |"
        )
    text = "\n".join(lines) + "\n"
    (HERE / "STARTUP.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
