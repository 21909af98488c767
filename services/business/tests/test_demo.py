"""Demo mode: the stand-ins start in a thread with sample records, and the environment they hand back
points every connector at them."""

from __future__ import annotations

import httpx

from sophia.business.demo import start_demo


def test_the_demo_environment_reaches_every_stand_in() -> None:
    demo = start_demo()
    try:
        env = demo.env
        assert all(value.startswith(demo.url) for name, value in env.items() if name.endswith("_URL"))
        hubspot = httpx.post(
            f"{env['SOPHIA_BUSINESS_HUBSPOT_URL']}/crm/v3/objects/deals/search",
            json={"query": "acme"},
            headers={"authorization": f"Bearer {env['HUBSPOT_ACCESS_TOKEN']}"},
        )
        assert "DEMO DATA" in hubspot.json()["results"][0]["properties"]["dealname"]
        refused = httpx.get(f"{env['SOPHIA_BUSINESS_SLACK_URL']}/auth.test", headers={"authorization": "Bearer wrong"})
        assert refused.json() == {"ok": False, "error": "invalid_auth"}
    finally:
        demo.stop()
    assert not demo.thread.is_alive()


def test_each_run_makes_its_own_tokens() -> None:
    first, second = start_demo(), start_demo()
    try:
        assert first.env["SLACK_BOT_TOKEN"] != second.env["SLACK_BOT_TOKEN"] and first.url != second.url
    finally:
        first.stop()
        second.stop()
