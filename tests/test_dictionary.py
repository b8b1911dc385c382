"""The data dictionary: one rule per field, no direct identifiers, values parsed strictly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sijreg.domain import dictionary as dd
from sijreg.domain.types import Field, FieldError, Kind

# Words that would betray a direct identifier (HIPAA Safe Harbor) in a field name.
IDENTIFYING_WORDS = (
    "name",
    "mrn",
    "record_number",
    "address",
    "street",
    "zip",
    "postcode",
    "phone",
    "fax",
    "email",
    "ssn",
    "social",
    "insurance",
    "licen",
    "ip_",
    "url",
    "photo",
    "face",
    "biometric",
    "device_serial",
    "account",
    "dob",
    "birth_date",
    "birthdate",
)


def test_field_names_are_unique_across_forms() -> None:
    names = [f.name for form in dd.FORMS for f in form.fields]
    assert len(names) == len(set(names))


def test_no_field_can_hold_a_direct_identifier() -> None:
    for form in dd.FORMS:
        for f in form.fields:
            if form is dd.SITE:
                continue  # a site is an institution, not a person
            assert not any(word in f.name for word in IDENTIFYING_WORDS), f.name


def test_dates_and_ages_are_flagged_for_deidentification() -> None:
    for form in dd.FORMS:
        for f in form.fields:
            if f.kind is Kind.DATE:
                assert f.disclosure.value == "date", f.name
    assert dd.field("age").disclosure.value == "age"
    assert dd.field("study_id").disclosure.value == "pseudonym"


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("pain_relief_pct", "0", Decimal(0)),
        ("pain_relief_pct", "100", Decimal(100)),
        ("pain_relief_pct", "67.5", Decimal("67.5")),
        ("pain_relief_pct", " 30 ", Decimal(30)),
        ("age", "69", 69),
        ("sex", "F", "F"),
        ("fbss", "1", True),
        ("fbss", "0", False),
        ("fusion_date", "2020-02-29", date(2020, 2, 29)),
        ("bmi", "", None),
    ],
)
def test_valid_values_parse(name: str, raw: str, expected: object) -> None:
    assert dd.field(name).parse(raw) == expected


@pytest.mark.parametrize(
    ("name", "raw", "reason"),
    [
        ("pain_relief_pct", "130", "^must be a number from 0 to 100 %$"),
        ("pain_relief_pct", "-1", "^must be a number from 0 to 100 %$"),
        ("nrs_pain", "11", "^must be a whole number from 0 to 10$"),
        ("pain_relief_pct", "67.55", "at most 1 decimal"),
        ("pain_relief_pct", "abc", "expected a number"),
        ("pain_relief_pct", "nan", "expected a number"),
        ("age", "69.5", "whole number"),
        ("sex", "X", "expected one of F, M"),
        ("sex", "f", "expected one of F, M"),
        ("fbss", "yes", r"0 \(no\) or 1 \(yes\)"),
        ("fusion_date", "2020-02-30", "not a real calendar date"),
        ("fusion_date", "03/04/2020", "YYYY-MM-DD"),
        ("fusion_date", "", "required"),
        ("study_id", "P 01", "letters, digits"),
    ],
)
def test_invalid_values_give_the_reason(name: str, raw: str, reason: str) -> None:
    with pytest.raises(FieldError, match=reason):
        dd.field(name).parse(raw)


@given(st.decimals(min_value=-1000, max_value=1000, places=1, allow_nan=False))
def test_range_is_inclusive_on_both_ends(value: Decimal) -> None:
    f = dd.field("pain_relief_pct")
    if Decimal(0) <= value <= Decimal(100):
        assert f.parse(str(value)) == value
    else:
        with pytest.raises(FieldError):
            f.parse(str(value))


def test_rules_are_described_from_the_field() -> None:
    assert dd.field("nrs_pain").describe_rule() == "a whole number from 0 to 10"
    assert dd.field("sex").describe_rule() == "one of F (Female), M (Male)"


def test_a_choice_field_needs_choices() -> None:
    with pytest.raises(ValueError, match="no choices"):
        Field("x", "X", Kind.CHOICE)
