"""Time ``sijreg report --suppress-small-cells`` against the same report without it.

Each run is the whole command in a new process; its peak memory is the child's own
maximum resident set size (``os.wait4``). Results go to benchmarks/SUPPRESSION.md.

    python -m benchmarks.suppression                    # 1k, 10k, 100k and 1M patients
    python -m benchmarks.suppression 1000 10000 --repeat 1 --many-sites 0
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.generate import generate
from benchmarks.run import DATA, HERE, _machine

MIN_CELL = 11


def _report(database: Path, out: Path, suppress: bool) -> tuple[float, float]:
    """Seconds and peak memory (GiB) of one ``sijreg report --compare fbss -q``."""
    command = [
        str(Path(sys.executable).with_name("sijreg")),
        "report",
        "--database",
        str(database),
        "--out",
        str(out),
        "--compare",
        "fbss",
        "--quiet",
    ]
    if suppress:
        command += ["--suppress-small-cells", "--min-cell", str(MIN_CELL)]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        assert child.stderr is not None
        raise SystemExit(f"{' '.join(command)} failed:\n{child.stderr.read().decode()}")
    return seconds, usage.ru_maxrss / 1024 / 1024  # kilobytes on Linux


def _hidden(out: Path) -> tuple[int, int]:
    """(analysed patients, values shown as a marker) of a suppressed tables.json."""
    document = json.loads((out / "tables.json").read_text(encoding="utf-8"))
    markers = (f"<{MIN_CELL}", "*")

    def hidden(node: object) -> int:
        if isinstance(node, dict):
            return sum(hidden(v) for v in node.values())
        if isinstance(node, list):
            return sum(hidden(v) for v in node)
        return int(node in markers)

    return int(document["cohort"]["analysed"]), hidden(document)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--many-sites",
        type=int,
        default=2_000,
        help="also time 100,000 patients over this many sites (0: skip), where many "
        "per-site counts are small",
    )
    args = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    lines = [
        "# Small-cell suppression benchmark",
        "",
        "Written by `benchmarks/suppression.py` (`python -m benchmarks.suppression`).",
        "",
        *_machine(),
        "",
        "Each time is the median of the repetitions of the whole command in a new process, "
        "`sijreg report --compare fbss -q`, without and with `--suppress-small-cells "
        f"--min-cell {MIN_CELL}`, on the registries of `benchmarks/generate.py`; memory is "
        "the largest peak resident set size of the repetitions; *hidden*: the values shown "
        f"as `<{MIN_CELL}` or `*` in the suppressed tables.json.",
        "",
        "| patients | analysed | report (s) | suppressed (s) | ratio | report (GiB) | "
        "suppressed (GiB) | hidden |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    registries = [(n, None) for n in args.sizes]
    if args.many_sites:
        registries.append((100_000, args.many_sites))
    for n, sites in registries:
        name = f"registry-{n}" + (f"-{sites}-sites" if sites else "")
        database = DATA / f"{name}.db"
        if not database.exists():
            print(f"generating {name} …", flush=True)
            generate(n, database, sites=sites)
        runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        for _ in range(args.repeat):
            for suppress in (False, True):
                out = DATA / ("report-suppressed" if suppress else "report-plain")
                runs[suppress].append(_report(database, out, suppress))
        analysed, hidden = _hidden(DATA / "report-suppressed")
        plain = statistics.median(s for s, _ in runs[False])
        suppressed = statistics.median(s for s, _ in runs[True])
        label = f"{n:,} over {sites:,} sites" if sites else f"{n:,}"
        lines.append(
            f"| {label} | {analysed:,} | {plain:.2f} | {suppressed:.2f} | "
            f"{suppressed / plain:.1f}x | {max(m for _, m in runs[False]):.2f} | "
            f"{max(m for _, m in runs[True]):.2f} | {hidden:,} |"
        )
        print(lines[-1], flush=True)
    (HERE / "SUPPRESSION.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
