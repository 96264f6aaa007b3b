"""The Q4 security drill end to end: the production database credential is rotated with alternating login
roles while a writer and a reader go through the public endpoint, none of whose requests fails; the old
role can no longer log in, the secret holds the new one (its older versions disabled), the live slot moved
to the idle one, and the tabletop checklist is in the report. A second drill hands the credential back."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.support.deploy_e2e import LEAN, Writer, releases
from tests.support.e2e import Estate, EstateFactory, can_log_in, durable_documents
from tests.support.vault import enabled_versions, secret_client

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]

DRILL_DEADLINE = 300.0
SECRET = "database-url"  # the sandbox estate's database secret


def secret_url(estate: Estate) -> str:
    with secret_client(estate.sandbox) as client:
        return str(client.get_secret(SECRET).value)


def local(url: str, estate: Estate) -> str:
    """The URL with its host replaced by the primary's local port (the sandbox's servers are on 127.0.0.1)."""
    parts = urlsplit(url)
    port = estate.endpoints["server_ports"]["qlp-db-uksouth"]
    userinfo = parts.netloc.rsplit("@", 1)[0]
    return parts._replace(netloc=f"{userinfo}@127.0.0.1:{port}").geturl()


def drill(estate: Estate) -> dict:
    run = estate.start("/api/drills", {"scenario": "security", "reason": "Q4 security drill"})
    out = estate.wait_done(run, DRILL_DEADLINE)["output"]
    assert out["status"] == "succeeded", out
    password = str(urlsplit(secret_url(estate)).password)
    durable = json.dumps(durable_documents(estate))  # every instance's input, output and history
    assert run in durable and len(password) >= 32 and password not in durable
    return estate.report(run)


def test_the_credential_is_rotated_with_no_failed_public_request(estate_factory: EstateFactory) -> None:
    estate = estate_factory(**LEAN)
    original = estate.database_url("qlp-db-uksouth")
    assert urlsplit(original).username == "qlp_app" and can_log_in(original)
    assert releases(estate)["live_slot"] == "blue"

    writer = Writer(estate)
    try:
        report = drill(estate)
    finally:
        writer.stop()
    assert len(writer.answers) > 50
    failed = [(w, r) for _, w, r in writer.answers if w != 201 or r != 200]
    assert failed == [], failed[:10]

    rotated = secret_url(estate)
    assert urlsplit(rotated).username == "qlp_app_alt"
    assert can_log_in(local(rotated, estate)) and not can_log_in(original)
    versions = enabled_versions(estate.sandbox)[SECRET]
    assert versions.count(True) == 1 and len(versions) >= 2
    assert releases(estate)["live_slot"] == "green" and releases(estate)["idle"]["state"] == "Stopped"
    with psycopg.connect(local(rotated, estate)) as conn:  # the alternate role works as the base role
        assert conn.execute("select current_user, session_user").fetchone() == ("qlp_app", "qlp_app_alt")

    m = report["measurements"]
    assert m["secret_user_after"] == "qlp_app_alt" and m["old_credential_revoked"] is True
    assert m["old_sessions_left"] == 0
    tabletop = report["tabletop"]
    assert len(tabletop["checklist"]) == 6 and all(
        i["status"] == "for the tabletop" for i in tabletop["checklist"]
    )
    assert any("qlp_app revoked" in p for p in tabletop["proved"])
    tabletop_answers(estate, str(report["run_id"]))
    assert str(urlsplit(rotated).password) not in json.dumps(report)  # no password in the report

    back = drill(estate)  # the next drill hands the credential back to the base role
    assert back["measurements"]["secret_user_after"] == "qlp_app"
    assert urlsplit(secret_url(estate)).username == "qlp_app" and not can_log_in(local(rotated, estate))
    assert releases(estate)["live_slot"] == "blue"


def tabletop_answers(estate: Estate, run: str) -> None:
    """The people at the table answer two items through the API; a bad answer changes nothing."""
    path = f"/api/drills/{run}/tabletop"
    refused = estate.api("POST", path, {"answers": {"9": "no such item"}})
    assert refused.status_code == 400 and refused.json()["field"] == "answers.9", refused.text
    answers = {"1": "The rotation was scheduled: the drill calendar, Q4", "5": "Nobody outside: a drill"}
    answered = estate.api("POST", path, {"answers": answers})
    assert answered.status_code == 200, answered.text
    assert answered.json()["by"] == "function key"  # the caller, as the host authenticated it
    read = estate.api("GET", path).json()
    assert (read["answered"], read["open"], read["submissions"]) == (2, [2, 3, 4, 6], 1)
    assert read["checklist"][4]["answers"][0]["answer"] == answers["5"]
    assert estate.report(run)["tabletop"]["checklist"][0]["status"] == "for the tabletop"  # report unchanged
