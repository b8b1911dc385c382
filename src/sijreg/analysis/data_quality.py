"""The report's data-quality section: per site, the data queries and the stored records' checks.

Query counts are counts of queries (a patient may have several, and a query says
nothing about who the patient is), so they are published as counted. Patients with
a record that breaks a rule, and patients with a plausibility warning, are counts
of patients: with small-cell suppression on, a count from 1 to ``min_cell - 1`` is
withheld (``None``), and no total across sites is published, so none can be worked
out from the others. The section is read from the registry itself (a freeze has
no queries), in the reader's scope: one site's, or every site's for the analyst.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from sijreg.domain.queries import QueryState
from sijreg.domain.schedule import Window

if TYPE_CHECKING:
    import sqlalchemy as sa

NOTE = (
    "Queries are counted as queries (open, answered, closed), not patients. Breaches and "
    "warnings count patients with at least one stored record that breaks a rule, or with "
    "a plausibility warning, on the day of the report."
)
PATIENT_COUNTS = ("patients_with_breaches", "patients_with_warnings")


def read_data_quality(
    conn: sa.Connection, site_id: int | None, today: date, windows: Sequence[Window]
) -> dict[str, Any]:
    """Counts per site code (one site's, or every site's when ``site_id`` is None)."""
    # Imported here: the database stack loads only when the section is read, never for a
    # report that does not ask for it (every report imports this module).
    import sqlalchemy as sa

    from sijreg.store import integrity, queries, schema

    s = schema.site
    codes = sa.select(s.c.site_code).order_by(s.c.site_code)
    if site_id is not None:
        codes = codes.where(s.c.id == site_id)
    asked = queries.counts(conn)
    breaches: dict[str, set[int]] = {}
    for found in integrity.stored_breaches(conn, site_id, today):
        breaches.setdefault(found.site_code, set()).add(found.patient_id)
    doubts: dict[str, set[int]] = {}
    for doubt in integrity.stored_doubts(conn, site_id, today, windows):
        doubts.setdefault(doubt.site_code, set()).add(doubt.patient_id)
    sites = {}
    for code in conn.execute(codes).scalars():
        counted = asked.get(code, {})
        sites[code] = {
            **{f"queries_{q.value}": counted.get(q.value, 0) for q in QueryState},
            "patients_with_breaches": len(breaches.get(code, ())),
            "patients_with_warnings": len(doubts.get(code, ())),
        }
    return {"as_of": today.isoformat(), "sites": sites, "note": NOTE}


def disclosed(section: dict[str, Any], min_cell: int | None) -> dict[str, Any]:
    """The section as published: patient counts from 1 to ``min_cell - 1`` withheld."""
    if min_cell is None:
        return section
    sites = {
        code: {
            key: None if key in PATIENT_COUNTS and 0 < value < min_cell else value
            for key, value in counts.items()
        }
        for code, counts in section["sites"].items()
    }
    return {**section, "sites": sites}
