"""``sijreg serve`` (or another ASGI server) as a real process on a free port, for tests and
benchmarks that need the server as deployed."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@contextmanager
def serving(command: list[str]) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """Run ``command`` with ``--port <free port>`` appended; yields the port and the process
    once ``/healthz`` answers, and stops the process afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.ConnectError:
                assert process.poll() is None, f"{command[0]} stopped at start"
                assert time.monotonic() < deadline, f"{command[0]} did not start"
                time.sleep(0.2)
        yield port, process
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextmanager
def sijreg_serve(database: str, *options: str) -> Iterator[int]:
    """Start ``sijreg serve`` on ``database`` with ``options``; yields its port once it answers."""
    command = [str(Path(sys.executable).with_name("sijreg")), "serve", "-d", database, *options]
    with serving(command) as (port, _):
        yield port
