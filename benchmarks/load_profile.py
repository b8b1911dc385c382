"""Where one validated write and one read spend their CPU: the whole app in one thread, profiled.

    python -m benchmarks.load_profile                   # SQLite in a temporary directory
    python -m benchmarks.load_profile --postgres postgresql+psycopg://postgres@127.0.0.1/bench

The application (middleware, routing, validation, store, audit) runs in this thread
through an in-memory ASGI transport, with FastAPI's thread pool replaced by a direct
call, so that cProfile sees every frame. Prints the SQL statements per request, the
CPU per request and the functions with the most cumulative time. The PostgreSQL
database given is emptied first; the server side connects as the restricted app role.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastapi.routing
import httpx
import sqlalchemy as sa

from benchmarks.load import prepare, server_database
from sijreg.server.app import create_app
from sijreg.store.database import create_engine, resolve_url


async def _inline(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def _run(database: str, count: int, top: int, sort: str) -> None:
    token = prepare(database, 1)[0]
    engine = create_engine(resolve_url(server_database(database)))
    statements = [0]
    sa.event.listen(
        engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1)
    )
    fastapi.routing.run_in_threadpool = _inline  # type: ignore[attr-defined]
    app = create_app(engine)
    headers = {"Authorization": f"Bearer {token}"}

    async def requests(kind: str, ids: list[int]) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=headers
        ) as c:
            for i in range(count):
                if kind == "write":
                    body = {"study_id": f"P{len(ids)}-{i}", "sex": "F", "age": 64}
                    answer = await c.post("/api/v1/patients", json=body)
                    assert answer.status_code == 201, answer.text
                    ids.append(answer.json()["id"])
                else:
                    answer = await c.get(f"/api/v1/patients/{ids[i % len(ids)]}")
                    assert answer.status_code == 200, answer.text

    ids: list[int] = []
    asyncio.run(requests("write", ids))  # warm up: imports, caches, pool
    for kind in ("write", "read"):
        statements[0] = 0
        profile = cProfile.Profile()
        cpu = time.process_time()
        profile.enable()
        asyncio.run(requests(kind, ids))
        profile.disable()
        cpu = time.process_time() - cpu
        print(
            f"\n== {kind}: {cpu / count * 1000:.2f} CPU-ms per request (profiled), "
            f"{statements[0] / count:.1f} SQL statements per request"
        )
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(sort).print_stats(top)
        print(out.getvalue())
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL (its database is emptied)")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--sort", default="cumulative", help="cumulative or tottime")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _run(args.postgres or str(Path(tmp) / "profile.db"), args.count, args.top, args.sort)


if __name__ == "__main__":
    main()
