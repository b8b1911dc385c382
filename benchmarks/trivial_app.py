"""The floor for benchmarks/load.py: a trivial FastAPI app on uvicorn, answering as sijreg would.

A write validates a small JSON body with pydantic and answers 201 with it and an id; a
read answers a small JSON object. Both are plain ``def`` routes (run in the thread pool,
as sijreg's are) and touch no database, so the same load client measures what the
framework, the server and the client give on this machine. Served by ``python -m
benchmarks.trivial_app`` (see :func:`main`).
"""

from __future__ import annotations

import itertools

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()
_ids = itertools.count(1)


class Patient(BaseModel):
    study_id: str
    sex: str
    age: int


@app.post("/api/v1/patients", status_code=201)
def create(body: Patient) -> dict[str, object]:
    return {"id": next(_ids), **body.model_dump()}


@app.get("/api/v1/patients/{record_id}")
def read(record_id: int) -> dict[str, object]:
    return {"id": record_id, "study_id": "L", "sex": "F", "age": 64}


@app.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}


def main() -> None:
    """``python -m benchmarks.trivial_app --port P [--workers N]``: served as ``sijreg serve``
    serves (several workers on one TCP socket made as sijreg makes it)."""
    import argparse

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from sijreg.cli.server import _listen

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    options = {"access_log": False, "server_header": False}
    if args.workers == 1:
        uvicorn.run(app, host="127.0.0.1", port=args.port, **options)  # type: ignore[arg-type]
        return
    config = uvicorn.Config(
        "benchmarks.trivial_app:app",
        workers=args.workers,
        **options,  # type: ignore[arg-type]
    )
    Multiprocess(config, sockets=[_listen("127.0.0.1", args.port)]).run()


if __name__ == "__main__":
    main()
