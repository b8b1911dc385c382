"""Exports: the .sav file read by GNU PSPP, the de-identified analysis file, table files,
and the data fingerprint every report and export carries."""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import subprocess
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyreadstat
import pytest
import sqlalchemy as sa
from docx import Document
from hypothesis import given, settings
from hypothesis import strategies as st

from sijreg.analysis import provenance
from sijreg.analysis.cohort import Cohort, build_cohort
from sijreg.analysis.provenance import fingerprint
from sijreg.analysis.tables import Settings, study_tables
from sijreg.domain import dictionary as dd
from sijreg.domain.records import PatientRecord
from sijreg.interop import analysis_file, table_export
from sijreg.report.document import build
from sijreg.report.grids import all_grids
from sijreg.report.options import Options
from sijreg.store.database import open_database
from tests.cohorts import analysed, random_registry, store

PSPP = "/usr/bin/pspp"
MEASURED = ("bmi", "pain_relief_pct", "followup_days", "age")


def _pspp(syntax: str, tmp_path: Path) -> dict[str, list[list[str]]]:
    """Run a syntax file; its output tables as {title: rows} from PSPP's CSV output."""
    script = tmp_path / "check.sps"
    script.write_text(syntax, encoding="utf-8")
    out = tmp_path / "out.csv"
    subprocess.run([PSPP, "-O", "format=csv", "-o", str(out), str(script)], check=True)
    tables: dict[str, list[list[str]]] = {}
    title = ""
    for row in csv.reader(io.StringIO(out.read_text(encoding="utf-8"))):
        if row and row[0].startswith("Table: "):
            title = row[0].removeprefix("Table: ")
            tables[title] = []
        elif row and title:
            tables[title].append(row)
    return tables


def _export(
    engine: sa.Engine, seed: int, tmp_path: Path, unknown_sex: int = 0
) -> tuple[Any, dict[str, Any], Path]:
    records = random_registry(seed, n=70, sites=3)
    for r in [r for r in records if analysed([r])][:unknown_sex]:  # blank sex, as imported
        r.patient["sex"] = None
    store(engine, records)
    cohort = build_cohort(engine)
    document = build(study_tables(cohort, Settings()), "test")
    file = analysis_file.build(cohort, fingerprint(cohort))
    path = analysis_file.write(file, tmp_path / "analysis.sav", "sav", document["provenance"])
    return records, document, path


def _dictionary(path: Path, tmp_path: Path) -> dict[str, dict[str, str]]:
    """PSPP's DISPLAY DICTIONARY: per variable its measurement level, formats, missing values."""
    table = _pspp(f"GET FILE='{path}'.\nDISPLAY DICTIONARY.\n", tmp_path)["Variables"]
    head = table[0]
    return {row[0]: dict(zip(head, row, strict=True)) for row in table[1:]}


def test_pspp_reads_the_same_means_sds_and_frequencies(engine: sa.Engine, tmp_path: Path) -> None:
    records, document, path = _export(engine, 5, tmp_path, unknown_sex=4)
    aggregates = " ".join(f"/{v}_mean=MEAN({v}) /{v}_sd=SD({v}) /{v}_n=N({v})" for v in MEASURED)
    names = " ".join(f"{v}_mean {v}_sd" for v in MEASURED)
    responders = "".join(
        f"COMPUTE r{t} = pain_relief_pct >= {t}.\n" for t in (30, 50, 80)
    )  # a missing relief gives a missing r
    tables = _pspp(
        f"GET FILE='{path}'.\n"
        f"DESCRIPTIVES VARIABLES={' '.join(MEASURED)} /STATISTICS=MEAN STDDEV.\n"
        "FREQUENCIES VARIABLES=sex fbss.\n"
        f"{responders}"
        "COMPUTE one = 1.\n"
        f"AGGREGATE OUTFILE=* /BREAK=one {aggregates} "
        "/r30=SUM(r30) /r50=SUM(r50) /r80=SUM(r80) /patients=N.\n"
        f"FORMATS {names} (F24.12).\n"
        "LIST.\n",
        tmp_path,
    )
    rows = {**document["table1"]["rows"], **document["table2"]["rows"]}
    descriptives = {r[0]: r for r in tables["Descriptive Statistics"][1:]}
    listed = dict(zip(*tables["Data List"][:2], strict=True))
    for name in ("bmi", "pain_relief_pct", "followup_days"):
        row = rows[name]
        label_text = next(k for k in descriptives if k.startswith(_label(name)))
        n, mean, sd = descriptives[label_text][1:4]
        assert int(n) == row["n"]
        assert abs(float(mean) - row["mean"]) <= 0.005 + 1e-9
        assert abs(float(sd) - row["sd"]) <= 0.005 + 1e-9
        assert float(listed[f"{name}_mean"]) == pytest.approx(row["mean"], abs=1e-10)
        assert float(listed[f"{name}_sd"]) == pytest.approx(row["sd"], abs=1e-10)
    relief = rows["pain_relief_pct"]["display"].split(" ± ")[0].rstrip("%")
    assert float(listed["pain_relief_pct_mean"]) == pytest.approx(float(relief), abs=0.05)
    assert int(listed["patients"]) == document["table1"]["n"]
    for t in (30, 50, 80):
        assert round(float(listed[f"r{t}"])) == rows[f"responders_{t}"]["count"]
    # Age is top-coded in the file: PSPP's mean is the mean of min(age, 90).
    ages = [min(90, int(p["age"])) for p in analysed(records)]
    assert float(listed["age_mean"]) == pytest.approx(sum(ages) / len(ages), abs=1e-10)
    # A blank sex is missing (user-missing), not a third category.
    sex = tables["Sex"]
    frequencies = {r[1]: int(r[2]) for r in sex if r[0] in ("Valid", "") and r[1]}
    assert frequencies == {"Female": rows["sex.F"]["count"], "Male": rows["sex.M"]["count"]}
    missing = next(int(r[2]) for r in sex if r[0] == "Missing")
    assert missing == rows["sex.F"]["missing"] >= 4
    fbss_label = dd.field("fbss").label
    fbss = {r[1]: int(r[2]) for r in tables[fbss_label] if len(r) > 2 and r[1]}
    assert fbss["yes"] == rows["fbss"]["count"]


def test_pspp_sees_measurement_levels_formats_and_missing_values(
    engine: sa.Engine, tmp_path: Path
) -> None:
    _, document, path = _export(engine, 6, tmp_path, unknown_sex=2)
    variables = _dictionary(path, tmp_path)
    assert "last_followup_days" not in variables  # followup_days is the same column
    assert "followup_days" in variables
    for name, v in variables.items():
        level, fmt, missing = v["Measurement Level"], v["Print Format"], v["Missing Values"]
        f = next((f for form in dd.FORMS for f in form.fields if f.name == name), None)
        if name == "analysis_id":
            assert (level, fmt) == ("Nominal", "F8.0")
        elif name in ("site", "sex") or (f is not None and f.kind.value == "choice"):
            assert (level, fmt[0]) == ("Nominal", "A"), name
            assert (missing != "", missing.strip('" ')) == (True, ""), name  # blank is missing
        elif name.startswith("prior_") or (f is not None and f.kind.value == "boolean"):
            assert (level, fmt, missing) == ("Nominal", "F8.0", ""), name
        elif name in ("followup_days", "fusion_year"):
            assert (level, fmt) == ("Scale", "F8.0"), name
        else:  # measured: whole numbers without decimals, decimals as the dictionary says
            assert f is not None, name
            assert f.kind.value in ("integer", "decimal"), name
            assert (level, fmt) == ("Scale", f"F8.{f.decimals}"), name
    documents = _pspp(f"GET FILE='{path}'.\nDISPLAY DOCUMENTS.\n", tmp_path)["Documents"]
    text = "\n".join(r[0] for r in documents)
    note = analysis_file.provenance_note(document["provenance"])
    assert all(len(line) <= 80 for line in note)
    assert text.split("\n") == note
    assert document["provenance"]["data_fingerprint"] in note  # a whole line, never cut
    assert "ci method: wilson;" in " ".join(note)
    assert "{" not in text
    assert '"' not in text
    assert " ".join(note).count(":") >= len(document["provenance"])


def test_unknown_age_stays_unknown_in_every_format(engine: sa.Engine, tmp_path: Path) -> None:
    records = random_registry(9, n=60, sites=2)
    unknown = [r for r in records if analysed([r])][:3]
    for r in unknown:
        r.patient["age"] = None
    store(engine, records)
    cohort = build_cohort(engine)
    file = analysis_file.build(cohort, fingerprint(cohort))
    ages = [p["age"] for p in analysed(records)]
    old = sum(1 for a in ages if a is not None and a >= 90)
    assert old
    assert ages.count(None) == 3
    stamp: dict[str, object] = {"data_fingerprint": fingerprint(cohort)}
    sav, _ = pyreadstat.read_sav(
        str(analysis_file.write(file, tmp_path / "a.sav", "sav", stamp)), output_format="polars"
    )
    parquet = pl.read_parquet(analysis_file.write(file, tmp_path / "a.parquet", "parquet", stamp))
    text = pl.read_csv(
        analysis_file.write(file, tmp_path / "a.csv", "csv", stamp), infer_schema=False
    )
    for frame, top in ((sav, 90), (parquet, 90), (text, "90+")):
        column = frame.get_column("age")
        assert _unknown(column) == 3
        assert (column == top).sum() == old
    expected = sorted(min(90, a) for a in ages if a is not None)
    assert sorted(parquet.get_column("age").drop_nulls().to_list()) == expected


def _unknown(column: pl.Series) -> int:
    if column.dtype.is_float():
        return int(column.is_null().sum()) + int(column.is_nan().sum())
    return int(column.is_null().sum())


def _label(name: str) -> str:
    try:
        return dd.field(name).label
    except KeyError:
        from sijreg.analysis.variables import VARIABLES

        return VARIABLES[name].label


def test_analysis_file_is_de_identified_and_labelled(engine: sa.Engine, tmp_path: Path) -> None:
    records, document, path = _export(engine, 8, tmp_path)
    frame, meta = pyreadstat.read_sav(str(path), output_format="polars")
    patients = analysed(records)
    assert frame.height == len(patients)
    assert sorted(frame.get_column("analysis_id").to_list()) == list(range(1, len(patients) + 1))
    for f in (field for form in dd.FORMS for field in form.fields):
        if f.disclosure.value in ("pseudonym", "date", "free_text"):
            assert f.name not in frame.columns
    assert not any(
        isinstance(v, str) and v.startswith(("S1-", "S2-", "S3-"))
        for column in frame.columns
        for v in frame.get_column(column).to_list()
    )
    assert frame.get_column("age").cast(pl.Int64).max() == 90
    assert meta.variable_value_labels["age"] == {90: "90+"}
    years = frame.get_column("fusion_year").cast(pl.Int64).to_list()
    fused = [r.fusion_date for r in records if analysed([r])]
    assert sorted(years) == sorted(d.year for d in fused if d is not None)  # no finer date
    sex_labels = {str(k): v for k, v in meta.variable_value_labels["sex"].items()}
    assert sex_labels == {c.code: c.label for c in dd.field("sex").choices}
    assert meta.column_names_to_labels["bmi"] == dd.field("bmi").label
    assert "followup_days" in frame.columns
    assert "last_followup_days" not in frame.columns
    assert document["provenance"]["data_fingerprint"] in "".join(meta.notes)
    csv_path = analysis_file.write(
        analysis_file.build(build_cohort(engine), document["provenance"]["data_fingerprint"]),
        tmp_path / "analysis.csv",
        "csv",
        document["provenance"],
    )
    text = pl.read_csv(csv_path, infer_schema=False)
    older = [p for p in patients if int(p["age"]) >= 90]
    assert (text.get_column("age") == "90+").sum() == len(older)
    again = tmp_path / "again.csv"
    analysis_file.write(
        analysis_file.build(build_cohort(engine), document["provenance"]["data_fingerprint"]),
        again,
        "csv",
        document["provenance"],
    )
    assert again.read_bytes() == csv_path.read_bytes()


def test_table_exports_hold_the_report_cells(engine: sa.Engine, tmp_path: Path) -> None:
    store(engine, random_registry(3, n=60, sites=2))
    tables = study_tables(build_cohort(engine), Settings(compare=("fbss",)))
    document = build(tables, "test", Options(ci=True))
    grids = all_grids(document)
    docx_files = table_export.export_tables(document, "docx", tmp_path / "docx")
    word = Document(str(docx_files[0]))
    assert len(word.tables) == len(grids)
    for grid, table in zip(grids, word.tables, strict=True):
        assert tuple(c.text for c in table.rows[0].cells) == grid.columns
        for row, cells in zip(grid.rows, table.rows[1:], strict=True):
            texts = [c.text for c in cells.cells]
            assert texts[0] == row[0] if len(row) == 1 else tuple(texts) == row
    assert document["provenance"]["data_fingerprint"] in word.core_properties.comments
    csv_files = table_export.export_tables(document, "csv", tmp_path / "csv")
    for grid in grids:
        with (tmp_path / "csv" / f"{grid.key}.csv").open(encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        assert tuple(rows[0]) == grid.columns
        body, notes = rows[1 : len(grid.rows) + 1], rows[len(grid.rows) + 1 :]
        assert [tuple(r) for r in body] == [tuple(c.strip() for c in r) for r in grid.rows]
        assert notes == ([[]] + [[note] for note in grid.notes] if grid.notes else [])
    assert json.loads(csv_files[-1].read_text())["data_fingerprint"].startswith("sha256:")
    tex = table_export.export_tables(document, "latex", tmp_path / "tex")[0].read_text()
    assert tex.count("\\begin{table}") == len(grids)
    assert document["provenance"]["data_fingerprint"] in tex
    assert "\\$\\pm\\$" not in tex
    assert "$\\pm$" in tex


def test_fingerprint_is_stable_across_databases_and_sensitive(
    engine: sa.Engine, tmp_path: Path
) -> None:
    records = random_registry(21, n=50, sites=3)
    store(engine, records)
    first = fingerprint(build_cohort(engine))
    other = open_database(str(tmp_path / "other.db"))
    store(other, list(reversed(records)))  # other storage ids, same data
    assert fingerprint(build_cohort(other)) == first
    assert (
        build(study_tables(build_cohort(engine), Settings()), "a")["provenance"]["data_fingerprint"]
        == first
    )
    target = next(i for i, r in enumerate(records) if analysed([r]))
    changes: list[tuple[str, Callable[[PatientRecord], None]]] = [
        ("bmi", lambda r: r.patient.__setitem__("bmi", Decimal("44.4"))),
        ("visit nrs", lambda r: r.visits[0].__setitem__("nrs_pain", 0)),
        ("relief", lambda r: r.visits[-1].__setitem__("pain_relief_pct", Decimal("12.3"))),
    ]
    for name, change in changes:
        changed = random_registry(21, n=50, sites=3)
        change(changed[target])
        store(other, changed)
        assert fingerprint(build_cohort(other)) != first, name
    other.dispose()


def test_canonical_order_survives_a_key_collision() -> None:
    """A null and the one int64 that mixes like a null share a row key; the order must still
    follow the rows' content, never their storage order."""
    mark = int(provenance._NULL_MARK.astype(np.int64))
    frame = pl.DataFrame({"a": [None, mark, 3, None], "b": [1, 1, 2, 1]})
    keys = provenance.row_keys(frame)
    assert keys[0] == keys[1] == keys[3]  # a real collision: rows 0 and 1 differ
    ranks = provenance.canonical_ranks(frame).to_list()
    assert ranks[0] == ranks[3] != ranks[1]  # equal rows share a rank, different rows do not
    reordered = frame.reverse()
    assert provenance.canonical_ranks(reordered).to_list() == ranks[::-1]


def test_text_columns_are_coded_as_numbers_even_when_empty() -> None:
    frame = pl.DataFrame(
        {"none": pl.Series([None, None], dtype=pl.String), "some": ["b", None], "n": [1, 2]}
    )
    coded, distinct = provenance._coded(frame)
    assert coded.schema == pl.Schema({"none": pl.Int64, "some": pl.Int64, "n": pl.Int64})
    assert coded.rows() == [(None, 0, 1), (None, None, 2)]
    assert distinct["some"].to_list() == ["b"]


def test_fingerprint_of_identical_patients_follows_their_visits_not_storage(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """Two patients alike in every analysed value share a rank; their visits must still be
    hashed in an order fixed by content, and a change to either one's visits must show."""
    records = random_registry(5, n=30, sites=2)
    original = next(r for r in records if analysed([r]) and len(r.visits) >= 3)
    twin = copy.deepcopy(original)
    twin.patient["study_id"] = "TWIN-0001"
    twin.visits[0]["nrs_pain"] = 9 if original.visits[0].get("nrs_pain") != 9 else 1
    store(engine, [*records, twin])
    first = fingerprint(build_cohort(engine))
    other = open_database(str(tmp_path / "other.db"))
    store(other, [twin, *reversed(records)])  # other storage order and ids
    assert fingerprint(build_cohort(other)) == first
    changed = copy.deepcopy(twin)
    changed.visits[0]["nrs_pain"] = original.visits[0].get("nrs_pain")
    store(other, [changed, *records])
    assert fingerprint(build_cohort(other)) != first
    other.dispose()


def _reference_fingerprint(cohort: Cohort) -> str:
    """The fingerprint as first written: the whole frames reordered and joined, then hashed.

    ``fingerprint`` reorders one column at a time instead; the bytes must not change.
    """
    patients, text = provenance._coded(provenance._canonical(cohort.frame.drop("patient_id")))
    rank = provenance.canonical_ranks(patients)
    digest = hashlib.sha256()
    provenance._digest(
        digest, "patients", patients.with_columns(rank).sort("_row").drop("_row"), text
    )
    if cohort.visits.height:
        keyed = cohort.frame.select("patient_id", rank).sort("_row")
        joined = keyed.join(cohort.visits, on="patient_id", maintain_order="left_right")
        visits, text = provenance._coded(provenance._canonical(joined.drop("patient_id")))
        if not provenance._strictly_increasing(visits["_row"], visits["visit_date"]):
            visits = visits.sort(visits.columns, nulls_last=True)
        provenance._digest(digest, "visits", visits, text)
    return "sha256:" + digest.hexdigest()


def _synthetic_cohort(seed: int, n: int, twins: int) -> Cohort:
    """Patients with nulls, text, choices and decimals, some identical but for their id,
    in a random id order, and their visits grouped by patient in date order."""
    rng = np.random.default_rng(seed)
    maybe = [None, *range(3)]
    rows = [
        {
            "site": ["S01", "S02", None][int(rng.integers(3))],
            "sex": ["F", "M", None][int(rng.integers(3))],
            "age": maybe[int(rng.integers(4))],
            "bmi": float(rng.integers(150, 160)) / 10 if rng.random() < 0.8 else None,
            "fusion_date": date(2020, 1, 1) + timedelta(days=int(rng.integers(3))),
        }
        for _ in range(n)
    ]
    rows += [dict(rows[int(rng.integers(n))]) for _ in range(twins)]
    ids = rng.permutation(len(rows)) * 7 + 3
    frame = pl.DataFrame(
        [{"patient_id": int(i), **row} for i, row in zip(ids, rows, strict=True)],
        schema_overrides={"sex": pl.Enum(["F", "M"]), "fusion_date": pl.Date},
    )
    visits = [
        {
            "patient_id": int(i),
            "visit_date": row["fusion_date"] + timedelta(days=day),
            "days_since_fusion": day,
            "pain_relief_pct": float(rng.integers(0, 4)) * 12.5 if rng.random() < 0.7 else None,
        }
        for i, row in sorted(zip(ids, rows, strict=True), key=lambda pair: int(pair[0]))
        for day in sorted({int(d) for d in rng.integers(-5, 5, size=int(rng.integers(0, 4)))})
    ]
    schema = {"patient_id": pl.Int64, "visit_date": pl.Date, "days_since_fusion": pl.Int64}
    visit_frame = pl.DataFrame(visits, schema={**schema, "pain_relief_pct": pl.Float64})
    return Cohort(frame, len(rows), (), 90, visit_frame)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30), twins=st.integers(0, 6))
@settings(max_examples=60, deadline=None)
def test_fingerprint_equals_the_whole_frame_reference(seed: int, n: int, twins: int) -> None:
    cohort = _synthetic_cohort(seed, n, twins)
    assert fingerprint(cohort) == _reference_fingerprint(cohort)
    # Another storage order of the same data (patients and each one's run of visits).
    shuffled = Cohort(
        cohort.frame.sample(fraction=1.0, shuffle=True, seed=seed),
        cohort.registered,
        (),
        90,
        cohort.visits.sort("patient_id", "visit_date", descending=[True, False]),
    )
    assert fingerprint(shuffled) == fingerprint(cohort)
    for each in (cohort, shuffled):  # the visits' order: patients by rank, each one's run
        patient = provenance._rows_of(each.frame["patient_id"], each.visits["patient_id"])
        by_rank = provenance.canonical_ranks(
            provenance._coded(provenance._canonical(each.frame.drop("patient_id")))[0]
        ).arg_sort()
        expected = [i for p in by_rank for i in np.flatnonzero(patient == p)]
        assert provenance._visit_order(patient, by_rank.to_numpy()).tolist() == expected
