"""The operator API over HTTP (stdlib only), and the errors a person can act on.

::

    ApiError              the API answered, not with what was asked (status, body, a sentence)
    ├── Unreachable       nothing answered at the URL (refused, timed out, no such host)
    ├── Unauthorized      401 / 403: a wrong or missing function key, or a missing app role
    └── Conflict          409: another operation runs (the running run named), or the run is not waiting
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from cli.settings import Target

TIMEOUT_SECONDS = 30.0


class ApiError(Exception):
    def __init__(self, message: str, status: int = 0, body: Any = None) -> None:
        super().__init__(message)
        self.status, self.body = status, body


class Unreachable(ApiError):
    pass


class Unauthorized(ApiError):
    pass


class Conflict(ApiError):
    @property
    def running(self) -> list[str]:
        body = self.body if isinstance(self.body, dict) else {}
        return [str(r) for r in body.get("running") or []]


class Api:
    """Calls to one Continuity API; every answer is parsed JSON (or text for Markdown)."""

    def __init__(self, target: Target, timeout: float = TIMEOUT_SECONDS) -> None:
        self.target, self.timeout = target, timeout

    def get(self, path: str, **params: str) -> Any:
        return self.call("GET", path, params=params)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.call("POST", path, body={k: v for k, v in body.items() if v is not None})

    def text(self, path: str, **params: str) -> str:
        return str(self.call("GET", path, params=params, raw=True))

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        raw: bool = False,
    ) -> Any:
        query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v})
        url = f"{self.target.url}/{path.lstrip('/')}" + (f"?{query}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json", "User-Agent": "drctl"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.target.key:
            headers["x-functions-key"] = self.target.key  # a header, never the URL
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read().decode("utf-8", "replace")
                return payload if raw else _json(payload)
        except urllib.error.HTTPError as failed:
            raise self._refusal(failed.code, failed.read().decode("utf-8", "replace")) from None
        except (urllib.error.URLError, OSError) as down:
            reason = getattr(down, "reason", down)
            raise Unreachable(
                f"cannot reach the Continuity API at {self.target.url} ({reason}). Is it running "
                "(`make run`)? Point drctl at it with DRCTL_URL or --url."
            ) from None

    def _refusal(self, status: int, text: str) -> ApiError:
        body = _json(text) if text.strip().startswith("{") else {"error": text.strip()[:300]}
        said = _said(body)
        if status in (401, 403):
            if said:  # the API's own refusal: roles required and the principal lacks one
                return Unauthorized(f"{status}: {said}", status, body)
            key = "no function key was given" if not self.target.key else "the function key was refused"
            hint = "set DRCTL_KEY or --key (`make run` prints the key and writes .devhost/drctl.json)"
            return Unauthorized(f"{status}: {key}: {hint}", status, body)
        if status == 409:
            running = ", ".join(str(r) for r in (body.get("running") or [])) if isinstance(body, dict) else ""
            extra = (
                f"; running: {running} (watch it: drctl run {running.split(', ')[0]} --watch)"
                if running
                else ""
            )
            return Conflict(f"refused (409): {said}{extra}", status, body)
        return ApiError(f"{status}: {said or 'the API refused the request'}", status, body)


def _json(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else {}
    except ValueError:
        return {"error": text[:300]}


def _said(body: Any) -> str:
    """The API's own sentence from an error body ({error, field, problem, reason})."""
    if not isinstance(body, dict):
        return str(body)[:300]
    if body.get("field") and body.get("problem"):
        return f"{body.get('error', 'invalid request')}: {body['field']} {body['problem']}"
    return str(body.get("reason") or body.get("problem") or body.get("error") or "")
