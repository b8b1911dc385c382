"""Time ``sijreg report --suppress-small-cells`` against the same report without it.

Each run is the whole command in a new process; its peak memory is the child's own
maximum resident set size (``os.wait4``). Results go to benchmarks/SUPPRESSION.md.

    python -m benchmarks.suppression                    # 1k, 10k, 100k and 1M patients
    python -m benchmarks.suppression 1000 10000 --repeat 1 --many-sites 0
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from benchmarks.generate import generate
from benchmarks.run import DATA, HERE, _machine, run_report

MIN_CELL = 11
SUPPRESS = ("--suppress-small-cells", "--min-cell", str(MIN_CELL))


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
        plain_runs, suppressed_runs = [], []
        for _ in range(args.repeat):
            plain_runs.append(run_report(database, DATA / "report-plain"))
            suppressed_runs.append(run_report(database, DATA / "report-suppressed", *SUPPRESS))
        analysed, hidden = _hidden(DATA / "report-suppressed")
        plain = statistics.median(run.seconds for run in plain_runs)
        suppressed = statistics.median(run.seconds for run in suppressed_runs)
        label = f"{n:,} over {sites:,} sites" if sites else f"{n:,}"
        lines.append(
            f"| {label} | {analysed:,} | {plain:.2f} | {suppressed:.2f} | "
            f"{suppressed / plain:.1f}x | {max(run.peak_gib for run in plain_runs):.2f} | "
            f"{max(run.peak_gib for run in suppressed_runs):.2f} | {hidden:,} |"
        )
        print(lines[-1], flush=True)
    (HERE / "SUPPRESSION.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
