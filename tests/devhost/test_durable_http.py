"""devhost durable engine: the extension's HTTP API and the webhook URLs the SDK hands out."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import azure.functions as func

from tests.devhost.durable_app.harness import Harness

HOOKS = "/runtime/webhooks/durabletask"


def test_check_status_response_urls_drive_an_instance_to_completion(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Harness(tmp_path) as h, aiohttp.ClientSession() as http:
            instance_id = await h.client.start_new("waiter")
            request = func.HttpRequest("POST", f"{h.base_url}/api/start", body=b"")
            response = h.client.create_check_status_response(request, instance_id)
            assert response.status_code == 202
            urls = json.loads(response.get_body())
            assert urls["id"] == instance_id
            assert response.headers["Location"] == urls["statusQueryGetUri"]
            async with http.get(urls["statusQueryGetUri"]) as running:
                assert running.status == 202
                assert (await running.json())["runtimeStatus"] in ("Pending", "Running")
            for name, data in (("first", 1), ("second", 2)):
                url = urls["sendEventPostUri"].replace("{eventName}", name)
                async with http.post(url, json=data) as raised:
                    assert raised.status == 202
            await h.wait(instance_id)
            async with http.get(
                urls["statusQueryGetUri"] + "&showHistory=true&showHistoryOutput=true"
            ) as done:
                assert done.status == 200
                body = await done.json()
            assert (body["runtimeStatus"], body["output"]) == ("Completed", [1, 2])
            kinds = [e["EventType"] for e in body["historyEvents"]]
            assert kinds[0] == "ExecutionStarted" and kinds[-1] == "ExecutionCompleted"
            assert [e["Input"] for e in body["historyEvents"] if e["EventType"] == "EventRaised"] == [1, 2]
            async with http.post(urls["restartPostUri"]) as restarted:
                assert restarted.status == 202
                again = (await restarted.json())["id"]
            assert again != instance_id
            assert (await h.client.get_status(again)).runtime_status.value in ("Pending", "Running")
            async with http.delete(urls["purgeHistoryDeleteUri"]) as purged:
                assert (purged.status, await purged.json()) == (200, {"instancesDeleted": 1})
            async with http.get(urls["statusQueryGetUri"]) as gone:
                assert gone.status == 404

    asyncio.run(scenario())


def test_terminate_suspend_resume_webhooks_and_their_status_codes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Harness(tmp_path) as h, aiohttp.ClientSession() as http:
            instance_id = await h.client.start_new("waiter")
            urls = h.client.create_http_management_payload(instance_id)
            async with http.post(urls["suspendPostUri"].replace("{text}", "pause")) as suspended:
                assert suspended.status == 202
            assert (await h.client.get_status(instance_id)).runtime_status.value == "Suspended"
            async with http.post(urls["resumePostUri"].replace("{text}", "go")) as resumed:
                assert resumed.status == 202
            async with http.post(urls["terminatePostUri"].replace("{text}", "enough")) as terminated:
                assert terminated.status == 202
            async with http.post(urls["terminatePostUri"].replace("{text}", "again")) as again:
                assert again.status == 410
            async with http.get(urls["statusQueryGetUri"]) as final:
                assert (final.status, (await final.json())["output"]) == (200, "enough")

    asyncio.run(scenario())


def test_bad_requests_get_the_extension_answers_and_change_nothing(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Harness(tmp_path) as h, aiohttp.ClientSession() as http:
            base = f"{h.base_url}{HOOKS}"
            async with http.post(f"{base}/orchestrators/no_such_orchestrator") as unknown:
                assert unknown.status == 400
                assert "doesn't exist" in (await unknown.json())["ExceptionMessage"]
            async with http.post(f"{base}/orchestrators/waiter", data=b"{not json") as bad_json:
                assert bad_json.status == 400
            async with http.get(f"{base}/instances/nobody") as missing:
                assert missing.status == 404
            async with http.post(f"{base}/instances/nobody/raiseEvent/x", json=1) as missing_event:
                assert missing_event.status == 404
            async with http.post(f"{base}/instances/nobody/terminate") as missing_terminate:
                assert missing_terminate.status == 404
            instance_id = await h.client.start_new("waiter")
            headers = {"Content-Type": "text/plain"}
            url = f"{base}/instances/{instance_id}/raiseEvent/first"
            async with http.post(url, data=b"1", headers=headers) as wrong_type:
                assert wrong_type.status == 400
            async with http.delete(f"{base}/instances/") as no_from:
                assert no_from.status == 400
            async with http.get(f"{base}/instances/") as listing:
                assert [s["instanceId"] for s in await listing.json()] == [instance_id]
            status = await h.client.get_status(instance_id)
            assert status.runtime_status.value in ("Pending", "Running")

    asyncio.run(scenario())


def test_list_pages_with_top_and_continuation_token(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Harness(tmp_path) as h, aiohttp.ClientSession() as http:
            ids = [await h.client.start_new("fan_out", f"page-{i}", 1) for i in range(5)]
            seen: list[str] = []
            headers: dict[str, str] = {}
            for _ in range(5):
                async with http.get(f"{h.base_url}{HOOKS}/instances/?top=2", headers=headers) as page:
                    seen += [s["instanceId"] for s in await page.json()]
                    token = page.headers.get("x-ms-continuation-token")
                if not token:
                    break
                headers = {"x-ms-continuation-token": token}
            assert sorted(seen) == sorted(ids)

    asyncio.run(scenario())
