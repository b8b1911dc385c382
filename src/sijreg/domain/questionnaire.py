"""Patient questionnaires as data: items, answers, scores and the visit fields they fill.

An :class:`Instrument` is what a FHIR ``Questionnaire`` file says (read by
``interop.instrument_file``): groups of items shown one group per page, each item
with its answer type, range or options, and the visit field its answer fills. A
scored instrument (the ODI) names its scoring rule, implemented here once. The
visit values an answer set gives are checked against the data dictionary, so the
visit rules hold for a patient's answers exactly as for a coordinator's entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from sijreg.domain import dictionary as dd
from sijreg.domain.records import Values
from sijreg.domain.types import FieldError, Kind

Answers = Mapping[str, str]
"""Raw answers by item link id, as typed or chosen (an empty string is no answer)."""


class ItemKind(StrEnum):
    INTEGER = "integer"
    DECIMAL = "decimal"
    CHOICE = "choice"
    BOOLEAN = "boolean"


Text = tuple[tuple[str, str], ...]
"""A wording in each language it is given in: ((language, text), ...), the default first."""


def spoken(text: Text, language: str) -> tuple[str, str]:
    """(language, wording): in ``language`` when the text is given in it, else the default."""
    return next(((lang, t) for lang, t in text if lang == language), text[0])


def say(text: Text, language: str) -> str:
    """The wording in ``language``, or the default (first) one."""
    return spoken(text, language)[1]


@dataclass(frozen=True)
class Option:
    code: str
    label: Text
    score: int | None = None


@dataclass(frozen=True)
class Item:
    link_id: str
    text: Text
    kind: ItemKind
    required: bool = False
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    options: tuple[Option, ...] = ()
    fills: str | None = None
    """The visit field this answer fills, if any."""

    def parse(self, raw: str | None) -> int | Decimal | bool | str | None:
        """The answer's value; AnswerError says plainly why it cannot be taken."""
        text = (raw or "").strip()
        if not text:
            return None
        if self.kind is ItemKind.CHOICE:
            if text not in {o.code for o in self.options}:
                raise AnswerError("Please choose one of the answers.")
            return text
        if self.kind is ItemKind.BOOLEAN:
            if text not in ("yes", "no"):
                raise AnswerError("Please choose yes or no.")
            return text == "yes"
        try:
            number = Decimal(text.replace(",", "."))
        except InvalidOperation:
            raise AnswerError("Please give a number.") from None
        if not number.is_finite() or (self.kind is ItemKind.INTEGER and number != int(number)):
            raise AnswerError("Please give a whole number.")
        low, high = self.minimum, self.maximum
        if (low is not None and number < low) or (high is not None and number > high):
            raise AnswerError(f"Please give a number from {low} to {high}.")
        return int(number) if self.kind is ItemKind.INTEGER else number

    def score(self, code: str) -> int | None:
        return next((o.score for o in self.options if o.code == code), None)


class AnswerError(ValueError):
    """An answer that cannot be taken; the message is for the patient."""


@dataclass(frozen=True)
class Group:
    link_id: str
    title: Text
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Instrument:
    id: str
    version: str
    title: Text
    groups: tuple[Group, ...]
    scoring: str | None = None
    """The name of a rule in SCORING, when the instrument has a score."""
    score_fills: str | None = None
    placeholder: bool = False
    """True when the wording is the repository's placeholder, not the instrument's text."""

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(i for g in self.groups for i in g.items)


ODI_SECTIONS = 10
ODI_MAX_MISSING = 2


def languages(instruments: Sequence[Instrument]) -> tuple[str, ...]:
    """Every language the instruments' wording is given in, the first default's first."""
    found: dict[str, None] = {}
    for instrument in instruments:
        texts = [instrument.title]
        for group in instrument.groups:
            texts.append(group.title)
            for item in group.items:
                texts += [item.text, *(o.label for o in item.options)]
        for text in texts:
            found.update((lang, None) for lang, _ in text)
    return tuple(found)


def odi_score(sections: Sequence[int | None]) -> Decimal | None:
    """The Oswestry Disability Index, 0-100, from its 10 section scores (0-5 each, None missed).

    Rule (Fairbank & Pynsent, Spine 2000;25:2940-52): score = sum of the answered
    sections / (5 x number of sections answered) x 100, so a missed section does not
    count against the patient. Not scored (None) when more than 2 sections are
    missing. Rounded to one decimal, halves away from zero.
    """
    if len(sections) != ODI_SECTIONS:
        raise ValueError(f"the ODI has {ODI_SECTIONS} sections, got {len(sections)}")
    answered = [s for s in sections if s is not None]
    if any(not 0 <= s <= 5 for s in answered):
        raise ValueError("an ODI section scores 0 to 5")
    if ODI_SECTIONS - len(answered) > ODI_MAX_MISSING:
        return None
    score = Decimal(sum(answered)) * 100 / (5 * len(answered))
    return score.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _odi(instrument: Instrument, values: Mapping[str, object]) -> Decimal | None:
    sections = []
    for item in instrument.items:
        code = values.get(item.link_id)
        sections.append(item.score(code) if isinstance(code, str) else None)
    return odi_score(sections)


SCORING: dict[str, Callable[[Instrument, Mapping[str, object]], Decimal | None]] = {"odi": _odi}
"""Scoring rules an instrument file may name."""


def parse_answers(
    instruments: Sequence[Instrument], answers: Answers, only: Sequence[Item] | None = None
) -> tuple[dict[str, object], dict[str, str]]:
    """(values by link id, reasons by link id) for the items of ``only`` (default all)."""
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    items = only if only is not None else [i for ins in instruments for i in ins.items]
    for item in items:
        try:
            values[item.link_id] = item.parse(answers.get(item.link_id))
        except AnswerError as error:
            errors[item.link_id] = str(error)
    return values, errors


def missing_required(instruments: Sequence[Instrument], answers: Answers) -> list[Item]:
    """Required items not answered yet."""
    return [
        i
        for ins in instruments
        for i in ins.items
        if i.required and not (answers.get(i.link_id) or "").strip()
    ]


def visit_values(instruments: Sequence[Instrument], answers: Answers) -> Values:
    """The visit fields the answers fill (scores included), checked by the dictionary's rules."""
    values, errors = parse_answers(instruments, answers)
    if errors:
        raise AnswerError("; ".join(f"{k}: {v}" for k, v in errors.items()))
    visit: Values = {}
    for instrument in instruments:
        for item in instrument.items:
            value = values.get(item.link_id)
            if item.fills and value is not None:
                visit[item.fills] = _to_field(item.fills, value)
        if instrument.scoring and instrument.score_fills:
            score = SCORING[instrument.scoring](instrument, values)
            if score is not None:
                visit[instrument.score_fills] = score
    for name, value in visit.items():
        try:
            visit[name] = dd.field(name).parse(value)
        except FieldError as error:  # an instrument file the loader should have refused
            raise AnswerError(f"{name}: {error}") from None
    return visit


def _to_field(name: str, value: object) -> str:
    """An item's value in the form its visit field parses (yes/no as the dictionary's 1/0)."""
    if dd.field(name).kind is Kind.BOOLEAN and isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
