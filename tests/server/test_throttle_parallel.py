"""Parallel sign-in bursts against the real server (``sijreg serve``) on both databases: no
more passwords checked than the throttle allows, none during a lockout, no 500, and a lockout
from one address leaves the account open from another."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from benchmarks.served import sijreg_serve

from sijreg.store import accounts
from sijreg.store.database import resolve_url
from tests.server.server_support import csrf_of
from tests.server.test_cli import PASSWORD, _run

BURST = 24


@pytest.fixture
def served(database_url: str) -> Iterator[str]:
    """The port of ``sijreg serve`` on the registry (as ":port"), with one admin account."""
    assert _run(database_url, "user", "add", "root", "--role", "admin", "--name", "Root")[0] == 0
    with sijreg_serve(database_url, "--host", "0.0.0.0") as port:
        yield f":{port}"


def _client(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=60)


def _prepared(port: str, address: str) -> tuple[httpx.Client, dict[str, str], str]:
    """A client with its own anonymous session: (client, cookie header, CSRF token)."""
    client = _client(address)
    form = client.get(f"http://127.0.0.1{port}/sign-in")
    cookie = form.headers["set-cookie"].split(";", 1)[0]
    return client, {"Cookie": cookie}, csrf_of(form.text)


def _burst(port: str, passwords: list[str], address: str = "127.0.0.3") -> Counter[int]:
    """Sign-in attempts as ``root``, all released at once, each claiming another address in
    X-Forwarded-For (believed from 127.0.0.1, the default --forwarded-allow-ips, and ignored
    from any other address); their status codes."""
    prepared = [_prepared(port, address) for _ in passwords]
    start = threading.Barrier(len(passwords))
    statuses: Counter[int] = Counter()

    def attempt(i: int) -> None:
        client, headers, csrf = prepared[i]
        start.wait()
        answer = client.post(
            f"http://127.0.0.1{port}/sign-in",
            data={"username": "root", "password": passwords[i], "csrf_token": csrf},
            headers={**headers, "X-Forwarded-For": f"203.0.113.{i}"},
        )
        statuses[answer.status_code] += 1
        client.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(passwords))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_parallel_bursts_check_no_more_guesses_than_allowed(served: str, database_url: str) -> None:
    engine = sa.create_engine(resolve_url(database_url))
    free = accounts.FREE_FAILURES[0]
    first = _burst(served, ["wrong password here"] * BURST)
    assert first == Counter({401: free, 429: BURST - free})
    # Ten failures in all: the next attempt waits 2**8 s, longer than this test.
    with engine.begin() as conn:
        for _ in range(10 - free):
            accounts.record_failure(conn, accounts.throttle_keys("root", "127.0.0.3")[:1])
    second = _burst(served, ["wrong password here"] * (BURST // 2) + [PASSWORD] * (BURST // 2))
    assert second == Counter({429: BURST})  # none checked, the right password refused too
    # Through the allowed proxy, each forwarded address is a client of its own.
    assert _burst(served, ["wrong password here"] * 6, address="127.0.0.1") == Counter({401: 6})
    # Another address is not locked out of the account by this one's failures.
    assert _burst(served, [PASSWORD], address="127.0.0.2") == Counter({303: 1})
    engine.dispose()
