"""Validated patient records: what imports, the demo and the web app hand to the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sijreg.domain.types import Value

Values = dict[str, Value]
"""A record's values by field name, as :meth:`Field.parse` returned them."""


@dataclass
class PatientRecord:
    """One patient with everything the registry holds about them."""

    site_code: str
    patient: Values
    fusion: Values | None = None
    prior_procedures: list[Values] = field(default_factory=list)
    visits: list[Values] = field(default_factory=list)
    adverse_events: list[Values] = field(default_factory=list)

    @property
    def study_id(self) -> str:
        return str(self.patient["study_id"])

    @property
    def fusion_date(self) -> date | None:
        value = self.fusion.get("fusion_date") if self.fusion else None
        return value if isinstance(value, date) else None

    def last_followup(self) -> Values | None:
        """The last follow-up visit after the fusion (the study's outcome visit), if any."""
        fusion = self.fusion_date
        dated = [(v["visit_date"], v) for v in self.visits if v.get("baseline") is not True]
        after = [(d, v) for d, v in dated if isinstance(d, date) and fusion and d > fusion]
        return max(after, key=lambda pair: pair[0])[1] if after else None


@dataclass
class ScreeningRecord:
    """One screening log entry: a candidate judged against the protocol, enrolled or not.

    ``values`` holds the screening form's fields (the screening number among them);
    ``study_id`` names the enrolled patient at the same site, when there is one.
    """

    site_code: str
    values: Values
    study_id: str | None = None

    @property
    def screening_number(self) -> str:
        return str(self.values["screening_number"])
