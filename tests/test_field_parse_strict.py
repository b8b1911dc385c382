"""The one validator refuses what JSON or a sheet can smuggle in: booleans as text, numbers
with separators or exponents (issue 15, item 8)."""

from __future__ import annotations

import pytest

from sijreg.domain import dictionary as dd
from sijreg.domain.types import FieldError


@pytest.mark.parametrize("raw", [False, True])
def test_a_boolean_is_not_a_study_id_nor_a_choice(raw: bool) -> None:
    with pytest.raises(FieldError, match="expected a text value"):
        dd.field("study_id").parse(raw)
    with pytest.raises(FieldError, match="expected a choice value"):
        dd.field("sex").parse(raw)
    with pytest.raises(FieldError, match="expected a number"):
        dd.field("age").parse(raw)


@pytest.mark.parametrize("raw", ["1_000", "6_0", "1e2", "NaN", "0x10", "٣"])
def test_numbers_are_plain_digits(raw: str) -> None:
    with pytest.raises(FieldError, match="expected a number"):
        dd.field("age").parse(raw)


@pytest.mark.parametrize(("raw", "value"), [("61", 61), (" 61 ", 61), (61, 61), ("+61", 61)])
def test_plain_numbers_still_parse(raw: object, value: int) -> None:
    assert dd.field("age").parse(raw) == value
