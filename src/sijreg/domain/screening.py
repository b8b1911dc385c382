"""Judging a screening against a protocol: a decision, and the reason for every criterion.

Pure: the CLI, the store, the report's study flow and the web form (as the
coordinator types) all call :func:`evaluate`. A criterion is *met*, *not met*, or
*missing* when the values entered cannot decide it yet. The decision is *not
eligible* as soon as one criterion is not met (whatever is missing elsewhere),
*incomplete* when none fails but some are missing, and *eligible* when all are met.

Counting criteria (``count_at_least``) treat the protocol's ``undecided`` values
(the seed protocol: a manoeuvre "not done") like a blank: never counted as
positive, but while enough of them could still turn positive to reach the
threshold the criterion is missing (naming them), not failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sijreg.domain.protocol import (
    COMPARISONS,
    SINGLE_FIELD_KINDS,
    Criterion,
    CriterionKind,
    Protocol,
)
from sijreg.domain.types import Field, FieldError, Kind, Value
from sijreg.domain.wording import labels

DISCLAIMER = (
    "Protocol screening support computed from the registry's records: "
    "not medical advice and not a treatment recommendation."
)


class Status(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    MISSING = "missing"


class Verdict(StrEnum):
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"
    INCOMPLETE = "incomplete"

    @property
    def text(self) -> str:
        return self.value.replace("_", " ")


@dataclass(frozen=True)
class CriterionResult:
    """One criterion judged: its status, what decided it and which fields are missing."""

    key: str
    label: str
    status: Status
    found: str
    """The value(s) that decided it, in words (e.g. '50.0%', '3 of 5 positive: ...')."""
    required: str
    """What the protocol asks, in words (e.g. 'more than 50%')."""
    missing: tuple[str, ...] = ()
    """The screening fields that must be entered (or done) before it can be decided."""

    @property
    def reason(self) -> str:
        text = f"{self.label}: {self.found} (required: {self.required})"
        if self.missing:
            text += "; missing: " + labels(self.missing)
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "status": self.status.value,
            "found": self.found,
            "required": self.required,
            "missing": list(self.missing),
            "missing_labels": labels(self.missing),
        }


@dataclass(frozen=True)
class Decision:
    """A screening's decision under one protocol, with every criterion's result."""

    protocol_id: str
    protocol_version: str
    protocol_sha256: str
    verdict: Verdict
    criteria: tuple[CriterionResult, ...]

    def with_status(self, status: Status) -> tuple[CriterionResult, ...]:
        return tuple(c for c in self.criteria if c.status is status)

    @property
    def missing(self) -> tuple[str, ...]:
        """Every missing field, once, in the order the criteria name them."""
        return tuple(dict.fromkeys(m for c in self.criteria for m in c.missing))

    @property
    def summary(self) -> str:
        """One sentence: the verdict and the criteria that decided it."""
        if self.verdict is Verdict.ELIGIBLE:
            return f"eligible: all {len(self.criteria)} criteria met"
        if self.verdict is Verdict.NOT_ELIGIBLE:
            failed = self.with_status(Status.NOT_MET)
            return "not eligible: not met: " + "; ".join(f"{c.label} ({c.found})" for c in failed)
        return "incomplete: cannot decide yet; missing: " + labels(self.missing)

    def as_dict(self) -> dict[str, Any]:
        return {
            "protocol": {
                "id": self.protocol_id,
                "version": self.protocol_version,
                "sha256": self.protocol_sha256,
            },
            "decision": self.verdict.value,
            "summary": self.summary,
            "criteria": [c.as_dict() for c in self.criteria],
            "missing": list(self.missing),
        }


def shown(f: Field, value: Value) -> str:
    """A value as a person reads it: 'yes', 'Non-radicular', '50.0%', '6 months'."""
    if value is None:
        return "not recorded"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if f.kind is Kind.CHOICE:
        return f.choice_label(str(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal) and f.decimals:
        value = value.quantize(Decimal(1).scaleb(-f.decimals))
    if f.unit == "%":
        return f"{value}%"
    if f.unit and f.unit[0].isdigit():
        return f"{value} (scale {f.unit})"
    return f"{value} {f.unit}" if f.unit else str(value)


def _number(threshold: Decimal, f: Field) -> str:
    text = format(threshold.normalize(), "f")
    if f.unit == "%":
        return f"{text}%"
    return f"{text} {f.unit}" if f.unit else text


def requirement(criterion: Criterion) -> str:
    """What a criterion asks, in words."""
    first = criterion.fields[0]
    if criterion.kind in COMPARISONS:
        assert criterion.threshold is not None
        return f"{COMPARISONS[criterion.kind][0]} {_number(criterion.threshold, first)}"
    wanted = shown(first, criterion.value)
    if criterion.kind is CriterionKind.EQUALS:
        return wanted
    if criterion.kind is CriterionKind.COUNT_AT_LEAST:
        return f"at least {criterion.threshold} of {len(criterion.fields)} {wanted.lower()}"
    if criterion.kind is CriterionKind.ANY_OF:
        return f"{wanted.lower()} for at least one"
    return f"{wanted.lower()} for all"


def _read(f: Field, values: Mapping[str, object]) -> tuple[Value, str]:
    """A field's value parsed by its own rule, and how it reads; invalid entries are unknown."""
    try:
        value = f.parse(values.get(f.name))
    except FieldError as error:
        return None, f"invalid: {error}"
    return value, shown(f, value)


Judgement = tuple[Status, str, list[str]]
"""A criterion's status, the value(s) that decided it in words, and the missing fields."""
Read = tuple[Field, Value, str]


def _single(criterion: Criterion, read: Read) -> Judgement:
    f, value, text = read
    if value is None:
        return Status.MISSING, text, [f.name]
    if criterion.kind is CriterionKind.EQUALS:
        met = value == criterion.value
    else:
        met = COMPARISONS[criterion.kind][1](value, criterion.threshold)
    return (Status.MET if met else Status.NOT_MET), text, []


def _count(criterion: Criterion, read: list[Read]) -> Judgement:
    """At least ``threshold`` hits; missing while blanks and undecided values could get there."""
    assert criterion.threshold is not None
    hits = [f.label for f, value, _ in read if value == criterion.value]
    pending = [f.name for f, value, _ in read if value is None or value in criterion.undecided]
    found = f"{len(hits)} of {len(read)} {shown(read[0][0], criterion.value).lower()}"
    found += f" ({', '.join(hits)})" if hits else ""
    others = [f"{f.label}: {text}" for f, _, text in read if f.name in pending]
    found += "; " + ", ".join(others) if others else ""
    if len(hits) >= criterion.threshold:
        return Status.MET, found, []
    if len(hits) + len(pending) >= criterion.threshold:
        return Status.MISSING, found, pending
    return Status.NOT_MET, found, []


def _any_or_all(criterion: Criterion, read: list[Read]) -> Judgement:
    """Any (or all) of the fields hold the value; missing while blanks could still decide it."""
    hits = sum(1 for _, value, _ in read if value == criterion.value)
    unknown = [f.name for f, value, _ in read if value is None]
    grouped: dict[str, list[str]] = {}
    for f, _, text in read:
        grouped.setdefault(text, []).append(f.label)
    found = "; ".join(f"{text}: {', '.join(labels)}" for text, labels in grouped.items())
    if criterion.kind is CriterionKind.ANY_OF:
        if hits:
            return Status.MET, found, []
    elif hits + len(unknown) < len(read):
        return Status.NOT_MET, found, []
    if unknown:
        return Status.MISSING, found, unknown
    return (Status.MET if hits else Status.NOT_MET), found, []


def _judge(criterion: Criterion, values: Mapping[str, object]) -> Judgement:
    read = [(f, *_read(f, values)) for f in criterion.fields]
    if criterion.kind in SINGLE_FIELD_KINDS:
        return _single(criterion, read[0])
    if criterion.kind is CriterionKind.COUNT_AT_LEAST:
        return _count(criterion, read)
    return _any_or_all(criterion, read)


def evaluate(protocol: Protocol, values: Mapping[str, object]) -> Decision:
    """Judge one screening's ``values`` (by field name, typed or as typed in) under ``protocol``.

    Values are read with their dictionary field's rule; a blank or invalid entry
    counts as missing, so a half-filled web form gets a decision that says what
    is still needed.
    """
    results = []
    for criterion in protocol.criteria:
        status, found, missing = _judge(criterion, values)
        results.append(
            CriterionResult(
                criterion.key,
                criterion.label,
                status,
                found,
                requirement(criterion),
                tuple(missing),
            )
        )
    statuses = {r.status for r in results}
    verdict = (
        Verdict.NOT_ELIGIBLE
        if Status.NOT_MET in statuses
        else Verdict.INCOMPLETE
        if Status.MISSING in statuses
        else Verdict.ELIGIBLE
    )
    return Decision(protocol.id, protocol.version, protocol.sha256, verdict, tuple(results))
