"""The API's Pydantic models, derived from the data dictionary.

Each field is validated by its dictionary :meth:`Field.parse` (so no rule is stated
twice) and its range, choices, length and pattern appear in the JSON schema from
the same :class:`Field`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, create_model
from pydantic import Field as Schema

from sijreg.domain import dictionary as dd
from sijreg.domain.types import Field, Form, Kind
from sijreg.store.scope import REASON, RECORD_TABLES, SCOPED_TABLES, SIGNATURE_MEANINGS

MAX_ID = 2**31 - 1
"""Ids and versions are 32-bit integers in the database."""

_PYTHON: dict[Kind, type] = {
    Kind.INTEGER: int,
    Kind.DECIMAL: Decimal,
    Kind.BOOLEAN: bool,
    Kind.DATE: date,
    Kind.CHOICE: str,
    Kind.TEXT: str,
}


def json_schema_rules(f: Field) -> dict[str, Any]:
    """The field's rule in JSON-schema words."""
    rules: dict[str, Any] = {}
    if f.minimum is not None:
        rules["minimum"] = int(f.minimum) if f.kind is Kind.INTEGER else float(f.minimum)
    if f.maximum is not None:
        rules["maximum"] = int(f.maximum) if f.kind is Kind.INTEGER else float(f.maximum)
    if f.kind is Kind.CHOICE:
        rules["enum"] = list(f.codes)
    if f.max_length is not None:
        rules["maxLength"] = f.max_length
    if f.pattern is not None:
        rules["pattern"] = f"^{f.pattern}$"
    return rules


def _input(f: Field) -> tuple[Any, Any]:
    python = _PYTHON[f.kind]
    kind = python if f.required else python | None
    annotation = Annotated[kind, BeforeValidator(f.parse)]  # type: ignore[valid-type]
    info = Schema(
        ... if f.required else None,
        title=f.label,
        description=f.describe_rule(),
        json_schema_extra=json_schema_rules(f),
    )
    return annotation, info


def _output(f: Field) -> tuple[Any, Any]:
    return _PYTHON[f.kind] | None, Schema(None, title=f.label)


_STRICT = ConfigDict(extra="forbid")
Id = Annotated[int, Schema(ge=1, le=MAX_ID)]
Reason = Annotated[
    str, Schema(min_length=1, max_length=REASON.max_length, description=REASON.description)
]


def _model_name(form: Form) -> str:
    return "".join(part.title() for part in form.name.split("_"))


def input_model(form: Form, **extra: Any) -> type[BaseModel]:
    """The body of a create request: the form's fields (and ``extra`` ones)."""
    fields: dict[str, Any] = {f.name: _input(f) for f in form.fields} | extra
    return create_model(f"{_model_name(form)}In", __config__=_STRICT, **fields)


def update_model(form: Form, **extra: Any) -> type[BaseModel]:
    """The body of an update: all fields (and ``extra`` ones), the version read, and the reason."""
    fields: dict[str, Any] = {f.name: _input(f) for f in form.fields} | extra
    fields["version"] = (
        Id,
        Schema(description="The version you read; 409 when it is not current."),
    )
    fields["reason"] = (Reason, Schema(description=REASON.description))
    return create_model(f"{_model_name(form)}Update", __config__=_STRICT, **fields)


def output_model(form: Form) -> type[BaseModel]:
    """A stored record."""
    fields: dict[str, Any] = {"id": (int, ...), "version": (int, ...)}
    if form.name == "screening":
        fields["patient_id"] = (int | None, None)
    elif form.name != "patient":
        fields["patient_id"] = (int, ...)
    fields |= {f.name: _output(f) for f in form.fields}
    fields["updated_at"] = (datetime, ...)
    return create_model(f"{_model_name(form)}Out", **fields)


class Deletion(BaseModel):
    """Deleting a record: the version read and the reason."""

    model_config = _STRICT
    version: Id
    reason: Reason


class Signature(BaseModel):
    """An investigator's signature: the password again and the meaning."""

    model_config = _STRICT
    password: Annotated[str, Schema(min_length=1, max_length=1024)]
    meaning: Annotated[str, Schema(json_schema_extra={"enum": list(SIGNATURE_MEANINGS)})]


class ConflictBody(BaseModel):
    """409: the record changed since it was read; nothing was written."""

    detail: str
    yours: dict[str, Any]
    current: dict[str, Any]


class AuditEntry(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    action: str
    old_values: dict[str, Any] | None
    new_values: dict[str, Any] | None
    reason: str | None


class DueVisitOut(BaseModel):
    patient_id: int
    study_id: str
    months: int
    target: date
    opens: date
    closes: date
    overdue: bool


class Me(BaseModel):
    user_id: int
    role: str
    site_id: int | None


INPUTS = {name: input_model(dd.form(name)) for name in RECORD_TABLES}
UPDATES = {name: update_model(dd.form(name)) for name in RECORD_TABLES}
OUTPUTS = {name: output_model(dd.form(name)) for name in SCOPED_TABLES}
