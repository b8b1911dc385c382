"""Reading questionnaire files: FHIR R4 ``Questionnaire`` resources, as published.

A file is first validated as a FHIR resource by ``fhir.resources`` (its R4B models:
R4B changed nothing in ``Questionnaire`` from R4), then read into an
:class:`~sijreg.domain.questionnaire.Instrument`. sijreg reads these parts of it:

- top-level items of type ``group`` are the pages; their items are ``integer``,
  ``decimal``, ``choice`` (``answerOption`` codings) or ``boolean`` questions;
- the standard extensions ``minValue``/``maxValue`` (ranges), ``ordinalValue`` (an
  option's score) and ``translation`` (other languages of a text: an item's ``text``, a
  group's, the title, and an option's ``valueCoding.display``);
- sijreg's extensions: ``visit-field`` (the visit field an item, or the instrument's
  score, fills), ``scoring`` (a rule of ``questionnaire.SCORING``) and
  ``placeholder-wording`` (the repository's stand-in for copyrighted text).

An item that fills a visit field must fit that field's rule in the data dictionary:
the file cannot widen it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from fhir.resources.R4B.questionnaire import Questionnaire
from pydantic import ValidationError

from sijreg.domain import dictionary as dd
from sijreg.domain.questionnaire import (
    SCORING,
    Group,
    Instrument,
    Item,
    ItemKind,
    Option,
    Text,
)
from sijreg.domain.types import Kind

SD = "https://sijreg.org/fhir/StructureDefinition/"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
SHIPPED = ("sijreg-followup", "odi")
"""The instruments in the package, in the order a follow-up asks them."""


class InstrumentError(ValueError):
    """A questionnaire file sijreg cannot use; the message names the file, item and reason."""


def shipped(name: str) -> Instrument:
    """One of the package's instruments (the ODI's with placeholder wording)."""
    resource = resources.files("sijreg.domain").joinpath("instruments", f"{name}.json")
    return parse_instrument(resource.read_bytes(), f"{name}.json (shipped)")


def load_instrument(path: Path) -> Instrument:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InstrumentError(f"{path}: cannot read: {error.strerror}") from None
    return parse_instrument(data, str(path))


def default_instruments(odi_file: Path | None = None) -> tuple[Instrument, ...]:
    """The follow-up's instruments; ``odi_file`` the study's licensed ODI wording.

    The study's file must have the placeholder's structure (items, options, scores),
    so scoring cannot change with the wording.
    """
    found = [shipped(name) for name in SHIPPED]
    if odi_file is not None:
        licensed = load_instrument(odi_file)
        if _structure(licensed) != _structure(found[1]):
            raise InstrumentError(
                f"{odi_file}: not the ODI's structure (10 sections, options scored 0-5, the "
                "same link ids and codes as the shipped odi.json)"
            )
        found[1] = licensed
    return tuple(found)


def _structure(instrument: Instrument) -> object:
    return (
        instrument.id,
        instrument.scoring,
        instrument.score_fills,
        [
            [(i.link_id, i.kind, [(o.code, o.score) for o in i.options]) for i in g.items]
            for g in instrument.groups
        ],
    )


def parse_instrument(data: bytes, source: str) -> Instrument:
    try:
        raw = json.loads(data)
        Questionnaire.model_validate(raw)
    except (ValueError, ValidationError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InstrumentError(f"{source}: not a FHIR R4 Questionnaire: {first}") from None
    where = f"{source}: "
    language = str(raw.get("language", "en"))  # the file's own language: its texts' default
    groups = []
    for node in raw.get("item", []):
        if node.get("type") != "group":
            raise InstrumentError(f"{where}item {node.get('linkId')}: top-level items are groups")
        items = tuple(_item(child, where, language) for child in node.get("item", []))
        groups.append(Group(node["linkId"], _text(node, "text", where, language), items))
    ext = _extensions(raw)
    scoring = ext.get(SD + "scoring")
    if scoring is not None and scoring not in SCORING:
        raise InstrumentError(f"{where}no scoring rule {scoring!r}")
    instrument = Instrument(
        id=str(raw.get("id", "")),
        version=str(raw.get("version", "")),
        title=_text(raw, "title", where, language),
        groups=tuple(groups),
        scoring=scoring,
        score_fills=_visit_field(ext.get(SD + "visit-field"), where),
        placeholder=bool(ext.get(SD + "placeholder-wording", False)),
    )
    ids = [i.link_id for i in instrument.items]
    if len(set(ids)) != len(ids) or not instrument.id or not groups:
        raise InstrumentError(f"{where}needs an id, groups and unique item link ids")
    return instrument


def _extensions(node: Mapping[str, Any]) -> dict[str, Any]:
    found = {}
    for ext in node.get("extension", []):
        values = [v for k, v in ext.items() if k.startswith("value")]
        if values:
            found[ext["url"]] = values[0]
    return found


def _text(node: Mapping[str, Any], key: str, where: str, language: str) -> Text:
    """``node[key]`` in the file's ``language``, then each FHIR translation of it."""
    name = node.get("linkId") or node.get("code") or "the questionnaire"
    if not node.get(key):
        raise InstrumentError(f"{where}{name}: no {key}")
    texts = [(language, str(node[key]))]
    for ext in node.get(f"_{key}", {}).get("extension", []):
        if ext.get("url") == TRANSLATION:
            parts = {
                e.get("url"): next(iter(v for k, v in e.items() if k != "url"), None)
                for e in ext.get("extension", [])
            }
            if not parts.get("lang") or not parts.get("content"):
                raise InstrumentError(
                    f"{where}{name}: a translation of its {key} needs a lang and a content"
                )
            texts.append((str(parts["lang"]), str(parts["content"])))
    return tuple(texts)


def _item(node: Mapping[str, Any], where: str, language: str) -> Item:
    link = node.get("linkId", "?")
    kinds = {k.value: k for k in ItemKind}
    if node.get("type") not in kinds:
        raise InstrumentError(f"{where}item {link}: type {node.get('type')!r} is not supported")
    ext = _extensions(node)
    item = Item(
        link_id=link,
        text=_text(node, "text", where, language),
        kind=kinds[node["type"]],
        required=bool(node.get("required", False)),
        minimum=_number(ext.get(MIN_VALUE)),
        maximum=_number(ext.get(MAX_VALUE)),
        options=tuple(_option(o, where, link, language) for o in node.get("answerOption", [])),
        fills=_visit_field(ext.get(SD + "visit-field"), f"{where}item {link}: "),
    )
    _fits(item, f"{where}item {link}: ")
    return item


def _option(node: Mapping[str, Any], where: str, link: str, language: str) -> Option:
    coding = node.get("valueCoding")
    if not coding or not coding.get("code") or not coding.get("display"):
        raise InstrumentError(f"{where}item {link}: options are codings with code and display")
    score = _extensions(node).get(ORDINAL)
    label = _text(coding, "display", f"{where}item {link}, option ", language)
    return Option(str(coding["code"]), label, None if score is None else int(score))


def _number(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _visit_field(name: object, where: str) -> str | None:
    if name is None:
        return None
    if name not in {f.name for f in dd.VISIT.fields}:
        raise InstrumentError(f"{where}fills {name!r}, which is not a visit field")
    return str(name)


def _fits(item: Item, where: str) -> None:
    """An item filling a visit field stays inside the field's rule."""
    if item.fills is None:
        return
    f = dd.field(item.fills)
    numeric = item.kind in (ItemKind.INTEGER, ItemKind.DECIMAL)
    if numeric and f.kind in (Kind.INTEGER, Kind.DECIMAL):
        inside = (
            item.minimum is not None
            and item.maximum is not None
            and (f.minimum is None or item.minimum >= f.minimum)
            and (f.maximum is None or item.maximum <= f.maximum)
            and not (item.kind is ItemKind.DECIMAL and f.kind is Kind.INTEGER)
        )
    elif item.kind is ItemKind.CHOICE and f.kind is Kind.CHOICE:
        inside = {o.code for o in item.options} <= set(f.codes)
    else:
        inside = item.kind is ItemKind.BOOLEAN and f.kind is Kind.BOOLEAN
    if not inside:
        raise InstrumentError(f"{where}does not fit the rule of {f.name}: {f.describe_rule()}")


def instrument_ids(instruments: Sequence[Instrument]) -> str:
    return ",".join(i.id for i in instruments)
