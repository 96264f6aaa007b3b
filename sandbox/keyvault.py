"""Key Vault secrets data plane: get (latest or a version), set (new version), list, update (enable /
disable a version), with the 401 challenge.

As Key Vault does, a disabled version cannot be read: GET of it (or of the secret, when its latest version
is disabled) answers 403 ``Forbidden`` "Operation get is not allowed on a disabled secret." with the inner
error ``SecretDisabled``; listing versions shows each one's ``enabled``.

Its own HTTPS listener on 127.0.0.1. Clients use the real `azure-keyvault-secrets` SecretClient with
`verify_challenge_resource=False`: the challenge names the resource `https://vault.azure.net` and the
client otherwise insists that the vault host ends with that domain, which `127.0.0.1` cannot.
Secrets persist in `<state_dir>/keyvault/secrets.json` (mode 0600) so a restarted server keeps them.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.arm import ArmApi
from sandbox.context import Actions, SandboxContext
from sandbox.router import Listener

API_VERSION_REQUIRED = "api-version is required"
RESOURCE = "https://vault.azure.net"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


class SecretStore:
    """Versions of each secret, newest last, persisted as JSON."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._secrets: dict[str, list[dict[str, Any]]] = {}
        if path.exists():
            self._secrets = json.loads(path.read_text())

    def _save(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._secrets))
        tmp.chmod(0o600)
        tmp.replace(self._path)

    def set(
        self, name: str, value: str, *, content_type: str | None = None, tags: dict[str, str] | None = None
    ) -> dict[str, Any]:
        now = int(time.time())
        version = {
            "version": uuid.uuid4().hex,
            "value": value,
            "contentType": content_type,
            "tags": tags or {},
            "enabled": True,
            "created": now,
            "updated": now,
        }
        self._secrets.setdefault(name, []).append(version)
        self._save()
        return version

    def get(self, name: str, version: str | None = None) -> dict[str, Any] | None:
        """The version named, or the latest one (enabled or not); None when there is none."""
        versions = self._secrets.get(name) or []
        if not version:
            return versions[-1] if versions else None
        return next((v for v in versions if v["version"] == version), None)

    def versions(self, name: str) -> list[dict[str, Any]]:
        return list(self._secrets.get(name) or [])

    def names(self) -> list[str]:
        return sorted(self._secrets)

    def update(self, name: str, version: str, patch: dict[str, Any]) -> dict[str, Any] | None:
        found = self.get(name, version)
        if found is None:
            return None
        attributes = patch.get("attributes") or {}
        if "enabled" in attributes:
            found["enabled"] = bool(attributes["enabled"])
        if "tags" in patch:
            found["tags"] = patch["tags"] or {}
        if "contentType" in patch:
            found["contentType"] = patch["contentType"]
        found["updated"] = int(time.time())
        self._save()
        return found


class KeyVault:
    """The vault: a SecretStore served over HTTPS with Key Vault's REST shapes and auth challenge."""

    def __init__(self, store: SecretStore, *, tenant_id: str, actions: Actions | None = None) -> None:
        self.store = store
        self.tenant_id = tenant_id
        self.actions = actions or Actions()  # secret writes through the REST API
        self.url = ""  # set when the listener starts: https://127.0.0.1:<port>
        self._listener: Listener | None = None

    # ---- Python API for the other sandbox components ------------------------------------------
    def set_secret(self, name: str, value: str) -> None:
        self.store.set(name, value)

    def get_secret(self, name: str) -> str | None:
        """The latest value, as a reader with the vault's rules sees it: None when disabled or missing."""
        found = self.store.get(name)
        return None if found is None or not found["enabled"] else str(found["value"])

    # ---- REST shapes -------------------------------------------------------------------------------
    def _attributes(self, v: dict[str, Any]) -> dict[str, Any]:
        return {
            "enabled": v["enabled"],
            "created": v["created"],
            "updated": v["updated"],
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
        }

    def _item(self, name: str, v: dict[str, Any], *, with_value: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": f"{self.url}/secrets/{name}/{v['version']}",
            "attributes": self._attributes(v),
            "tags": v["tags"],
        }
        if v.get("contentType"):
            body["contentType"] = v["contentType"]
        if with_value:
            body["value"] = v["value"]
        return body

    def challenge(self) -> web.Response:
        authority = f"https://login.microsoftonline.com/{self.tenant_id}"
        header = f'Bearer authorization="{authority}", resource="{RESOURCE}"'
        return web.json_response(
            {
                "error": {
                    "code": "Unauthorized",
                    "message": "AKV10000: Request is missing a Bearer or PoP token.",
                }
            },
            status=401,
            headers={"WWW-Authenticate": header},
        )

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            return self.challenge()
        if not request.query.get("api-version"):
            return _error(400, "BadParameter", API_VERSION_REQUIRED)
        return await handler(request)

    async def _set(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "BadParameter", "The request body is not valid JSON.")
        if not isinstance(body, dict) or not isinstance(body.get("value"), str):
            return _error(400, "BadParameter", "Property 'value' is required and must be a string.")
        tags = body.get("tags") if isinstance(body.get("tags"), dict) else None
        v = self.store.set(name, body["value"], content_type=body.get("contentType"), tags=tags)
        self.actions.record("secret_writes", name)
        return web.json_response(self._item(name, v, with_value=True))

    async def _get(self, request: web.Request) -> web.Response:
        name, version = request.match_info["name"], request.match_info.get("version", "")
        v = self.store.get(name, version or None)
        if v is None:
            what = f"({name}/{version})" if version else f"({name})"
            return _error(404, "SecretNotFound", f"A secret with {what} was not found in this key vault.")
        if not v["enabled"]:
            return web.json_response(
                {
                    "error": {
                        "code": "Forbidden",
                        "message": "Operation get is not allowed on a disabled secret.",
                        "innererror": {"code": "SecretDisabled"},
                    }
                },
                status=403,
            )
        return web.json_response(self._item(name, v, with_value=True))

    async def _update(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        latest = self.store.get(name)
        version = request.match_info.get("version") or (latest["version"] if latest else "")
        try:
            patch = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "BadParameter", "The request body is not valid JSON.")
        v = self.store.update(name, version, patch if isinstance(patch, dict) else {})
        if v is None:
            return _error(404, "SecretNotFound", f"A secret with ({name}/{version}) was not found.")
        return web.json_response(self._item(name, v, with_value=False))

    async def _versions(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        versions = self.store.versions(name)
        if not versions:
            return _error(404, "SecretNotFound", f"A secret with ({name}) was not found in this key vault.")
        items = [self._item(name, v, with_value=False) for v in versions]
        return web.json_response({"value": items, "nextLink": None})

    async def _list(self, request: web.Request) -> web.Response:
        items = []
        for name in self.store.names():
            latest = self.store.versions(name)[-1]
            item = self._item(name, latest, with_value=False)
            item["id"] = f"{self.url}/secrets/{name}"
            items.append(item)
        return web.json_response({"value": items, "nextLink": None})

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/secrets", self._list)
        app.router.add_put("/secrets/{name}", self._set)
        app.router.add_get("/secrets/{name}/versions", self._versions)
        app.router.add_get("/secrets/{name}", self._get)
        app.router.add_get("/secrets/{name}/", self._get)
        app.router.add_get("/secrets/{name}/{version}", self._get)
        app.router.add_patch("/secrets/{name}/{version}", self._update)
        app.router.add_patch("/secrets/{name}/", self._update)
        app.router.add_patch("/secrets/{name}", self._update)
        return app

    async def start(self, port: int, ssl_context: Any) -> None:
        self._listener = await Listener.start(self.app(), port, ssl_context=ssl_context)
        self.url = f"https://127.0.0.1:{self._listener.port}"

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()


async def setup(ctx: SandboxContext, arm: ArmApi) -> KeyVault:
    """Start the vault; seed the database secret from what the database component published."""
    from sandbox import tls

    estate = ctx.estate
    store = SecretStore(ctx.state_dir / "keyvault" / "secrets.json")
    vault = KeyVault(store, tenant_id=estate.tenant_id, actions=ctx.actions)
    cert, key = ctx.server_cert()
    await vault.start(0, tls.server_context(cert, key))
    seed = ctx.endpoints.get("database_url")
    if seed and vault.get_secret(estate.database_secret_name) != seed:
        vault.set_secret(estate.database_secret_name, seed)
    ctx.endpoints["key_vault_url"] = vault.url
    ctx.endpoints["key_vault_name"] = estate.key_vault_name
    ctx.endpoints["database_secret_name"] = estate.database_secret_name
    ctx.components["keyvault"] = vault
    return vault
