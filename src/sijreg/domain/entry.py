"""Checking one form's worth of raw input against the data dictionary, all fields at once."""

from __future__ import annotations

from collections.abc import Mapping

from sijreg.domain.records import Values
from sijreg.domain.types import FieldError, Form


class Invalid(ValueError):
    """Input that breaks field rules: the reason for every bad field, by field name."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in errors.items()))
        self.errors = dict(errors)


def parse_form(form: Form, raw: Mapping[str, object]) -> Values:
    """Every field of ``form`` parsed from ``raw`` (missing is empty); Invalid lists all errors."""
    values: Values = {}
    errors: dict[str, str] = {}
    for f in form.fields:
        try:
            values[f.name] = f.parse(raw.get(f.name))
        except FieldError as error:
            errors[f.name] = str(error)
    if errors:
        raise Invalid(errors)
    return values
