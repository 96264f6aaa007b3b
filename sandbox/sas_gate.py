"""The backup account's front: checks user delegation SAS the way current Azure does, then hands the
request to Azurite.

azure-storage-blob signs a user delegation SAS at its newest service version (``sv`` 2026-10-06), whose
string-to-sign has two lines Azurite 3.35 (which knows versions up to 2025-11-05) does not build (signed
request headers and signed request query parameters), so Azurite refuses every such SAS, which Azure accepts.
This gate, in front of Azurite on the account's HTTPS port, verifies such a SAS itself: the user delegation
key (derived as Azurite derives the keys it issues), the signature over the current string-to-sign, the
start and expiry of the key and of the SAS, and the container (or, for a blob SAS, the blob) the SAS is
for. It then forwards the request with an equivalent service SAS (same permissions, start and expiry)
signed with the account key, so Azurite still enforces the permissions (a SAS without ``d`` cannot
delete). Requests at versions Azurite knows, and every other request (Entra ID bearer tokens), pass
through untouched.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ssl
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
from aiohttp import web

AZURITE_KNOWS = "2025-11-05"  # Azurite 3.35's newest blob service version
# Azurite's key for the user delegation keys it issues (its published constant, not a secret).
UDK_BASIC_KEY = "I17GKLvcJUossaebtsEDZZ2RJ8GNLwLH4m7hRMxbVbkx6wNIRAABj4Rtw0FBhFuEAgmbL4gFMzUw+AStz9Sqdg=="
SAS_KEYS = frozenset(
    {"sv", "sp", "st", "se", "sr", "sig", "skoid", "sktid", "skt", "ske", "sks", "skv", "skdutid", "sduoid"}
    | {"saoid", "suoid", "scid", "sip", "spr", "ses", "srh", "srq"}
)
_HOP = frozenset({"host", "content-length", "transfer-encoding", "connection"})


def _udk_value(q: dict[str, str]) -> bytes:
    text = "\n".join(
        [q.get("skoid", ""), q.get("sktid", ""), q.get("skt", ""), q.get("ske", ""), "b", q.get("skv", "")]
    )
    return hmac.new(UDK_BASIC_KEY.encode(), text.encode(), hashlib.sha256).digest()


def string_to_sign(q: dict[str, str], canonical: str) -> str:
    """A user delegation SAS's string-to-sign at the current service version (what the SDK signs)."""
    fields = [
        *(q.get(k, "") for k in ("sp", "st", "se")),
        canonical,
        *(q.get(k, "") for k in ("skoid", "sktid", "skt", "ske", "sks", "skv", "saoid", "suoid", "scid")),
        *(q.get(k, "") for k in ("skdutid", "sduoid", "sip", "spr", "sv", "sr", "snapshot", "ses")),
        q.get("srh", ""),
        q.get("srq", ""),
        *(q.get(k, "") for k in ("rscc", "rscd", "rsce", "rscl", "rsct")),
    ]
    return "\n".join(fields)


def _time(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def refusal(q: dict[str, str], account: str, container: str, blob: str = "") -> str | None:
    """Why Azure would refuse this user delegation SAS for ``container`` (and ``blob``, the one the
    request names), or None when it is valid. A blob SAS (``sr=b``) signs that blob's name and covers it
    only."""
    if q.get("sr") not in ("c", "b") or not container or (q.get("sr") == "b" and not blob):
        return "the SAS is not a container or blob SAS for this resource"
    canonical = f"/blob/{account}/{container}" + (f"/{blob}" if q.get("sr") == "b" else "")
    expected = base64.b64encode(
        hmac.new(_udk_value(q), string_to_sign(q, canonical).encode(), hashlib.sha256).digest()
    ).decode()
    if not hmac.compare_digest(expected, q.get("sig", "")):
        return "Signature did not match."
    now = dt.datetime.now(dt.UTC)
    for start_key, end_key in (("skt", "ske"), ("st", "se")):
        start, end = _time(q.get(start_key, "")), _time(q.get(end_key, ""))
        if end is None or end < now or (start is not None and start > now):
            return "Signed expiry time or start time is not valid for the current time."
    return None


class SasGate:
    """An HTTPS front for one Azurite account."""

    def __init__(self, account: str, account_key: str, upstream: str, ca_bundle: str) -> None:
        self.account, self.account_key, self.upstream = account, account_key, upstream.rstrip("/")
        self._ssl = ssl.create_default_context(cafile=ca_bundle)
        self._session: aiohttp.ClientSession | None = None
        self.runner: web.AppRunner | None = None

    async def start(self, port: int, cert: str, key: str) -> None:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        await web.TCPSite(self.runner, "127.0.0.1", port, ssl_context=context).start()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self.runner is not None:
            await self.runner.cleanup()

    def _rewritten(self, request: web.Request) -> tuple[list[tuple[str, str]], web.Response | None]:
        pairs = parse_qsl(request.query_string, keep_blank_values=True)
        q = dict(pairs)
        if "skoid" not in q or q.get("sv", "") <= AZURITE_KNOWS:
            return pairs, None
        parts = request.path.strip("/").split("/")
        container = parts[1] if len(parts) > 1 else ""
        blob = "/".join(parts[2:])
        why = refusal(q, self.account, container, blob)
        if why is not None:
            body = (
                '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code>'
                f"<Message>Server failed to authenticate the request. {why}</Message></Error>"
            )
            return pairs, web.Response(status=403, text=body, content_type="application/xml")
        from azure.storage.blob import generate_blob_sas, generate_container_sas

        window = {"permission": q.get("sp", ""), "expiry": q.get("se"), "start": q.get("st") or None}
        if q.get("sr") == "b":
            sas = generate_blob_sas(self.account, container, blob, account_key=self.account_key, **window)
        else:
            sas = generate_container_sas(self.account, container, account_key=self.account_key, **window)
        kept = [(k, v) for k, v in pairs if k not in SAS_KEYS]
        return kept + parse_qsl(sas, keep_blank_values=True), None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        query, refused = self._rewritten(request)
        if refused is not None:
            return refused
        if self._session is None:
            self._session = aiohttp.ClientSession(auto_decompress=False)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        url = f"{self.upstream}{request.path}" + (f"?{urlencode(query)}" if query else "")
        body = await request.read()
        options: dict[str, Any] = {"headers": headers, "data": body or None, "ssl": self._ssl}
        async with self._session.request(request.method, url, **options) as upstream:
            payload = await upstream.read()
            out = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP}
            return web.Response(status=upstream.status, body=payload, headers=out)
