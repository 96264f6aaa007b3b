"""The dashboard is served by the app: plain files, a strict Content-Security-Policy, no data and no key in
the page, every value written as text."""

from __future__ import annotations

import asyncio
import re

import pytest

from shared import names
from tests.support.durable import call_http, http
from triggers import dashboard_api


def get(path: str, **route: str) -> object:
    name = names.HTTP_DASHBOARD_ASSET if route else names.HTTP_DASHBOARD
    return asyncio.run(call_http(name, http("GET", path, route_params=route)))


def test_the_page_is_served_with_a_content_security_policy() -> None:
    resp = get("/api/dashboard")
    assert resp.status_code == 200 and resp.mimetype == "text/html"  # type: ignore[attr-defined]
    csp = resp.headers["Content-Security-Policy"]  # type: ignore[attr-defined]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"  # type: ignore[attr-defined]
    page = resp.get_body().decode()  # type: ignore[attr-defined]
    assert '<script src="dashboard/dashboard.js" defer></script>' in page
    assert "<script>" not in page and "style=" not in page  # nothing inline: the policy would refuse it


@pytest.mark.parametrize(
    ("asset", "kind"), [("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")]
)
def test_its_script_and_style_sheet(asset: str, kind: str) -> None:
    resp = get(f"/api/dashboard/{asset}", asset=asset)
    assert resp.status_code == 200 and resp.mimetype == kind  # type: ignore[attr-defined]
    assert "Content-Security-Policy" in resp.headers  # type: ignore[attr-defined]


def test_no_other_file_is_served() -> None:
    for asset in ("dashboard.html", "../dashboard_api.py", "x.js"):
        assert get(f"/api/dashboard/{asset}", asset=asset).status_code == 404  # type: ignore[attr-defined]


def files() -> dict[str, str]:
    return {p.name: p.read_text() for p in dashboard_api.STATIC.iterdir()}


def test_values_are_only_ever_written_as_text() -> None:
    script = files()["dashboard.js"]
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink
    assert "textContent" in script and "createTextNode" in script


def test_nothing_comes_from_the_internet_and_the_key_never_goes_in_a_url() -> None:
    for name, text in files().items():
        urls = set(re.findall(r"https?://[^\s\"')]+", text)) - {"http://www.w3.org/2000/svg"}
        assert urls == set(), (name, urls)
    script = files()["dashboard.js"]
    assert "code=" not in script and "x-functions-key" in script and "sessionStorage" in script
    assert "localStorage" not in script  # the key does not outlive the tab
