"""Each connector through its tools, against the LOCAL STAND-INS of the systems' REST APIs: pagination over
several pages, the systems' own error shapes, expired tokens, and what a missing credential says."""

from __future__ import annotations

from sophia.business import BusinessSettings
from sophia.business.standins import Fault
from sophia.kit.testing import ToolClient

from .conftest import TOKENS, Systems, started


def count(systems: Systems, path: str) -> int:
    standins = (systems.slack, systems.gong, systems.hubspot, systems.salesforce, systems.notion, systems.asana)
    return sum(1 for standin in standins for seen in standin.requests if path in seen.path)


async def test_slack_history_follows_cursors_across_pages(tools: ToolClient, systems: Systems) -> None:
    found = await tools.ok("slack_history", channel="#sales", limit=50)
    assert len(found["messages"]) == 5 and found["untrusted"] is True
    assert count(systems, "conversations.history") == 3  # two per page on the stand-in


async def test_slack_history_filters_by_query(tools: ToolClient) -> None:
    found = await tools.ok("slack_history", channel="sales", query="acme")
    assert [m["text"] for m in found["messages"]] == [
        "Acme renewal: contract sent, waiting on their legal redlines (DEMO DATA)"
    ]


async def test_slack_search_needs_a_user_token(systems: Systems) -> None:
    async with started(systems.settings(SLACK_USER_TOKEN=None)) as tools:
        message = await tools.error("slack_search", query="acme")
    assert "SLACK_USER_TOKEN" in message


async def test_slack_expired_token_says_so_without_the_token(tools: ToolClient, systems: Systems) -> None:
    systems.slack.fail_next(Fault("expired"))
    message = await tools.error("slack_history", channel="C0DEMOSALES")
    assert "token_expired" in message and TOKENS["slack"] not in message


async def test_slack_unknown_channel_is_a_clear_error(tools: ToolClient) -> None:
    assert "no channel named #nope" in await tools.error("slack_history", channel="#nope")


async def test_slack_channels_lists_every_page_and_says_which_reach_another_company(
    tools: ToolClient, systems: Systems
) -> None:
    """`conversations.list` over cursors (two channels a page on the stand-in), public and private, the
    archived one left out; the Slack Connect channel is marked, since a post there waits for approval."""
    found = await tools.ok("slack_channels")
    by_name = {c["name"]: c for c in found["channels"]}
    assert set(by_name) == {"sales", "acme-shared", "general", "leadership"} and found["more"] is False
    assert by_name["acme-shared"]["shared_externally"] is True and by_name["sales"]["shared_externally"] is False
    assert by_name["leadership"]["private"] is True and by_name["sales"]["id"] == "C0DEMOSALES"
    lists = [r for r in systems.slack.requests if r.path.endswith("conversations.list")]
    assert len(lists) == 2 and all(r.query.get("exclude_archived") == "true" for r in lists)
    assert found["untrusted"] is True


async def test_slack_channels_by_name_or_topic_and_bounded(tools: ToolClient) -> None:
    assert [c["name"] for c in (await tools.ok("slack_channels", query="acme"))["channels"]] == ["acme-shared"]
    first = await tools.ok("slack_channels", limit=1)
    assert len(first["channels"]) == 1 and first["more"] is True
    assert (await tools.ok("slack_channels", query="no such channel"))["channels"] == []


async def test_asana_projects_of_the_workspace_over_pages(tools: ToolClient, systems: Systems) -> None:
    """`GET /projects?workspace=` paged by `offset` (two a page on the stand-in); archived ones only when asked."""
    active = await tools.ok("asana_projects")
    assert [(p["id"], p["name"]) for p in active["projects"]] == [
        ("1201", "Renewals (DEMO DATA)"),
        ("1202", "Onboarding (DEMO DATA)"),
    ]
    asked = [r for r in systems.asana.requests if r.path.endswith("/projects")]
    assert asked and all(r.query.get("workspace") == "1100" and r.query.get("archived") == "false" for r in asked)
    archived = await tools.ok("asana_projects", archived=True)
    assert [p["name"] for p in archived["projects"]] == ["Website relaunch (DEMO DATA)"]
    assert archived["projects"][0]["archived"] is True
    assert [p["id"] for p in (await tools.ok("asana_projects", query="onboard"))["projects"]] == ["1202"]


async def test_gong_calls_are_newest_first_over_several_pages(tools: ToolClient, systems: Systems) -> None:
    found = await tools.ok("gong_calls", query="Acme")
    assert [c["id"] for c in found["calls"]] == ["7001", "7002"]
    assert count(systems, "/v2/calls/extensive") == 3
    assert found["calls"][0]["parties"][1]["affiliation"] == "External"


async def test_gong_empty_period_is_no_calls_not_an_error(tools: ToolClient) -> None:
    found = await tools.ok("gong_calls", since="2001-01-01T00:00:00Z", until="2001-02-01T00:00:00Z")
    assert found["calls"] == []


async def test_gong_transcript_names_the_speakers(tools: ToolClient) -> None:
    found = await tools.ok("gong_transcript", call_id="7001")
    assert found["transcript"].splitlines()[1].startswith("Sam Lee of Acme (demo): Acme asked for a three-year term")


async def test_gong_stats(tools: ToolClient) -> None:
    found = await tools.ok("gong_stats", call_id="7003")
    assert found["call"]["stats"]["Talk Ratio"] == 0.46 and "SSO" in found["call"]["topics"]


async def test_crm_deals_answers_from_hubspot_and_salesforce(tools: ToolClient) -> None:
    found = await tools.ok("crm_deals", query="Acme")
    by_source = {d["source"]: d for d in found["deals"]}
    assert (
        by_source["hubspot"]["stage"] == "Contract sent"
        and by_source["salesforce"]["StageName"] == "Negotiation/Review"
    )
    assert found["sources"] == {"hubspot": {"status": "ok", "deals": 1}, "salesforce": {"status": "ok", "deals": 1}}


async def test_crm_deals_by_stage_label(tools: ToolClient) -> None:
    found = await tools.ok("crm_deals", stage="Contract sent")
    assert [d["name"] for d in found["deals"] if d["source"] == "hubspot"] == [
        "Acme Corp — platform renewal (DEMO DATA)"
    ]


async def test_crm_deals_reports_a_failing_system_and_keeps_the_other(tools: ToolClient, systems: Systems) -> None:
    systems.salesforce.fail_next(*[Fault("error", status=500)] * 5)
    found = await tools.ok("crm_deals", query="Acme")
    assert found["sources"]["salesforce"]["status"] == "error" and found["sources"]["hubspot"]["status"] == "ok"
    assert [d["source"] for d in found["deals"]] == ["hubspot"]


async def test_hubspot_search_pages_with_after(tools: ToolClient, systems: Systems) -> None:
    found = await tools.ok("hubspot_search", object_type="deals", query="DEMO", limit=5)
    assert len(found["items"]) == 5 and count(systems, "/objects/deals/search") == 3


async def test_hubspot_lookup_without_an_object_type_searches_all_three(tools: ToolClient, systems: Systems) -> None:
    """A name with no object said: companies, contacts and deals, each hit labelled with its object."""
    found = await tools.ok("hubspot_search", query="Initech")
    objects = {item["object"] for item in found["items"]}
    assert "company" in objects and all("Initech" in str(item) for item in found["items"])
    assert {count(systems, f"/objects/{kind}/search") for kind in ("companies", "contacts", "deals")} == {1}


async def test_hubspot_rejects_an_unknown_object_type(tools: ToolClient, systems: Systems) -> None:
    assert "object_type" in await tools.error("hubspot_search", query="Initech", object_type="tickets")
    assert count(systems, "/objects/") == 0


async def test_hubspot_pipeline_sums_every_stage(tools: ToolClient) -> None:
    summary = await tools.ok("hubspot_pipeline")
    assert summary["deals"] == 5 and summary["amount"] == 275000.0
    assert summary["stages"][0]["stage"] == "Qualified to buy"  # pipeline order, not alphabetical


async def test_salesforce_query_follows_next_records_url(tools: ToolClient, systems: Systems) -> None:
    found = await tools.ok("salesforce_query", soql="SELECT Id, Name, Account.Name FROM Opportunity")
    assert len(found["records"]) == 4 and found["total"] == 4
    assert found["records"][0]["Account.Name"] == "Acme Corp (DEMO DATA)"  # related fields flattened
    assert count(systems, "/query/01gDEMO-") == 1


async def test_salesforce_refuses_anything_but_select_and_sends_nothing(tools: ToolClient, systems: Systems) -> None:
    refusals = {
        "DELETE FROM Opportunity": "only SELECT",
        "  update Opportunity set Amount = 0": "only SELECT",
        "SELECT Id FROM Opportunity FOR UPDATE": "FOR UPDATE",
        "SELECT Id FROM Opportunity UPDATE VIEWSTAT": "UPDATE TRACKING|VIEWSTAT",
    }
    for soql, why in refusals.items():
        assert why in await tools.error("salesforce_query", soql=soql)
    assert count(systems, "/query") == 0
    # A clause word inside a string literal is data, not a clause.
    found = await tools.ok("salesforce_query", soql="SELECT Id FROM Opportunity WHERE Name LIKE '%for update%'")
    assert found["records"] == []


async def test_salesforce_client_credentials_renew_an_expired_token(systems: Systems) -> None:
    settings = systems.settings(
        SALESFORCE_ACCESS_TOKEN=None,
        SALESFORCE_CLIENT_ID="sf-client-id",
        SALESFORCE_CLIENT_SECRET="sf-client-secret-0009",
    )
    async with started(settings) as tools:
        await tools.ok("salesforce_opportunity", opportunity_id="0065g0000DemoA1AAA")
        systems.salesforce.expire_tokens()
        found = await tools.ok("salesforce_opportunity", opportunity_id="0065g0000DemoA1AAA")
    assert found["opportunity"]["StageName"] == "Negotiation/Review"
    assert count(systems, "/oauth2/token") == 2


async def test_salesforce_update_opportunity_changes_only_what_was_asked(tools: ToolClient, systems: Systems) -> None:
    updated = await tools.ok(
        "salesforce_update_opportunity", opportunity_id="0065g0000DemoB2AAA", stage="Closed Won", amount=25000
    )
    assert updated["updated"] == ["Amount", "StageName"] and updated["opportunity"]["StageName"] == "Closed Won"
    patch = next(r for r in systems.salesforce.requests if r.method == "PATCH")
    assert patch.body == {"StageName": "Closed Won", "Amount": 25000.0}


async def test_notion_search_and_read_a_page_over_paged_blocks(tools: ToolClient, systems: Systems) -> None:
    pages = await tools.ok("notion_search", query="acme")
    page = await tools.ok("notion_read_page", page_id=pages["pages"][0]["id"])
    assert page["text"].splitlines() == [
        "# Acme Corp account plan",
        "DEMO DATA: renewal due next month.",
        "- Champion: Sam Lee, VP Operations",
        "- Risk: legal review time",
        "- [ ] Send renewal redlines",
    ]
    assert count(systems, "/children") == 3


async def test_notion_create_page_splits_blocks_and_long_text(tools: ToolClient, systems: Systems) -> None:
    body = "# Notes\n" + "\n".join(f"- item {i}" for i in range(150)) + "\n\n" + "x" * 4500
    created = await tools.ok("notion_create_page", title="Meeting notes", body=body)
    assert created["blocks"] == 152
    assert count(systems, "/v1/pages") == 1 and len([r for r in systems.notion.requests if r.method == "PATCH"]) == 1
    page = await tools.ok("notion_read_page", page_id=created["id"], max_chars=200_000)
    assert page["title"] == "Meeting notes" and page["text"].endswith("x" * 100)


async def test_notion_rejects_a_bad_page_id_before_calling(tools: ToolClient, systems: Systems) -> None:
    message = await tools.error("notion_read_page", page_id="../../v1/users/me-00000000000000000")
    assert "32 hexadecimal" in message and count(systems, "/v1/pages") == 0


async def test_asana_project_tasks_by_name_over_pages(tools: ToolClient, systems: Systems) -> None:
    found = await tools.ok("asana_tasks", project="Renewals")
    assert len(found["tasks"]) == 4 and count(systems, "/projects/1201/tasks") == 2


async def test_asana_lists_the_workspaces_open_tasks_without_a_project(tools: ToolClient, systems: Systems) -> None:
    """The workspace search with ``completed=false`` (the stand-in speaks Asana's search parameters)."""
    found = await tools.ok("asana_tasks")
    names = [t["name"] for t in found["tasks"]]
    assert len(names) == 4 and not any("Umbrella Health kickoff" in n for n in names)
    assert all(t["completed"] is False for t in found["tasks"])
    assert any(r.query.get("completed") == "false" for r in systems.asana.requests)


async def test_asana_tasks_of_a_member_by_name_email_or_me(tools: ToolClient) -> None:
    by_name = await tools.ok("asana_tasks", assignee="Dana")
    assert len(by_name["tasks"]) == 5 and {t["assignee"] for t in by_name["tasks"]} == {"Dana Rivera (demo)"}
    done = await tools.ok("asana_tasks", assignee="me", completed=True)
    assert [t["name"] for t in done["tasks"]] == ["Umbrella Health kickoff (DEMO DATA)"]
    assert (await tools.ok("asana_tasks", assignee="Sam Okafor"))["tasks"] == []
    in_project = await tools.ok("asana_tasks", project="Onboarding", assignee="1400", completed=False)
    assert in_project["tasks"] == []


async def test_asana_query_that_names_a_member_lists_their_tasks(tools: ToolClient) -> None:
    """Text that no task holds but a member's name matches: that member's tasks, as Asana's search box."""
    found = await tools.ok("asana_tasks", query="Dana")
    assert len(found["tasks"]) == 5
    assert (await tools.ok("asana_tasks", query="no such words"))["tasks"] == []


async def test_asana_unknown_member_is_a_clear_error(tools: ToolClient, systems: Systems) -> None:
    assert "no member named 'Nobody'" in await tools.error("asana_tasks", assignee="Nobody")
    assert not [r for r in systems.asana.requests if r.path.endswith("/tasks/search")]


async def test_asana_search_without_premium_says_why(systems: Systems) -> None:
    systems.asana.premium = False
    async with started(systems.settings()) as tools:
        assert "paid Asana plan" in await tools.error("asana_tasks", query="acme")


async def test_asana_create_and_update_a_task(tools: ToolClient) -> None:
    created = await tools.ok("asana_create_task", title="Call Acme", project="Renewals", due_on="2030-01-02")
    assert created["projects"] == ["Renewals (DEMO DATA)"] and created["due_on"] == "2030-01-02"
    done = await tools.ok("asana_update_task", task_id=created["id"], completed=True)
    assert done["completed"] is True


async def test_without_credentials_every_tool_says_not_configured() -> None:
    async with started(BusinessSettings(log_format="text")) as tools:
        health = await tools.ok("health")
        assert all(c == {"configured": False, "reachable": None} for c in health["connectors"].values())
        assert "Slack is not configured (set SLACK_BOT_TOKEN)" in await tools.error("slack_history", channel="#sales")
        assert "GONG_ACCESS_KEY" in await tools.error("gong_calls")
        assert "SALESFORCE_INSTANCE_URL" in await tools.error("salesforce_query", soql="SELECT Id FROM Opportunity")
        assert "NOTION_API_KEY" in await tools.error("notion_search", query="x")
        assert "ASANA_ACCESS_TOKEN" in await tools.error("asana_tasks", project="x")
        assert "SLACK_BOT_TOKEN" in await tools.error("slack_channels")
        assert "ASANA_ACCESS_TOKEN" in await tools.error("asana_projects")
        deals = await tools.ok("crm_deals", query="Acme")
        assert deals["deals"] == [] and deals["sources"]["hubspot"] == {"status": "not_configured"}
        found = await tools.ok("query", question="Acme renewal")
        assert found["results"] == [] and {s["status"] for s in found["sources"].values()} == {"not_configured"}


async def test_bad_input_is_refused_and_nothing_changes(tools: ToolClient, systems: Systems) -> None:
    pages, tasks = len(systems.data.notion_pages), len(systems.data.asana_tasks)
    assert "32 hexadecimal" in await tools.error("notion_create_page", title="x", body="y", parent="not-a-page-id")
    assert "no project named" in await tools.error("asana_create_task", title="x", project="No such project")
    assert "nothing to change" in await tools.error("asana_update_task", task_id="1301")
    message = await tools.error("salesforce_update_opportunity", opportunity_id="0065g0000DemoA1AAA")
    assert "nothing to change" in message
    assert len(systems.data.notion_pages) == pages and len(systems.data.asana_tasks) == tasks
    assert not [r for r in systems.salesforce.requests if r.method == "PATCH"]
    assert not [r for r in systems.asana.requests if r.method in ("POST", "PUT")]


async def test_health_says_which_system_is_unreachable_and_why(systems: Systems) -> None:
    systems.notion.fail_next(*[Fault("error", status=503)] * 5)
    systems.asana.fail_next(Fault("expired"))
    async with started(systems.settings(secrets_file="/nonexistent/secrets.env")) as tools:
        health = await tools.ok("health")
    connectors = health["connectors"]
    assert connectors["notion"]["reachable"] is False and "HTTP 503" in connectors["notion"]["error"]
    assert connectors["asana"]["reachable"] is False and "401" in connectors["asana"]["error"]
    assert connectors["hubspot"]["reachable"] is True and connectors["hubspot"]["usage"]
    assert "cannot be read" in health["credential_problems"]["secrets_file"]
    assert not any(token in str(health) for token in TOKENS.values())


async def test_a_sentence_filter_searches_for_its_telling_word(tools: ToolClient) -> None:
    """The gateway's planner passes the request's clause as the filter: "what's the stage of the Acme deal"."""
    found = await tools.ok("crm_deals", query="what's the stage of the Acme deal")
    assert {d["source"] for d in found["deals"]} == {"hubspot", "salesforce"}
    calls = await tools.ok("gong_calls", query="summarise last week's Gong calls with Initech")
    assert [c["id"] for c in calls["calls"]] == ["7004"]


async def test_gong_transcript_of_the_newest_call_matching_a_query(tools: ToolClient) -> None:
    found = await tools.ok("gong_transcript", query="what did Acme say on the last call")
    assert found["call"]["id"] == "7001" and "three-year term" in found["transcript"]
    assert "give call_id" in await tools.error("gong_transcript")


async def test_the_last_call_without_a_name_is_the_newest_call(tools: ToolClient) -> None:
    found = await tools.ok("gong_transcript", query="what did they say on the last Gong call?")
    assert found["call"]["id"] == "7001"
