"""A monitor of several sites: reading each covered site in turn, and choosing the one to work at.

Such a monitor (``sijreg user add --role monitor --sites A,B`` or ``--all-sites``) has
no site of their own. Their query list and data checks read every covered site, one
site at a time, each through its own :class:`SiteScope` (so each read carries that
site's ``sijreg.site_id`` for PostgreSQL's row-level security, exactly as a one-site
user's). A record or a query is opened at one site: following a link sets the site
cookie (``/sites/{code}/enter``), which only ever chooses among the covered sites.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response

from sijreg.server import web
from sijreg.server.pages import go
from sijreg.store import schema
from sijreg.store.scope import NotFound, SiteScope, set_database_scope

router = APIRouter(include_in_schema=False)

T = TypeVar("T")


def per_site(
    conn: sa.Connection, user: web.PageUser, read: Callable[[SiteScope], list[T]]
) -> list[tuple[str, T]]:
    """``read`` at every site the user's lists cover, each item with its site code: a
    monitor's covered sites one after another, anyone else's own site."""
    if not user.sites:
        scope = SiteScope(conn, user.actor)
        code = scope.site_code()
        return [(code, item) for item in read(scope)]
    found: list[tuple[str, T]] = []
    for site_id, code in user.sites:
        found += [
            (code, item) for item in read(SiteScope(conn, replace(user.actor, site_id=site_id)))
        ]
    set_database_scope(conn, user.actor.site_id)  # back to the site the monitor works at
    return found


def own_site(conn: sa.Connection, user: web.PageUser) -> str:
    """The code of a one-site user's site ("" for a monitor of several sites)."""
    if user.sites or user.actor.site_id is None:
        return ""
    s = schema.site
    return str(
        conn.execute(sa.select(s.c.site_code).where(s.c.id == user.actor.site_id)).scalar_one()
    )


def link(user: web.PageUser, code: str, path: str) -> str:
    """A link to ``path`` at site ``code``: through the site's door for a monitor of several
    sites, the path itself for anyone else."""
    return f"/sites/{code}/enter?next={path}" if user.sites else path


@router.get("/sites/{code}/enter")
def enter(request: Request, code: str) -> Response:
    """Work at one covered site from now on, and go on to ``next`` (a path of this server)."""
    with web.transaction(request) as conn:
        user = web.page_user(conn, request)
    if code not in {c for _, c in user.sites}:
        raise NotFound("site")
    wanted = request.query_params.get("next", "")
    local = wanted.startswith("/") and not wanted.startswith("//") and "\\" not in wanted
    response = go(wanted if local else "/")
    response.set_cookie(
        web.SITE_COOKIE, code, httponly=True, secure=True, samesite="strict", path="/"
    )
    return response
