"""The floor for benchmarks/load.py: a trivial FastAPI app on uvicorn, answering as sijreg would.

A write validates a small JSON body with pydantic and answers 201 with it and an id; a
read answers a small JSON object. Both are plain ``def`` routes (run in the thread pool,
as sijreg's are) and touch no database, so the same load client measures what the
framework, the server and the client give on this machine. Served by ``uvicorn
benchmarks.trivial_app:app``.
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
