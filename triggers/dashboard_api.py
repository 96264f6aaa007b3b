"""The operators' dashboard: ``GET /api/dashboard`` and its script and style sheet, plain files shipped in
the package (triggers/static/), no build step and nothing fetched from the internet.

The page and its files hold no data and no key, so they are served without one; the page asks for the
function key once (kept in the tab's session storage, sent as a header, never in a URL) and reads
everything through the API. A Content-Security-Policy allows only this app's own script, style and API.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

from shared import names
from triggers.api import endpoint
from triggers.web import NO_QUERY, json_response

bp = df.Blueprint()

STATIC = Path(__file__).resolve().parent / "static"
PAGE = "dashboard.html"
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


@cache
def _file(name: str) -> bytes:
    return (STATIC / name).read_bytes()


def _serve(name: str, mimetype: str) -> func.HttpResponse:
    return func.HttpResponse(
        _file(name), status_code=200, mimetype=mimetype, charset="utf-8", headers=HEADERS
    )


@endpoint(
    bp,
    names.HTTP_DASHBOARD,
    "GET",
    "dashboard",
    responses={200: "the dashboard page (HTML)", 400: "invalid request"},
    anonymous=True,
    client=False,
    tag="dashboard",
    media=("text/html",),
    summary="The operators' dashboard (the page holds no data: it asks for the key, then reads the API)",
)
def http_dashboard(req: func.HttpRequest) -> func.HttpResponse:
    """GET /api/dashboard: the page."""
    NO_QUERY.parse(req)
    return _serve(PAGE, "text/html")


@endpoint(
    bp,
    names.HTTP_DASHBOARD_ASSET,
    "GET",
    "dashboard/{asset}",
    path={"asset": tuple(ASSETS)},
    responses={200: "the dashboard's script or style sheet", 404: "no such file"},
    anonymous=True,
    client=False,
    tag="dashboard",
    media=tuple(sorted(set(ASSETS.values()))),
    summary="The dashboard's script and style sheet",
)
def http_dashboard_asset(req: func.HttpRequest) -> func.HttpResponse:
    """GET /api/dashboard/dashboard.js|dashboard.css."""
    asset = str(req.route_params.get("asset", ""))
    if asset not in ASSETS:
        return json_response({"error": "not found", "asset": asset[:100]}, 404)
    return _serve(asset, ASSETS[asset])
