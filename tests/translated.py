"""sijreg's follow-up questionnaire with a second language (German) on one page, given as
FHIR translation extensions: the group's text, the question's and every answer option's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sijreg.domain.questionnaire import Instrument
from sijreg.interop.instrument_file import parse_instrument

SHIPPED = Path(__file__).parents[1] / "src/sijreg/domain/instruments/sijreg-followup.json"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
GERMAN = {
    "change": "Veränderung insgesamt",
    "pgic": "Wie hat sich Ihr Zustand seit der Operation verändert?",
    "very_much_improved": "Sehr viel besser",
    "much_improved": "Viel besser",
    "minimally_improved": "Etwas besser",
    "no_change": "Unverändert",
    "minimally_worse": "Etwas schlechter",
    "much_worse": "Viel schlechter",
    "very_much_worse": "Sehr viel schlechter",
}


def translation(lang: str, content: str) -> dict[str, Any]:
    return {
        "extension": [
            {
                "url": TRANSLATION,
                "extension": [
                    {"url": "lang", "valueCode": lang},
                    {"url": "content", "valueString": content},
                ],
            }
        ]
    }


def german_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SHIPPED.read_text(encoding="utf-8"))
    change = next(g for g in data["item"] if g["linkId"] == "change")
    change["_text"] = translation("de", GERMAN["change"])
    pgic = change["item"][0]
    pgic["_text"] = translation("de", GERMAN["pgic"])
    for option in pgic["answerOption"]:
        coding = option["valueCoding"]
        coding["_display"] = translation("de", GERMAN[coding["code"]])
    return data


def german_followup() -> Instrument:
    return parse_instrument(json.dumps(german_data()).encode(), "sijreg-followup-de.json")
