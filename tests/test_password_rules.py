"""Well-known weak passwords of 12+ characters are refused (zxcvbn's estimate), passphrases
are not (issue 15, item 8)."""

from __future__ import annotations

import pytest

from sijreg.store.accounts import AccountError, check_password

WEAK = [
    "password1234",
    "qwertyuiop123",
    "iloveyou1234",
    "1q2w3e4r5t6y",
    "trustno1trustno1",
    "football2024",
    "letmein12345",
    "Password123!",
    "welcome12345",
    "sunshine2025",
    "qazwsxedcrfv",
    "dragon123456",
    "abc123abc123",
    "monkey123456",
    "aaaaaaaaaaaa",
    "alice.smith1990",
]


@pytest.mark.parametrize("password", WEAK)
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(AccountError, match=r"too common|user name"):
        check_password(password, "alice.smith")


@pytest.mark.parametrize(
    "password", ["quiet amber fields", "lilac rivers hum slowly", "mauve staple orbit 42"]
)
def test_passphrases_are_accepted(password: str) -> None:
    check_password(password, "alice.smith")
