"""Sign-in, sessions, CSRF, tokens, throttling, error pages and logs, as an attacker meets them."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from sijreg.server.app import create_app
from sijreg.store import accounts, schema
from sijreg.store.accounts import AccountError, Role
from sijreg.store.database import create_engine, resolve_url
from tests.server.server_support import PASSWORD, People, bearer, csrf_of, sign_in


def _attempt(client: TestClient, username: str, password: str) -> tuple[int, str]:
    form = client.get("/sign-in")
    answer = client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    return answer.status_code, re.sub(r'value="[0-9a-f]{64}"', "", answer.text)


def test_the_session_cookie_is_locked_down_and_rotated_at_sign_in(server: TestClient) -> None:
    before = server.get("/sign-in")
    assert "sijreg_session" not in server.cookies  # no session before signing in
    cookie = before.headers["set-cookie"].lower()
    assert cookie.startswith("__host-sijreg_sign_in=")
    for flag in ("httponly", "secure", "samesite=strict", "path=/"):
        assert flag in cookie
    sign_in(server, "coord1")
    first = server.cookies["sijreg_session"]
    sign_in(server, "coord1")
    assert server.cookies["sijreg_session"] != first
    assert server.get("/patients").status_code == 200


def test_anonymous_requests_write_no_session(server: TestClient, engine: sa.Engine) -> None:
    def sessions() -> int:
        with engine.connect() as conn:
            count = sa.select(sa.func.count()).select_from(schema.app_session)
            return int(conn.execute(count).scalar_one())

    sign_in(server, "coord1")
    before = sessions()
    with TestClient(server.app, base_url="https://testserver") as stranger:
        for path in ["/sign-in", "/", "/patients", "/sign-in"] * 10:
            assert stranger.get(path).status_code in (200, 303)
        assert stranger.post("/sign-in", data={"username": "x", "password": "y"}).status_code == 403
    assert sessions() == before


def test_a_sign_in_cookie_from_another_browser_or_too_old_is_refused(server: TestClient) -> None:
    token = csrf_of(server.get("/sign-in").text)
    with TestClient(server.app, base_url="https://testserver") as other:
        other.get("/sign-in")
        data = {"username": "coord1", "password": PASSWORD, "csrf_token": token}
        assert other.post("/sign-in", data=data, follow_redirects=False).status_code == 403
    old = f"{int(accounts.now().timestamp()) - 3600}.{'a' * 43}"
    server.cookies.set("__Host-sijreg_sign_in", old)
    data = {"username": "coord1", "password": PASSWORD, "csrf_token": accounts.csrf_token(old)}
    assert server.post("/sign-in", data=data, follow_redirects=False).status_code == 403


def test_unknown_user_and_wrong_password_get_the_same_answer(server: TestClient) -> None:
    unknown = _attempt(server, "nobody", PASSWORD)
    wrong = _attempt(server, "coord1", "wrong password here")
    assert unknown == wrong
    assert unknown[0] == 401
    assert "Unknown user name or wrong password." in unknown[1]


def test_repeated_failures_slow_the_account_down_even_with_the_right_password(
    server: TestClient,
) -> None:
    for _ in range(accounts.FREE_FAILURES[0]):
        assert _attempt(server, "coord1", "wrong password here")[0] == 401
    status, body = _attempt(server, "coord1", PASSWORD)
    assert status == 429
    assert "Too many failed sign-ins" in body
    # The same answer for a user name that does not exist.
    for _ in range(accounts.FREE_FAILURES[0]):
        _attempt(server, "nobody", "wrong password here")
    assert _attempt(server, "nobody", PASSWORD) == (status, body)
    # Other accounts from this client are not blocked yet.
    sign_in(server, "coord2")


def test_forms_without_the_sessions_csrf_token_are_refused(
    server: TestClient, engine: sa.Engine
) -> None:
    token = sign_in(server, "coord1")
    data = {"study_id": "P-9", "csrf_token": token}
    assert server.post("/patients/new", data={"study_id": "P-9"}).status_code == 403
    with TestClient(server.app, base_url="https://testserver") as thief:
        stolen = sign_in(thief, "coord1")
        assert stolen != token
        # A token from another session is worthless in this one.
        assert server.post("/patients/new", data={**data, "csrf_token": stolen}).status_code == 403
    assert server.post("/patients/new", data=data, follow_redirects=False).status_code == 303
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.patient)).scalar() == 1


def test_a_sign_in_without_csrf_token_is_refused(server: TestClient) -> None:
    server.get("/sign-in")
    answer = server.post("/sign-in", data={"username": "coord1", "password": PASSWORD})
    assert answer.status_code == 403


@pytest.mark.parametrize("column", ["last_seen_at", "created_at"])
def test_idle_and_absolute_timeouts_end_the_session(
    server: TestClient, engine: sa.Engine, column: str
) -> None:
    sign_in(server, "coord1")
    limit = accounts.Timeouts().idle if column == "last_seen_at" else accounts.Timeouts().absolute
    with engine.begin() as conn:
        s = schema.app_session
        conn.execute(
            sa.update(s)
            .where(s.c.user_id.is_not(None))
            .values({column: accounts.now() - limit - timedelta(seconds=5)})
        )
    answer = server.get("/patients", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in"


def test_signing_out_ends_the_session(server: TestClient) -> None:
    token = sign_in(server, "coord1")
    kept = server.cookies["sijreg_session"]
    assert (
        server.post("/sign-out", data={"csrf_token": token}, follow_redirects=False).status_code
        == 303
    )
    server.cookies.set("sijreg_session", kept)
    assert server.get("/patients", follow_redirects=False).status_code == 303


def test_revoked_expired_and_outdated_tokens_are_refused(
    server: TestClient, engine: sa.Engine, people: People, tokens: dict[str, str]
) -> None:
    assert server.get("/api/v1/me", headers=bearer(tokens["coord1"])).status_code == 200
    with engine.begin() as conn:
        revoked_id, revoked = accounts.issue_token(conn, people.ids["coord1"], 1, "to revoke")
        accounts.revoke_token(conn, revoked_id)
        expiring_id, expiring = accounts.issue_token(conn, people.ids["coord1"], 1, "to expire")
        t = schema.api_token
        conn.execute(
            sa.update(t)
            .where(t.c.id == expiring_id)
            .values(expires_at=accounts.now() - timedelta(seconds=1))
        )
    assert server.get("/api/v1/me", headers=bearer(revoked)).status_code == 401
    assert server.get("/api/v1/me", headers=bearer(expiring)).status_code == 401
    with engine.begin() as conn:  # moving a user to another site outdates their tokens
        accounts.change_user(conn, people.ids["coord2"], role=Role.COORDINATOR, site_code="S01")
        accounts.change_user(conn, people.ids["inv1"], disabled=True)
    assert server.get("/api/v1/me", headers=bearer(tokens["coord2"])).status_code == 401
    assert server.get("/api/v1/me", headers=bearer(tokens["inv1"])).status_code == 401


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short pass", "at least 12 characters"),
        ("Password1234", "too common"),
        ("aaaaaaaaaaaaaaa", "too common"),
        ("my name is newuser1", "must not contain the user name"),
    ],
)
def test_weak_passwords_are_refused(engine: sa.Engine, password: str, reason: str) -> None:
    with engine.begin() as conn, pytest.raises(AccountError, match=reason):
        accounts.add_user(conn, "newuser1", "New User", Role.ADMIN, password)


def test_a_long_passphrase_without_composition_rules_is_accepted(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        accounts.add_user(conn, "newuser1", "New User", Role.ADMIN, "purple hills at dawn")


def test_an_unexpected_error_is_a_generic_500_without_trace(tmp_path: Path) -> None:
    """A database without tables: every query fails inside the app."""
    broken = create_engine(resolve_url(str(tmp_path / "empty.db")))
    with TestClient(create_app(broken), base_url="https://testserver") as client:
        form = client.get("/sign-in")  # the form itself needs no database
        assert form.status_code == 200
        data = {"username": "coord1", "password": PASSWORD, "csrf_token": csrf_of(form.text)}
        page = client.post("/sign-in", data=data)
        api = client.get("/api/v1/me", headers=bearer("sijreg_x"))
    assert page.status_code == 500
    assert api.status_code == 500
    assert api.json() == {"detail": "The error was logged. Nothing was saved."}
    for body in (page.text, api.text):
        assert "Traceback" not in body
        assert "sqlite" not in body.lower()


def test_no_identifier_or_secret_reaches_the_log(
    server: TestClient, tokens: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _attempt(server, "coord1", "wrong password here")
    _attempt(server, "nobody-known", PASSWORD)
    token = sign_in(server, "coord1")
    session = server.cookies["sijreg_session"]
    server.post("/patients/new", data={"study_id": "SECRET-ID-77", "csrf_token": token})
    server.get("/api/v1/patients/999", headers=bearer(tokens["coord2"]))
    server.get("/api/v1/me", headers=bearer(tokens["coord1"]))
    server_side = [r for r in caplog.records if not r.name.startswith("httpx")]  # httpx: the client
    text = "\n".join(r.getMessage() for r in server_side)
    assert "sign-in failed" in text
    assert "record not found in scope" in text
    for secret in (
        "coord1",
        "coord2",
        "nobody-known",
        PASSWORD,
        "wrong password here",
        tokens["coord1"],
        tokens["coord2"],
        session,
        token,
        "SECRET-ID-77",
        "testclient",
        "999",
    ):
        assert secret not in text


def test_pages_carry_security_headers(server: TestClient) -> None:
    headers = server.get("/sign-in").headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src" not in headers["content-security-policy"]  # default-src 'none'
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"


def test_a_disabled_user_gets_the_same_answer_as_a_wrong_password(
    server: TestClient, engine: sa.Engine, people: People
) -> None:
    with engine.begin() as conn:
        accounts.change_user(conn, people.ids["coord2"], disabled=True)
    assert _attempt(server, "coord2", PASSWORD) == _attempt(server, "coord1", "wrong password here")
