"""The seed protocol written out by hand: an independent judge for evaluate() and the flow."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sijreg.domain.screening import Status, Verdict

MANOEUVRES = (
    "test_distraction",
    "test_thigh_thrust",
    "test_faber",
    "test_compression",
    "test_gaenslen",
)
ADVANCED = ("advanced_scs", "advanced_iss", "advanced_idds", "advanced_mild")


def seed_rules(
    v: dict[str, Any],
    manoeuvres: int = 3,
    relief_above: Decimal = Decimal(50),
    months_at_least: Decimal = Decimal(6),
) -> dict[str, Status]:
    """Each criterion's status, by the seed paper's inclusion criteria (or other thresholds)."""

    def single(value: Any, ok: bool) -> Status:
        return Status.MISSING if value is None else (Status.MET if ok else Status.NOT_MET)

    relief, months = v["block_relief_pct"], v["conservative_months"]
    results = [v[m] for m in MANOEUVRES]
    positive = sum(r == "positive" for r in results)
    open_ = sum(r is None or r == "not_done" for r in results)
    block = [v["block_image_guided"], v["block_local_anaesthetic"]]
    advanced = [v[a] for a in ADVANCED]
    return {
        "below_belt_line": single(v["pain_below_belt_line"], v["pain_below_belt_line"] is True),
        "non_radicular": single(v["pain_character"], v["pain_character"] == "non_radicular"),
        "provocative_manoeuvres": Status.MET
        if positive >= manoeuvres
        else (Status.MISSING if positive + open_ >= manoeuvres else Status.NOT_MET),
        "diagnostic_block": Status.NOT_MET
        if False in block
        else (Status.MISSING if None in block else Status.MET),
        "block_relief": single(relief, relief is not None and relief > relief_above),
        "conservative_care": single(months, months is not None and months >= months_at_least),
        "prior_advanced": Status.MET
        if True in advanced
        else (Status.MISSING if None in advanced else Status.NOT_MET),
    }


def seed_verdict(statuses: dict[str, Status]) -> Verdict:
    found = set(statuses.values())
    if Status.NOT_MET in found:
        return Verdict.NOT_ELIGIBLE
    return Verdict.INCOMPLETE if Status.MISSING in found else Verdict.ELIGIBLE
