"""Blob storage: Azurite behind the connection string in endpoints.json, through azure-storage-blob."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from sandbox.client import SandboxClient

pytestmark = pytest.mark.sandbox


def test_blobs_round_trip_through_azurite(sandbox: SandboxClient) -> None:
    with BlobServiceClient.from_connection_string(sandbox.endpoints["storage_connection_string"]) as service:
        container = service.create_container(f"test-{uuid.uuid4().hex[:8]}")
        container.upload_blob("reports/run-1.json", b'{"rto_seconds": 42}')
        assert container.download_blob("reports/run-1.json").readall() == b'{"rto_seconds": 42}'
        assert [b.name for b in container.list_blobs(name_starts_with="reports/")] == ["reports/run-1.json"]
        container.delete_blob("reports/run-1.json")
        with pytest.raises(ResourceNotFoundError):
            container.download_blob("reports/run-1.json").readall()
        container.delete_container()
