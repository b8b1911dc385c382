"""Values in words, as a person reads them: labels for codes, Yes/No, units.

Forms keep the codes (what is stored and posted); everything a person only reads
(record pages, history, conflicts, decisions) shows these words instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from sijreg.domain import dictionary as dd
from sijreg.domain.types import Field, Kind

YES_NO = {True: "Yes", False: "No"}
SCALE = re.compile(r"\d+-\d+")
"""A unit that is a score's range ("0-10"), not a unit."""


def in_words(f: Field, value: object) -> str:
    """A stored or typed value of ``f`` in words ("" when missing); unknown codes stay as typed."""
    if value is None or value == "":
        return ""
    if f.kind is Kind.BOOLEAN:
        flag = value if isinstance(value, bool) else {"1": True, "0": False}.get(str(value))
        return YES_NO[flag] if flag is not None else str(value)
    if f.kind is Kind.CHOICE:
        return f.choice_label(str(value)) if str(value) in f.codes else str(value)
    if isinstance(value, Decimal):
        value = f"{value:.{f.decimals}f}"
    if isinstance(value, date):
        value = value.isoformat()
    if f.kind not in (Kind.INTEGER, Kind.DECIMAL) or not f.unit or SCALE.fullmatch(f.unit):
        return str(value)  # a score's range (NRS 0-10) is in its label, not after the value
    return f"{value}%" if f.unit == "%" else f"{value} {f.unit}"


def labels(names: Iterable[str]) -> str:
    """Field names as their labels, comma-separated (a name not in the dictionary stays)."""
    found = []
    for name in names:
        try:
            found.append(dd.field(name).label)
        except KeyError:
            found.append(name)
    return ", ".join(found)
