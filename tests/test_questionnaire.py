"""Instruments as data: the shipped FHIR questionnaires, their rules and the ODI's scoring."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from sijreg.domain.questionnaire import AnswerError, languages, odi_score, say, visit_values
from sijreg.interop.instrument_file import (
    InstrumentError,
    default_instruments,
    load_instrument,
    shipped,
)
from tests.translated import GERMAN, german_data, german_followup

SHIPPED_ODI = Path(__file__).parents[1] / "src/sijreg/domain/instruments/odi.json"


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        ([0, 1, 2, 3, 4, 5, 0, 1, 2, 3], Decimal("42.0")),  # 21 / 50
        ([5, 5, 5, 5, 5, 5, 5, 5, 5, None], Decimal("100.0")),  # 45 / 45: a gap is not held against
        ([1, 2, 3, None, 4, None, 0, 0, 1, 2], Decimal("32.5")),  # 13 / 40
        ([1, 1, 1, 1, 1, 1, 1, 0, 0, None], Decimal("15.6")),  # 7 / 45 = 15.555...
        ([0, 0, 0, 0, 0, 0, 0, 1, None, None], Decimal("2.5")),  # 1 / 40
        ([0] * 10, Decimal("0.0")),
        ([1, 2, 3, None, 4, None, 0, None, 1, 2], None),  # three missing: not scored
        ([None] * 10, None),
    ],
)
def test_odi_score_by_hand(sections: list[int | None], expected: Decimal | None) -> None:
    assert odi_score(sections) == expected


def test_odi_score_refuses_impossible_sections() -> None:
    with pytest.raises(ValueError, match="0 to 5"):
        odi_score([6, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="10 sections"):
        odi_score([0, 0])


def test_answers_fill_the_visit_fields_with_the_odi_score() -> None:
    instruments = default_instruments()
    answers = {
        "pain_relief_pct": "70",
        "nrs_pain": "3",
        "nrs_pain_week": "4",
        "pgic": "much_improved",
        "opioid_use": "no",
        # sections scored 2,2,1,1,0,0,3,(missed),2,1 -> 12 / 45 = 26.7
        **{f"odi_{n}_answer": f"s{s}" for n, s in enumerate([2, 2, 1, 1, 0, 0, 3], start=1)},
        "odi_9_answer": "s2",
        "odi_10_answer": "s1",
    }
    assert visit_values(instruments, answers) == {
        "pain_relief_pct": Decimal(70),
        "nrs_pain": 3,
        "nrs_pain_week": 4,
        "pgic": "much_improved",
        "opioid_use": False,
        "odi": Decimal("26.7"),
    }


@pytest.mark.parametrize(
    ("item", "raw", "reason"),
    [
        ("nrs_pain", "11", "from 0 to 10"),
        ("nrs_pain", "2.5", "whole number"),
        ("pain_relief_pct", "lots", "a number"),
        ("pgic", "great", "choose one"),
        ("opioid_use", "maybe", "yes or no"),
    ],
)
def test_bad_answers_are_refused_plainly(item: str, raw: str, reason: str) -> None:
    with pytest.raises(AnswerError, match=reason):
        visit_values(default_instruments(), {item: raw})


def test_shipped_odi_wording_is_a_marked_placeholder() -> None:
    odi = shipped("odi")
    assert odi.placeholder
    texts = [t for i in odi.items for _, t in i.text] + [
        t for i in odi.items for o in i.options for _, t in o.label
    ]
    assert len(texts) == 70
    assert all(t.startswith("[Placeholder]") for t in texts)


def _licensed(tmp_path: Path, edit: object = None) -> Path:
    data = json.loads(SHIPPED_ODI.read_text())
    for group in data["item"]:
        for item in group["item"]:
            item["text"] = "Licensed wording of " + item["linkId"]
            for option in item["answerOption"]:
                option["valueCoding"]["display"] = "Licensed " + option["valueCoding"]["code"]
    data["extension"] = [e for e in data["extension"] if "placeholder" not in e["url"]]
    if edit == "rescore":
        data["item"][0]["item"][0]["answerOption"][1]["extension"][0]["valueDecimal"] = 3
    path = tmp_path / "odi-licensed.json"
    path.write_text(json.dumps(data))
    return path


def test_the_studys_licensed_odi_wording_replaces_the_placeholder(tmp_path: Path) -> None:
    odi = default_instruments(_licensed(tmp_path))[1]
    assert not odi.placeholder
    assert odi.items[0].text[0][1] == "Licensed wording of odi_1_answer"


def test_a_licensed_file_cannot_change_the_scoring(tmp_path: Path) -> None:
    with pytest.raises(InstrumentError, match="not the ODI's structure"):
        default_instruments(_licensed(tmp_path, "rescore"))


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda d: d.update(resourceType="Patient"), "not a FHIR R4 Questionnaire"),
        (lambda d: d["item"][1]["item"][0]["extension"][1].update(valueInteger=11), "nrs_pain"),
        (
            lambda d: d["item"][0]["item"][0]["extension"][2].update(valueCode="study_id"),
            "not a visit field",
        ),
        (
            lambda d: d["item"][2]["item"][0]["answerOption"][0]["valueCoding"].update(code="x"),
            "pgic",
        ),
    ],
)
def test_a_questionnaire_cannot_break_the_dictionary(
    tmp_path: Path, edit: object, reason: str
) -> None:
    source = SHIPPED_ODI.with_name("sijreg-followup.json")
    data = json.loads(source.read_text())
    assert callable(edit)
    edit(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InstrumentError, match=reason):
        load_instrument(path)


def test_other_languages_come_from_fhir_translations(tmp_path: Path) -> None:
    data = json.loads(SHIPPED_ODI.with_name("sijreg-followup.json").read_text())
    data["item"][1]["item"][0]["_text"] = {
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/translation",
                "extension": [
                    {"url": "lang", "valueCode": "de"},
                    {"url": "content", "valueString": "Wie stark sind Ihre Schmerzen jetzt?"},
                ],
            }
        ]
    }
    path = tmp_path / "de.json"
    path.write_text(json.dumps(data))
    item = load_instrument(path).groups[1].items[0]
    assert dict(item.text)["de"] == "Wie stark sind Ihre Schmerzen jetzt?"


def test_answer_options_come_in_their_fhir_translations() -> None:
    instrument = german_followup()
    assert languages([instrument]) == ("en", "de")
    pgic = next(i for i in instrument.items if i.link_id == "pgic")
    labels = {o.code: dict(o.label) for o in pgic.options}
    assert set(labels) == set(GERMAN) - {"change", "pgic"}
    for code, label in labels.items():
        assert label["de"] == GERMAN[code]
        assert label["en"] not in ("", GERMAN[code])
    assert say(pgic.options[1].label, "de") == "Viel besser"
    assert say(pgic.options[1].label, "fr") == dict(pgic.options[1].label)["en"]  # default
    # Scores and codes are the shipped file's: a translation changes wording only.
    shipped = next(i for i in default_instruments()[0].items if i.link_id == "pgic")
    assert [(o.code, o.score) for o in pgic.options] == [(o.code, o.score) for o in shipped.options]


def test_the_files_own_language_is_its_texts_default(tmp_path: Path) -> None:
    data = german_data()
    data["language"] = "sv"
    path = tmp_path / "sv.json"
    path.write_text(json.dumps(data))
    instrument = load_instrument(path)
    assert languages([instrument])[0] == "sv"
    pgic = next(i for i in instrument.items if i.link_id == "pgic")
    assert [lang for lang, _ in pgic.options[0].label] == ["sv", "de"]


def test_a_translation_without_its_content_is_refused(tmp_path: Path) -> None:
    data = german_data()
    coding = data["item"][2]["item"][0]["answerOption"][0]["valueCoding"]
    del coding["_display"]["extension"][0]["extension"][1]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    refusal = r"pgic, option very_much_improved: a translation of its display"
    with pytest.raises(InstrumentError, match=refusal):
        load_instrument(path)
