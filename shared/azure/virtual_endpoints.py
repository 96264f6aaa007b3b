"""Virtual endpoints of a flexible server (azure-mgmt-postgresqlflexibleservers ``virtual_endpoints``):
the writer/reader pair a switchover ("promote to primary server") needs.

Azure (concepts-read-replicas-virtual-endpoints, concepts-read-replicas-promote): the pair is managed on
the primary, at most one per primary; its ``members`` are ``[writer target, reader target]``; a switchover
succeeds only when the writer targets the primary and the reader the replica being promoted, and then the
writer follows the new primary. A database URL on the writer endpoint therefore needs no change through a
switchover. A standalone (forced) promote leaves the writer where it was: the promoted server is reached
at its own address only. The pair's base name is global (``<name>.writer.postgres.database.azure.com``):
Continuity names it after the primary's base name.
"""

from __future__ import annotations

from typing import Any

from shared.azure.clients import Clients
from shared.azure.errors import translated
from shared.errors import PermanentError
from shared.naming import virtual_endpoint_name


def hosts_of(addresses: list[str]) -> tuple[str, str]:
    """(writer, reader) of a pair's ``virtualEndpoints``: by their ``.writer.`` / ``.reader.`` labels as
    Azure names them, else in the order Azure lists them (reader first, then writer)."""
    writer = next((a for a in addresses if ".writer." in a), "")
    reader = next((a for a in addresses if ".reader." in a), "")
    if writer and reader:
        return writer, reader
    if len(addresses) == 2:
        return addresses[1], addresses[0]
    raise PermanentError("read virtual endpoints", ",".join(addresses), "not a writer and reader pair")


def view_of(pair: dict[str, Any], server: str) -> dict[str, Any]:
    props = pair.get("properties") or {}
    members = list(props.get("members") or [])
    writer, reader = hosts_of(list(props.get("virtualEndpoints") or []))
    return {
        "server": server,
        "name": pair.get("name"),
        "members": members,
        "writer_target": members[0] if members else None,
        "reader_target": members[-1] if members else None,
        "writer_host": writer,
        "reader_host": reader,
    }


class VirtualEndpointsAdapter:
    """The pair of one primary server."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients

    @property
    def _ops(self) -> Any:
        return self._clients.postgres().virtual_endpoints

    def find(self, server: str, resource_group: str) -> dict[str, Any] | None:
        """The pair managed on ``server`` (its primary), or None."""
        with translated("list virtual endpoints of server", server):
            pairs = [p.as_dict() for p in self._ops.list_by_server(resource_group, server)]
        return view_of(pairs[0], server) if pairs else None

    def ensure(self, server: str, resource_group: str, replica: str) -> dict[str, Any]:
        """A pair whose writer targets ``server`` and reader targets ``replica``; converges (creates one
        named after the server, or points the existing one's reader at ``replica``)."""
        current = self.find(server, resource_group)
        if current is not None and current["reader_target"] == replica:
            message = f"virtual endpoint {current['name']} already writes to {server}, reads from {replica}"
            return {**current, "changed": False, "message": message}
        body = {"properties": {"endpointType": "ReadWrite", "members": [replica]}}
        if current is None:
            name = virtual_endpoint_name(server)
            with translated("create virtual endpoint of server", server):
                self._ops.begin_create(resource_group, server, name, body).result()
        else:
            name = str(current["name"])
            with translated("update virtual endpoint of server", server):
                self._ops.begin_update(
                    resource_group, server, name, {"properties": body["properties"]}
                ).result()
        with translated("get virtual endpoint of server", server):
            pair = view_of(self._ops.get(resource_group, server, name).as_dict(), server)
        return {
            **pair,
            "changed": True,
            "message": f"virtual endpoint {name}: writer {server}, reader {replica}",
        }
