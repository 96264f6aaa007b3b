"""The pieces the monthly proof's restore stands on, without a sandbox: the rules Azure applies to a
Default create's administrator, the backup account's check of a user delegation blob SAS, the job's
secure values, and the image that runs pg_restore."""

from __future__ import annotations

import base64
import datetime as dt
from urllib.parse import parse_qsl

import pytest

from sandbox.arm import ArmError
from sandbox.flexible_default import check_administrator
from sandbox.sas_gate import _udk_value, refusal
from sandbox.workload.behaviour import behaviour_for
from shared.azure import container_spec
from shared.config import Settings
from tests.support.settings import backup_settings


def test_a_default_create_takes_a_valid_administrator() -> None:
    assert check_administrator(
        {"administratorLogin": "qlp_app", "administratorLoginPassword": "9f3e1c0b7a6dQ-"}
    ) == ("qlp_app", "9f3e1c0b7a6dQ-")


@pytest.mark.parametrize(
    ("props", "said"),
    [
        ({"administratorLoginPassword": "Str0ng-pass"}, "needs administratorLogin"),
        ({"administratorLogin": "qlp_app"}, "needs administratorLoginPassword"),
        ({"administratorLogin": "admin", "administratorLoginPassword": "Str0ng-pass"}, "is not allowed"),
        ({"administratorLogin": "pg_owner", "administratorLoginPassword": "Str0ng-pass"}, "is not allowed"),
        ({"administratorLogin": "qlp_app", "administratorLoginPassword": "Sh0rt-"}, "8 to 128"),
        ({"administratorLogin": "qlp_app", "administratorLoginPassword": "alllowercase"}, "three of"),
        (
            {"administratorLogin": "qlp_app", "administratorLoginPassword": "Zqlp-9-Strong"},
            "part of the login",
        ),
    ],
)
def test_a_default_create_refuses_what_azure_refuses(props: dict[str, str], said: str) -> None:
    with pytest.raises(ArmError) as refused:
        check_administrator(props)
    assert refused.value.status == 400 and refused.value.code == "InvalidParameterValue"
    assert said in refused.value.message


def _blob_sas(account: str, container: str, blob: str) -> dict[str, str]:
    """A user delegation SAS for one blob as azure-storage-blob signs it, over a key the gate derives."""
    from azure.storage.blob import BlobSasPermissions, UserDelegationKey, generate_blob_sas

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    key = UserDelegationKey()
    key.signed_oid, key.signed_tid = "00000000-0000-0000-0000-0000000000aa", "tenant"
    key.signed_start = (now - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    key.signed_expiry = (now + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    key.signed_service, key.signed_version = "b", "2026-10-06"
    fields = {"skoid": key.signed_oid, "sktid": key.signed_tid, "skt": key.signed_start}
    fields |= {"ske": key.signed_expiry, "skv": key.signed_version}
    key.value = base64.b64encode(_udk_value(fields)).decode()
    token = generate_blob_sas(
        account,
        container,
        blob,
        user_delegation_key=key,
        permission=BlobSasPermissions(read=True),
        expiry=now + dt.timedelta(minutes=30),
        start=now - dt.timedelta(minutes=1),
    )
    return dict(parse_qsl(token))


def test_a_user_delegation_blob_sas_reads_its_blob_only() -> None:
    q = _blob_sas("qlpbackups", "long-term-backups", "qlp-db/ltr-qlp-1/qlp_db.dump")
    assert q["sr"] == "b" and q["sp"] == "r"
    assert refusal(q, "qlpbackups", "long-term-backups", "qlp-db/ltr-qlp-1/qlp_db.dump") is None
    assert refusal(q, "qlpbackups", "long-term-backups", "qlp-db/ltr-qlp-2/qlp_db.dump") == (
        "Signature did not match."
    )
    assert "not a container or blob SAS" in str(refusal(q, "qlpbackups", "long-term-backups"))


def test_a_secure_value_made_by_the_activity_goes_to_aci_as_a_secure_value_only() -> None:
    settings = Settings.from_dict(backup_settings())
    spec = {"image": "continuity-pg-restore:15", "environment": {"TARGET_HOST": "h:5432"}}
    spec["secure_values"] = {"ARCHIVE_URL": "https://a/c/b?sig=secret"}
    env = {e.name: e for e in container_spec._environment(settings, spec, lambda n: "", set())}
    assert env["ARCHIVE_URL"].secure_value == "https://a/c/b?sig=secret" and env["ARCHIVE_URL"].value is None
    assert env["TARGET_HOST"].value == "h:5432"


def test_the_pg_restore_image_restores_and_other_images_serve() -> None:
    assert behaviour_for("continuity-pg-restore:15").pg_restore is True
    assert behaviour_for("registry.example/qlp:pg-restore").pg_restore is True
    assert behaviour_for("qlp-app:v2").pg_restore is False
