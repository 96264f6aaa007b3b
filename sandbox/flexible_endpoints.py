"""Virtual endpoints of flexible servers (Microsoft.DBforPostgreSQL/flexibleServers/virtualendpoints):
a writer that always reaches the current primary and a reader that reaches its replica, each a real TCP
listener the workload can connect to.

As Azure documents them (concepts-read-replicas-virtual-endpoints): the pair is managed on the primary
(create, update and delete there; a read under a server that is no longer the writer answers 400), its
``members`` are ``[writer target, reader target]`` (one name when the reader targets the primary too), a
primary has at most one pair, the base name is global (it becomes
``<name>.writer.postgres.database.azure.com``). On a switchover ("promote to primary server") the writer
follows the new primary and the reader moves to the former primary; on a standalone promote the writer
stays and a reader that targeted the promoted server falls back to the primary. In the sandbox the two
``virtualEndpoints`` entries are ``127.0.0.1:<port>`` listeners, listed reader first, writer second (the
order Azure's examples show), that forward each connection to the target server's current port.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from aiohttp import web

from sandbox.arm import ArmApi, ArmError
from sandbox.context import SandboxContext

Server = Any  # sandbox.flexible_model.Server (which imports this module)


class Fleet(Protocol):
    """What the pairs need of sandbox.flexible_model.Fleet."""

    ctx: SandboxContext

    def get(self, name: str) -> Server | None: ...

    def find(self, rg: str, name: str) -> Server: ...

    def replicas_of(self, server: Server) -> list[Server]: ...

    def resource_id(self, server: Server) -> str: ...


KIND = "Microsoft.DBforPostgreSQL/flexibleServers/virtualEndpoints"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{1,61}[A-Za-z0-9]$")
PUMP_CHUNK = 64 * 1024


class Forwarder:
    """A TCP listener on 127.0.0.1 that forwards each connection to the port ``target()`` names now."""

    def __init__(self, target: Any) -> None:
        self.target = target  # () -> int | None
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()

    async def start(self, port: int) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = self.target()
        try:
            if port is None:
                raise OSError("no target")
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            writer.close()
            return
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.ensure_future(_pump(src, dst))
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        for task in list(self._pumps):
            task.cancel()


async def _pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    try:
        while data := await src.read(PUMP_CHUNK):
            dst.write(data)
            await dst.drain()
    except (OSError, asyncio.CancelledError):
        pass
    finally:
        dst.close()


@dataclass
class VirtualEndpoint:
    """One pair: its base name, the servers its writer and reader target (lower-case), its listeners."""

    name: str
    writer: str
    reader: str
    writer_forward: Forwarder | None = None
    reader_forward: Forwarder | None = None
    members: list[str] = field(default_factory=list)

    def addresses(self) -> list[str]:
        """The two endpoints as ``virtualEndpoints`` lists them: reader first, then writer."""
        ports = [f.port for f in (self.reader_forward, self.writer_forward) if f is not None]
        return [f"127.0.0.1:{port}" for port in ports]

    async def close(self) -> None:
        for forward in (self.writer_forward, self.reader_forward):
            if forward is not None:
                await forward.close()


class VirtualEndpoints:
    """The fleet's pairs and how promotions move them."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.pairs: dict[str, VirtualEndpoint] = {}  # lower-case base name

    def of_writer(self, server: Server) -> VirtualEndpoint | None:
        return next((ve for ve in self.pairs.values() if ve.writer == server.name.lower()), None)

    def _port_of(self, name: str) -> int | None:
        server = self.fleet.get(name)
        return server.cluster.port if server is not None and server.cluster.running else None

    async def create(self, name: str, writer: Server, reader: Server) -> VirtualEndpoint:
        ve = VirtualEndpoint(name=name, writer=writer.name.lower(), reader=reader.name.lower())
        ve.writer_forward = Forwarder(lambda: self._port_of(ve.writer))
        ve.reader_forward = Forwarder(lambda: self._port_of(ve.reader))
        await ve.writer_forward.start(self.fleet.ctx.free_port())
        await ve.reader_forward.start(self.fleet.ctx.free_port())
        self.pairs[name.lower()] = ve
        return ve

    async def delete(self, ve: VirtualEndpoint) -> None:
        self.pairs.pop(ve.name.lower(), None)
        await ve.close()

    def switched_over(self, new_primary: Server, old_primary: Server) -> None:
        """Promote to primary server: the writer follows the new primary, the reader the former one."""
        for ve in self.pairs.values():
            if ve.writer == old_primary.name.lower() and ve.reader == new_primary.name.lower():
                ve.writer, ve.reader = new_primary.name.lower(), old_primary.name.lower()

    def promoted_standalone(self, server: Server) -> None:
        """Promote to independent server: it leaves every pair; a reader on it falls back to the writer."""
        for ve in self.pairs.values():
            if ve.reader == server.name.lower():
                ve.reader = ve.writer

    async def server_deleted(self, server: Server) -> None:
        for ve in list(self.pairs.values()):
            if ve.writer == server.name.lower():
                await self.delete(ve)
            elif ve.reader == server.name.lower():
                ve.reader = ve.writer

    def covers(self, primary: Server, replica: Server) -> bool:
        """A pair writes to ``primary`` and reads from ``replica`` (what a switchover needs)."""
        ve = self.of_writer(primary)
        return ve is not None and ve.reader == replica.name.lower()

    def view(self, ve: VirtualEndpoint) -> dict[str, Any]:
        writer = self.fleet.get(ve.writer)
        reader = self.fleet.get(ve.reader)
        members = [s.name for s in (writer, reader) if s is not None]
        if len(members) == 2 and members[0] == members[1]:
            members = members[:1]
        return {
            "id": (self.fleet.resource_id(writer) if writer else "") + f"/virtualendpoints/{ve.name}",
            "name": ve.name,
            "type": KIND,
            "properties": {
                "endpointType": "ReadWrite",
                "members": members,
                "virtualEndpoints": ve.addresses(),
            },
        }

    async def close(self) -> None:
        for ve in list(self.pairs.values()):
            await ve.close()
        self.pairs.clear()


def _bad(message: str) -> ArmError:
    return ArmError(400, "BadRequest", message)


class VirtualEndpointsApi:
    """The ARM routes: list, get, create (PUT), update (PATCH), delete, on the primary's path."""

    def __init__(self, endpoints: VirtualEndpoints, arm: ArmApi, server_path: str) -> None:
        self.endpoints, self.fleet, self.arm = endpoints, endpoints.fleet, arm
        self.base = server_path + "/virtualendpoints"

    def register(self) -> None:
        add = self.arm.add_route
        add("GET", self.base, self.list_pairs)
        add("GET", self.base + "/{endpoint}", self.get)
        add("PUT", self.base + "/{endpoint}", self.put)
        add("PATCH", self.base + "/{endpoint}", self.patch)
        add("DELETE", self.base + "/{endpoint}", self.delete)

    def _found(self, p: dict[str, str]) -> tuple[Server, VirtualEndpoint | None]:
        """The server of the path and its pair of that name; 400 when the pair is another server's
        (Azure answers a read under the former primary, now a member but not the writer, with 400)."""
        server = self.fleet.find(p["rg"], p["name"])
        ve = self.endpoints.pairs.get(p["endpoint"].lower())
        if ve is not None and ve.writer != server.name.lower():
            if server.name.lower() == ve.reader:
                raise _bad(
                    f"Virtual endpoint '{ve.name}' is managed on its primary server, not on '{server.name}'."
                )
            ve = None
        return server, ve

    async def list_pairs(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.fleet.find(p["rg"], p["name"])
        ve = self.endpoints.of_writer(server)
        return self.arm.page([self.endpoints.view(ve)] if ve is not None else [])

    async def get(self, request: web.Request, p: dict[str, str]) -> web.Response:
        _, ve = self._found(p)
        if ve is None:
            raise ArmError(404, "ResourceNotFound", f"The Resource '{KIND}/{p['endpoint']}' was not found.")
        return self.arm.json(self.endpoints.view(ve))

    def _reader(self, server: Server, body: dict[str, Any]) -> Server:
        """The reader target a create or update names: the primary itself or one of its replicas."""
        props = body.get("properties")
        if not isinstance(props, dict):
            raise _bad("The request needs 'properties'.")
        if props.get("endpointType", "ReadWrite") != "ReadWrite":
            raise _bad(f"endpointType '{props.get('endpointType')}' is not supported; use ReadWrite.")
        members = props.get("members")
        if not isinstance(members, list) or len(members) != 1 or not isinstance(members[0], str):
            raise _bad("'members' must name exactly one server: the target of the reader endpoint.")
        target = self.fleet.get(members[0])
        allowed = [server, *self.fleet.replicas_of(server)]
        if target is None or target not in allowed:
            raise _bad(
                f"'{members[0]}' is neither '{server.name}' nor one of its read replicas; the reader "
                "endpoint can only target the primary or one of its replicas."
            )
        return target

    def _check_primary(self, server: Server) -> None:
        if server.source:
            raise _bad(
                f"'{server.name}' is a read replica: virtual endpoints are managed on its primary server."
            )
        if server.busy or server.updating:
            raise ArmError(409, "ServerBusy", f"Server '{server.name}' is busy; retry later.")

    async def put(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.fleet.find(p["rg"], p["name"])
        name = p["endpoint"]
        if not _NAME.match(name):
            raise _bad(f"'{name}' is not a valid virtual endpoint name (3-63 letters, digits and hyphens).")
        self._check_primary(server)
        reader = self._reader(server, await self.arm.read_json(request))
        existing = self.endpoints.pairs.get(name.lower())
        if existing is not None and existing.writer != server.name.lower():
            raise ArmError(409, "Conflict", f"The virtual endpoint name '{name}' is already in use.")
        other = self.endpoints.of_writer(server)
        if other is not None and other.name.lower() != name.lower():
            raise _bad(
                f"'{server.name}' already has the virtual endpoint '{other.name}'; only one is allowed."
            )

        async def work() -> dict[str, Any]:
            ve = existing or await self.endpoints.create(name, server, reader)
            ve.reader = reader.name.lower()
            return self.endpoints.view(ve)

        return self.arm.begin_lro(request, work)

    async def patch(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server, ve = self._found(p)
        if ve is None:
            raise ArmError(404, "ResourceNotFound", f"The Resource '{KIND}/{p['endpoint']}' was not found.")
        self._check_primary(server)
        reader = self._reader(server, await self.arm.read_json(request))
        pair = ve

        def done() -> dict[str, Any]:
            pair.reader = reader.name.lower()
            return self.endpoints.view(pair)

        return self.arm.begin_lro(request, done)

    async def delete(self, request: web.Request, p: dict[str, str]) -> web.StreamResponse:
        server, ve = self._found(p)
        if ve is None:
            return web.Response(status=204)
        self._check_primary(server)
        return self.arm.begin_lro(request, partial(self.endpoints.delete, ve))
