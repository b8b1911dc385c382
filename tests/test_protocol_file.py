"""Protocol files: the default one, another study's edits, and clear errors for broken files."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

from sijreg.domain.protocol import CriterionKind, ProtocolError
from sijreg.domain.screening import Status, Verdict, evaluate
from sijreg.interop.protocol_file import load_protocol
from tests.protocol_edits import DEFAULT_TEXT, edited

CANDIDATE = {
    "pain_below_belt_line": True,
    "pain_character": "non_radicular",
    "test_distraction": "positive",
    "test_thigh_thrust": "positive",
    "test_faber": "positive",
    "test_compression": "negative",
    "test_gaenslen": "negative",
    "block_image_guided": True,
    "block_local_anaesthetic": True,
    "block_relief_pct": Decimal("50.5"),
    "conservative_months": Decimal("6.0"),
    "advanced_mild": True,
}


def test_the_default_protocol_is_the_seed_studys() -> None:
    protocol = load_protocol()
    assert (protocol.id, protocol.version) == ("seed-study-2021", "1")
    assert protocol.sha256 == hashlib.sha256(DEFAULT_TEXT.encode("utf-8")).hexdigest()
    kinds = {c.key: (c.kind, c.threshold) for c in protocol.criteria}
    assert kinds["provocative_manoeuvres"] == (CriterionKind.COUNT_AT_LEAST, Decimal(3))
    assert kinds["block_relief"] == (CriterionKind.GREATER_THAN, Decimal(50))
    assert kinds["conservative_care"] == (CriterionKind.AT_LEAST, Decimal(6))
    assert protocol.pathway.steroid_injection_max == 3
    assert protocol.pathway.steroid_injection_window_days == 365


def test_another_study_changes_thresholds_without_code(tmp_path: Path) -> None:
    assert evaluate(load_protocol(), CANDIDATE).verdict is Verdict.ELIGIBLE
    stricter = load_protocol(
        edited(
            tmp_path,
            ('version = "1"', 'version = "2"'),
            ("threshold = 3", "threshold = 4"),
            ("threshold = 50", "threshold = 50.5"),
        )
    )
    decision = evaluate(stricter, CANDIDATE)
    assert decision.verdict is Verdict.NOT_ELIGIBLE
    assert decision.protocol_version == "2"
    assert {c.key for c in decision.with_status(Status.NOT_MET)} == {
        "provocative_manoeuvres",
        "block_relief",
    }
    # 3 positive, 1 not done: 4 of 5 could still be reached once it is done.
    candidate = CANDIDATE | {"block_relief_pct": Decimal("60"), "test_gaenslen": "not_done"}
    manoeuvres = next(
        c for c in evaluate(stricter, candidate).criteria if c.key == "provocative_manoeuvres"
    )
    assert (manoeuvres.status, manoeuvres.missing) == (Status.MISSING, ("test_gaenslen",))


def test_a_criterion_can_be_dropped_or_added(tmp_path: Path) -> None:
    without_advanced = DEFAULT_TEXT[: DEFAULT_TEXT.index('[[criterion]]\nkey = "prior_advanced"')]
    extra = (
        '[[criterion]]\nkey = "physio"\nlabel = "Physical therapy tried"\n'
        'kind = "equals"\nfield = "conservative_physical_therapy"\nvalue = true\n'
    )
    path = tmp_path / "other.toml"
    path.write_text(without_advanced + extra, encoding="utf-8")
    protocol = load_protocol(path)
    assert [c.key for c in protocol.criteria][-2:] == ["conservative_care", "physio"]
    decision = evaluate(protocol, CANDIDATE | {"advanced_mild": False})
    assert decision.verdict is Verdict.INCOMPLETE
    assert decision.missing == ("conservative_physical_therapy",)


@pytest.mark.parametrize(
    ("old", "new", "where", "problem"),
    [
        (
            'field = "block_relief_pct"',
            'field = "block_relif"',
            "criterion 'block_relief'",
            "unknown field 'block_relif'",
        ),
        (
            'kind = "greater_than"',
            'kind = "more_than"',
            "criterion 'block_relief'",
            "'kind' 'more_than' is not one of",
        ),
        (
            "threshold = 3",
            "threshold = 6",
            "criterion 'provocative_manoeuvres'",
            "whole number from 1 to 5",
        ),
        (
            "threshold = 3",
            "threshold = 2.5",
            "criterion 'provocative_manoeuvres'",
            "whole number from 1 to 5",
        ),
        (
            "threshold = 50",
            'threshold = "50"',
            "criterion 'block_relief'",
            "'threshold' must be a number",
        ),
        (
            "threshold = 50",
            "treshold = 50",
            "criterion 'block_relief'",
            "unknown setting 'treshold'",
        ),
        (
            'value = "non_radicular"',
            'value = "nonradicular"',
            "criterion 'non_radicular'",
            "does not fit pain_character: expected one of",
        ),
        (
            'field = "conservative_months"',
            'field = "pain_character"',
            "criterion 'conservative_care'",
            "needs a numeric field",
        ),
        (
            'label = "Pain primarily non-radicular"\n',
            "",
            "criterion 'non_radicular'",
            "'label' must be a non-empty text",
        ),
        (
            'key = "block_relief"',
            'key = "below_belt_line"',
            "criterion 'below_belt_line'",
            "used by an earlier criterion",
        ),
        (
            'undecided = ["not_done"]',
            'undecided = ["positive"]',
            "criterion 'provocative_manoeuvres'",
            "cannot also be undecided",
        ),
        ('id = "seed-study-2021"\n', "", "[protocol]", "'id' must be a non-empty text"),
        (
            "steroid_injection_max = 3",
            "steroid_injection_max = -3",
            "[pathway] steroid_injection_max",
            "whole number >= 0",
        ),
        (
            'fields = ["advanced_scs"',
            'fields = ["pain_character"',
            "criterion 'prior_advanced'",
            "same type",
        ),
    ],
)
def test_a_malformed_protocol_names_file_criterion_and_problem(
    tmp_path: Path, old: str, new: str, where: str, problem: str
) -> None:
    path = edited(tmp_path, (old, new), name="broken.toml")
    with pytest.raises(ProtocolError) as caught:
        load_protocol(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {where}: "), message
    assert problem in message


def test_broken_toml_and_missing_files_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[protocol\nid = 1", encoding="utf-8")
    with pytest.raises(ProtocolError, match=r"bad\.toml: not valid TOML"):
        load_protocol(path)
    with pytest.raises(ProtocolError, match=r"absent\.toml: cannot read"):
        load_protocol(tmp_path / "absent.toml")
    empty = tmp_path / "empty.toml"
    empty.write_text('[protocol]\nid = "x"\nversion = "1"\n', encoding="utf-8")
    with pytest.raises(
        ProtocolError, match=r"empty\.toml: \[\[criterion\]\]: the protocol has no criteria"
    ):
        load_protocol(empty)
