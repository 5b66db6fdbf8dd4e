"""The analytics dashboard in the console (admins only): the page, its JSON, and every table as CSV.

Loading the dashboard refreshes the analytics pipeline incrementally (``analytics.refresh``, in a worker thread,
one refresh at a time) and reads ``analytics.report.summary``; the page draws its plots as SVG in the browser
(bot/static/dashboard.js, no network). Themes are recomputed by ``make themes`` (it loads an encoder).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from aiohttp import web

from analytics import export, report
from analytics.errors import UnknownTableError
from analytics.refresh import refresh
from analytics.schema import EXPORTED
from bot.auth import ADMIN_ONLY, admin_page, agent_of, require_admin
from bot.keys import SETTINGS
from bot.pages import render

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()
REFRESH_LOCK = web.AppKey("analytics_refresh_lock", asyncio.Lock)
_TABLE = re.compile(r"[a-z_]{1,40}")


def setup(app: web.Application) -> None:
    app[REFRESH_LOCK] = asyncio.Lock()
    app.add_routes(routes)


@routes.get("/console/dashboard")
@admin_page(ADMIN_ONLY)
async def dashboard_page(request: web.Request) -> web.Response:
    return render("dashboard.html", agent_name=agent_of(request).agent.name, tables=" ".join(EXPORTED))


async def _refreshed_summary(app: web.Application) -> dict[str, Any]:
    settings = app[SETTINGS].analytics
    loop = asyncio.get_running_loop()
    async with app[REFRESH_LOCK]:
        try:
            await loop.run_in_executor(None, refresh, settings)
        except Exception:  # the dashboard still shows what the tables hold
            logger.exception("analytics refresh failed")
    return await loop.run_in_executor(None, report.summary, settings.analytics_db)


@routes.get("/console/api/analytics/summary")
@require_admin
async def summary(request: web.Request) -> web.Response:
    return web.json_response(await _refreshed_summary(request.app))


@routes.get("/console/api/analytics/{table}.csv")
@require_admin
async def table_csv(request: web.Request) -> web.Response:
    table = request.match_info["table"]
    if not _TABLE.fullmatch(table):
        raise web.HTTPNotFound(
            text=f'{{"error": "unknown table; one of {", ".join(EXPORTED)}"}}',
            content_type="application/json",
        )
    db = request.app[SETTINGS].analytics.analytics_db
    try:
        text = await asyncio.get_running_loop().run_in_executor(None, export.table_csv, db, table)
    except UnknownTableError as error:
        return web.json_response({"error": str(error)}, status=404)
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="shopdesk-{table}.csv"'},
    )
