# ruff: noqa: E501  (the prompts are data: long lines read better whole than wrapped)
"""Builds the tier model's training library: `python services/router/library/build.py`.

Writes `src/sophia/router/examples.jsonl` (committed) and the tier model trained on it, `tier_weights.json`
(committed; the service loads it at start), from:
- `handwritten.jsonl`: prompts written one by one, including the hard cases and near-misses (premium phrased
  without cue words, long-but-trivial simple prompts, short premium questions, explanations of hard topics
  that are still balanced);
- the templates below: task shapes x entities x phrasings, seeded so the output is reproducible.

Every line carries a `group` (the template or handwritten source it came from): the calibration split holds
out whole groups, so the temperature is fitted on phrasings the model did not train on.

The blind evaluation set (`bench/data/router_blind.jsonl`) was written and committed before this file, and
nothing here was written while looking at it; the labelled test set `tests/data/tiers.jsonl` is the dev set
and is kept out of the library too.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Iterator
from math import comb
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE.parent / "src" / "sophia" / "router" / "examples.jsonl"
WEIGHTS = OUT.with_name("tier_weights.json")
DEV = HERE.parent / "tests" / "data" / "tiers.jsonl"
BLIND = HERE.parents[2] / "bench" / "data" / "router_blind.jsonl"
PER_TEMPLATE = 24  # at most this many examples per template (fewer where its combinations run out)
rng = random.Random(1804)  # noqa: S311 - reproducible sampling, not security

# -- entities ---------------------------------------------------------------------------------------

COUNTRIES = [
    "Peru",
    "Kenya",
    "Norway",
    "Thailand",
    "Chile",
    "Morocco",
    "Estonia",
    "Nepal",
    "Ghana",
    "Uruguay",
    "Slovenia",
    "Laos",
    "Fiji",
    "Jordan",
    "Iceland",
    "Bolivia",
    "Malaysia",
    "Croatia",
    "Zambia",
    "Oman",
]
BOOKS = [
    ("Middlemarch", "George Eliot"),
    ("Beloved", "Toni Morrison"),
    ("The Trial", "Franz Kafka"),
    ("Dracula", "Bram Stoker"),
    ("Invisible Man", "Ralph Ellison"),
    ("Rebecca", "Daphne du Maurier"),
    ("The Leopard", "Tomasi di Lampedusa"),
    ("Persuasion", "Jane Austen"),
    ("Walden", "Henry David Thoreau"),
    ("Siddhartha", "Hermann Hesse"),
    ("Frankenstein", "Mary Shelley"),
    ("Ulysses", "James Joyce"),
]
ACRONYMS = [
    "NATO",
    "DNS",
    "CPU",
    "UNESCO",
    "VAT",
    "HTML",
    "PDF",
    "FAQ",
    "LED",
    "SCUBA",
    "IPO",
    "ETA",
    "RAM",
    "CEO",
    "NASA",
    "GPS",
    "USB",
    "ATM",
    "KPI",
    "SaaS",
]
SUBSTANCES = ["water", "mercury", "olive oil", "nitrogen", "gold", "iron", "lead", "copper", "helium", "salt"]
ELEMENTS = ["potassium", "silver", "tin", "neon", "calcium", "zinc", "iodine", "cobalt", "platinum", "argon"]
UNITS = [
    ("miles", "kilometres"),
    ("pounds", "kilograms"),
    ("litres", "gallons"),
    ("feet", "metres"),
    ("inches", "centimetres"),
    ("cups", "millilitres"),
    ("acres", "hectares"),
    ("knots", "km/h"),
    ("Celsius", "Fahrenheit"),
    ("ounces", "grams"),
    ("yards", "metres"),
    ("hours", "minutes"),
]
WORDS = [
    "ubiquitous",
    "ephemeral",
    "candid",
    "frugal",
    "lucid",
    "tenacious",
    "benign",
    "obsolete",
    "pragmatic",
    "serene",
    "verbose",
    "gregarious",
    "austere",
    "nuance",
    "resilient",
    "meander",
]
ITEMS = [
    "apples, rice, soap, batteries, tea",
    "Monday standup, Tuesday review, Friday demo",
    "hammer, nails, tape measure, level",
    "Madrid, Athens, Vienna, Prague",
    "red, amber, green",
    "passport, charger, sunscreen, socks",
    "Q1 revenue, Q2 revenue, Q3 revenue",
    "pen, stapler, folders",
]
LINES = [
    "we need the numbers by friday or else",
    "your package is late sorry about that",
    "pls call me back asap re the contract",
    "the meeting got moved, dunno when to",
    "I has finished the report yesterday",
    "thx for the quick turnaround on this",
    "can u send the slides again they didnt attach",
    "the app keeps crashing its so annoying",
]
REVIEWS = [
    "The hotel room was spotless and the staff went out of their way to help.",
    "Shoes fell apart after a week, total waste of money.",
    "Delivery was fine, the product is okay I guess.",
    "Absolutely love this blender, makes smoothies in seconds.",
    "The course was too basic for me.",
    "Waited 40 minutes for a cold pizza. Never again.",
    "Decent headphones for the price.",
]
NAMES = [
    "Priya Raman",
    "Tomasz Nowak",
    "Aiko Sato",
    "Jonas Berg",
    "Fatima Diallo",
    "Luis Ortega",
    "Hannah Whitfield",
    "Mehmet Kaya",
    "Olga Ivanova",
    "Samuel Osei",
]
TOPICS = [
    "composting at home",
    "learning a second language as an adult",
    "remote work etiquette",
    "the history of jazz",
    "saving for a first home",
    "urban cycling",
    "houseplants for dark rooms",
    "starting a podcast",
    "volunteering",
    "sleep hygiene",
    "reducing food waste",
    "amateur astronomy",
    "caring for an older dog",
    "public speaking nerves",
    "the benefits of walking meetings",
]
WRITING = [
    "blog post",
    "newsletter article",
    "short story",
    "speech",
    "product description",
    "cover letter",
    "op-ed",
    "welcome email",
    "poem of several stanzas",
    "landing page copy",
    "brochure text",
    "wedding toast",
    "eulogy",
    "fundraising letter",
    "press release",
]
PAIRS = [
    ("Python", "JavaScript"),
    ("renting", "buying a flat"),
    ("a Roth IRA", "a traditional IRA"),
    ("tea", "coffee"),
    ("Postgres", "MySQL"),
    ("electric cars", "hybrids"),
    ("iPhone", "Android phones"),
    ("Spotify", "Apple Music"),
    ("yoga", "pilates"),
    ("Vue", "React"),
    ("index funds", "ETFs"),
    ("trains", "flying within Europe"),
    ("LED bulbs", "halogen bulbs"),
    ("Notion", "Obsidian"),
]
EXPLAIN = [
    "how a heat exchanger works",
    "how compound interest works",
    "what a neural network is",
    "how tides work",
    "how a bill becomes law in the UK",
    "what inflation is",
    "how GPS finds my position",
    "how noise-cancelling headphones work",
    "what a mortgage offset account is",
    "how DNS resolution works",
    "what a mutex is",
    "what a race condition is",
    "what proof by induction means",
    "what a hedge fund does",
    "how public-key encryption works",
    "what an API is",
    "how garbage collection works in Java",
]
LANGS = ["Python", "JavaScript", "TypeScript", "Go", "Rust", "Java", "C#", "Ruby", "Kotlin", "PHP"]
CODE_TASKS = [
    "parses a date string and returns the weekday",
    "removes duplicate entries from a list of dicts by id",
    "reads a JSON file and prints the keys",
    "validates an email address",
    "merges two sorted lists",
    "counts word frequencies in a text file",
    "converts Celsius to Fahrenheit for a list of values",
    "paginates a list of items",
    "retries an HTTP request three times",
    "computes a moving average",
    "flattens a nested list",
    "renames all .jpeg files in a folder to .jpg",
    "checks if a string is a palindrome",
]
SQL_TASKS = [
    "the five products with the most returns last quarter",
    "monthly active users per country",
    "customers who ordered twice in the same week",
    "average delivery time per courier",
    "employees earning more than their manager",
    "the running total of sales per day",
]
PLANS = [
    "a 3-day trip to Kyoto",
    "a week of packed lunches for a child",
    "a beginner's strength routine",
    "a reading list for learning about economics",
    "a two-week onboarding for a new support agent",
    "a weekend in Edinburgh on a budget",
    "a garden planting schedule for spring",
    "a study plan for a driving theory test",
]

# Premium material: statements to prove, concurrency symptoms, design and strategy dilemmas, stakes.
PROOFS = [
    "every finite field has prime-power order",
    "the square root of 5 is irrational",
    "there is no largest prime",
    "a tree with n nodes has n-1 edges",
    "the harmonic series diverges",
    "every bounded monotone sequence converges",
    "n^3 - n is divisible by 6 for every integer n",
    "the product of two odd numbers is odd",
    "any two bases of a vector space have the same size",
    "a continuous function on a closed interval attains its maximum",
    "there are uncountably many binary sequences",
    "every planar graph can be coloured with six colours",
    "the sum of the first n odd numbers is n^2",
    "a group in which every element is its own inverse is abelian",
    "log2(3) is irrational",
]
PROOF_FRAMES = [
    "Prove that {s}.",
    "Show that {s}.",
    "Why is it true that {s}? Give a rigorous argument.",
    "Can you demonstrate that {s}?",
    "I need a careful proof that {s}.",
    "Is it always the case that {s}? Justify it.",
    "Give me an argument, step by step, that {s}.",
    "prove {s}",
]
SHARED = [
    ("ticket counter", "two clerks"),
    ("stock level", "two API servers"),
    ("seat map", "booking workers"),
    ("wallet balance", "parallel requests"),
    ("coupon usage count", "several pods"),
    ("inventory row", "the import job and the web app"),
    ("session token", "two browser tabs"),
    ("job queue", "three consumers"),
    ("user profile", "the mobile app and the admin panel"),
]
SYMPTOMS = [
    "occasionally ends up wrong by one or two",
    "sometimes gets the same update applied twice",
    "once in a while loses an update",
    "now and then goes negative",
    "rarely but repeatedly shows an old value",
    "sometimes freezes both sides forever",
    "every few days hands the same item to two people",
]
CONC_FRAMES = [
    "Our {thing} {symptom} when {who} touch it at the same moment. What is going on and how do we fix it properly?",
    "Since we added {who}, the {thing} {symptom}. It never happens in testing. Why?",
    "Bug report: the {thing} {symptom}. Both {who} read it, change it and save it back. What's the right fix that still performs?",
    "Why would the {thing} {symptom} only under real traffic, with {who} involved?",
    "The {thing} {symptom}; logs show {who} overlapping within a few milliseconds. Diagnose and propose a fix.",
]
CONC_EXTRA = [
    "My Rust program deadlocks when two threads each take the config lock and then the cache lock in the opposite order. How should I restructure it?",
    "Our Node service double-sends emails when two instances pick the same cron job. How do we make it exactly-once in effect?",
    "A Java HashMap shared between threads sometimes loops forever on get(). Why, and what should we use instead?",
    "Under SERIALIZABLE our transactions abort a lot; under READ COMMITTED we get wrong totals. How do we choose and design around it?",
    "Two replicas accept writes and sometimes a deleted document comes back after a network blip. What conflict-resolution design prevents it?",
    "Our Kotlin coroutine code sometimes updates the UI with results from a request the user already cancelled. How do we make it correct?",
    "Messages from our queue are processed out of order for the same account, which corrupts balances. How do we keep per-account order and still scale?",
    "An atomic flag is set after writing data, but another core sometimes sees the flag and stale data. Explain the memory ordering issue and fix.",
    "Our Python workers share a SQLite file and get 'database is locked' and sometimes lost writes. What's the proper design?",
    "Two microservices both reserve stock and then charge a card; when one fails halfway, stock leaks. What pattern makes this consistent?",
]
SCALES = [
    "a 4-person team with 10k daily users",
    "a 200-engineer company",
    "a seed-stage startup",
    "a bank's internal platform team",
    "a regional hospital IT department",
    "an e-commerce site doing 2,000 orders a minute",
    "a mobile game with 5 million players",
    "a logistics company with 300 depots",
]
DILEMMAS = [
    "split our monolith into services or modularise it in place",
    "move from our own data centre to the cloud",
    "adopt event sourcing for orders",
    "use a single multi-tenant database or one database per customer",
    "build our own search or buy a hosted service",
    "go multi-region active-active or keep a warm standby",
    "rewrite the legacy billing system or strangle it piece by piece",
    "use GraphQL or keep REST for our public API",
    "store time series in Postgres or a dedicated TSDB",
    "run Kafka ourselves or use a managed queue",
]
ARCH_FRAMES = [
    "We are {scale}. Should we {d}? Weigh the trade-offs for our situation.",
    "For {scale}, is it wise to {d}? What would you decide and what are the risks?",
    "Help me decide whether to {d}. Context: {scale}, limited budget, strict uptime needs.",
    "{scale} here. Our CTO wants to {d}. Talk me through whether that's the right call.",
    "What are the second-order consequences if we {d}? We're {scale}.",
]
DESIGNS = [
    "a URL shortener that handles 50k writes a second",
    "a ride-hailing dispatch system",
    "a distributed rate limiter",
    "a ledger that never loses or double-counts money",
    "collaborative editing for spreadsheets",
    "a notification system with per-user quiet hours across time zones",
    "a feature-flag service with instant rollout",
    "an inventory system for 300 warehouses with eventual consistency",
    "a search-as-you-type service for 100M products",
    "a backup system that can restore any file from any day in the last year",
]
DESIGN_FRAMES = [
    "Design {d}. Cover data model, consistency and failure modes.",
    "How would you architect {d}?",
    "Sketch the architecture of {d} and justify the main choices.",
    "what would a robust design for {d} look like",
]
COMPANIES = [
    "a family-run bakery with three shops",
    "a regional airline",
    "a 40-person design agency",
    "a B2B SaaS at 8M ARR",
    "a craft brewery",
    "a mid-sized law firm",
    "a hardware startup",
    "a local newspaper",
    "a chain of physiotherapy clinics",
    "an online furniture retailer",
]
STRATEGY = [
    "expand into a second country",
    "cut prices to win share from a larger rival",
    "raise venture funding or stay bootstrapped",
    "sell to a private equity buyer now or in three years",
    "launch a subscription tier",
    "acquire a struggling competitor",
    "move from direct sales to partners",
    "drop its least profitable product line",
    "open a physical store",
]
STRAT_FRAMES = [
    "Should {c} {s}? Think through the economics and the risks.",
    "{c} is considering whether to {s}. What would you advise, and why?",
    "Make the case for and against: {c} decides to {s}. Where does it break?",
    "If you ran {c}, would you {s}? Be concrete about the trade-offs.",
]
JURIS = [
    "California",
    "New York",
    "Ontario",
    "England",
    "Germany",
    "Texas",
    "Australia",
    "Ireland",
    "Florida",
    "the Netherlands",
]
LEGAL = [
    "my employer says I must repay my signing bonus after being laid off",
    "my co-founder left and wants to keep half his shares",
    "a client won't pay because they say our software has a defect",
    "my landlord is keeping the whole deposit for normal wear",
    "my ex wants to move abroad with our child",
    "a former employee took our customer list to a competitor",
    "I was injured at a gym that had me sign a waiver",
    "our website got a letter claiming it isn't accessible",
    "the seller of our house hid a damp problem",
    "I inherited a share of a house my siblings want to sell",
]
LEGAL_FRAMES = [
    "In {j}, {l}. What are my rights and what should I do?",
    "{l}, in {j}. Can they do that?",
    "We're in {j} and {l}. How exposed are we, and what's our best move?",
    "Is it lawful in {j} if {l}?",
]
FINANCE = [
    "exercise my stock options before or after the company goes public",
    "sell my rental flat this year or next",
    "take the lump sum or the annuity from my pension",
    "pay off my student loan early or invest",
    "convert part of my pension to a Roth this year",
    "buy out my business partner with a loan",
    "accept a job offer with lower salary but more equity",
    "refinance our fixed-rate mortgage now",
]
FIN_FRAMES = [
    "Should I {f}? I'm {age}, earning {inc} a year. Work through the numbers and the tax.",
    "Help me decide whether to {f}. {age}, income {inc}, two kids.",
    "what happens tax-wise if I {f}? {age}, {inc} income",
    "Run the numbers: {f} versus not, for someone aged {age} on {inc}.",
]

# Exam-style multiple choice. Recall is simple; multi-step calculation or reasoning needs the stronger tier.
MC_RECALL = [
    ("Which planet is closest to the Sun?", "Venus|Mercury|Mars|Earth"),
    ("Who developed the theory of general relativity?", "Newton|Bohr|Einstein|Curie"),
    ("Which organ produces insulin?", "Liver|Pancreas|Kidney|Spleen"),
    ("What is the largest mammal?", "Elephant|Blue whale|Giraffe|Orca"),
    ("Which language is primarily spoken in Brazil?", "Spanish|Portuguese|French|Italian"),
    ("The speed of sound in air is closest to:", "34 m/s|343 m/s|3,430 m/s|300,000 km/s"),
    ("Which element is a liquid at room temperature?", "Bromine|Sodium|Carbon|Neon"),
    ("What does a thermometer measure?", "Pressure|Temperature|Humidity|Mass"),
    ("Who was the first person to walk on the Moon?", "Yuri Gagarin|Neil Armstrong|Buzz Aldrin|John Glenn"),
    ("Which vitamin does sunlight help the body make?", "A|C|D|K"),
    ("Which court is the highest in the United Kingdom?", "Court of Appeal|High Court|Supreme Court|Crown Court"),
    ("Which protocol sends email?", "FTP|SMTP|SSH|DHCP"),
    ("What is the main ingredient of guacamole?", "Tomato|Avocado|Pea|Lime"),
    ("Which type of rock forms from cooled lava?", "Sedimentary|Igneous|Metamorphic|Limestone"),
    ("Which economist wrote 'The General Theory of Employment, Interest and Money'?", "Friedman|Keynes|Hayek|Smith"),
    ("Which data structure is FIFO?", "Stack|Queue|Tree|Graph"),
    ("What is the chemical symbol for iron?", "Ir|Fe|In|I"),
    ("Which war ended in 1945?", "World War I|World War II|Korean War|Crimean War"),
]
MC_HARD = [
    ("A fair coin is tossed 6 times. What is the probability of exactly 4 heads?", "15/64|20/64|6/64|1/4"),
    ("If 3x + 2y = 16 and x - y = 2, what is x*y?", "6|8|10|12"),
    ("What is the sum of all positive divisors of 360?", "1170|1080|1260|960"),
    (
        "A loan of 10,000 at 5% compounded annually for 3 years, repaid in equal annual payments. The payment is closest to:",
        "3,333|3,672|3,500|3,855",
    ),
    ("How many 5-card hands contain exactly two pairs?", "123,552|98,280|54,912|1,098,240"),
    ("The remainder of 3^2025 divided by 7 is:", "1|3|5|6"),
    ("A firm with P = 120 - Q and total cost 20Q + 100 maximises profit at output:", "40|50|60|70"),
    ("If f(x) = x^3 - 6x^2 + 9x, the local maximum value is:", "0|2|4|6"),
    ("A project costs 1,000 now and returns 400 a year for 3 years. At 8% its NPV is closest to:", "31|200|-31|120"),
    ("Two dice are rolled. Given the sum is at least 9, the probability it is exactly 10 is:", "1/5|3/10|1/3|1/4"),
    ("In a schedule R1(X) R2(X) W2(X) C2 W1(X) C1, which anomaly occurs?", "Dirty read|Lost update|Phantom read|None"),
    (
        "What is the worst-case number of comparisons to find both the minimum and maximum of 100 numbers?",
        "148|198|150|99",
    ),
    ("An option with delta 0.6 and gamma 0.05: if the stock rises 2, the new delta is about:", "0.5|0.65|0.7|0.8"),
    ("The number of spanning trees of the complete graph on 5 vertices is:", "25|60|125|625"),
    (
        "A tank drains at a rate proportional to the square root of its depth; from 4 m to 1 m takes 10 min. From 1 m to empty takes:",
        "5 min|10 min|20 min|2.5 min",
    ),
    ("What is the smallest positive integer n such that n! is divisible by 1000?", "10|12|15|20"),
    (
        "A country's nominal GDP rose 7% and the deflator 3%. Real growth per person, with population up 1.5%, is about:",
        "2.4%|4%|5.5%|1%",
    ),
    ("How many integers from 1 to 1000 are divisible by neither 6 nor 10?", "767|733|800|700"),
]

PARAGRAPHS = [
    "The quarterly review covered the new warehouse in Rotterdam, which opened two weeks late because of a permit delay. Staffing is now at 85 percent and the picking error rate has fallen to 0.4 percent.",
    "Members are reminded that the annual general meeting takes place on 18 October in the village hall. Nominations for the committee close on 4 October and should be sent to the secretary, Ruth Adeyemi.",
    "Our team spent the sprint on the checkout redesign. The new address form reduced abandoned carts on mobile, while the desktop flow is unchanged. Two bugs remain open, both cosmetic.",
    "The council has approved the new cycle lane on Harbour Road. Works begin in March and last about eleven weeks. Parking on the east side will be suspended during that period.",
    "Patients should arrive fifteen minutes before their appointment and bring a list of current medicines. The clinic moved to Level 2 of the Kingsway building in January; the entrance is on Mill Street.",
    "The museum's winter exhibition features textiles from West Africa, on loan from collections in Lagos and Accra. Guided tours run on Saturdays at 11:00 and 14:00 and cost 6 euros.",
    "Last year the charity distributed 42,000 meals and recruited 310 new volunteers. Donations rose 12 percent, but the cost of refrigerated transport doubled after the contract renewal.",
    "Invoice 2291 for 1,480.00 GBP was issued on 2 May with 30-day terms. A credit note of 120.00 GBP was applied on 9 May after the damaged shipment was reported by Kasia Lewandowska.",
    "The software update adds dark mode, fixes the crash when exporting large reports and changes the default backup interval from daily to every six hours. Users on version 3 must update by 1 July.",
    "Training sessions for the new CRM run on 3, 10 and 17 June. Each session is limited to 12 people. Contact Arjun Pillai in IT to book a place or ask about remote attendance.",
]


def material(n: int) -> str:
    return "\n\n".join(rng.sample(PARAGRAPHS, k=min(n, len(PARAGRAPHS))))


def mc(question: str, options: str) -> str:
    letters = "ABCD"
    body = "\n".join(f"{letters[i]}) {o}" for i, o in enumerate(options.split("|")))
    return rng.choice(
        [
            f"{question}\n{body}\nAnswer with the letter.",
            f"{question}\n{body}",
            f"Question: {question}\n{body}\nAnswer:",
        ]
    )


def casing(text: str) -> str:
    """Phrasings vary in care: some prompts arrive lower-case and without the final punctuation."""
    roll = rng.random()
    if roll < 0.15 and "\n" not in text:
        return text.lower().rstrip("?.!")
    if roll < 0.22:
        return rng.choice(["Please ", "Hey, ", "Quick one: ", "Could you help? "]) + text[0].lower() + text[1:]
    return text


Template = Callable[[], str]
TEMPLATES: dict[str, list[tuple[str, Template]]] = {"simple": [], "balanced": [], "premium": []}


def template(tier: str, name: str) -> Callable[[Template], Template]:
    def register(fn: Template) -> Template:
        TEMPLATES[tier].append((name, fn))
        return fn

    return register


def pick(seq):  # type: ignore[no-untyped-def]
    return rng.choice(seq)


# -- simple ----------------------------------------------------------------------------------------
template("simple", "greet")(
    lambda: pick(
        [
            "hello",
            "hiya!",
            "good morning",
            "hey there, how's it going?",
            "thank you!",
            "thanks, that solved it",
            "ok great",
            "bye for now",
            "nice one, cheers",
            "morning! hope you're well",
            "appreciate it",
            "you're a star, thanks",
        ]
    )
)
template("simple", "capital")(
    lambda: pick(
        [
            "What is the capital of {c}?",
            "capital of {c}?",
            "Which city is {c}'s capital?",
            "Name the capital city of {c}.",
        ]
    ).format(c=pick(COUNTRIES))
)
template("simple", "currency")(
    lambda: pick(
        [
            "What currency does {c} use?",
            "currency in {c}",
            "What's the official language of {c}?",
            "What continent is {c} in?",
        ]
    ).format(c=pick(COUNTRIES))
)
template("simple", "author")(
    lambda: (
        lambda b: pick(
            [
                f"Who wrote {b[0]}?",
                f"author of {b[0]}",
                f"When was {b[0]} published?",
                f"What did {b[1]} write besides {b[0]}? Just titles.",
            ]
        )
    )(pick(BOOKS))
)
template("simple", "acronym")(
    lambda: pick(
        ["What does {a} stand for?", "{a} meaning?", "Expand the acronym {a}.", "what's {a} short for"]
    ).format(a=pick(ACRONYMS))
)
template("simple", "element")(
    lambda: pick(
        [
            "What's the chemical symbol for {e}?",
            "Atomic number of {e}?",
            "Is {e} a metal?",
            "What is the melting point of {e}?",
        ]
    ).format(e=pick(ELEMENTS))
)
template("simple", "boiling")(
    lambda: pick(["At what temperature does {s} boil?", "density of {s}?", "Does {s} conduct electricity?"]).format(
        s=pick(SUBSTANCES)
    )
)
template("simple", "convert")(
    lambda: (
        lambda u: pick(
            [
                f"Convert {rng.randint(2, 900)} {u[0]} to {u[1]}.",
                f"{rng.randint(2, 90)} {u[0]} in {u[1]}?",
                f"how many {u[1]} is {rng.randint(2, 50)} {u[0]}",
                f"What's {rng.randint(2, 300)} {u[0]} in {u[1]}? Just the number.",
            ]
        )
    )(pick(UNITS))
)
template("simple", "arith")(
    lambda: pick(
        [
            f"What is {rng.randint(11, 99)} times {rng.randint(11, 99)}?",
            f"{rng.randint(5, 40)}% of {rng.randint(50, 2000)}?",
            f"What's {rng.randint(100, 9999)} divided by {rng.randint(2, 12)}?",
            f"square root of {rng.choice([144, 225, 289, 324, 400, 625])}",
            f"Round {rng.random() * 100:.5f} to one decimal place.",
            f"Is {rng.randint(100, 999)} a prime number?",
        ]
    )
)
template("simple", "define")(
    lambda: pick(
        [
            "Define '{w}'.",
            "What does '{w}' mean?",
            "Synonym for '{w}'?",
            "Give me an antonym of '{w}'.",
            "Use '{w}' in a sentence.",
            "How do you pronounce '{w}'?",
        ]
    ).format(w=pick(WORDS))
)
template("simple", "format")(
    lambda: pick(
        [
            "Turn into a bulleted list: {i}",
            "Make a numbered list from: {i}",
            "Sort alphabetically: {i}",
            "Convert to a JSON array: {i}",
            "Put these in a markdown table with one column: {i}",
            "Remove duplicates and sort: {i}, {i}",
            "Make this comma list into one item per line: {i}",
        ]
    ).format(i=pick(ITEMS))
)
template("simple", "rewrite")(
    lambda: pick(
        [
            "Make this more professional: '{l}'",
            "Fix the grammar: {l}",
            'Rephrase politely: "{l}"',
            "Rewrite in one short sentence: {l}",
            "Correct the spelling and punctuation: {l}",
            "Make this sound friendlier: {l}",
            "Turn this into a formal sentence: {l}",
        ]
    ).format(l=pick(LINES))
)
template("simple", "translate")(
    lambda: pick(
        [
            "Translate '{l}' into German.",
            "How do you say '{l}' in Spanish?",
            "Translate to French: {l}",
            "Portuguese for '{l}'?",
        ]
    ).format(
        l=pick(
            [
                "good night",
                "where is the pharmacy",
                "I'm allergic to nuts",
                "see you tomorrow",
                "the bill, please",
                "happy birthday",
                "how much does it cost",
            ]
        )
    )
)
template("simple", "sentiment")(
    lambda: pick(
        [
            'Is this review positive, negative or neutral? "{r}"',
            "Sentiment of: {r}",
            "Classify the sentiment (one word): '{r}'",
            "Would you call this review happy or unhappy? {r}",
            "Rate this review from 1 to 5 stars based on its tone: {r}",
        ]
    ).format(r=pick(REVIEWS))
)
template("simple", "topic")(
    lambda: pick(
        [
            "Which category fits this headline: sport, business, science or politics? '{h}'",
            "Tag the topic of: {h}",
            "Label this headline with one topic word: {h}",
        ]
    ).format(
        h=pick(
            [
                "Central bank holds rates steady amid slowing growth",
                "Rovers clinch title on final day",
                "Astronomers spot water vapour on distant exoplanet",
                "Parliament passes housing bill after late-night vote",
                "Retailer's shares jump after strong holiday sales",
                "New antibiotic shows promise in early trials",
            ]
        )
    )
)
template("simple", "route_ticket")(
    lambda: (
        "Which team should handle this: billing, technical support or sales? '"
        + pick(
            [
                "I was charged twice this month.",
                "The export button gives an error 500.",
                "Do you offer discounts for nonprofits?",
                "How do I reset two-factor login?",
                "Can I upgrade to the annual plan mid-cycle?",
            ]
        )
        + "'"
    )
)
template("simple", "spam")(
    lambda: (
        pick(["Is this message spam? ", "Spam or not spam: ", "Phishing or legitimate? "])
        + pick(
            [
                "'Your account is locked, verify your password at this link within 24 hours.'",
                "'Hi Sam, attaching the minutes from Tuesday.'",
                "'You've won a cruise! Reply with your bank details.'",
                "'Reminder: dentist appointment Thursday 10:30.'",
            ]
        )
    )
)
template("simple", "extract_short")(
    lambda: pick(
        [
            "Extract the date from: '{p}'",
            "What is the amount in this line? {p}",
            "Pull out the person's name: {p}",
            "Which city is mentioned here: {p}",
        ]
    ).format(
        p=pick(
            [
                "Meeting with Priya Raman in Leeds on 12 March.",
                "Refund of 54.90 USD approved for order 7781.",
                "Jonas Berg arrives in Oslo on the 4th at 17:20.",
                "Payment of 2,300 EUR due by 30 June to Ortega Builders, Seville.",
            ]
        )
    )
)
template("simple", "extract_long")(
    lambda: (
        pick(
            [
                "List all the dates in the following text:\n\n",
                "Extract every person's name from this text, one per line:\n\n",
                "Which amounts of money appear below? List them.\n\n",
                "What are the deadlines mentioned here?\n\n",
                "Find any email addresses or phone numbers in this text.\n\n",
            ]
        )
        + material(rng.randint(4, 9))
    )
)
template("simple", "classify_long")(
    lambda: (
        material(rng.randint(3, 8))
        + pick(
            [
                "\n\nIs the text above a news item, an announcement or a report? One word.",
                "\n\nWhat language is this written in?",
                "\n\nDoes the text above mention any prices? Yes or no.",
                "\n\nWhich of these paragraphs mentions a date in June? Just quote the first words.",
            ]
        )
    )
)
template("simple", "count_long")(
    lambda: (
        pick(
            [
                "How many paragraphs are in this text?\n\n",
                "Count the numbers that appear in the following:\n\n",
                "How many times does the word 'the' appear below?\n\n",
            ]
        )
        + material(rng.randint(3, 8))
    )
)
template("simple", "format_long")(
    lambda: (
        pick(
            [
                "Convert each paragraph below into a single bullet point, keep the wording:\n\n",
                "Put this text in title case headings, one per paragraph, nothing else:\n\n",
                "Wrap each paragraph below in <p> tags:\n\n",
            ]
        )
        + material(rng.randint(3, 7))
    )
)
template("simple", "csv_long")(
    lambda: (
        pick(
            [
                "Convert this CSV to JSON:\n\n",
                "Which row has the largest amount?\n\n",
                "Sort these rows by date:\n\n",
                "How many rows are there?\n\n",
            ]
        )
        + "date,amount,payee\n"
        + "\n".join(
            f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},{rng.randint(5, 900)}.{rng.randint(0, 99):02d},{pick(NAMES)}"
            for _ in range(rng.randint(15, 60))
        )
    )
)
template("simple", "mc_recall")(lambda: mc(*pick(MC_RECALL)))
template("simple", "yesno")(
    lambda: pick(
        [
            "Is {c} in the EU? yes or no",
            "Does {c} drive on the left?",
            "Is {c} landlocked?",
            "Is {c} bigger than France?",
        ]
    ).format(c=pick(COUNTRIES))
)
template("simple", "how_to_short")(
    lambda: pick(
        [
            "What's the shortcut to copy on a Mac?",
            "How do I check my Python version?",
            "Which command lists files in Linux?",
            "How do I undo the last git commit message?",
            "What's the keyboard shortcut to find text in a page?",
            "How do I take a screenshot on Android?",
            "Which HTTP method is idempotent: POST or PUT?",
            "What's the default port for Postgres?",
            "How do I exit vim?",
            "What does git stash do?",
        ]
    )
)
template("simple", "finance_lookup")(
    lambda: pick(
        [
            "What does APR stand for?",
            "What is a 401(k)?",
            "What's the current ISA allowance in the UK?",
            "What does 'net 30' mean on an invoice?",
            "When is the US tax filing deadline?",
            "What is a W-2 form?",
            "What does EBITDA stand for?",
            "What is a dividend?",
            "What does 'pro bono' mean?",
            "What is a power of attorney?",
            "What's a notary for?",
        ]
    )
)

# -- balanced --------------------------------------------------------------------------------------
template("balanced", "writing")(
    lambda: pick(
        [
            "Write a {w} about {t}.",
            "Draft a {w} on {t}, around {n} words.",
            "Can you write me a {w} about {t}?",
            "I need a {w} about {t} for our community newsletter.",
            "Compose a {w} on the subject of {t}, friendly tone.",
        ]
    ).format(w=pick(WRITING), t=pick(TOPICS), n=pick([300, 500, 700, 900, 1200]))
)
template("balanced", "email")(
    lambda: pick(
        [
            "Write an email to {p} explaining that the project is delayed by two weeks and what we'll do about it.",
            "Draft a message to {p} thanking them for mentoring me this year, a few paragraphs.",
            "Write a polite complaint to {p} about repeated late deliveries, asking for a plan to fix it.",
            "Write a letter to {p} requesting a reference for a master's application.",
        ]
    ).format(p=pick(NAMES))
)
template("balanced", "summary")(
    lambda: (
        pick(
            [
                "Summarise this:\n\n",
                "Give me a short summary of the text below, with the key points.\n\n",
                "TL;DR of the following, in a paragraph:\n\n",
                "Summarize for my manager:\n\n",
            ]
        )
        + material(rng.randint(4, 10))
    )
)
template("balanced", "summary_after")(
    lambda: (
        material(rng.randint(4, 10))
        + pick(
            [
                "\n\nSummarise the above in a few bullet points and flag anything that needs action.",
                "\n\nCan you write a brief summary of this for the team?",
            ]
        )
    )
)
template("balanced", "compare")(
    lambda: (
        lambda p: pick(
            [
                f"Compare {p[0]} and {p[1]}.",
                f"{p[0]} vs {p[1]}: what are the main differences?",
                f"What are the pros and cons of {p[0]} compared with {p[1]}?",
                f"Should I pick {p[0]} or {p[1]} for a beginner? Explain the differences.",
                f"How does {p[0]} differ from {p[1]}?",
            ]
        )
    )(pick(PAIRS))
)
template("balanced", "explain")(
    lambda: pick(
        [
            "Explain {e}.",
            "Can you explain {e} in simple terms?",
            "I've never understood {e}. Walk me through it.",
            "Explain {e} to a new colleague, with an example.",
        ]
    ).format(e=pick(EXPLAIN))
)
template("balanced", "why")(
    lambda: pick(
        [
            "Why is the sky blue?",
            "Why do cats purr?",
            "Why did the Roman Empire split in two?",
            "Why does bread go stale?",
            "Why do planes leave contrails?",
            "Why did the 2008 financial crisis happen? A few paragraphs.",
            "Why is sourdough more digestible for some people?",
            "Why do prices rise when interest rates are low?",
            "Why do some languages have grammatical gender?",
        ]
    )
)
template("balanced", "code")(
    lambda: pick(
        [
            "Write a {l} function that {t}.",
            "In {l}, how would I write something that {t}?",
            "Give me {l} code that {t}, with comments.",
            "{l} snippet that {t} please",
            "Implement a small {l} utility that {t}, and show how to call it.",
        ]
    ).format(l=pick(LANGS), t=pick(CODE_TASKS))
)
template("balanced", "sql")(
    lambda: pick(["Write a SQL query for {t}.", "SQL to get {t}?", "How would I query {t} in Postgres?"]).format(
        t=pick(SQL_TASKS)
    )
)
template("balanced", "fix_code")(
    lambda: (
        pick(
            [
                "Fix this code, it doesn't work:\n\n",
                "Why does this throw an error, and how do I fix it?\n\n",
                "Clean up this function and add error handling:\n\n",
                "Add type hints and tests for:\n\n",
            ]
        )
        + pick(
            [
                "```python\ndef avg(xs):\n    return sum(xs) / len(xs)\nprint(avg([]))\n```",
                "```js\nconst total = items.map(i => i.price).reduce((a, b) => a + b)\nconsole.log(total.toFixed(2))\n```",
                "```python\nimport json\nwith open('data.json') as f:\n    data = json.load(f)\nfor k in data:\n    print(data[k]['name'])\n```",
                "```go\nfunc first(xs []int) int {\n    return xs[0]\n}\n```",
                "```python\ndef get_user(users, id):\n    for u in users:\n        if u.id == id:\n            return u\n    return u\n```",
                "```sql\nSELECT name, COUNT(*) FROM orders GROUP BY customer_id;\n```",
            ]
        )
    )
)
template("balanced", "plan")(
    lambda: pick(
        [
            "Plan {p}.",
            "Give me {p}, day by day.",
            "Put together {p} for me.",
            "Suggest {p} with a short reason for each choice.",
        ]
    ).format(p=pick(PLANS))
)
template("balanced", "ideas")(
    lambda: pick(
        [
            "Give me {n} ideas for {t}.",
            "Brainstorm {n} names for {t}.",
            "List {n} ways to get better at {t}, with a sentence on each.",
        ]
    ).format(n=pick([5, 8, 10, 12]), t=pick(TOPICS))
)
template("balanced", "rewrite_long")(
    lambda: (
        pick(
            [
                "Rewrite this to be clearer and warmer for our customers:\n\n",
                "Improve the flow of this text and make it more engaging:\n\n",
                "Edit this for tone and clarity, keep it about the same length:\n\n",
            ]
        )
        + material(rng.randint(2, 4))
    )
)
template("balanced", "outline")(
    lambda: pick(
        [
            "Outline a presentation on {t}.",
            "Create a lesson plan about {t} for teenagers.",
            "Make a study guide on {t} with key terms and questions.",
            "Write the script for a 5-minute video about {t}.",
        ]
    ).format(t=pick(TOPICS))
)
template("balanced", "howto")(
    lambda: pick(
        [
            "How do I set up a home network with a mesh router? Step by step.",
            "How do I make fresh pasta from scratch?",
            "How do I prepare for a job interview at a consulting firm?",
            "How should I clean a cast-iron pan?",
            "How do I start running if I'm overweight and out of shape?",
            "How do I set up CI for a Python project on GitHub Actions?",
            "How do I write a good README for my open-source project?",
            "How do I repot a large fiddle-leaf fig?",
            "How can I improve my credit score over a year?",
            "What should I include in a small business plan?",
            "How do I deploy a static site to Netlify?",
        ]
    )
)
template("balanced", "explain_hard_topic")(
    lambda: pick(
        [
            "What is the Riemann hypothesis, in plain words?",
            "Explain what a deadlock is with a simple example.",
            "What's the difference between optimistic and pessimistic locking?",
            "Explain how a non-compete clause generally works.",
            "What is capital gains tax and how is it usually calculated?",
            "What is the CAP theorem?",
            "Explain what microservices are and why people use them.",
            "What does a term sheet usually contain?",
            "What is Gödel's incompleteness theorem about, roughly?",
            "Explain the difference between a will and a trust.",
            "How do stock options work for startup employees?",
            "What is eventual consistency?",
        ]
    )
)

# -- premium ---------------------------------------------------------------------------------------
template("premium", "proof")(lambda: pick(PROOF_FRAMES).format(s=pick(PROOFS)))
template("premium", "concurrency")(
    lambda: (lambda s: pick(CONC_FRAMES).format(thing=s[0], who=s[1], symptom=pick(SYMPTOMS)))(pick(SHARED))
)
template("premium", "concurrency_extra")(lambda: casing(pick(CONC_EXTRA)))
template("premium", "architecture")(lambda: pick(ARCH_FRAMES).format(scale=pick(SCALES), d=pick(DILEMMAS)))
template("premium", "design")(lambda: pick(DESIGN_FRAMES).format(d=pick(DESIGNS)))
template("premium", "strategy")(lambda: pick(STRAT_FRAMES).format(c=pick(COMPANIES), s=pick(STRATEGY)))
template("premium", "legal")(lambda: pick(LEGAL_FRAMES).format(j=pick(JURIS), l=pick(LEGAL)))
template("premium", "finance")(
    lambda: pick(FIN_FRAMES).format(
        f=pick(FINANCE), age=rng.randint(26, 64), inc=pick(["$85,000", "£62,000", "€140,000", "$210,000", "£38,000"])
    )
)
template("premium", "mc_hard")(lambda: mc(*pick(MC_HARD)))
template("premium", "word_problem")(
    lambda: pick(
        [
            f"A shop sells pens at {rng.randint(2, 9)} each or {rng.randint(3, 6)} for {rng.randint(10, 25)}. With {rng.randint(40, 120)} to spend and needing at least {rng.randint(8, 20)} pens, what's the most pens I can get and the change? Show the reasoning.",
            f"A tank fills in {rng.randint(3, 9)} hours with pipe A and {rng.randint(4, 12)} with pipe B, and a leak empties it in {rng.randint(10, 20)}. Starting empty with all three, when is it full?",
            f"If I put {rng.randint(200, 900)} a month into a fund returning {rng.randint(3, 9)}% a year for {rng.randint(10, 35)} years, then draw it down over {rng.randint(15, 30)} years, what's the monthly income? Derive it.",
            f"{rng.randint(3, 6)} people each shake hands with everyone else once, except two who refuse to shake with each other. Then {rng.randint(2, 4)} newcomers join and do the same. How many handshakes?",
            f"A dice game: roll two dice, win {rng.randint(5, 20)} on a double, lose {rng.randint(1, 4)} otherwise, and after a double you must roll again. What's the expected value per game?",
            f"A train leaves at {rng.randint(50, 90)} km/h and another follows {rng.randint(15, 50)} minutes later at {rng.randint(95, 140)} km/h. Where do they meet, and what if the first stops for 10 minutes halfway?",
            "Alice is twice as old as Bob was when Alice was as old as Bob is now. Their ages add to 63. How old is each? Explain each step.",
            f"What is the probability that in a group of {rng.randint(20, 40)} people at least two share a birthday, and how does it change if we exclude twins?",
        ]
    )
)
template("premium", "stats")(
    lambda: pick(
        [
            "Our A/B test has a 3% lift but the sample was split unevenly across countries. How do I tell if the result is real?",
            "Sales rose after the campaign, but it was also December. How do I estimate the campaign's actual effect?",
            "Two hospitals: one has a higher survival rate in every age group but a lower one overall. How can that be, and which is better?",
            "We changed the signup flow and the holiday started the same week. How do we attribute the 6% drop?",
            "Our fraud model's precision fell after retraining even though AUC improved. Which do we trust and what do we ship?",
            "Churn looks lower for customers who used feature X. Can we conclude X reduces churn? How would we test it properly?",
        ]
    )
)
template("premium", "debug_subtle")(
    lambda: pick(
        [
            "Our service's p99 latency jumps every 90 seconds even at low load. CPU and memory look flat. What would you investigate, in what order?",
            "Memory grows slowly for days and then the pod is killed, but heap dumps look normal. Where could the leak be?",
            "After upgrading the database driver, some timestamps are off by exactly one hour for a few customers. What's the likely cause?",
            "Why does this loop never terminate for some inputs?\n```python\ndef bsearch(a, x):\n    lo, hi = 0, len(a)\n    while lo < hi:\n        mid = (lo + hi) // 2\n        if a[mid] <= x:\n            lo = mid\n        else:\n            hi = mid\n    return lo\n```",
            "Floating-point totals in our invoices are sometimes off by a cent after we parallelised the summation. Why, and what's the right design?",
            "A recursive descent parser we wrote takes exponential time on some inputs. How do we find out which grammar rules cause it and fix it?",
        ]
    )
)
template("premium", "econ")(
    lambda: pick(
        [
            "If a country pegs its currency and cuts rates while capital flows freely, what happens next? Walk through the mechanism.",
            "Would a universal basic income funded by a carbon tax be inflationary? Trace the effects through prices, wages and employment.",
            "A 10% tariff on imported steel: who ends up paying, and how does it ripple through car prices and jobs?",
            "Why might raising the minimum wage increase employment in a monopsony labour market, and when does that stop holding?",
            "How would you value a loss-making subscription startup growing 80% a year? Build the reasoning, not just a multiple.",
        ]
    )
)


# -- second round: premium phrased plainly across more domains, exam vignettes, simple near-misses ----------------
SYSTEMS = [
    "our checkout API",
    "the nightly ETL",
    "the video transcoder",
    "our search cluster",
    "the billing batch",
    "the mobile sync backend",
    "our message broker",
    "the recommendation service",
    "the login service",
]
SYMPTOMS_2 = [
    "slows to a crawl every day around 2 pm",
    "drops about 1 in 10,000 requests",
    "uses twice the memory after each deploy",
    "returns results from another customer now and then",
    "gets slower the longer it runs",
    "times out only for the largest customers",
    "produces slightly different totals on each rerun",
    "spikes CPU right after a cache flush",
]
OBSERVATIONS = [
    "nothing in the logs",
    "the database looks idle",
    "restarting fixes it for a while",
    "it started after we added a second region",
    "only on Mondays",
    "the graphs are flat except latency",
    "the problem moved when we scaled out",
]
template("premium", "incident")(
    lambda: pick(
        [
            "{s} {y}; {o}. What is going on and how would you find out?",
            "{s} {y} and {o}. Where do we start?",
            "Why would {s} {y}? {o}.",
            "{s} {y}. {o}. Give me your top hypotheses and how to test each.",
        ]
    ).format(s=pick(SYSTEMS), y=pick(SYMPTOMS_2), o=pick(OBSERVATIONS))
)
TAX_SITUATIONS = [
    "moved from Spain to Portugal in July and kept working for my Spanish employer",
    "sold a house I rented out for eight years",
    "received shares from my employer that vested while I lived in two states",
    "freelance for US clients while living in Germany",
    "inherited a portfolio with large unrealised gains",
    "get paid partly in crypto by a Swiss company",
    "have a side business that lost money while my salary went up",
    "transferred my pension abroad when I emigrated",
]
template("premium", "tax")(
    lambda: pick(
        [
            "I {t}. How is that taxed, and what can I do to owe less, legally?",
            "I {t}. Where do I owe tax and what could go wrong?",
            "Tax question: I {t}. Which rules apply and what should I watch out for?",
        ]
    ).format(t=pick(TAX_SITUATIONS))
)
CLAUSES = [
    ("supply agreement", "caps liability at twelve months of fees", "the supplier's outage cost us a major client"),
    ("SaaS contract", "lets the vendor change prices with 30 days' notice", "they tripled the price mid-term"),
    ("shareholder agreement", "has a drag-along at 75%", "the majority wants to sell to a competitor we dislike"),
    ("employment contract", "assigns all inventions to the employer", "I built an app on weekends that's taking off"),
    ("lease", "has a break clause conditional on full compliance", "we owe a small repair bill and want to leave"),
    ("distribution deal", "grants exclusivity in the EU", "a German retailer approached us directly"),
]
template("premium", "contract")(
    lambda: (
        lambda c: pick(
            [
                f"Our {c[0]} {c[1]}, and {c[2]}. Where do we stand?",
                f"The {c[0]} {c[1]}. Now {c[2]}. What are our options and risks?",
                f"{c[2].capitalize()}. Our {c[0]} {c[1]}. Can we get out of it or push back?",
            ]
        )
    )(pick(CLAUSES))
)
ALGO = [
    ("a stream of 10 billion clicks", "the 100 most frequent URLs with little memory"),
    ("two sorted arrays of a million numbers", "the median in logarithmic time"),
    ("a road network of a whole country", "shortest routes that update as traffic changes"),
    ("a list of overlapping meetings", "the fewest rooms needed and which meeting goes where"),
    ("a billion user records", "near-duplicate accounts without comparing all pairs"),
    ("a graph of package dependencies", "an install order and a clear error on cycles"),
    ("hourly prices for a year", "the best single buy and sell, then with at most k trades"),
]
template("premium", "algorithm")(
    lambda: (
        lambda a: pick(
            [
                f"Given {a[0]}, how do I find {a[1]}? Explain the approach and its complexity.",
                f"I have {a[0]} and need {a[1]}. What algorithm, and why does it work?",
                f"Design an efficient way to get {a[1]} from {a[0]}.",
            ]
        )
    )(pick(ALGO))
)
POLICIES = [
    ("rents", "a city caps rent increases at 2% a year"),
    ("coffee prices", "a frost destroys a third of Brazil's crop"),
    ("house prices", "mortgage rates fall from 7% to 4%"),
    ("youth employment", "the minimum wage rises 25% in one step"),
    ("airline fares", "two of the three carriers on a route merge"),
    ("the currency", "the central bank starts buying government bonds at scale"),
]
template("premium", "causal")(
    lambda: (
        lambda p: pick(
            [
                f"What happens to {p[0]} if {p[1]}? Trace the effects over a few years.",
                f"If {p[1]}, what would you expect for {p[0]}, and who wins and loses?",
                f"Suppose {p[1]}. Walk through the knock-on effects on {p[0]}.",
            ]
        )
    )(pick(POLICIES))
)
VIGNETTES = [
    (
        "A 62-year-old smoker has weight loss, a cough and high calcium. The most likely cause is:",
        "Primary hyperparathyroidism|Squamous cell lung cancer|Sarcoidosis|Vitamin D excess",
    ),
    (
        "A buyer inspects goods, pays, and finds a hidden defect three weeks later. Under the UCC, the buyer may most likely:",
        "Do nothing|Revoke acceptance within a reasonable time|Sue in tort only|Demand double damages",
    ),
    (
        "A tenant's guest slips on ice the landlord promised to clear in the lease. Who is most likely liable?",
        "Nobody|The landlord|Only the tenant|The city",
    ),
    (
        "A firm's WACC is 9%; a project has IRR 11% but is riskier than the firm. The right decision is:",
        "Accept because IRR > WACC|Evaluate at a project-specific rate|Reject always|Use the payback period",
    ),
    (
        "A police officer searches a car without a warrant after smelling marijuana in a state where it is legal. The evidence is most likely:",
        "Admissible|Possibly suppressed|Always suppressed|Irrelevant",
    ),
    (
        "Given a 3-stage pipeline with stage times 4, 7 and 5 ns and 1 ns latch delay, the throughput-limited clock period is:",
        "5 ns|7 ns|8 ns|17 ns",
    ),
    (
        "A child has a fever, a barking cough and stridor that worsens at night. The most likely diagnosis:",
        "Epiglottitis|Croup|Asthma|Pneumonia",
    ),
    (
        "A company issues a 5-year bond at par with a 6% coupon; rates rise to 7% one year later. The price is closest to:",
        "96.6|100|103.4|93.0",
    ),
]
template("premium", "mc_vignette")(lambda: mc(*pick(VIGNETTES)))
MC_RECALL_2 = [
    ("What is the capital of Canada?", "Toronto|Ottawa|Montreal|Vancouver"),
    ("How many sides does a hexagon have?", "5|6|7|8"),
    ("Which gas do plants absorb for photosynthesis?", "Oxygen|Carbon dioxide|Nitrogen|Hydrogen"),
    ("Who painted the Sistine Chapel ceiling?", "Raphael|Michelangelo|Leonardo|Donatello"),
    ("What is the freezing point of water in Celsius?", "0|32|100|-10"),
    ("Which continent is Egypt in?", "Asia|Africa|Europe|Oceania"),
    (
        "What does HTML stand for?",
        "HyperText Markup Language|High Tech Modern Language|Home Tool Markup Language|Hyperlink Text Mode Language",
    ),
    ("Which instrument has 88 keys?", "Organ|Piano|Accordion|Harp"),
]
template("simple", "mc_recall_2")(lambda: mc(*pick(MC_RECALL_2)))
template("simple", "short_lookup_2")(
    lambda: pick(
        [
            "Who founded {c}'s first university?",
            "What's the population of {c} roughly?",
            "Which sea borders {c}?",
            "What is {c}'s national dish?",
            "What time zone is {c} in?",
            "Who is the head of state of {c}?",
        ]
    ).format(c=pick(COUNTRIES))
)
template("simple", "one_line_rewrite_2")(
    lambda: pick(
        [
            "Make this headline punchier: '{h}'",
            "Shorten this subject line: '{h}'",
            "Give me a title-case version: {h}",
            "Turn into a question: {h}",
        ]
    ).format(
        h=pick(
            [
                "Quarterly results are now available for download",
                "Our team has moved to a new office on the third floor",
                "Reminder that the parking lot closes early on Friday",
                "New features were added to the dashboard this week",
                "The library will extend its opening hours in December",
            ]
        )
    )
)
template("balanced", "explain_concept_2")(
    lambda: pick(
        [
            "What is {e}? Explain with an example.",
            "Give me an overview of {e} for a beginner.",
            "Teach me the basics of {e}.",
        ]
    ).format(
        e=pick(
            [
                "double-entry bookkeeping",
                "the difference between TCP and UDP",
                "how credit scores are calculated",
                "object-oriented programming",
                "the electoral college",
                "how vaccines are tested",
                "what a VPN does",
                "how solar panels generate electricity",
                "supply and demand",
                "what an ETF is",
            ]
        )
    )
)


# -- third round: exam-style questions. Calculation, several steps or applying a rule to facts: premium;
# recalling a well-known fact: simple (whatever the subject sounds like).
def options(right: float, fmt: str = "{:.2f}") -> str:
    wrong = {right * f for f in (0.5, 0.8, 1.25, 2.0, 1.5)} - {right}
    picks = [*rng.sample(sorted(wrong), 3), right]
    rng.shuffle(picks)
    return "|".join(fmt.format(v) for v in picks)


def numeric_question() -> tuple[str, str]:
    kind = rng.randrange(9)
    if kind == 0:
        a, t = rng.randint(2, 9), rng.randint(3, 12)
        return (
            f"A cart starts from rest and accelerates at {a} m/s^2 for {t} s, then coasts for {t} s. How far has it gone?",
            options(0.5 * a * t * t + a * t * t, "{:.0f} m"),
        )
    if kind == 1:
        n, k = rng.randint(5, 10), rng.randint(2, 4)

        return f"A fair coin is tossed {n} times. What is the probability of exactly {k} heads?", options(
            comb(n, k) / 2**n, "{:.4f}"
        )
    if kind == 2:
        p, r, y = rng.choice([5000, 12000, 20000]), rng.choice([4, 5, 6, 8]), rng.choice([3, 5, 10])
        i = r / 100
        return f"A loan of {p:,} at {r}% a year is repaid in {y} equal annual payments. What is each payment?", options(
            p * i / (1 - (1 + i) ** -y), "{:,.0f}"
        )
    if kind == 3:
        a, b, m = rng.randint(2, 9), rng.randint(50, 999), rng.choice([7, 11, 13])
        return f"What is the remainder when {a}^{b} is divided by {m}?", "|".join(
            str(x) for x in rng.sample(range(m), 4)
        )
    if kind == 4:
        e, x = rng.choice([0.3, 0.6, 1.4, 2.0]), rng.choice([5, 10, 20])
        return f"Demand has price elasticity -{e}. If the price rises {x}%, total revenue changes by roughly:", options(
            x * (1 - e) or 1, "{:+.1f}%"
        )
    if kind == 5:
        r1, r2, r3 = rng.choice([4, 6, 12]), rng.choice([3, 6, 12]), rng.randint(1, 9)
        return (
            f"Resistors of {r1} and {r2} ohm in parallel are in series with {r3} ohm across {rng.randint(6, 24)} V. What is the total resistance?",
            options(r1 * r2 / (r1 + r2) + r3, "{:.1f} ohm"),
        )
    if kind == 6:
        c, v = rng.choice([0.1, 0.2, 0.5]), rng.choice([0.25, 0.5, 2.0])
        return f"How many grams of NaOH (40 g/mol) neutralise {v} L of {c} M sulfuric acid?", options(
            2 * c * v * 40, "{:.1f} g"
        )
    if kind == 7:
        cash, r = rng.choice([300, 500, 800]), rng.choice([6, 8, 10])
        npv = -1000 + sum(cash / (1 + r / 100) ** t for t in (1, 2, 3))
        return (
            f"A project costs 1,000 today and returns {cash} a year for three years. At {r}%, the NPV is closest to:",
            options(npv if npv else 1, "{:,.0f}"),
        )
    p, q = rng.choice([(100, 2), (120, 1), (80, 2)]), rng.choice([10, 20])
    return f"A monopolist faces P = {p[0]} - {p[1]}Q with marginal cost {q}. What price maximises profit?", options(
        (p[0] + q) / 2, "{:.0f}"
    )


def recall_question() -> tuple[str, str]:
    kind = rng.randrange(4)
    if kind == 0:
        book, author = pick(BOOKS)
        others = [*rng.sample([a for _, a in BOOKS if a != author], 3), author]
        rng.shuffle(others)
        return f"Who wrote {book}?", "|".join(others)
    if kind == 1:
        symbols = {
            "potassium": "K",
            "silver": "Ag",
            "tin": "Sn",
            "neon": "Ne",
            "calcium": "Ca",
            "zinc": "Zn",
            "iodine": "I",
            "cobalt": "Co",
            "platinum": "Pt",
            "argon": "Ar",
        }
        element = pick(sorted(symbols))
        others = [*rng.sample([s for e, s in symbols.items() if e != element], 3), symbols[element]]
        rng.shuffle(others)
        return f"What is the chemical symbol for {element}?", "|".join(others)
    if kind == 2:
        return pick(
            [
                ("Which organ pumps blood around the body?", "Lungs|Heart|Liver|Kidney"),
                ("What is the largest planet in the solar system?", "Saturn|Jupiter|Neptune|Earth"),
                (
                    "Which branch of government makes laws in most democracies?",
                    "Executive|Legislature|Judiciary|Military",
                ),
                (
                    "What does CPU stand for?",
                    "Central Processing Unit|Computer Personal Unit|Central Program Utility|Core Processing Unit",
                ),
                (
                    "Which accounting statement shows assets and liabilities?",
                    "Income statement|Balance sheet|Cash flow statement|Budget",
                ),
            ]
        )
    return pick(
        [
            ("Who was the first President of the United States?", "Lincoln|Washington|Jefferson|Adams"),
            ("In which country are the pyramids of Giza?", "Mexico|Egypt|Peru|Sudan"),
            ("What is H2O?", "Salt|Water|Oxygen|Hydrogen peroxide"),
            ("Which animal is known as the king of the jungle?", "Tiger|Lion|Elephant|Gorilla"),
        ]
    )


APPLY = [
    (
        "A landowner grants an easement to a neighbour, then sells the land to a buyer who knew of it. Is the buyer bound?",
        "No, never|Yes|Only if recorded twice|Only for a year",
    ),
    (
        "A minor signs a contract for a car and later wants out. The contract is most likely:",
        "Void|Voidable by the minor|Enforceable|Illegal",
    ),
    (
        "An offer says 'accept by Friday'; the offeree posts acceptance Thursday, it arrives Monday. Under the mailbox rule:",
        "No contract|A contract formed Thursday|A contract formed Monday|The offer lapsed",
    ),
    (
        "A patient on warfarin starts a new antibiotic and their INR doubles. The best next step is:",
        "Ignore it|Review the interaction and adjust the dose|Double the warfarin|Stop all medicines",
    ),
    (
        "A company receives a 3-year prepaid service fee. Under accrual accounting, revenue in year one is:",
        "All of it|One third|None|Half",
    ),
    (
        "An employee is fired a week after reporting a safety violation. The strongest claim is:",
        "Defamation|Retaliation|Breach of warranty|Negligence",
    ),
    (
        "A bank's assets reprice in 5 years and liabilities in 1 year. If rates rise, net interest income:",
        "Rises|Falls|Is unchanged|Doubles",
    ),
    (
        "A 30-year-old has sudden tearing chest pain radiating to the back and unequal arm blood pressures. Most likely:",
        "Angina|Aortic dissection|Pericarditis|Reflux",
    ),
]
template("premium", "mc_numeric")(lambda: mc(*numeric_question()))
template("premium", "mc_apply_rule")(lambda: mc(*pick(APPLY)))
template("simple", "mc_recall_3")(lambda: mc(*recall_question()))


# -- assembly --------------------------------------------------------------------------------------


def generated() -> Iterator[dict[str, str]]:
    for tier, templates in TEMPLATES.items():
        for name, make in templates:
            seen: set[str] = set()
            for _ in range(PER_TEMPLATE * 4):
                text = casing(make())
                if text not in seen:
                    seen.add(text)
                if len(seen) == PER_TEMPLATE:
                    break
            for text in sorted(seen):
                yield {"prompt": text, "tier": tier, "group": f"template:{name}"}


def handwritten() -> Iterator[dict[str, str]]:
    for i, line in enumerate((HERE / "handwritten.jsonl").read_text(encoding="utf-8").splitlines()):
        if line.strip():
            row = json.loads(line)
            yield {**row, "group": row.get("group", f"hand:{i}")}


def main() -> None:
    rows = list(itertools.chain(handwritten(), generated()))
    prompts = set()
    unique = []
    for row in rows:
        if row["prompt"] not in prompts:
            prompts.add(row["prompt"])
            unique.append(row)
    # The evaluation sets must stay out of the library (exact prompts; their content is not read here).
    for held_out in (DEV, BLIND):
        lines = held_out.read_text(encoding="utf-8").splitlines()
        kept = {json.loads(line)["prompt"] for line in lines if line.strip()}
        clash = sorted(prompts & kept)
        if clash:
            raise SystemExit(f"{len(clash)} library prompt(s) are in {held_out.name}: {clash[:3]}")
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in unique), encoding="utf-8")
    counts = {t: sum(r["tier"] == t for r in unique) for t in TEMPLATES}
    print(f"{len(unique)} examples written to {OUT}: {counts}")
    from sophia.router import tiers

    WEIGHTS.write_text(tiers.TierModel.train(tiers.load_examples()).to_json() + "\n", encoding="utf-8")
    print(f"the tier model trained on them written to {WEIGHTS}")


if __name__ == "__main__":
    main()
