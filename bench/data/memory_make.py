# ruff: noqa: SIM905, RUF028  -- tables of wordings read best one entry per line
"""Make the memory benchmark's labelled sets, deterministically: `python -m bench.data.memory_make`.

Two sets, each in a dev split (tuned on) and a blind split (never tuned on). The blind split uses other
people, systems, documents and events, and other wordings of every fact and question, so a rule fitted to
dev wording cannot carry over by accident.

- Paraphrase set (memory_paraphrase_{split}.jsonl): facts in two namespaces and questions that name the
  thing differently (a system by what it does, an event by a synonym, a document by its subject), with
  sibling facts about the same person or system competing. Some facts are updated (supersedes); the
  question's answer is then the newest version. Extra questions have their answer in the other namespace
  or nowhere: a correct recall answers "nothing relevant" to them.
- Long-conversation set (memory_conversations_{split}.jsonl): multi-session chats between two people,
  each session dated; questions label the turns that hold the evidence: single-hop, multi-hop (several
  turns, several sessions), temporal (the question names a month) and adversarial (asked about the
  speaker who never said it, or about something never said: no evidence).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SPLITS = ("dev", "blind")


@dataclass(frozen=True)
class Names:
    people: list[str]
    systems: list[tuple[str, str, str]]  # name, description for questions, what it runs on
    events: list[tuple[str, str]]  # name in the fact, synonym in the question
    documents: list[tuple[str, str, str]]  # name, subject in the fact, subject as a question describes it
    decisions: list[tuple[str, str]]  # decision as stated, as a question paraphrases it
    namespaces: tuple[str, str]


DEV = Names(
    people="Maria Tomasz Aisha Rajesh Lena Carla Ahmed Noor Jonas Mei Diego Sven Priya Oliver Fatima Henrik Yuki "
    "Bruno Ingrid Kwame Sofia Mateo Leila Pavel Anika Dmitri Chloe Omar Greta Hiro Zara Felix".split(),
    systems=[
        ("Ledgerline", "the service that charges customers' cards", "Kubernetes"),
        ("Beacon", "the tool that sends push notifications to phones", "AWS Lambda"),
        ("Atlas", "our internal search engine for documents", "a pair of bare-metal servers"),
        ("Quarry", "the data warehouse where analytics queries run", "BigQuery"),
        ("Relay", "the gateway that routes API traffic", "Nginx on EC2"),
        ("Harbor", "the registry that stores our container images", "a VM in Frankfurt"),
        ("Pulse", "the dashboard that shows uptime and error rates", "Grafana Cloud"),
        ("Mason", "the pipeline that builds and deploys code", "GitHub Actions runners"),
        ("Sentinel", "the system that detects fraudulent logins", "a GPU node in Dublin"),
        ("Tally", "the job that produces monthly invoices", "a cron host"),
        ("Orbit", "the mobile app for iPhone and Android", "Firebase"),
        ("Vault", "the place where passwords and API keys are kept", "HashiCorp Cloud"),
        ("Compass", "the onboarding flow for new customers", "Vercel"),
        ("Ember", "the chat support widget on the website", "Heroku"),
        ("Lumen", "the recommendation model behind 'you may also like'", "SageMaker"),
        ("Forge", "the internal tool for feature flags", "a Postgres-backed Django app"),
    ],
    events=[
        ("offsite", "team retreat"),
        ("all-hands", "company-wide meeting"),
        ("hackathon", "coding marathon"),
        ("board meeting", "meeting with the directors"),
        ("holiday party", "end-of-year celebration"),
        ("product launch", "release event"),
        ("security drill", "breach rehearsal"),
        ("quarterly planning", "roadmap session for the next three months"),
    ],
    documents=[
        ("RFC-42", "splitting the monolith into services", "breaking the big application into smaller pieces"),
        ("the Q3 security review", "findings of the penetration test", "what the hired hackers found"),
        ("the hiring playbook", "how we interview engineers", "our process for assessing developer candidates"),
        ("the incident handbook", "what to do when production is down", "steps to follow during an outage"),
        ("the pricing memo", "why the Pro plan costs 49 euros", "the reasoning behind our premium tier's price"),
        ("the data retention policy", "how long we keep customer logs", "how many days user records are stored"),
        ("ADR-7", "choosing Postgres over MongoDB", "picking a relational database instead of a document store"),
        ("the travel guide", "booking flights and hotels for work trips", "arranging transport for business travel"),
    ],
    decisions=[
        ("drop support for Internet Explorer", "stop supporting old Microsoft browsers"),
        ("move the release day to Wednesday", "change which weekday we ship on"),
        ("freeze hiring until March", "pause recruitment for the first quarter"),
        ("switch the office coffee to oat milk", "replace dairy in the kitchen"),
        ("require two reviewers on every pull request", "make code changes need a second approval"),
        ("sunset the desktop client", "retire the app people install on laptops"),
        ("rotate on-call weekly", "change the pager schedule to seven-day shifts"),
        ("open an office in Lisbon", "expand to Portugal"),
    ],
    namespaces=("acme", "globex"),
)

BLIND = Names(
    people="Beatrix Caspian Delphine Emeka Florin Gunnhild Hamza Isolde Jelena Kenji Lucius Mirela Nikolai "
    "Odalys Pietro Quentin Rosalind Saoirse Thaddeus Ulrike Valentina Wojciech Xiomara Yusuf Zdenka Anselm "
    "Brigid Cyrus Dagny Eero Farida Gideon".split(),
    systems=[
        ("Paymaster", "the component that bills subscribers every month", "ECS Fargate"),
        ("Courier", "the e-mail delivery service for receipts", "SendGrid workers"),
        ("Lighthouse", "the monitoring that wakes people up at night", "Prometheus on a spare box"),
        ("Granary", "the lake where raw event data lands", "S3 and Athena"),
        ("Turnstile", "the login and single sign-on service", "Keycloak on Azure"),
        ("Almanac", "the calendar sync for customer bookings", "Cloud Run"),
        ("Keel", "the storage layer for uploaded photos", "MinIO"),
        ("Switchboard", "the phone routing for the call centre", "Twilio Functions"),
        ("Abacus", "the spreadsheet exporter finance depends on", "a Windows server"),
        ("Shepherd", "the scheduler that runs nightly batch jobs", "Airflow"),
        ("Prism", "the image resizing service", "Cloudflare Workers"),
        ("Anchor", "the customer database of record", "Oracle RAC"),
    ],
    events=[
        ("summer picnic", "outdoor lunch in July"),
        ("town hall", "open meeting with the founders"),
        ("code freeze", "period when nobody may merge"),
        ("investor day", "presentation to our shareholders"),
        ("team offsite in the mountains", "alpine getaway for the team"),
        ("charity run", "sponsored race for a good cause"),
    ],
    documents=[
        ("the vendor contract", "what the cloud provider guarantees us", "the supplier's service-level promises"),
        ("RFC-108", "replacing cron with a job queue", "moving scheduled tasks to a queue system"),
        ("the brand book", "which colours and fonts marketing may use", "the visual identity rules"),
        ("the expense policy", "what staff may claim back", "which costs employees get reimbursed for"),
        (
            "the disaster recovery plan",
            "restoring service after losing a data centre",
            "recovering if a whole site burns down",
        ),
        (
            "the API style guide",
            "how endpoints and errors must be named",
            "conventions for designing our web interfaces",
        ),
    ],
    decisions=[
        ("stop using Jira", "abandon the ticket tracker from Atlassian"),
        ("make Fridays meeting-free", "ban calls at the end of the week"),
        ("raise the starter plan to 9 euros", "increase the price of the cheapest tier"),
        ("keep all servers in the EU", "avoid hosting data outside Europe"),
        ("publish the SDK as open source", "release our client library publicly"),
        ("hire a second designer", "grow the design team"),
    ],
    namespaces=("initech", "umbrella"),
)

DRINKS = ["green tea", "espresso", "sparkling water", "chai", "hot chocolate", "mate", "rooibos", "black coffee"]
CITIES = ["Berlin", "Lisbon", "Toronto", "Nairobi", "Osaka", "Krakow", "Austin", "Melbourne", "Bogota", "Oslo"]
FOODS = ["peanuts", "shellfish", "gluten", "eggs", "sesame", "kiwi", "soy", "lactose"]
ANIMALS = ["cat", "dog", "parrot", "rabbit", "tortoise", "ferret"]
PET_NAMES = ["Biscuit", "Pepper", "Mango", "Olive", "Ziggy", "Nacho", "Luna", "Waffles", "Tofu", "Pixel"]
SPORTS = ["tennis", "rock climbing", "rowing", "badminton", "chess", "squash", "cycling", "volleyball"]
LANGUAGES = ["Portuguese", "Japanese", "Swahili", "Polish", "Korean", "Dutch", "Arabic", "Finnish"]
CAUSES = ["an expired TLS certificate", "a full disk", "a bad config push", "a DNS misconfiguration",
          "a memory leak", "a runaway cron job"]  # fmt: skip

# Each relation: (fact wordings, question wordings), per split. {p} person, {s} system name, {d} its
# description, {x} the value. Questions never reuse the fact's key verb where a synonym exists.
PERSON_RELATIONS: dict[str, dict[str, tuple[list[str], list[str]]]] = {
    "drink": {
        "dev": (
            ["{p} drinks {x} every morning.", "{p}'s favourite drink is {x}."],
            ["What does {p} like to have as a beverage?", "Which hot or cold drink would {p} order?"],
        ),
        "blind": (
            ["{p} always orders {x} at the café.", "Offer {p} {x}; it is what they enjoy most."],
            ["If I bring {p} something to sip, what should it be?", "What is {p}'s preferred refreshment?"],
        ),
    },
    "city": {
        "dev": (
            ["{p} works from the {x} office.", "{p} is based in {x}."],
            ["In which city does {p} sit?", "Where is {p} located?"],
        ),
        "blind": (
            ["{p} lives and works in {x}.", "Home base for {p} is {x}."],
            ["Which town is {p} stationed in?", "Where would I meet {p} in person?"],
        ),
    },
    "allergy": {
        "dev": (
            ["{p} is allergic to {x}.", "{p} cannot eat anything with {x}."],
            ["Is there any food {p} must avoid?", "What ingredient makes {p} ill?"],
        ),
        "blind": (
            ["Keep {x} away from {p}: severe allergy.", "{p} reacts badly to {x}."],
            ["What should the caterer leave out of {p}'s meal?", "Does {p} have a dietary restriction?"],
        ),
    },
    "pet": {
        "dev": (
            ["{p} has a {a} called {x}.", "{p}'s {a} is named {x}."],
            ["What is the name of {p}'s animal?", "What did {p} call the {a}?"],
        ),
        "blind": (
            ["{x} the {a} lives with {p}.", "{p} adopted a {a} and named it {x}."],
            ["How is {p}'s companion animal called?", "Which name does {p}'s {a} answer to?"],
        ),
    },
    "sport": {
        "dev": (
            ["{p} plays {x} on weekends.", "{p} is keen on {x}."],
            ["What does {p} do for fun in spare time?", "Which hobby keeps {p} active?"],
        ),
        "blind": (
            ["Saturdays are for {x}, says {p}.", "{p} trains at {x} twice a week."],
            ["What pastime is {p} passionate about?", "How does {p} spend free afternoons?"],
        ),
    },
    "language": {
        "dev": (
            ["{p} speaks fluent {x}.", "{p} grew up speaking {x}."],
            ["Which foreign tongue does {p} know?", "Could {p} translate something for us, and from what?"],
        ),
        "blind": (
            ["{p} is a native {x} speaker.", "{p} can interpret {x} for clients."],
            [
                "What language besides English does {p} master?",
                "Who could help with a translation, and which language does {p} cover?",
            ],
        ),  # fmt: skip
    },
    "manager": {
        "dev": (["{p} reports to {x}.", "{x} is {p}'s manager."], ["Who is {p}'s boss?", "Who does {p} answer to?"]),
        "blind": (
            ["{p}'s line manager is {x}.", "{p} sits in {x}'s team and reports there."],
            ["Who supervises {p}?", "Who approves {p}'s holidays?"],
        ),
    },
    "joined": {
        "dev": (
            ["{p} joined the company in {x}.", "{p}'s first day here was in {x}."],
            ["When did {p} start working with us?", "How long has {p} been employed here?"],
        ),
        "blind": (
            ["{p} was hired in {x}.", "{p} came on board in {x}."],
            ["Since when has {p} been on the payroll?", "What was {p}'s start date?"],
        ),
    },
}
SYSTEM_RELATIONS: dict[str, dict[str, tuple[list[str], list[str]]]] = {
    "owner": {
        "dev": (
            ["{x} owns {s}.", "{s} is maintained by {x}."],
            ["Who is responsible for {d}?", "Which person looks after {d}?"],
        ),
        "blind": (
            ["If {s} breaks, {x} fixes it.", "{x} is the engineer in charge of {s}."],
            ["Who do I page when {d} goes down?", "Who takes care of {d}?"],
        ),
    },
    "platform": {
        "dev": (
            ["{s} runs on {x}.", "{s} is hosted on {x}."],
            ["What infrastructure does {d} use?", "Where is {d} deployed?"],
        ),
        "blind": (
            ["We host {s} on {x}.", "{s} lives on {x} these days."],
            ["On what platform does {d} run?", "Which hosting is behind {d}?"],
        ),
    },
    "incident": {
        "dev": (
            ["{s} went down on {t} because of {x}.", "The {t} outage of {s} was caused by {x}."],
            ["Why did {d} fail on {t}?", "What broke {d} on {t}?"],
        ),
        "blind": (
            ["Root cause of the {s} incident on {t}: {x}.", "On {t}, {x} took {s} offline."],
            ["What was behind the {d} disruption on {t}?", "What caused the {t} problem with {d}?"],
        ),
    },
}
OTHER_RELATIONS: dict[str, dict[str, tuple[list[str], list[str]]]] = {
    "event": {
        "dev": (
            ["The {e} is on {t} in {x}.", "We hold the {e} in {x} on {t}."],
            ["When and where is the {q}?", "Where will the {q} take place?"],
        ),
        "blind": (
            ["Save the date: {e}, {t}, {x}.", "{x} hosts our {e} on {t}."],
            ["What are the details of the {q}?", "Where do we go for the {q}?"],
        ),
    },
    "document": {
        "dev": (
            ["{e} explains {x}.", "{e} covers {x}."],
            ["Which document describes {q}?", "Where is {q} written down?"],
        ),
        "blind": (
            ["For {x}, read {e}.", "{e} sets out {x}."],
            ["What should I read about {q}?", "Is there a write-up on {q}?"],
        ),
    },
    "decision": {
        "dev": (
            ["We decided to {e} because {x}.", "Decision: {e}, since {x}."],
            ["Why did we {q}?", "What was the reason to {q}?"],
        ),
        "blind": (
            ["The team agreed to {e}; reason: {x}.", "{x}, so we will {e}."],
            ["What made us {q}?", "Remind me why we chose to {q}."],
        ),
    },
}
REASONS = ["customers asked for it", "it saves money", "the old way kept breaking", "legal told us to",
           "the team voted for it", "it halves support tickets"]  # fmt: skip
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]  # fmt: skip


def date_text(rng: random.Random) -> str:
    return f"{rng.randint(1, 28)} {rng.choice(MONTHS)}"


def paraphrase_set(split: str, names: Names, rng: random.Random) -> list[dict[str, Any]]:
    facts: list[dict[str, Any]] = []
    questions: list[dict[str, Any]] = []
    people = list(names.people)
    rng.shuffle(people)
    half = len(people) // 2
    teams = {names.namespaces[0]: people[:half], names.namespaces[1]: people[half:]}
    systems = list(names.systems)
    rng.shuffle(systems)
    team_systems = {names.namespaces[0]: systems[::2], names.namespaces[1]: systems[1::2]}
    values = {"drink": DRINKS, "city": CITIES, "allergy": FOODS, "pet": PET_NAMES, "sport": SPORTS,
              "language": LANGUAGES}  # fmt: skip

    def add(ns: str, key: str, relation: str, texts: tuple[list[str], list[str]], slots: dict[str, str]) -> None:
        fact_forms, question_forms = texts
        facts.append({"type": "fact", "key": key, "namespace": ns, "relation": relation,
                      "text": rng.choice(fact_forms).format(**slots)})  # fmt: skip
        questions.append({"type": "question", "namespace": ns, "answer": key, "case": "same",
                          "text": rng.choice(question_forms).format(**slots)})  # fmt: skip

    for ns, team in teams.items():
        for person in team:
            # Five of the eight relations per person: siblings about the same person compete.
            for relation in rng.sample(sorted(PERSON_RELATIONS), 5):
                forms = PERSON_RELATIONS[relation][split]
                if relation == "manager":
                    value = rng.choice([p for p in team if p != person])
                elif relation == "joined":
                    value = f"{rng.choice(MONTHS)} {rng.randint(2015, 2025)}"
                else:
                    value = rng.choice(values[relation])
                slots = {"p": person, "x": value, "a": rng.choice(ANIMALS)}
                add(ns, f"{ns}/{person}/{relation}", relation, forms, slots)
            if rng.random() < 0.25:  # the person moved: an update supersedes the city
                old = f"{ns}/{person}/city"
                if any(f["key"] == old for f in facts):
                    new_city = rng.choice(CITIES)
                    facts.append({"type": "fact", "key": f"{old}/moved", "namespace": ns, "relation": "city",
                                  "supersedes": old, "text": f"{person} has moved to {new_city}."})  # fmt: skip
                    for q in questions:
                        if q["answer"] == old:
                            q["answer"] = f"{old}/moved"
        for name, description, platform in team_systems[ns]:
            for relation, forms in SYSTEM_RELATIONS.items():
                value = {"owner": rng.choice(team), "platform": platform, "incident": rng.choice(CAUSES)}[relation]
                slots = {"s": name, "d": description, "x": value, "t": date_text(rng)}
                add(ns, f"{ns}/{name}/{relation}", relation, forms[split], slots)
        pools = {"event": names.events, "document": names.documents, "decision": names.decisions}
        for relation, pool in pools.items():
            for i, entry in enumerate(pool):
                if i % 2 != names.namespaces.index(ns) % 2 and relation != "event":
                    continue  # documents and decisions are split between the namespaces
                if relation == "event":
                    slots = {"e": entry[0], "q": entry[1], "x": rng.choice(CITIES), "t": date_text(rng)}
                elif relation == "document":
                    slots = {"e": entry[0], "x": entry[1], "q": entry[2]}
                else:
                    slots = {"e": entry[0], "q": entry[1], "x": rng.choice(REASONS)}
                add(ns, f"{ns}/{entry[0]}/{relation}", relation, OTHER_RELATIONS[relation][split], slots)
    # Questions whose answer lives in the other namespace: asked where it is not.
    # Events exist in both namespaces under the same name: asked in the other one, they have an answer there.
    same = [q for q in questions if q["case"] == "same" and not q["answer"].endswith("/event")]
    for q in rng.sample(same, 40):
        other = names.namespaces[1 - names.namespaces.index(q["namespace"])]
        questions.append({**q, "namespace": other, "answer": None, "case": "other_namespace"})
    # Questions about people, systems and things nobody stored.
    nobody = ["Wilhelmina", "Barnaby", "Ottoline", "Cornelius", "Philippa", "Ignatius", "Marisol", "Evander"]
    strays = [("the robot that waters the office plants", "a"), ("the parking garage booking system", "a")]
    for ns in names.namespaces:
        for person in nobody:
            relation = rng.choice(sorted(PERSON_RELATIONS))
            form = rng.choice(PERSON_RELATIONS[relation][split][1])
            text = form.format(p=person, a=rng.choice(ANIMALS), x="")
            questions.append({"type": "question", "namespace": ns, "answer": None, "case": "nowhere", "text": text})
        for description, _ in strays:
            for relation in SYSTEM_RELATIONS:
                form = rng.choice(SYSTEM_RELATIONS[relation][split][1])
                text = form.format(d=description, t=date_text(rng))
                questions.append({"type": "question", "namespace": ns, "answer": None, "case": "nowhere",
                                  "text": text})  # fmt: skip
    return facts + questions


# --- long conversations ---------------------------------------------------------------------------------

# Life events a speaker mentions once. Each: statement forms per split, and questions per split:
# single-hop about this event; "kind" groups events for multi-hop questions ("which cities ...").
LIFE_EVENTS: dict[str, dict[str, Any]] = {
    "pet": {
        "slots": lambda r: {"a": r.choice(ANIMALS), "x": r.choice(PET_NAMES)},
        "dev": (
            [
                "Guess what, I adopted a {a} last weekend! We named it {x}.",
                "We have a new family member: a little {a} called {x}.",
            ],
            ["What is the name of {p}'s new {a}?"],
        ),
        "blind": (
            [
                "Brought home a {a} from the shelter on Saturday, {x} is settling in.",
                "Meet {x}, my {a}; rescued from the shelter this week.",
            ],
            ["How did {p} name the {a} from the shelter?"],
        ),
        "multi": {"dev": "Which animals has {p} taken in?", "blind": "What pets does {p} look after now?"},
    },
    "trip": {
        "slots": lambda r: {
            "x": r.choice(CITIES),
            "l": r.choice(["the old town", "the harbour", "the museum", "the market", "the botanical garden"]),
        },
        "dev": (
            ["Just got back from {x}, {l} was amazing.", "We spent four days in {x}; loved {l}."],
            ["What did {p} enjoy most in {x}?"],
        ),
        "blind": (
            ["Our holiday in {x} was lovely, especially {l}.", "Flew to {x} for a long weekend and saw {l}."],
            ["Which sight in {x} impressed {p}?"],
        ),
        "multi": {"dev": "Which cities has {p} travelled to?", "blind": "Where has {p} been on holiday?"},
    },
    "class": {
        "slots": lambda r: {
            "x": r.choice(
                ["pottery", "salsa", "Italian", "woodworking", "photography", "improv theatre", "watercolour"]
            )
        },
        "dev": (
            ["I signed up for a {x} class on Tuesday evenings.", "Started {x} lessons this week, so much fun."],
            ["What course did {p} enrol in?"],
        ),
        "blind": (
            ["Been going to a {x} workshop after work.", "Took my first {x} lesson yesterday and I'm hooked."],
            ["Which evening lessons is {p} taking?"],
        ),
        "multi": {"dev": "What new skills has {p} been learning?", "blind": "Which classes has {p} attended?"},
    },
    "race": {
        "slots": lambda r: {"x": r.choice(CITIES), "t": f"{r.randint(1, 2)} hours {r.randint(1, 59)} minutes"},
        "dev": (
            ["Finished the {x} half marathon in {t}!", "Ran the {x} half marathon, clocked {t}."],
            ["How long did {p} take to run the {x} race?"],
        ),
        "blind": (
            ["Crossed the finish line of the {x} 21k after {t}.", "My time in the {x} half was {t}, legs are sore."],
            ["What was {p}'s finishing time in {x}?"],
        ),
        "multi": {"dev": "Which races has {p} run?", "blind": "In which cities did {p} compete in running events?"},
    },
    "book": {
        "slots": lambda r: {
            "x": r.choice(
                [
                    "The Overstory",
                    "Piranesi",
                    "Educated",
                    "Dune",
                    "Circe",
                    "Project Hail Mary",
                    "The Remains of the Day",
                ]
            )
        },
        "dev": (
            ["I'm halfway through {x}, can't put it down.", "Reading {x} at the moment, it's gripping."],
            ["Which novel has {p} been reading?"],
        ),
        "blind": (
            ["My book club picked {x}; I finished it in two nights.", "Just read {x} cover to cover."],
            ["What book did {p} devour recently?"],
        ),
        "multi": {"dev": "What books has {p} mentioned?", "blind": "Which titles has {p} read lately?"},
    },
    "move": {
        "slots": lambda r: {
            "x": r.choice(
                ["a flat near the river", "a house with a garden", "a loft downtown", "a cottage outside town"]
            )
        },
        "dev": (
            ["We finally moved into {x}.", "Moving day is done, we live in {x} now."],
            ["Where does {p} live now?"],
        ),
        "blind": (
            ["Keys handed over: our new home is {x}.", "Unpacking boxes in {x}, our new place."],
            ["What kind of home did {p} move into?"],
        ),
        "multi": {"dev": "Where has {p} lived?", "blind": "Which homes has {p} had?"},
    },
}
ADVERSARIAL = {
    "dev": [
        "What instrument does {p} play in the band?",
        "What car did {p} buy?",
        "Which university did {p}'s son choose?",
        "What is {p}'s favourite football team?",
    ],  # fmt: skip
    "blind": [
        "Which musical does {p} want to see?",
        "What motorbike does {p} ride?",
        "Where did {p} get married?",
        "What does {p} grow in the allotment?",
    ],  # fmt: skip
}
FILLER = {
    "dev": [
        "Hey! How has your week been?",
        "Pretty busy at work, honestly.",
        "Haha, that sounds like you.",
        "Oh nice, tell me more.",
        "I know what you mean.",
        "That's wonderful news!",
        "Did you sleep well at least?",
        "We should catch up properly soon.",
        "Work has been a lot lately.",
        "I've been meaning to travel more, but money.",
        "Do you still like animals?",
        "Weather's been awful.",
        "I made soup yesterday, nothing special.",
        "Anyway, how's the family?",
        "Good luck with everything!",
        "I keep telling myself to read more books.",
        "Running sounds exhausting to me.",
        "Talk later!",
    ],
    "blind": [
        "Hi there, long time no talk.",
        "Ugh, Mondays.",
        "No way! Really?",
        "That's brilliant.",
        "Same here, more or less.",
        "I'm so happy for you.",
        "What else is new?",
        "My back hurts again.",
        "I'd love to take some classes one day.",
        "Moving sounds stressful.",
        "Pets are so much work though.",
        "We watched a film last night.",
        "Say hi to everyone for me!",
        "Let's plan a call next week.",
        "Coffee later?",
        "I'm exhausted but fine.",
    ],
}


def conversation(split: str, speakers: tuple[str, str], rng: random.Random, index: int) -> dict[str, Any]:
    start = datetime(2023, 1, 2, 18, 0, tzinfo=UTC) + timedelta(days=rng.randint(0, 200))
    sessions = rng.randint(14, 18)
    happenings: list[tuple[str, int, str, dict[str, str]]] = []  # speaker, session, event kind, slots
    for speaker in speakers:
        for kind in rng.sample(sorted(LIFE_EVENTS), 4):
            for _ in range(rng.choice([1, 1, 2])):  # some happen twice (two trips): multi-hop material
                happenings.append((speaker, rng.randrange(sessions), kind, LIFE_EVENTS[kind]["slots"](rng)))
    turns: list[dict[str, Any]] = []
    said: list[tuple[str, str, dict[str, str], int, datetime]] = []  # speaker, kind, slots, turn, when
    when = start
    for session in range(sessions):
        when += timedelta(days=rng.randint(5, 20), hours=rng.randint(-3, 3))
        at = when
        todays = [h for h in happenings if h[1] == session]
        lines: list[tuple[str, str, str | None, dict[str, str]]] = []
        count = rng.randint(9, 14)
        for i in range(count):
            lines.append((speakers[i % 2], rng.choice(FILLER[split]), None, {}))
        for speaker, _, kind, slots in todays:
            text = rng.choice(LIFE_EVENTS[kind][split][0]).format(**slots)
            lines.insert(rng.randint(1, len(lines)), (speaker, text, kind, slots))
        for speaker, text, kind, slots in lines:
            at += timedelta(minutes=rng.randint(1, 6))
            turn = {"id": f"c{index}-s{session}-t{len(turns)}", "session": f"s{session}", "speaker": speaker,
                    "text": text, "at": at.isoformat()}  # fmt: skip
            if kind is not None:
                said.append((speaker, kind, slots, len(turns), at))
            turns.append(turn)
    questions: list[dict[str, Any]] = []
    for speaker, kind, slots, turn, _ in said:
        form = rng.choice(LIFE_EVENTS[kind][split][1])
        questions.append({"type": "single-hop", "text": form.format(p=speaker, **slots),
                          "evidence": [turns[turn]["id"]]})  # fmt: skip
    for speaker in speakers:
        kinds: dict[str, list[int]] = {}
        for who, kind, _, turn, _ in said:
            if who == speaker:
                kinds.setdefault(kind, []).append(turn)
        for kind, turn_list in kinds.items():
            if len(turn_list) >= 2:
                questions.append({"type": "multi-hop", "text": LIFE_EVENTS[kind]["multi"][split].format(p=speaker),
                                  "evidence": [turns[t]["id"] for t in turn_list]})  # fmt: skip
        months: dict[tuple[int, int], list[int]] = {}
        for who, _, _, turn, at in said:
            if who == speaker:
                months.setdefault((at.year, at.month), []).append(turn)
        for (year, month), turn_list in sorted(months.items())[:3]:
            form = "What was {p} up to in {m} {y}?" if split == "dev" else "Anything new for {p} during {m} {y}?"
            questions.append({"type": "temporal", "text": form.format(p=speaker, m=MONTHS[month - 1], y=year),
                              "evidence": [turns[t]["id"] for t in turn_list]})  # fmt: skip
        for form in rng.sample(ADVERSARIAL[split], 2):
            questions.append({"type": "adversarial", "text": form.format(p=speaker), "evidence": []})
    # The other speaker's event asked about this one: the evidence exists, but for the wrong person.
    for speaker, kind, slots, _, _ in rng.sample(said, 3):
        other = speakers[1 - speakers.index(speaker)]
        if not any(w == other and k == kind for w, k, *_ in said):
            form = rng.choice(LIFE_EVENTS[kind][split][1])
            questions.append({"type": "adversarial", "text": form.format(p=other, **slots), "evidence": []})
    return {"conversation": f"{split}-{index}", "speakers": list(speakers), "turns": turns, "questions": questions}


def conversation_set(split: str, names: Names, rng: random.Random) -> list[dict[str, Any]]:
    people = list(names.people)
    rng.shuffle(people)
    return [conversation(split, (people[2 * i], people[2 * i + 1]), rng, i) for i in range(5)]


def write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def main() -> None:
    for split, names in zip(SPLITS, (DEV, BLIND), strict=True):
        write(HERE / f"memory_paraphrase_{split}.jsonl", paraphrase_set(split, names, random.Random(f"p-{split}")))
        write(HERE / f"memory_conversations_{split}.jsonl", conversation_set(split, names, random.Random(f"c-{split}")))


if __name__ == "__main__":
    main()
