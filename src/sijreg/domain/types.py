"""The building blocks of the data dictionary: fields, choices and forms.

A :class:`Field` states every rule about one variable once: its type, unit, range,
allowed values, label, form and how it must be treated for disclosure. Validation,
storage, forms, exports and the reference docs all read these objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TypeAlias

Value: TypeAlias = int | Decimal | bool | date | str | None
"""A validated value: what a field holds after parsing, ``None`` when missing."""


class Kind(StrEnum):
    """The storage and validation type of a field."""

    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    CHOICE = "choice"
    TEXT = "text"


AGE_TOP_CODE = 90
"""Pooled exports show ages from this one up as this one ("90+"): HIPAA Safe Harbor."""


class Disclosure(StrEnum):
    """How a field must be handled when data leave the site.

    There is deliberately no member for a direct identifier: sijreg has no field
    for a name, record number, address or any other of the HIPAA Safe Harbor
    identifiers, and the dictionary cannot express one.
    """

    NONE = "none"
    """Safe to pool as is."""
    PSEUDONYM = "pseudonym"
    """A site-local code; replaced by an analysis id in pooled exports."""
    DATE = "date"
    """A calendar date; pooled exports carry days since the fusion instead."""
    AGE = "age"
    """An age; pooled exports top-code it at AGE_TOP_CODE ("90+")."""
    FREE_TEXT = "free_text"
    """Text typed by a person; never leaves the site."""


class FieldError(ValueError):
    """A value that breaks its field's rule; the message is the reason, for a person."""


@dataclass(frozen=True)
class Choice:
    """One allowed value of a choice field: the stored code and its label."""

    code: str
    label: str


@dataclass(frozen=True)
class Field:
    """One variable of the registry, with every rule about it."""

    name: str
    label: str
    kind: Kind
    description: str = ""
    unit: str | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    decimals: int = 0
    choices: tuple[Choice, ...] = ()
    max_length: int | None = None
    pattern: str | None = None
    required: bool = False
    disclosure: Disclosure = Disclosure.NONE

    def __post_init__(self) -> None:
        if self.kind is Kind.CHOICE and not self.choices:
            raise ValueError(f"choice field {self.name!r} has no choices")
        if self.kind is not Kind.CHOICE and self.choices:
            raise ValueError(f"field {self.name!r} has choices but is {self.kind}")
        if self.kind is Kind.INTEGER and self.decimals:
            raise ValueError(f"integer field {self.name!r} cannot have decimals")

    @property
    def codes(self) -> tuple[str, ...]:
        """The stored codes of a choice field, in dictionary order."""
        return tuple(c.code for c in self.choices)

    def choice_label(self, code: str) -> str:
        """The label of one code of a choice field."""
        for choice in self.choices:
            if choice.code == code:
                return choice.label
        raise KeyError(f"{code!r} is not a choice of {self.name}")

    @property
    def scale(self) -> int:
        """10 to the power of the decimals: multiplying by it makes values whole."""
        return int(10**self.decimals)

    def describe_rule(self) -> str:
        """The field's rule in a few words, as shown next to a form field."""
        if self.kind is Kind.CHOICE:
            return "one of " + ", ".join(f"{c.code} ({c.label})" for c in self.choices)
        if self.kind is Kind.BOOLEAN:
            return "0 (no) or 1 (yes)"
        if self.kind is Kind.DATE:
            return "a date, YYYY-MM-DD"
        if self.kind is Kind.TEXT:
            parts = ["text"]
            if self.max_length:
                parts.append(f"at most {self.max_length} characters")
            if self.pattern:
                parts.append("letters, digits, '-' and '_'")
            return ", ".join(parts)
        what = self._number_words()
        if self.kind is Kind.DECIMAL:
            what += f", at most {self.decimals} decimal{'s' if self.decimals != 1 else ''}"
        return what

    def _number_words(self) -> str:
        """A number field's kind and range, the unit said once ("a whole number from 0 to 10")."""
        what = "a whole number" if self.kind is Kind.INTEGER else "a number"
        if self.minimum is not None and self.maximum is not None:
            return f"{what} from {self.minimum} to {self.maximum}{_unit(self.unit)}"
        return f"{what} in {self.unit}" if _unit(self.unit) else what

    def parse(self, raw: object) -> Value:
        """Turn a raw input (a sheet cell, a form value, JSON) into the field's value.

        Empty input is ``None``; that is an error only for a required field.
        Raises :class:`FieldError` with the reason when the value breaks the rule.
        """
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            if self.required:
                raise FieldError("a value is required")
            return None
        text = raw.strip() if isinstance(raw, str) else raw
        if isinstance(text, bool) and self.kind is not Kind.BOOLEAN:
            numeric = self.kind in (Kind.INTEGER, Kind.DECIMAL)
            raise FieldError("expected a number" if numeric else f"expected a {self.kind} value")
        if self.kind is Kind.INTEGER:
            return self._in_range(self._number(text, whole=True))
        if self.kind is Kind.DECIMAL:
            return self._in_range(self._number(text, whole=False))
        if self.kind is Kind.BOOLEAN:
            return _parse_boolean(text)
        if self.kind is Kind.DATE:
            return _parse_date(text)
        if self.kind is Kind.CHOICE:
            code = str(text)
            if code not in self.codes:
                raise FieldError("expected one of " + ", ".join(self.codes))
            return code
        return self._text(str(text))

    def _number(self, raw: object, *, whole: bool) -> Decimal:
        if isinstance(raw, str) and not _PLAIN_NUMBER.fullmatch(raw):
            raise FieldError("expected a number")  # no "1_000", "1e3", "NaN"
        try:
            number = Decimal(str(raw))
        except InvalidOperation:
            raise FieldError("expected a number") from None
        if not number.is_finite():
            raise FieldError("expected a number")
        exponent = number.normalize().as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if whole and places:
            raise FieldError("expected a whole number")
        if places > self.decimals:
            raise FieldError(f"at most {self.decimals} decimal places allowed")
        return number

    def _in_range(self, number: Decimal) -> int | Decimal:
        low = self.minimum is not None and number < self.minimum
        high = self.maximum is not None and number > self.maximum
        if (low or high) and self.minimum is not None and self.maximum is not None:
            raise FieldError(f"must be {self._number_words()}")
        if low:
            raise FieldError(f"must be at least {self.minimum}{_unit(self.unit)}")
        if high:
            raise FieldError(f"must be at most {self.maximum}{_unit(self.unit)}")
        return int(number) if self.kind is Kind.INTEGER else number

    def _text(self, text: str) -> str:
        if not text.isprintable() and any(_unprintable(c) for c in text):
            raise FieldError("control characters are not allowed")
        if self.max_length is not None and len(text) > self.max_length:
            raise FieldError(f"at most {self.max_length} characters allowed")
        if self.pattern is not None and not re.fullmatch(self.pattern, text):
            raise FieldError("only letters, digits, '-' and '_' allowed")
        return text


_PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")


def _unprintable(char: str) -> bool:
    """A control character or a lone surrogate: no database stores these faithfully."""
    code = ord(char)
    return (code < 32 and char not in "\t\n\r") or 0xD800 <= code <= 0xDFFF or code == 0x7F


def _unit(unit: str | None) -> str:
    """The unit after a bound ("at most 100 %"); a score's range ("0-10") is no unit."""
    return f" {unit}" if unit and not re.fullmatch(r"\d+-\d+", unit) else ""


def _parse_boolean(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if str(raw) in ("1", "1.0"):
        return True
    if str(raw) in ("0", "0.0"):
        return False
    raise FieldError("expected 0 (no) or 1 (yes)")


def _parse_date(raw: object) -> date:
    if isinstance(raw, date):
        return raw
    text = str(raw)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise FieldError("expected a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FieldError("not a real calendar date") from None


@dataclass(frozen=True)
class Form:
    """A group of fields entered together and stored as one table.

    A repeating form (prior procedures, visits, adverse events) holds any number of
    records per patient.
    """

    name: str
    label: str
    fields: tuple[Field, ...]
    description: str = ""
    repeating: bool = False
    per_patient: bool = True
    record_label: str = field(default="")

    def field(self, name: str) -> Field:
        """The field called ``name``; KeyError names the form when there is none."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(f"form {self.name!r} has no field {name!r}")
