"""Problems found in input: each names the record, the field, the value and the reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One bad value: where it is, what it was and why it is refused."""

    row: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        shown = repr(self.value) if self.value != "" else "(empty)"
        return f"row {self.row}, column {self.column}: {shown}: {self.reason}"


class InputRejected(Exception):
    """The whole input is refused; nothing was written. Carries every problem found."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        listing = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(
            f"{source}: {len(self.problems)} problem"
            f"{'s' if len(self.problems) != 1 else ''}, nothing was imported:\n"
            f"{listing}"
        )
