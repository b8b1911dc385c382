"""Where a report's time goes: each step of ``sijreg report`` timed alone, in one process.

The whole command (benchmarks/run.py) runs some steps side by side; here they run one
after another, so each step's wall-clock and processor seconds can be read off, and
their sum shows how fast any report with this content could be on this machine. Each
size is measured in a new process, so the imports are timed cold. Results go to
benchmarks/PHASES.md.

    python -m benchmarks.phases                 # 100k and 1M patients
    python -m benchmarks.phases 20000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
HERE = Path(__file__).parent

STEPS = (
    ("imports", "start-up is not counted; importing the CLI, the analyses and the renderers"),
    ("read registry", "reading the SQLite registry and its screening log (`read_snapshot`)"),
    ("read freeze", "reading the same data from a freeze instead (`read_freeze`)"),
    ("cohort", "choosing the analysis cohort, with the reasons patients are left out"),
    ("tables 1-3", "Tables 1-3"),
    ("table 1 by FBSS", "Table 1 by FBSS with tests and SMDs (what tableone computes)"),
    ("study flow", "the flow from screened to analysed"),
    ("completeness", "follow-up completeness by site and time point, responders two ways"),
    ("further analyses", "every other analysis (over time, sites, responders, missing values)"),
    ("fingerprint", "the data fingerprint (a freeze states its own: not counted for it)"),
    ("render", "report.html with its six figures, tables.md and tables.json"),
)


def _measure(database: Path, freeze: Path, out: Path) -> dict[str, tuple[float, float]]:
    """The steps, in this process; (wall, CPU) seconds each."""
    times: dict[str, tuple[float, float]] = {}

    def timed(step: str, action: Callable[[], T]) -> T:
        wall, cpu = time.perf_counter(), time.process_time()
        result = action()
        times[step] = (time.perf_counter() - wall, time.process_time() - cpu)
        return result

    def imports() -> Any:
        import sijreg.cli.app
        import sijreg.report.terminal  # noqa: F401
        from sijreg.report import write

        return write

    write = timed("imports", imports)
    from dataclasses import replace

    from sijreg.analysis import extended, provenance
    from sijreg.analysis.cohort import select_cohort
    from sijreg.analysis.compare import compare
    from sijreg.analysis.completeness import registry_completeness
    from sijreg.analysis.describe import without_members
    from sijreg.analysis.flow import study_flow
    from sijreg.analysis.snapshot import read_snapshot
    from sijreg.analysis.tables import Settings, study_tables
    from sijreg.analysis.variables import grouping_variable
    from sijreg.interop.freeze import read_freeze
    from sijreg.interop.protocol_file import load_protocol
    from sijreg.report import document
    from sijreg.store.database import open_database

    engine = open_database(str(database), create=False)
    timed("read registry", lambda: read_snapshot(engine))
    frozen = timed("read freeze", lambda: read_freeze(freeze))
    snapshot, screenings = frozen.snapshot, frozen.snapshot.screenings
    as_of = date.fromisoformat(frozen.manifest["created_at"][:10])
    settings = Settings()
    with without_members():  # as the report computes when nothing is suppressed
        cohort = timed("cohort", lambda: select_cohort(snapshot.registry))
        tables = timed("tables 1-3", lambda: study_tables(cohort, settings))
        fbss = grouping_variable("fbss")
        timed("table 1 by FBSS", lambda: compare(cohort.frame, fbss, settings.thresholds))
        timed("study flow", lambda: study_flow(cohort, screenings, load_protocol()))
        timed(
            "completeness",
            lambda: registry_completeness(snapshot.registry, as_of, snapshot.visit_windows),
        )
        timed("further analyses", lambda: extended.extended(tables))
        timed("fingerprint", lambda: provenance.computed_fingerprint(cohort))
        compared = replace(tables, settings=replace(settings, compare=("fbss",)))
        doc = document.build(compared, str(database))  # the analyses again, not timed
        timed("render", lambda: write.write_document(doc, compared, out))
    return times


def measure(n: int) -> dict[str, tuple[float, float]]:
    """The steps at ``n`` patients, measured in a new process that imports nothing first."""
    from benchmarks.generate import generate
    from benchmarks.run import DATA, make_freeze

    database = DATA / f"registry-{n}.db"
    if not database.exists():
        print(f"generating {n} patients …", flush=True)
        generate(n, database)
    freeze, _ = make_freeze(database)
    out = DATA / "report-phases"
    child = subprocess.run(
        [sys.executable, "-m", "benchmarks.phases", "--child", *map(str, (database, freeze, out))],
        capture_output=True,
        text=True,
        check=False,
        cwd=HERE.parent,
    )
    if child.returncode:
        raise SystemExit(f"measuring {n} patients failed:\n{child.stderr}")
    result: dict[str, list[float]] = json.loads(child.stdout.splitlines()[-1])
    return {step: (wall, cpu) for step, (wall, cpu) in result.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--child", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # the measuring process: database, freeze, report folder
        print(json.dumps(_measure(*args.child)))
        return
    from benchmarks.run import DATA, TARGET_RATIO, TARGET_SECONDS_AT_1M, _machine

    DATA.mkdir(exist_ok=True)
    measured = {n: measure(n) for n in args.sizes}
    header = " | ".join(f"{n:,} wall (s) | {n:,} CPU (s)" for n in args.sizes)
    lines = [
        "# Where a report's time goes",
        "",
        "Written by `benchmarks/phases.py` (`python -m benchmarks.phases`).",
        "",
        *_machine(),
        "",
        "Each step of `sijreg report --compare fbss` timed alone, one after another in one "
        "new process per size (the report itself overlaps the imports with reading, and "
        "the fingerprint and the completeness with the further analyses). CPU is user + "
        "system time of all threads; above the wall-clock time when both cores work.",
        "",
        f"| step | what | {header} |",
        "| --- | --- |" + " ---: | ---: |" * len(args.sizes),
    ]
    for step, what in STEPS:
        cells = " | ".join(
            f"{measured[n][step][0]:.2f} | {measured[n][step][1]:.2f}" for n in measured
        )
        lines.append(f"| {step} | {what} | {cells} |")
    for source, skipped in (
        ("registry", ("read freeze",)),
        ("freeze", ("read registry", "fingerprint")),
    ):
        cells = " | ".join(
            f"{sum(w for s, (w, _) in measured[n].items() if s not in skipped):.2f} | "
            f"{sum(c for s, (_, c) in measured[n].items() if s not in skipped):.2f}"
            for n in measured
        )
        but = " and ".join(f"*{s}*" for s in skipped)
        lines.append(f"| **from the {source}** | every step but {but} | {cells} |")
    lines += [
        "",
        "The targets at 1,000,000 patients are a whole report from a freeze in at most "
        f"{TARGET_SECONDS_AT_1M['from a freeze']} s and at least {TARGET_RATIO:.0f}x faster "
        "than tableone, and from the registry in at most "
        f"{TARGET_SECONDS_AT_1M['from the registry']:.0f} s (benchmarks/RESULTS.md). "
        "On two cores a report cannot take less than half its "
        "CPU seconds, nor less than its imports, which hold the interpreter lock; "
        "start-up (about half a second) comes on top.",
    ]
    (HERE / "PHASES.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
