"""The CLI options of the analysis and the export commands, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from sijreg.cli.app import app
from tests.helpers import read_tables
from tests.test_disclosure import check_document

PUBLISHED = (
    "| Age at fusion (years) | 69.8 ± 9.0 |",
    "| Sex, Female | 60 (54.1%) |",
    "| Greater than or equal to 30% | 102 (91.9%) |",
    "| Patient-reported pain relief (%), mean (n=111) | 67.6% ± 28.9% |",
)


def test_report_options_and_exports(database_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    plain = tmp_path / "plain"
    result = runner.invoke(app, ["demo", "-d", database_url, "-o", str(plain)])
    assert result.exit_code == 0, result.output
    markdown = (plain / "tables.md").read_text()
    assert all(line in markdown for line in PUBLISHED)
    assert "95% CI" not in markdown.split("SD: sample")[0]
    document = read_tables(plain)
    assert document["table2"]["rows"]["responders_30"]["ci_method"] == "wilson"
    assert document["provenance"]["data_fingerprint"].startswith("sha256:")
    page = (plain / "report.html").read_text()
    # histogram, bars, responder curve, forest, follow-up completeness, flow, scatter
    assert page.count("<figure ") == 7
    assert document["provenance"]["data_fingerprint"] in page

    out = tmp_path / "full"
    seed = ["--fused-until", "2021-04-30"]  # the demo's seed study: its report's period
    args = ["report", "-d", database_url, "-o", str(out), "-q", "--ci", "--compare", "fbss", *seed]
    args += ["--suppress-small-cells", "--min-cell", "11", "--ci-method", "clopper-pearson"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    suppressed = read_tables(out)
    check_document(suppressed, 11)
    assert (out / "report.html").read_text().count("<figure ") == 5  # no scatter, no flow
    assert suppressed["settings"]["suppress_small_cells"] == 11
    assert "| Variable | Mean ± SD or n (%) | 95% CI |" in (out / "tables.md").read_text()
    assert "clopper-pearson" in suppressed["table1"]["ci_note"].lower().replace(" ", "-")
    assert (
        suppressed["provenance"]["data_fingerprint"] == document["provenance"]["data_fingerprint"]
    )

    prespecified = tmp_path / "prespecified"
    args = ["report", "-d", database_url, "-o", str(prespecified), "-q", "--compare", "fbss", *seed]
    result = runner.invoke(app, [*args, "--tests", "rank", "--adjust", "holm"])
    assert result.exit_code == 0, result.output
    by_fbss = json.loads((prespecified / "tables.json").read_text())["comparisons"]["fbss"]
    assert {row["test"] for key, row in by_fbss["rows"].items() if key in ("age", "bmi")} == {
        "Mann-Whitney U"
    }
    relief = by_fbss["rows"]["pain_relief_pct"]
    assert relief["groups"]["yes"]["display"] == "76.5% ± 25.5%"  # the paper's Table 3
    assert relief["p_holm"] >= relief["p"]
    tables = (prespecified / "tables.md").read_text()
    assert "| p | p (Holm) | SMD | Difference or RR (95% CI) |" in tables
    assert "| median [Q1, Q3] |" in tables
    assert "test prespecified (--tests rank)" in tables
    assert "p-values are descriptive" in tables
    result = runner.invoke(app, [*args, "--tests", "bayesian"])
    assert result.exit_code == 2
    assert "--tests" in result.output

    from_report = tmp_path / "from_report"
    result = runner.invoke(
        app,
        [
            "export",
            "tables",
            "-f",
            "csv",
            "--from",
            str(out / "tables.json"),
            "-o",
            str(from_report),
        ],
    )
    assert result.exit_code == 0, result.output
    table2 = (from_report / "table2.csv").read_text()
    assert "Greater than or equal to 30%,*" in table2  # the suppressed report's cells
    for fmt in ("docx", "latex", "csv"):
        result = runner.invoke(
            app,
            ["export", "tables", "-f", fmt, "-d", database_url, "-o", str(tmp_path / fmt), *seed],
        )
        assert result.exit_code == 0, result.output
    stamps = [json.loads((tmp_path / "csv" / "provenance.json").read_text())]
    for fmt in ("csv", "parquet", "sav"):
        target = tmp_path / f"analysis.{fmt}"
        result = runner.invoke(
            app, ["export", "data", "-f", fmt, "-d", database_url, "-o", str(target), *seed]
        )
        assert result.exit_code == 0, result.output
        assert target.stat().st_size > 0
    stamps.append(json.loads((tmp_path / "analysis.provenance.json").read_text()))
    for stamp in stamps:  # exports name the same data and protocol as the report
        assert stamp["data_fingerprint"] == document["provenance"]["data_fingerprint"]
        assert stamp["protocol_version"] == document["provenance"]["protocol_version"]
        assert stamp["protocol_version"].startswith("seed-study-2021 1")


def test_bad_options_give_one_message(database_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    for args, message in (
        (["report", "--compare", "bmi"], "cannot split by 'bmi'"),
        (["report", "--window", "0"], "visit windows must be positive"),
        (
            ["report", "--fused-from", "2021-05-01", "--fused-until", "2021-04-30"],
            "the study period ends (2021-04-30) before it starts (2021-05-01)",
        ),
        (["report", "--suppress-small-cells", "--min-cell", "1"], "--min-cell must be at least 2"),
        (["export", "data", "-f", "xlsx"], "--format must be one of csv, parquet, sav"),
        (["export", "tables", "--from", str(tmp_path / "none.json")], "cannot read the report"),
    ):
        result = runner.invoke(app, [*args, "-d", database_url, "-o", str(tmp_path / "x")])
        assert result.exit_code == 1
        assert message in " ".join(result.output.split())
        assert "Traceback" not in result.output
    wrong_day = runner.invoke(app, ["report", "--fused-until", "30.04.2021", "-d", database_url])
    assert wrong_day.exit_code == 2  # a usage error, named by the option
    assert "'30.04.2021' does not match the formats '%Y-%m-%d'" in " ".join(
        wrong_day.output.replace("│", " ").split()
    )


def test_report_on_an_empty_registry(engine: sa.Engine, database_url: str, tmp_path: Path) -> None:
    args = ["report", "-d", database_url, "-o", str(tmp_path), "-q", "--ci", "--compare", "sex"]
    result = CliRunner().invoke(app, [*args, "--suppress-small-cells"])
    assert result.exit_code == 0, result.output
    document = read_tables(tmp_path)
    assert document["cohort"]["analysed"] == 0
    assert document["sites"]["rows"] == {}


def test_suppression_of_a_registry_with_thousands_of_patients(tmp_path: Path) -> None:
    """Past the 1,000 patients the first implementation refused: every count still safe."""
    from benchmarks.generate import generate

    database = tmp_path / "big.db"
    generate(3000, database)
    out = tmp_path / "o"
    args = ["report", "-d", str(database), "-o", str(out), "-q", "--compare", "fbss"]
    result = CliRunner().invoke(app, [*args, "--suppress-small-cells"])
    assert result.exit_code == 0, result.output
    document = read_tables(out)
    assert document["cohort"]["analysed"] > 2000
    assert '"<11"' in json.dumps(document)  # some small counts, hidden
    check_document(document, 11)
