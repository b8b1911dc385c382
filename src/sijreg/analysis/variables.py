"""The analysis variables: one column each in a cohort frame.

Most are data-dictionary fields; a few are derived (the prior-procedure flags, the
follow-up time). Subgroups and tables name variables by these keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from sijreg.domain import dictionary as dd
from sijreg.domain.types import Choice, Field, Kind


@dataclass(frozen=True)
class Variable:
    """A cohort column with what is needed to summarise and label it."""

    name: str
    label: str
    kind: Kind
    unit: str | None = None
    decimals: int = 0
    choices: tuple[Choice, ...] = ()
    days_of: str | None = None
    """For a derived day count: the date column it counts days since the fusion to."""

    @classmethod
    def of(cls, f: Field) -> Variable:
        return cls(f.name, f.label, f.kind, f.unit, f.decimals, f.choices)

    @property
    def scale(self) -> int:
        return int(10**self.decimals)

    @property
    def heading(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit and self.unit != "%" else self.label

    @property
    def is_grouping(self) -> bool:
        """Whether the variable can split a cohort into subgroups."""
        return self.kind in (Kind.BOOLEAN, Kind.CHOICE)


_PROCEDURE = dd.PRIOR_PROCEDURE.field("procedure")

SITE = Variable("site", "Site", Kind.CHOICE)
"""The site code; its levels are the sites present in the data."""

PRIOR_FLAGS: tuple[Variable, ...] = tuple(
    Variable(f"prior_{code}", _PROCEDURE.choice_label(code), Kind.BOOLEAN)
    for code in dd.ADVANCED_PROCEDURES
)
LAST_FOLLOWUP = Variable("last_followup_date", "Date of last follow-up", Kind.DATE)
FOLLOWUP_DAYS = Variable(
    "followup_days",
    "Follow-up from fusion to last follow-up",
    Kind.INTEGER,
    unit="days",
    days_of=LAST_FOLLOWUP.name,
)
RELIEF = Variable.of(dd.field("pain_relief_pct"))

PATIENT_FIELDS = tuple(
    Variable.of(f) for f in dd.PATIENT.fields if f.name not in ("study_id", "birth_year")
)
FUSION_FIELDS = tuple(Variable.of(f) for f in dd.FUSION.fields)

VARIABLES: dict[str, Variable] = {
    v.name: v
    for v in (
        SITE,
        *PATIENT_FIELDS,
        *PRIOR_FLAGS,
        *FUSION_FIELDS,
        LAST_FOLLOWUP,
        FOLLOWUP_DAYS,
        RELIEF,
    )
}


def grouping_variable(name: str) -> Variable:
    """The yes/no or categorical variable ``name``; ValueError lists the valid ones."""
    variable = VARIABLES.get(name)
    if variable is None or not variable.is_grouping:
        valid = ", ".join(v.name for v in VARIABLES.values() if v.is_grouping)
        raise ValueError(
            f"cannot split by {name!r}: choose a yes/no or categorical variable: {valid}"
        )
    return variable
