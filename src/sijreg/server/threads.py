"""How many requests one server process works on at once, and where the long ones run.

Routes written as plain functions run in a pool of threads that share one interpreter
lock. With anyio's default of 40 threads, 32 clients kept some 16 requests per process
runnable at once: each request's Python waited behind the others', also while its
transaction held the audit chain's lock, so the chain, not the cores, set the pace
(PostgreSQL, two workers on two cores: about 380 validated writes/s). With 3-4 threads
a process the same machine served 520-600 writes/s and 1,100-1,700 reads/s, the p99 at
about 100 ms instead of 150 (benchmarks/LOAD.md); SQLite gained as much. The rest of a
burst waits its turn in the event loop, which costs nothing. Once started, the process
moves everything loaded so far (the web stack, the dictionary) out of the garbage
collector's reach (``gc.freeze``): a full collection then walks only what requests made,
and the p99 at 32 clients fell from about 85 to 65-70 ms.

Reports and exports read a site's or the whole registry's data and can take seconds:
they run in a small pool of their own (:func:`long_running`), so a few of them never
take the threads that data entry needs, nor hold up one another beyond that pool.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # the web stack: `sijreg serve --help` reads the default below without it
    from fastapi import FastAPI

T = TypeVar("T")

REQUEST_THREADS = 3
"""Threads a server process runs its short requests in (``serve --threads``)."""
LONG_THREADS = 2
"""Threads a server process runs reports and exports in, beside the short requests."""


def lifespan(threads: int) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Size the process's thread pools when the application starts (in its event loop)."""

    import anyio.to_thread
    from anyio import CapacityLimiter

    @asynccontextmanager
    async def sized(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        app.state.long_running = CapacityLimiter(LONG_THREADS)
        gc.freeze()  # what is loaded now lives as long as the process: no collection walks it
        yield

    return sized


async def long_running(app: FastAPI, work: Callable[[], T]) -> T:
    """Run ``work`` (a report, an export) in the pool of long requests."""
    import anyio.to_thread

    limiter = getattr(app.state, "long_running", None)  # None: the lifespan did not run
    return await anyio.to_thread.run_sync(work, limiter=limiter)
