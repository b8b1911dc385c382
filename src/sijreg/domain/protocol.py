"""A study protocol as data: eligibility criteria and care-pathway rules read from TOML.

Another study changes thresholds or criteria by editing its protocol file, not the
code. Parsing checks every criterion against the screening form of the data
dictionary and names the file, the criterion and the problem when one is wrong.
docs/screening.md documents the format.
"""

from __future__ import annotations

import hashlib
import operator
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sijreg.domain.dictionary import CODE_PATTERN, SCREENING
from sijreg.domain.types import Field, FieldError, Kind, Value


class ProtocolError(ValueError):
    """A protocol file that cannot be used; the message names the file, criterion and problem."""


class CriterionKind(StrEnum):
    """How a criterion judges its field(s)."""

    EQUALS = "equals"
    """The field holds ``value``."""
    AT_LEAST = "at_least"
    """The field is >= ``threshold``."""
    GREATER_THAN = "greater_than"
    """The field is > ``threshold`` (strictly)."""
    AT_MOST = "at_most"
    """The field is <= ``threshold``."""
    LESS_THAN = "less_than"
    """The field is < ``threshold`` (strictly)."""
    COUNT_AT_LEAST = "count_at_least"
    """At least ``threshold`` of ``fields`` hold ``value``."""
    ANY_OF = "any_of"
    """At least one of ``fields`` holds ``value``."""
    ALL_OF = "all_of"
    """Every one of ``fields`` holds ``value``."""


COMPARISONS: dict[CriterionKind, tuple[str, Callable[[Any, Any], bool]]] = {
    CriterionKind.AT_LEAST: ("at least", operator.ge),
    CriterionKind.GREATER_THAN: ("more than", operator.gt),
    CriterionKind.AT_MOST: ("at most", operator.le),
    CriterionKind.LESS_THAN: ("less than", operator.lt),
}
"""The comparison kinds: their wording and their test, value against threshold."""

SINGLE_FIELD_KINDS = {CriterionKind.EQUALS, *COMPARISONS}
"""The kinds that judge one ``field``; the others judge a list of ``fields``."""
_SETTINGS = {"key", "label", "kind", "field", "fields", "value", "threshold", "undecided"}
_PATHWAY_SETTINGS = (
    "steroid_injection_max",
    "steroid_injection_window_days",
    "rfa_max_without_flag",
)


@dataclass(frozen=True)
class Criterion:
    """One eligibility criterion of a protocol."""

    key: str
    label: str
    kind: CriterionKind
    fields: tuple[Field, ...]
    value: Value = None
    threshold: Decimal | None = None
    undecided: tuple[Value, ...] = ()


@dataclass(frozen=True)
class PathwayRules:
    """The care-pathway rules the pathway view checks; ``None`` means not checked."""

    steroid_injection_max: int | None = None
    steroid_injection_window_days: int | None = None
    rfa_max_without_flag: int | None = None


@dataclass(frozen=True)
class Protocol:
    """A versioned protocol; ``sha256`` is the hash of the file's bytes that defined it."""

    id: str
    version: str
    title: str
    source: str
    sha256: str
    criteria: tuple[Criterion, ...]
    pathway: PathwayRules

    @property
    def name(self) -> str:
        return f"{self.id} version {self.version}"


def _problem(source: str, where: str, text: str) -> ProtocolError:
    return ProtocolError(f"{source}: {where}: {text}")


def _text(table: dict[str, Any], name: str, source: str, where: str) -> str:
    raw = table.get(name)
    if isinstance(raw, int) and not isinstance(raw, bool) and name == "version":
        raw = str(raw)
    if not isinstance(raw, str) or not raw.strip():
        raise _problem(source, where, f"'{name}' must be a non-empty text")
    return raw.strip()


def _field(name: object, source: str, where: str) -> Field:
    if not isinstance(name, str):
        raise _problem(source, where, f"field names must be text, not {name!r}")
    try:
        return SCREENING.field(name)
    except KeyError:
        known = ", ".join(f.name for f in SCREENING.fields)
        raise _problem(
            source, where, f"unknown field {name!r} (screening fields: {known})"
        ) from None


def _value(fields: tuple[Field, ...], raw: object, source: str, where: str, what: str) -> Value:
    parsed: Value = None
    for f in fields:
        try:
            parsed = f.parse(raw)
        except FieldError as error:
            raise _problem(
                source, where, f"{what} {raw!r} does not fit {f.name}: {error}"
            ) from None
    if parsed is None:
        raise _problem(source, where, f"{what} must not be empty")
    return parsed


def _threshold(raw: object, source: str, where: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal):
        raise _problem(source, where, f"'threshold' must be a number, not {raw!r}")
    return Decimal(raw)


def _criterion(table: object, source: str, index: int, seen: set[str]) -> Criterion:
    where = f"criterion {index}"
    if not isinstance(table, dict):
        raise _problem(source, where, "must be a table ([[criterion]])")
    if isinstance(table.get("key"), str):
        where = f"criterion {table['key']!r}"
    if unknown := sorted(set(table) - _SETTINGS):
        raise _problem(
            source,
            where,
            f"unknown setting {', '.join(map(repr, unknown))} "
            f"(expected: {', '.join(sorted(_SETTINGS))})",
        )
    key = _text(table, "key", source, where)
    if not re.fullmatch(CODE_PATTERN, key):
        raise _problem(source, where, "'key' may hold only letters, digits, '-' and '_'")
    if key in seen:
        raise _problem(source, where, "the key is used by an earlier criterion")
    seen.add(key)
    label = _text(table, "label", source, where)
    try:
        kind = CriterionKind(str(table.get("kind")))
    except ValueError:
        kinds = ", ".join(k.value for k in CriterionKind)
        raise _problem(
            source, where, f"'kind' {table.get('kind')!r} is not one of {kinds}"
        ) from None
    if kind in SINGLE_FIELD_KINDS:
        if "fields" in table or "field" not in table:
            raise _problem(source, where, f"a {kind} criterion names one 'field'")
        fields: tuple[Field, ...] = (_field(table["field"], source, where),)
    else:
        raw_fields = table.get("fields")
        if "field" in table or not isinstance(raw_fields, list) or not raw_fields:
            raise _problem(source, where, f"a {kind} criterion names a list of 'fields'")
        fields = tuple(_field(name, source, where) for name in raw_fields)
        if len({f.name for f in fields}) != len(fields):
            raise _problem(source, where, "a field is listed twice")
        if len({(f.kind, f.choices) for f in fields}) != 1:
            raise _problem(source, where, "the fields must all be of the same type")
    if kind in COMPARISONS:
        return _comparison(table, key, label, kind, fields, source, where)
    if "threshold" in table and kind is not CriterionKind.COUNT_AT_LEAST:
        raise _problem(source, where, f"a {kind} criterion takes no 'threshold'")
    if "value" not in table:
        if fields[0].kind is not Kind.BOOLEAN:
            raise _problem(source, where, "'value' is required (the value that meets it)")
        value: Value = True
    else:
        value = _value(fields, table["value"], source, where, "value")
    undecided = _undecided(table, kind, fields, value, source, where)
    threshold = None
    if kind is CriterionKind.COUNT_AT_LEAST:
        threshold = _threshold(table.get("threshold"), source, where)
        if threshold != int(threshold) or not 1 <= threshold <= len(fields):
            raise _problem(
                source, where, f"'threshold' must be a whole number from 1 to {len(fields)}"
            )
    return Criterion(key, label, kind, fields, value, threshold, undecided)


def _comparison(
    table: dict[str, Any],
    key: str,
    label: str,
    kind: CriterionKind,
    fields: tuple[Field, ...],
    source: str,
    where: str,
) -> Criterion:
    if fields[0].kind not in (Kind.INTEGER, Kind.DECIMAL):
        raise _problem(source, where, f"{kind} needs a numeric field, {fields[0].name} is not")
    if "value" in table or "undecided" in table:
        raise _problem(source, where, f"a {kind} criterion takes a 'threshold' only")
    threshold = _threshold(table.get("threshold"), source, where)
    return Criterion(key, label, kind, fields, threshold=threshold)


def _undecided(
    table: dict[str, Any],
    kind: CriterionKind,
    fields: tuple[Field, ...],
    value: Value,
    source: str,
    where: str,
) -> tuple[Value, ...]:
    raw = table.get("undecided", [])
    if raw and kind is not CriterionKind.COUNT_AT_LEAST:
        raise _problem(source, where, "'undecided' applies to count_at_least criteria only")
    if not isinstance(raw, list):
        raise _problem(source, where, "'undecided' must be a list of values")
    out = tuple(_value(fields, item, source, where, "undecided value") for item in raw)
    if value in out:
        raise _problem(source, where, "the counted 'value' cannot also be undecided")
    return out


def _pathway(raw: object, source: str) -> PathwayRules:
    if raw is None:
        return PathwayRules()
    if not isinstance(raw, dict):
        raise _problem(source, "[pathway]", "must be a table")
    if unknown := sorted(set(raw) - set(_PATHWAY_SETTINGS)):
        raise _problem(
            source,
            "[pathway]",
            f"unknown setting {', '.join(map(repr, unknown))} "
            f"(expected: {', '.join(_PATHWAY_SETTINGS)})",
        )
    for name, number in raw.items():
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise _problem(source, f"[pathway] {name}", "must be a whole number >= 0")
    if ("steroid_injection_max" in raw) != ("steroid_injection_window_days" in raw):
        raise _problem(
            source,
            "[pathway]",
            "steroid_injection_max and steroid_injection_window_days go together",
        )
    return PathwayRules(**raw)


def parse_protocol(data: bytes, source: str) -> Protocol:
    """The protocol defined by ``data`` (a TOML file's bytes); ``source`` names it in errors."""
    try:
        document = tomllib.loads(data.decode("utf-8"), parse_float=Decimal)
    except UnicodeDecodeError:
        raise ProtocolError(f"{source}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise ProtocolError(f"{source}: not valid TOML: {error}") from None
    if unknown := sorted(set(document) - {"protocol", "criterion", "pathway"}):
        raise _problem(
            source,
            "top level",
            f"unknown section {', '.join(map(repr, unknown))} "
            "(expected: [protocol], [[criterion]], [pathway])",
        )
    head = document.get("protocol")
    if not isinstance(head, dict):
        raise _problem(source, "[protocol]", "the section is missing (id, version, title)")
    protocol_id = _text(head, "id", source, "[protocol]")
    if not re.fullmatch(CODE_PATTERN, protocol_id):
        raise _problem(source, "[protocol]", "'id' may hold only letters, digits, '-' and '_'")
    version = _text(head, "version", source, "[protocol]")
    title = head.get("title", "")
    if not isinstance(title, str):
        raise _problem(source, "[protocol]", "'title' must be text")
    raw_criteria = document.get("criterion")
    if not isinstance(raw_criteria, list) or not raw_criteria:
        raise _problem(source, "[[criterion]]", "the protocol has no criteria")
    seen: set[str] = set()
    criteria = tuple(
        _criterion(table, source, index, seen) for index, table in enumerate(raw_criteria, 1)
    )
    return Protocol(
        id=protocol_id,
        version=version,
        title=title,
        source=source,
        sha256=hashlib.sha256(data).hexdigest(),
        criteria=criteria,
        pathway=_pathway(document.get("pathway"), source),
    )
