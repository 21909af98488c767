"""SAMPLE RECORDS for the stand-ins: demo mode's data and the tests' fixtures. Every record says it is
demo data (in its name, title or text), so nobody mistakes it for a real customer.

One small story runs through all six systems, so the newcomer's question "what's the stage of the Acme
deal and what did they say on the last Gong call?" has an answer end to end: the Acme renewal sits in
HubSpot's "Contract sent" stage, and its latest Gong call discussed a three-year term.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

LABEL = "DEMO DATA"


def _ago(now: datetime, days: float) -> str:
    return (now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Dataset:
    slack_channels: list[dict[str, Any]] = field(default_factory=list)
    slack_messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    gong_calls: list[dict[str, Any]] = field(default_factory=list)
    gong_transcripts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    hubspot_pipelines: list[dict[str, Any]] = field(default_factory=list)
    hubspot_objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    salesforce_opportunities: list[dict[str, Any]] = field(default_factory=list)
    notion_pages: list[dict[str, Any]] = field(default_factory=list)
    notion_blocks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    asana_workspaces: list[dict[str, Any]] = field(default_factory=list)
    asana_projects: list[dict[str, Any]] = field(default_factory=list)
    asana_tasks: list[dict[str, Any]] = field(default_factory=list)
    asana_users: list[dict[str, Any]] = field(default_factory=list)


def _slack(data: Dataset, now: datetime) -> None:
    data.slack_channels = [
        {
            "id": "C0DEMOSALES",
            "name": "sales",
            "is_channel": True,
            "is_shared": False,
            "is_ext_shared": False,
            "topic": {"value": f"Deals and pipeline ({LABEL})"},
        },
        {
            "id": "C0DEMOACME1",
            "name": "acme-shared",
            "is_channel": True,
            "is_shared": True,
            "is_ext_shared": True,
            "topic": {"value": f"Slack Connect with Acme Corp ({LABEL})"},
        },
        {
            "id": "C0DEMOGENRL",
            "name": "general",
            "is_channel": True,
            "is_shared": False,
            "is_ext_shared": False,
            "topic": {"value": f"Company-wide ({LABEL})"},
        },
        {
            "id": "C0DEMOLEADS",
            "name": "leadership",
            "is_channel": True,
            "is_private": True,
            "is_shared": False,
            "is_ext_shared": False,
            "topic": {"value": f"Leadership team ({LABEL})"},
        },
        {
            "id": "C0DEMOOLDLN",
            "name": "launch-2024",
            "is_channel": True,
            "is_archived": True,
            "is_shared": False,
            "is_ext_shared": False,
            "topic": {"value": f"Archived launch room ({LABEL})"},
        },
    ]
    base = now.timestamp()
    texts = {
        "C0DEMOSALES": [
            "Acme renewal: contract sent, waiting on their legal redlines",
            "Globex wants a second pilot workspace before expanding",
            "Initech demo went well; follow-up scheduled",
            "Reminder: forecast call Thursday",
            "Vandelay asked about the import suite pricing",
        ],
        "C0DEMOACME1": [
            "Hi team, sharing the security questionnaire answers today",
            "Thanks! Legal will send redlines next week",
        ],
        "C0DEMOGENRL": ["Welcome to the demo workspace", "Office closed Friday"],
    }
    for channel, lines in texts.items():
        data.slack_messages[channel] = [
            {
                "type": "message",
                "user": f"U0DEMO{i:04d}",
                "ts": f"{base - 3600 * (i + 1):.6f}",
                "text": f"{text} ({LABEL})",
            }
            for i, text in enumerate(lines)
        ]


def _gong(data: Dataset, now: datetime) -> None:
    calls = [
        (
            "7001",
            "Acme Corp — renewal pricing review",
            3,
            "Acme",
            "acme.example",
            "Acme asked for a three-year term with an 8% discount; security review is done; legal redlines expected "
            "next week.",
            ["Pricing", "Security", "Next steps"],
        ),
        (
            "7002",
            "Acme Corp — quarterly business review",
            24,
            "Acme",
            "acme.example",
            "Acme is happy with adoption; wants analytics add-on demo.",
            ["Adoption", "Analytics"],
        ),
        (
            "7003",
            "Globex — expansion discovery",
            6,
            "Globex",
            "globex.example",
            "Globex needs a second pilot workspace and SSO before expanding.",
            ["SSO", "Pilot"],
        ),
        (
            "7004",
            "Initech — product demo",
            10,
            "Initech",
            "initech.example",
            "Initech liked the workflow builder; concerned about migration effort.",
            ["Demo", "Migration"],
        ),
        (
            "7005",
            "Vandelay Industries — import suite intro",
            15,
            "Vandelay",
            "vandelay.example",
            "Vandelay wants pricing for the import suite for 40 seats.",
            ["Pricing"],
        ),
    ]
    for call_id, title, days, company, domain, brief, topics in calls:
        data.gong_calls.append(
            {
                "metaData": {
                    "id": call_id,
                    "url": f"https://app.gong.io/call?id={call_id}",
                    "title": f"{title} ({LABEL})",
                    "started": _ago(now, days),
                    "duration": 1800,
                    "direction": "Conference",
                    "scope": "External",
                    "system": "Zoom",
                    "language": "eng",
                },
                "parties": [
                    {
                        "id": f"{call_id}1",
                        "name": "Dana Rivera (demo)",
                        "emailAddress": "dana@sophia-demo.example",
                        "affiliation": "Internal",
                        "speakerId": f"{call_id}01",
                    },
                    {
                        "id": f"{call_id}2",
                        "name": f"Sam Lee of {company} (demo)",
                        "emailAddress": f"sam@{domain}",
                        "affiliation": "External",
                        "speakerId": f"{call_id}02",
                    },
                ],
                "content": {"brief": f"{LABEL}. {brief}", "topics": [{"name": t, "duration": 300} for t in topics]},
                "interaction": {
                    "interactionStats": [
                        {"name": "Talk Ratio", "value": 0.46},
                        {"name": "Longest Monologue", "value": 95},
                        {"name": "Interactivity", "value": 6.1},
                        {"name": "Patience", "value": 1.2},
                    ],
                    "speakers": [{"id": f"{call_id}01", "talkTime": 820}, {"id": f"{call_id}02", "talkTime": 960}],
                },
            }
        )
        data.gong_transcripts[call_id] = [
            {
                "speakerId": f"{call_id}01",
                "topic": "Intro",
                "sentences": [{"start": 0, "end": 4000, "text": f"Thanks for joining, this is a {LABEL} call."}],
            },
            {
                "speakerId": f"{call_id}02",
                "topic": topics[0],
                "sentences": [{"start": 4000, "end": 9000, "text": brief}],
            },
            {
                "speakerId": f"{call_id}01",
                "topic": "Next steps",
                "sentences": [{"start": 9000, "end": 12000, "text": "I'll send a summary and the next steps today."}],
            },
        ]


def _hubspot(data: Dataset, now: datetime) -> None:
    stages = [
        ("appointmentscheduled", "Appointment scheduled"),
        ("qualifiedtobuy", "Qualified to buy"),
        ("presentationscheduled", "Presentation scheduled"),
        ("decisionmakerboughtin", "Decision maker bought-in"),
        ("contractsent", "Contract sent"),
        ("closedwon", "Closed won"),
        ("closedlost", "Closed lost"),
    ]
    data.hubspot_pipelines = [
        {
            "id": "default",
            "label": "Sales Pipeline",
            "displayOrder": 0,
            "stages": [
                {"id": sid, "label": label, "displayOrder": i, "metadata": {}} for i, (sid, label) in enumerate(stages)
            ],
        }
    ]
    deals = [
        ("101", "Acme Corp — platform renewal", "120000", "contractsent", 20),
        ("102", "Globex — expansion", "45000", "qualifiedtobuy", 45),
        ("103", "Initech — pilot", "18000", "presentationscheduled", 30),
        ("104", "Umbrella Health — onboarding", "60000", "closedwon", -5),
        ("105", "Vandelay Industries — import suite", "32000", "decisionmakerboughtin", 60),
    ]
    data.hubspot_objects["deals"] = [
        {
            "id": i,
            "properties": {
                "dealname": f"{name} ({LABEL})",
                "amount": amount,
                "dealstage": stage,
                "pipeline": "default",
                "closedate": _ago(now, -days),
                "hubspot_owner_id": "900",
                "hs_lastmodifieddate": _ago(now, 1),
            },
            "createdAt": _ago(now, 90),
            "updatedAt": _ago(now, 1),
            "archived": False,
        }
        for i, name, amount, stage, days in deals
    ]
    companies = [
        ("201", "Acme Corp", "acme.example", "Manufacturing"),
        ("202", "Globex", "globex.example", "Energy"),
        ("203", "Initech", "initech.example", "Software"),
    ]
    data.hubspot_objects["companies"] = [
        {
            "id": i,
            "properties": {
                "name": f"{name} ({LABEL})",
                "domain": domain,
                "industry": industry,
                "city": "Springfield",
                "lifecyclestage": "customer",
                "hs_lastmodifieddate": _ago(now, 2),
            },
        }
        for i, name, domain, industry in companies
    ]
    data.hubspot_objects["contacts"] = [
        {
            "id": "301",
            "properties": {
                "firstname": "Sam",
                "lastname": f"Lee ({LABEL})",
                "email": "sam@acme.example",
                "company": "Acme Corp",
                "jobtitle": "VP Operations",
                "lifecyclestage": "customer",
                "hs_lastmodifieddate": _ago(now, 3),
            },
        },
        {
            "id": "302",
            "properties": {
                "firstname": "Ana",
                "lastname": f"Ruiz ({LABEL})",
                "email": "ana@globex.example",
                "company": "Globex",
                "jobtitle": "CTO",
                "lifecyclestage": "opportunity",
                "hs_lastmodifieddate": _ago(now, 4),
            },
        },
    ]


def _salesforce(data: Dataset, now: datetime) -> None:
    rows = [
        ("0065g0000DemoA1AAA", "Acme Corp — analytics add-on", "Negotiation/Review", 40000.0, 25, "Acme Corp"),
        ("0065g0000DemoB2AAA", "Globex — support renewal", "Proposal/Price Quote", 22000.0, 40, "Globex"),
        ("0065g0000DemoC3AAA", "Initech — training package", "Qualification", 8000.0, 70, "Initech"),
        ("0065g0000DemoD4AAA", "Hooli — enterprise licence", "Closed Won", 150000.0, -10, "Hooli"),
    ]
    data.salesforce_opportunities = [
        {
            "attributes": {"type": "Opportunity", "url": f"/services/data/v60.0/sobjects/Opportunity/{oid}"},
            "Id": oid,
            "Name": f"{name} ({LABEL})",
            "StageName": stage,
            "Amount": amount,
            "CloseDate": (now + timedelta(days=days)).date().isoformat(),
            "Probability": 60.0,
            "NextStep": f"Send the proposal ({LABEL})",
            "ForecastCategoryName": "Pipeline",
            "Description": f"{LABEL}",
            "AccountId": f"0015g00000Acct{oid[-4:]}",
            "OwnerId": "0055g00000Owner1AAA",
            "LastModifiedDate": _ago(now, 2),
            "Account": {"attributes": {"type": "Account"}, "Name": f"{account} ({LABEL})"},
            "Owner": {"attributes": {"type": "User"}, "Name": "Dana Rivera (demo)"},
        }
        for oid, name, stage, amount, days, account in rows
    ]


def _notion(data: Dataset, now: datetime) -> None:
    pages = [
        (
            "1d1f0c1e-0000-4000-8000-0000000000a1",
            "Acme Corp account plan",
            [
                ("heading_1", "Acme Corp account plan"),
                ("paragraph", f"{LABEL}: renewal due next month."),
                ("bulleted_list_item", "Champion: Sam Lee, VP Operations"),
                ("bulleted_list_item", "Risk: legal review time"),
                ("to_do", "Send renewal redlines"),
            ],
        ),
        (
            "1d1f0c1e-0000-4000-8000-0000000000b2",
            "Pricing guidelines",
            [("paragraph", f"{LABEL}: discounts above 10% need VP approval.")],
        ),
        (
            "1d1f0c1e-0000-4000-8000-0000000000c3",
            "Expense policy",
            [("paragraph", f"{LABEL}: submit receipts within 30 days.")],
        ),
    ]
    for page_id, title, blocks in pages:
        data.notion_pages.append(
            {
                "object": "page",
                "id": page_id,
                "created_time": _ago(now, 30),
                "last_edited_time": _ago(now, 2),
                "url": f"https://www.notion.so/{page_id.replace('-', '')}",
                "parent": {"type": "workspace", "workspace": True},
                "properties": {
                    "title": {
                        "id": "title",
                        "type": "title",
                        "title": [
                            {
                                "type": "text",
                                "text": {"content": f"{title} ({LABEL})"},
                                "plain_text": f"{title} ({LABEL})",
                            }
                        ],
                    }
                },
            }
        )
        data.notion_blocks[page_id] = [
            {
                "object": "block",
                "id": f"{page_id[:-4]}b{i:03d}",
                "type": kind,
                "has_children": False,
                kind: {
                    "rich_text": [{"type": "text", "text": {"content": text}, "plain_text": text}],
                    **({"checked": False} if kind == "to_do" else {}),
                },
            }
            for i, (kind, text) in enumerate(blocks)
        ]


def _asana(data: Dataset, now: datetime) -> None:
    data.asana_workspaces = [{"gid": "1100", "name": f"Demo workspace ({LABEL})", "resource_type": "workspace"}]
    data.asana_projects = [
        {"gid": "1201", "name": f"Renewals ({LABEL})", "resource_type": "project"},
        {"gid": "1202", "name": f"Onboarding ({LABEL})", "resource_type": "project"},
        {"gid": "1203", "name": f"Website relaunch ({LABEL})", "resource_type": "project", "archived": True},
    ]
    tasks = [
        ("1301", "Send Acme renewal redlines", "1201", 3, False),
        ("1302", "Prepare Globex pilot workspace", "1201", 7, False),
        ("1303", "Initech migration estimate", "1201", 10, False),
        ("1304", "Umbrella Health kickoff", "1202", -2, True),
        ("1305", "Acme analytics add-on demo", "1201", 14, False),
    ]
    data.asana_users = [
        {"gid": "1400", "name": "Dana Rivera (demo)", "email": "dana@sophia-demo.example", "resource_type": "user"},
        {"gid": "1401", "name": "Sam Okafor (demo)", "email": "sam@sophia-demo.example", "resource_type": "user"},
    ]
    project_names = {p["gid"]: p["name"] for p in data.asana_projects}
    data.asana_tasks = [
        {
            "gid": gid,
            "resource_type": "task",
            "name": f"{name} ({LABEL})",
            "notes": f"{LABEL}: {name.lower()}.",
            "assignee": {"gid": "1400", "name": "Dana Rivera (demo)"},
            "due_on": (now + timedelta(days=due)).date().isoformat(),
            "completed": done,
            "permalink_url": f"https://app.asana.com/0/{project}/{gid}",
            "modified_at": _ago(now, 1),
            "projects": [{"gid": project, "name": project_names[project]}],
        }
        for gid, name, project, due, done in tasks
    ]


def demo_dataset(now: datetime | None = None) -> Dataset:
    """The sample records, times relative to `now`."""
    now = now or datetime.now(UTC)
    data = Dataset()
    for fill in (_slack, _gong, _hubspot, _salesforce, _notion, _asana):
        fill(data, now)
    return data
