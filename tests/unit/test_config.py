"""Settings: a valid environment loads; every missing or malformed setting is named, all at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.config import FIELDS, PREFIX, SECRET_FIELDS, Settings, SettingsError, load_secrets, load_settings
from tests.support.settings import env


def problems_of(environment: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(environment)
    return caught.value.problems


def test_minimal_environment_loads_with_documented_defaults() -> None:
    s = load_settings(env())
    assert s.primary_region == "uksouth" and s.secondary_region == "ukwest"
    assert (s.rto_tier1_minutes, s.rpo_minutes, s.backup_age_alert_hours) == (30, 15.0, 4.0)
    assert (s.detection_threshold, s.grace_period_seconds, s.failover_mode) == (3, 600.0, "auto")
    assert s.critical_tables == ("intents",) and s.verify_sql == ()
    assert s.credential == "default" and s.arm_endpoint == "https://management.azure.com"
    assert s.notify_targets == ()


def test_empty_environment_names_every_required_key_in_one_error() -> None:
    problems = problems_of({})
    named = {p.split(":")[0] for p in problems}
    required = {PREFIX + k for k, f in FIELDS.items() if f.default is None}
    assert required <= named
    assert str(SettingsError(problems)).count(";") == len(problems) - 1


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("CONTAINER_PORT", "eighty", "whole number"),
        ("CONTAINER_PORT", "0", "at least 1"),
        ("RPO_MINUTES", "-1", "negative"),
        ("RPO_MINUTES", "soon", "number"),
        ("FAILOVER_MODE", "sometimes", "auto, manual"),
        ("FRONTDOOR_KIND", "premium", "standard, classic"),
        ("RESTORE_REQUIRES_APPROVAL", "maybe", "true or false"),
        ("KEY_VAULT_URL", "kv-qlp", "http(s) URL"),
        ("PUBLIC_URL", "ftp://x", "http(s) URL"),
        ("HEALTH_PATH", "health", "start with /"),
        ("BACKUP_WATCH_SCHEDULE", "*/15 * * * *", "six-field"),
        ("VERIFY_SQL", "select 1", "JSON list"),
        ("VERIFY_SQL", '[{"name": "x"}]', "JSON list"),
        ("CRITICAL_TABLES", "intents; drop table x", "not a table name"),
        ("CA_BUNDLE", "/nonexistent/ca.pem", "existing file"),
        ("PRIMARY_SERVER", "bad name!", "resource name"),
        ("PAGERDUTY_EVENTS_URL", "events.pagerduty.com", "http(s) URL"),
        ("SLACK_WEBHOOK_URL", "not a url", "http(s) URL"),
        ("DEPLOY_WINDOW", "2am-5am", "HH:MM-HH:MM"),
        ("DEPLOY_WINDOW", "05:00-05:00", "two different times"),
        ("DEPLOY_WINDOW", "25:00-05:00", "two different times"),
        ("SMOKE_SUITE", "all of them", "JSON list of checks"),
        ("SMOKE_SUITE", "[]", "non-empty JSON list"),
        ("SMOKE_SUITE", '[{"name": "h", "path": "health"}]', "path must start with /"),
        ("SMOKE_SUITE", '[{"name": "h", "path": "/h", "retries": 3}]', "retries is unknown"),
        ("SMOKE_SUITE", '[{"name": "h", "path": "/h", "method": "DELETE"}]', "GET or POST"),
        ("ANALYSIS_INCONCLUSIVE_ACTION", "shrug", "rollback, wait"),
    ],
)
def test_malformed_setting_is_named_with_the_reason(key: str, value: str, reason: str) -> None:
    problems = problems_of(env(**{key: value}))
    assert len(problems) == 1, problems
    assert problems[0].startswith(PREFIX + key + ":") and reason in problems[0]
    assert value not in problems[0] or len(value) < 3  # the bad value itself is not echoed


def test_deploy_window_and_smoke_suite_defaults_are_the_documents() -> None:
    settings = load_settings(env())
    assert settings.deploy_window == (120, 300)
    assert [c["name"] for c in settings.smoke_suite] == [
        "health",
        "status",
        "database",
        "intent",
        "search",
        "load",
    ]
    load = settings.smoke_suite[-1]
    assert (load["requests"], load["concurrency"], load["max_average_ms"]) == (100, 10, 500)
    assert load_settings(env(DEPLOY_WINDOW="22:00-04:00")).deploy_window == (1320, 240)
    custom = load_settings(env(SMOKE_SUITE='[{"name": "up", "path": "/up", "expect_status": 204}]'))
    assert custom.smoke_suite == ({"name": "up", "path": "/up", "expect_status": 204},)


def test_every_bad_key_is_reported_together() -> None:
    problems = problems_of(env(CONTAINER_PORT="x", FAILOVER_MODE="y", SUBSCRIPTION_ID=None))
    assert [p.split(":")[0] for p in problems] == [
        PREFIX + "SUBSCRIPTION_ID",
        PREFIX + "CONTAINER_PORT",
        PREFIX + "FAILOVER_MODE",
    ]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"FRONTDOOR_ENDPOINT": None}, "FRONTDOOR_ENDPOINT"),
        ({"REPORTS_ACCOUNT_URL": None}, "REPORTS_ACCOUNT_URL / CONTINUITY_REPORTS_CONNECTION_SETTING"),
        ({"REPORTS_CONNECTION_SETTING": "AzureWebJobsStorage"}, "REPORTS_ACCOUNT_URL / "),
        ({"CREDENTIAL": "sandbox"}, "SANDBOX_TOKEN"),
        ({"REPLICA_SERVER": "qlp-db-uksouth"}, "REPLICA_SERVER"),
    ],
)
def test_cross_setting_rules(changes: dict[str, str | None], named: str) -> None:
    problems = problems_of(env(**changes))
    assert len(problems) == 1 and problems[0].startswith(PREFIX + named), problems


def test_connection_setting_must_name_a_present_setting() -> None:
    problems = problems_of(env(REPORTS_ACCOUNT_URL=None, REPORTS_CONNECTION_SETTING="AzureWebJobsStorage"))
    assert problems == ["AzureWebJobsStorage: missing (named by CONTINUITY_REPORTS_CONNECTION_SETTING)"]


def test_classic_front_door_needs_no_endpoint() -> None:
    assert load_settings(env(FRONTDOOR_KIND="classic", FRONTDOOR_ENDPOINT=None)).frontdoor_endpoint is None


def test_sandbox_overrides(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    s = load_settings(
        env(
            ARM_ENDPOINT="https://127.0.0.1:4443/",
            CA_BUNDLE=str(ca),
            CREDENTIAL="sandbox",
            SANDBOX_TOKEN="sandbox-token",
        )
    )
    assert (s.arm_endpoint, s.ca_bundle, s.sandbox) == ("https://127.0.0.1:4443", str(ca), True)


def test_to_dict_round_trips_through_json_and_holds_no_secret() -> None:
    secret_values = {
        "SLACK_WEBHOOK_URL": "https://hooks.example/services/T0/B0/s3cr3t",
        "PAGERDUTY_ROUTING_KEY": "R0UT1NGKEY",
        "EVENTGRID_TOPIC_KEY": "t0p1ck3y",
    }
    s = load_settings(
        env(
            **secret_values, VERIFY_SQL='[{"name": "has intents", "sql": "select count(*) > 0 from intents"}]'
        )
    )
    data = json.loads(json.dumps(s.to_dict()))
    assert Settings.from_dict(data) == s
    dumped = json.dumps(data)
    assert not any(v in dumped for v in secret_values.values())
    assert s.notify_targets == ("slack", "pagerduty")


def test_from_dict_names_unknown_and_missing_keys() -> None:
    data = load_settings(env()).to_dict()
    del data["rpo_minutes"]
    data["rpo"] = 5
    with pytest.raises(SettingsError) as caught:
        Settings.from_dict(data)
    assert caught.value.problems == ["rpo: unknown setting", "rpo_minutes: missing"]


def test_secrets_are_read_separately_and_never_shown() -> None:
    environment = env(
        REPORTS_ACCOUNT_URL=None,
        REPORTS_CONNECTION_SETTING="AzureWebJobsStorage",
        PAGERDUTY_ROUTING_KEY="R0UT1NGKEY",
    )
    environment["AzureWebJobsStorage"] = "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=c2VjcmV0"
    load_settings(environment)
    secrets = load_secrets(environment)
    assert secrets.pagerduty_routing_key == "R0UT1NGKEY"
    assert secrets.storage_connection_string is not None
    assert "R0UT1NGKEY" not in repr(secrets) and "c2VjcmV0" not in repr(secrets)


def test_server_and_group_resource_groups_default_by_role() -> None:
    s = load_settings(env())
    assert s.server_resource_group("qlp-db-ukwest") == "rg-qlp-ukwest"
    assert s.server_resource_group("qlp-db-uksouth-restore-1") == "rg-qlp-uksouth"
    assert s.group_resource_group("ci-qlp-ukwest-standby") == "rg-qlp-ukwest"
    assert s.region_of_resource_group("rg-qlp-ukwest") == "ukwest"
    assert s.origin_groups["standby"] == "og-ukwest-standby"


def test_every_field_and_secret_is_documented() -> None:
    sample = json.loads((Path(__file__).resolve().parents[2] / "local.settings.sample.json").read_text())
    docs = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    for key in [*FIELDS, *SECRET_FIELDS]:
        assert PREFIX + key in sample["Values"], key
        assert PREFIX + key in docs, key
