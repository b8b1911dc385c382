"""The seed protocol's decisions at and around every boundary, and against an independent judge."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sijreg.domain.protocol import Protocol, parse_protocol
from sijreg.domain.screening import Decision, Status, Verdict, evaluate
from sijreg.interop.protocol_file import load_protocol
from tests.protocol_edits import DEFAULT_TEXT
from tests.seed_judge import ADVANCED, MANOEUVRES, seed_rules, seed_verdict


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return load_protocol()


def eligible(**changes: Any) -> dict[str, Any]:
    """A screening that meets every criterion of the seed protocol, with ``changes``."""
    values: dict[str, Any] = {
        "screening_number": "S-1",
        "pain_below_belt_line": True,
        "pain_character": "non_radicular",
        **dict.fromkeys(MANOEUVRES, "positive"),
        "block_image_guided": True,
        "block_local_anaesthetic": True,
        "block_relief_pct": Decimal("80.0"),
        "conservative_months": Decimal("12.0"),
        **dict.fromkeys(ADVANCED, False),
        "advanced_scs": True,
    }
    return values | changes


def manoeuvres(*results: str | None) -> dict[str, str | None]:
    return dict(zip(MANOEUVRES, results, strict=True))


def status(decision: Decision, key: str) -> Status:
    return next(c for c in decision.criteria if c.key == key).status


def test_a_screening_meeting_everything_is_eligible(protocol: Protocol) -> None:
    decision = evaluate(protocol, eligible())
    assert decision.verdict is Verdict.ELIGIBLE
    assert [c.status for c in decision.criteria] == [Status.MET] * 7
    assert decision.missing == ()
    assert (decision.protocol_id, decision.protocol_version) == ("seed-study-2021", "1")


@pytest.mark.parametrize(
    ("relief", "expected"),
    [
        ("49.9", Status.NOT_MET),
        ("50", Status.NOT_MET),
        ("50.0", Status.NOT_MET),
        ("50.1", Status.MET),
        ("100", Status.MET),
        ("0", Status.NOT_MET),
    ],
)
def test_block_relief_must_be_strictly_more_than_50(
    protocol: Protocol, relief: str, expected: Status
) -> None:
    decision = evaluate(protocol, eligible(block_relief_pct=relief))
    assert status(decision, "block_relief") is expected
    assert decision.verdict is (
        Verdict.ELIGIBLE if expected is Status.MET else Verdict.NOT_ELIGIBLE
    )
    found = next(c for c in decision.criteria if c.key == "block_relief").found
    assert found == f"{Decimal(relief).quantize(Decimal('0.1'))}%"


@pytest.mark.parametrize(
    ("months", "expected"),
    [
        ("5.9", Status.NOT_MET),
        ("6", Status.MET),
        ("6.0", Status.MET),
        ("6.1", Status.MET),
        ("0", Status.NOT_MET),
    ],
)
def test_conservative_care_at_least_6_months(
    protocol: Protocol, months: str, expected: Status
) -> None:
    decision = evaluate(protocol, eligible(conservative_months=months))
    assert status(decision, "conservative_care") is expected


@pytest.mark.parametrize(
    ("results", "expected", "missing"),
    [
        (("positive", "positive", "positive", "negative", "negative"), Status.MET, ()),
        (("positive", "positive", "negative", "negative", "negative"), Status.NOT_MET, ()),
        (("positive", "positive", "positive", "not_done", "not_done"), Status.MET, ()),
        # Two positive and one not done: the third could still be positive.
        (
            ("positive", "positive", "not_done", "negative", "negative"),
            Status.MISSING,
            ("test_faber",),
        ),
        (
            ("positive", "positive", None, "negative", "negative"),
            Status.MISSING,
            ("test_faber",),
        ),
        # One positive, one not done, three negative: 3 cannot be reached any more.
        (("positive", "not_done", "negative", "negative", "negative"), Status.NOT_MET, ()),
        (("negative", "negative", "negative", None, "not_done"), Status.NOT_MET, ()),
        (
            ("not_done", "not_done", "not_done", "not_done", "not_done"),
            Status.MISSING,
            MANOEUVRES,
        ),
        ((None, None, None, None, None), Status.MISSING, MANOEUVRES),
        (("positive", "positive", "positive", "positive", "positive"), Status.MET, ()),
    ],
)
def test_three_of_five_manoeuvres(
    protocol: Protocol,
    results: tuple[str | None, ...],
    expected: Status,
    missing: tuple[str, ...],
) -> None:
    decision = evaluate(protocol, eligible(**manoeuvres(*results)))
    result = next(c for c in decision.criteria if c.key == "provocative_manoeuvres")
    assert result.status is expected
    assert result.missing == missing
    assert result.found.startswith(f"{results.count('positive')} of 5 positive")


def test_missing_values_make_the_screening_incomplete_and_say_what_is_missing(
    protocol: Protocol,
) -> None:
    decision = evaluate(
        protocol, eligible(block_relief_pct=None, conservative_months="", advanced_scs=None)
    )
    assert decision.verdict is Verdict.INCOMPLETE
    assert status(decision, "block_relief") is Status.MISSING
    assert status(decision, "conservative_care") is Status.MISSING
    # advanced_scs unknown, the others are "no": it could still be met.
    assert status(decision, "prior_advanced") is Status.MISSING
    assert decision.missing == ("block_relief_pct", "conservative_months", "advanced_scs")
    assert (
        "missing: Pain relief after the diagnostic block, Months of failed conservative care, "
        "Prior Spinal cord stimulator" in decision.summary
    )


def test_a_failed_criterion_outweighs_missing_ones(protocol: Protocol) -> None:
    decision = evaluate(protocol, eligible(block_relief_pct=None, pain_character="radicular"))
    assert decision.verdict is Verdict.NOT_ELIGIBLE
    assert [c.key for c in decision.with_status(Status.NOT_MET)] == ["non_radicular"]
    assert decision.missing == ("block_relief_pct",)


def test_an_empty_screening_is_incomplete_on_every_criterion(protocol: Protocol) -> None:
    decision = evaluate(protocol, {})
    assert decision.verdict is Verdict.INCOMPLETE
    assert {c.status for c in decision.criteria} == {Status.MISSING}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"pain_below_belt_line": False}, Status.NOT_MET),
        ({"pain_below_belt_line": "0"}, Status.NOT_MET),
        ({"pain_below_belt_line": "1"}, Status.MET),
        ({"pain_below_belt_line": None}, Status.MISSING),
    ],
)
def test_pain_below_the_belt_line(
    protocol: Protocol, changes: dict[str, Any], expected: Status
) -> None:
    assert status(evaluate(protocol, eligible(**changes)), "below_belt_line") is expected


@pytest.mark.parametrize(
    ("guided", "anaesthetic", "expected"),
    [
        (True, True, Status.MET),
        (False, True, Status.NOT_MET),
        (True, False, Status.NOT_MET),
        (None, True, Status.MISSING),
        (None, False, Status.NOT_MET),
        (None, None, Status.MISSING),
    ],
)
def test_diagnostic_block_image_guided_with_local_anaesthetic(
    protocol: Protocol, guided: bool | None, anaesthetic: bool | None, expected: Status
) -> None:
    decision = evaluate(
        protocol, eligible(block_image_guided=guided, block_local_anaesthetic=anaesthetic)
    )
    assert status(decision, "diagnostic_block") is expected


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ((False, False, False, False), Status.NOT_MET),
        ((False, False, False, True), Status.MET),
        ((None, False, False, False), Status.MISSING),
        ((None, True, None, None), Status.MET),
        ((None, None, None, None), Status.MISSING),
    ],
)
def test_prior_advanced_intervention(
    protocol: Protocol, flags: tuple[bool | None, ...], expected: Status
) -> None:
    decision = evaluate(protocol, eligible(**dict(zip(ADVANCED, flags, strict=True))))
    assert status(decision, "prior_advanced") is expected


def test_radicular_pain_fails(protocol: Protocol) -> None:
    decision = evaluate(protocol, eligible(pain_character="radicular"))
    result = next(c for c in decision.criteria if c.key == "non_radicular")
    assert (result.status, result.found, result.required) == (
        Status.NOT_MET,
        "Radicular",
        "Non-radicular",
    )


def test_an_invalid_entry_is_missing_with_its_reason(protocol: Protocol) -> None:
    decision = evaluate(protocol, eligible(block_relief_pct="150"))
    result = next(c for c in decision.criteria if c.key == "block_relief")
    assert result.status is Status.MISSING
    assert result.found == "invalid: must be a number from 0 to 100 %"
    assert decision.verdict is Verdict.INCOMPLETE


_tenths = st.integers(0, 1000).map(lambda n: Decimal(n) / 10)
_flag = st.sampled_from([True, False, None])
screenings = st.fixed_dictionaries(
    {
        "pain_below_belt_line": _flag,
        "pain_character": st.sampled_from(["non_radicular", "radicular", None]),
        **{m: st.sampled_from(["positive", "negative", "not_done", None]) for m in MANOEUVRES},
        "block_image_guided": _flag,
        "block_local_anaesthetic": _flag,
        "block_relief_pct": st.one_of(
            st.none(), _tenths, st.sampled_from([Decimal(50), Decimal("50.1"), Decimal("49.9")])
        ),
        "conservative_months": st.one_of(
            st.none(),
            st.integers(0, 600).map(lambda n: Decimal(n) / 10),
            st.sampled_from([Decimal(6), Decimal("5.9")]),
        ),
        **dict.fromkeys(ADVANCED, _flag),
    }
)


@settings(max_examples=400, deadline=None)
@given(values=screenings)
def test_evaluate_agrees_with_a_hand_written_judge(
    protocol: Protocol, values: dict[str, Any]
) -> None:
    expected = seed_rules(values)
    decision = evaluate(protocol, values)
    assert {c.key: c.status for c in decision.criteria} == expected
    assert decision.verdict is seed_verdict(expected)
    for result in decision.criteria:
        assert bool(result.missing) == (result.status is Status.MISSING)


@settings(max_examples=150, deadline=None)
@given(
    values=screenings,
    manoeuvres=st.integers(1, 5),
    relief=st.integers(0, 1000).map(lambda n: Decimal(n) / 10),
    months=st.integers(0, 240).map(lambda n: Decimal(n) / 10),
)
def test_another_studys_thresholds_are_applied_as_written(
    values: dict[str, Any], manoeuvres: int, relief: Decimal, months: Decimal
) -> None:
    text = DEFAULT_TEXT
    for old, new in (("3", manoeuvres), ("50", relief), ("6", months)):
        text = text.replace(f"threshold = {old}\n", f"threshold = <{new}>\n")
    text = text.replace("<", "").replace(">", "")
    protocol = parse_protocol(text.encode("utf-8"), "study.toml")
    expected = seed_rules(values, manoeuvres, relief, months)
    decision = evaluate(protocol, values)
    assert {c.key: c.status for c in decision.criteria} == expected
    assert decision.verdict is seed_verdict(expected)
