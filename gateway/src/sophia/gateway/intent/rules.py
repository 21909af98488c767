"""Lexical rules: the signals a word or phrase gives away (an Asana task is `business`, "rollback prod"
needs approval). They complement the nearest-neighbour vote, which knows phrasing but not policy.

The approval rules are deliberately eager: a missed approval is the dangerous error, so every pattern
that could mean a deploy, a production change, a deletion, a protected push or an outside message
counts, and only an explicit read, preview, draft or how-to question turns one off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sophia.gateway.intent.schema import Action, Capability, Urgency


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")", re.IGNORECASE)


CAPABILITY_CUES: dict[Capability, re.Pattern[str]] = {
    "business": _words(
        r"slack\b",
        r"gong\b",
        r"hubspot",
        r"salesforce",
        r"notion\b",
        r"asana\b",
        r"crm\b",
        r"deals?\b",
        r"pipeline\b(?!s? (?:run|job|fail|stage|config))",
        r"customers?\b",
        r"clients?\b",
        r"prospects?\b",
        r"accounts? (?:team|manager|exec)",
        r"sales\b",
        r"revenue\b",
        r"quota\b",
        r"renewals?\b",
        r"churn",
        r"e-?mail(?:ed|s)?\b",
        r"#[a-z]",
        r"sales calls?",
        r"calls? with",
        r"tasks?\b(?! ?(?:queue|runner|def))",
        r"opportunit",
        r"leads?\b",
        r"wiki\b",
        r"meeting notes",
        r"tell (?:the|them|everyone)",
        r"announce",
    ),
    "code": _words(
        r"repo(?:sitor(?:y|ies))?s?\b",
        r"branch(?:es)?\b",
        r"commits?\b",
        r"pull requests?",
        r"\bPRs?\b",
        r"merge",
        r"diff\b",
        r"blame\b",
        r"lint",
        r"code\b",
        r"codebase",
        r"function\b",
        r"class\b",
        r"module\b",
        r"refactor",
        r"unit tests?",
        r"test suite",
        r"bug\b",
        r"stack ?trace",
        r"\w+\.(?:py|ts|tsx|js|go|rs|java)\b",
        r"source\b",
        r"script\b",
        r"endpoint handler",
        r"review (?:the|my|this) (?:change|pr|code|diff)",
        r"git\b",
        r"push\b(?! notification)",
        r"rebase",
        r"cherry-pick",
        r"changelog",
        r"release notes",
    ),
    "infra": _words(
        r"deploy",
        r"redeploy",
        r"roll ?back",
        r"roll ?out",
        r"pulumi",
        r"stacks?\b",
        r"clusters?\b",
        r"k8s",
        r"kubernetes",
        r"staging\b",
        r"prod(?:uction)?\b(?! (?:bug|code|branch))",
        r"infra",
        r"terraform",
        r"nodes?\b(?!\.js)",
        r"node pool",
        r"replicas?\b",
        r"autoscal",
        r"drift\b",
        r"tear ?down",
        r"teardown",
        r"provision",
        r"environments?\b",
        r"vpc\b",
        r"dns\b",
        r"tls cert",
        r"certificates?\b",
        r"load balancer",
        r"buckets?\b",
        r"databases? (?:instance|server)",
        r"outputs?\b",
        r"cloud\b",
        r"aws\b",
        r"gcp\b",
        r"azure\b",
    ),
    "memory": _words(
        r"remember",
        r"recall\b",
        r"forget",
        r"memor(?:y|ies)",
        r"what did (?:we|i) (?:decide|agree|say)",
        r"(?:we|i) (?:decided|agreed)",
        r"note (?:that|down)",
        r"keep in mind",
        r"prune",
        r"conversation history",
        r"last (?:few )?turns",
        r"what do you know about",
        r"(?:do|did) (?:we|you|i) remember",
        r"(?:in|from|to|check) (?:our |your |the )?memory",
        r"what have i told you",
        r"make a note",
        r"note:",
        r"record (?:our|the|that|this|a) (?:decision|fact|preference)",
        r"remind me",
        r"reminders?",
        r"session\b",
        r"what (?:do )?you know",
        r"did (?:we|i) (?:say|tell)",
        r"we said",
        r"you told me",
        r"i told you",
        r"what was agreed",
        r"store (?:this|that|the fact)",
    ),
    "visual": _words(
        r"mock-?ups?",
        r"screenshots?",
        r"images?\b",
        r"photos?\b",
        r"pictures?\b",
        r"diagrams?\b",
        r"wireframes?",
        r"scans?\b",
        r"scanned",
        r"figma",
        r"logos?\b",
        r"visuals?\b",
        r"icons?\b",
        r"designs?\b(?! doc)",
        r"banner",
        r"slides?\b",
        r"whiteboard",
    ),
    "router": _words(
        r"llm",
        r"models?\b(?! (?:the|our) data)",
        r"tokens?\b",
        r"gpt",
        r"claude",
        r"openai",
        r"anthropic",
        r"prompts?\b",
        r"tiers?\b",
        r"(?:ai|llm|model|inference) (?:spend|cost|bill|usage)",
        r"route\b",
        r"cache hit",
        r"write (?:me )?(?:a|an) (?:poem|haiku|story|limerick|tagline|slogan)",
        r"translate",
        r"rewrite",
        r"rephrase",
        r"proofread",
        r"fallbacks?",
        r"compose (?:a|an)\b",
        r"headlines?",
        r"taglines?",
        r"slogans?",
        r"(?:ad|marketing|product) copy",
        r"difference between",
        r"think hard",
        r"poem",
        r"ode\b",
        r"haiku",
        r"in plain english",
        r"with an llm",
        r"budget",
        r"spend\b",
        r"latency of (?:the )?models?",
    ),
}

# Words that name a system outright ("check memory", "in Asana", "the pulumi stack"): a request that
# names one needs it, whatever its neighbours say.
NAMED_SYSTEMS: dict[Capability, re.Pattern[str]] = {
    "memory": _words(r"memor(?:y|ies)\b", r"remember", r"recall\b", r"forget"),
    "business": _words(r"slack\b", r"gong\b", r"hubspot", r"salesforce", r"notion\b", r"asana\b", r"crm\b"),
    "code": _words(r"repo(?:sitor(?:y|ies))?s?\b", r"git\b", r"pull requests?", r"\bPRs?\b", r"commits?\b"),
    "infra": _words(r"pulumi", r"k8s", r"kubernetes", r"clusters?\b", r"stacks?\b"),
    "visual": _words(r"mock-?ups?", r"screenshots?", r"figma", r"wireframes?"),
    "router": _words(r"llm", r"gpt", r"claude\b", r"tokens?\b", r"model tiers?"),
}

# Verb cues per action, strongest first within a clause; "then" clauses are read separately.
ACTION_CUES: dict[Action, re.Pattern[str]] = {
    "deploy": _words(
        r"deploy",
        r"redeploy",
        r"ship\b",
        r"roll ?out",
        r"release\b(?! notes| branch)",
        r"promote",
        r"pulumi up",
        r"go live",
        r"roll ?back",
        r"launch\b",
    ),
    "delete": _words(
        r"delete",
        r"remove",
        r"forget",
        r"prune\b(?!.*(?:candidates|dry run|preview))",
        r"purge",
        r"wipe",
        r"erase",
        r"destroy",
        r"tear ?down",
        r"teardown",
        r"drop\b",
        r"get rid of",
        r"decommission",
        r"clear (?:out|all|the)",
    ),
    "modify": _words(
        r"update",
        r"change",
        r"edit\b",
        r"modify",
        r"rename",
        r"merge",
        r"commit",
        r"rebase",
        r"fix\b",
        r"patch",
        r"bump",
        r"upgrade",
        r"scale",
        r"resize",
        r"rotate",
        r"archive",
        r"move\b",
        r"apply",
        r"refactor",
        r"set\b",
        r"replace",
        r"mark\b",
        r"reassign",
        r"tag\b",
        r"correct\b",
        r"refresh",
    ),
    "create": _words(
        r"create",
        r"open\b",
        r"new\b",
        r"draft",
        r"write\b",
        r"post\b",
        r"send\b",
        r"add\b",
        r"make\b",
        r"start\b",
        r"file (?:a|an)\b",
        r"schedule",
        r"generate",
        r"remember",
        r"note\b",
        r"log\b(?! of)",
        r"tell\b",
        r"let .* know",
        r"announce",
        r"notify",
        r"ping\b",
        r"email\b",
        r"index\b",
        r"branch off",
        r"set up",
        r"compose",
        r"remind",
    ),
    "optimize": _words(
        r"optimi[sz]e",
        r"speed up",
        r"faster",
        r"reduce",
        r"cut (?:the|our|down)",
        r"cheaper",
        r"lower (?:the|our)",
        r"right-?siz",
        r"tune\b",
        r"improve (?:the )?(?:performance|latency)",
        r"save (?:money|cost)",
        r"too (?:slow|expensive)",
    ),
    "monitor": _words(
        r"monitor",
        r"watch\b",
        r"drift",
        r"keep an eye",
        r"alert me",
        r"is .* (?:up|down|healthy)",
        r"health",
        r"status of",
        r"uptime",
        r"track\b",
    ),
    "analyze": _words(
        r"summari[sz]e",
        r"summary",
        r"analy[sz]e",
        r"review",
        r"preview",
        r"dry ?run",
        r"compare",
        r"diagnose",
        r"why\b",
        r"explain",
        r"investigate",
        r"assess",
        r"audit",
        r"evaluate",
        r"what would",
        r"break ?down",
        r"root cause",
        r"insights?",
    ),
    "query": _words(
        r"find\b",
        r"search",
        r"look up",
        r"show\b",
        r"list\b",
        r"get\b",
        r"fetch",
        r"what\b",
        r"which\b",
        r"who\b",
        r"where\b",
        r"when\b",
        r"how many",
        r"recall",
        r"pull up",
        r"any\b",
    ),
}

URGENCY_CUES: dict[Urgency, re.Pattern[str]] = {
    "immediate": _words(
        r"now\b",
        r"right away",
        r"asap",
        r"urgent",
        r"immediately",
        r"emergency",
        r"incident",
        r"is down",
        r"are down",
        r"outage",
        r"on fire",
        r"broken",
        r"blocked",
        r"before the demo",
        r"in \d+ min",
        r"p0\b",
        r"sev ?[12]\b",
        r"hotfix",
        r"quick(?:ly)?!",
        r"rollback prod",
        r"roll back prod",
        r"failing in prod",
        r"right this second",
    ),
    "planned": _words(
        r"tomorrow",
        r"next (?:week|sprint|month|quarter|release)",
        r"by (?:monday|tuesday|wednesday|"
        r"thursday|friday|eod|end of)",
        r"this (?:week|afternoon|evening)",
        r"remind",
        r"schedule",
        r"later\b",
        r"after the",
        r"on (?:monday|tuesday|wednesday|thursday|friday)",
        r"tonight",
    ),
    "exploratory": _words(
        r"what if",
        r"how (?:does|do|would|could|should|can)",
        r"why\b",
        r"could we",
        r"should we",
        r"brainstorm",
        r"ideas?\b",
        r"explore",
        r"curious",
        r"wonder",
        r"compare",
        r"is it possible",
        r"options for",
        r"pros and cons",
        r"what does",
        r"what's the difference",
    ),
}

# -- approval --------------------------------------------------------------------------------

# Slang for changing the size of something: "crank the workers up", "beef up the db", "double the disk".
_SLANG_CHANGES = (
    r"crank",
    r"beef (?:up|\w+ up)",
    r"up-?size",
    r"down-?size",
    r"shrink",
    r"grow\b",
    r"double\b",
    r"halve\b",
)
_INFRA_CHANGE = _words(
    r"deploy",
    r"redeploy",
    r"reconcile",  # "reconcile the drift on X-prod": make the stack match its code, an apply
    r"tear [\w-]+(?: back)? down",
    r"ship\b",
    r"roll\b",
    r"roll ?back",
    r"promote",
    r"pulumi up",
    r"\bup\b the",
    r"apply",
    r"destroy",
    r"tear ?down",
    r"teardown",
    r"decommission",
    r"go live",
    r"release (?:it|to|the)",
    r"scale",
    r"resize",
    r"upgrade",
    r"provision",
    r"launch",
    r"rotate .* apply",
    r"refresh",
    r"re-?sync",
    r"sync\b",
    r"revert",
    r"undo",
    r"kill",
    r"restart",
    r"reset",
    r"increase",
    r"decrease",
    r"bump",
    r"live\b",
    r"stop\b",
    r"shut ?down",
    r"migrate",
    r"put\b",
    r"push\b",
    r"get [\w-]+ (?:live|onto|into|out)",
    # Changes said with everyday verbs; they count only next to an infrastructure target (below).
    r"add\b",
    r"give\b(?! (?:me|us|you|them|him|her)\b)",  # "give prod another zone", not "give me three taglines"
    r"turn (?:off|on)",
    r"expand",
    r"enlarge",
    r"recreate",
    r"switch\b",
    r"move\b",
    *_SLANG_CHANGES,
    r"spin (?:up|\w+ up)",
    r"stand (?:up|\w+ up)",
    r"bring (?:up|\w+ up)",
    r"nuke",
    r"zap\b",
    r"torch",
    r"blow (?:away|\w+ away)",
    r"scrap\b",
    r"trash\b",
    r"ditch\b",
)
_INFRA_TARGET = _words(
    r"stacks?\b",
    r"staging",
    r"stage\b",
    r"prod",
    r"production",
    r"clusters?\b",
    r"environments?",
    r"infra",
    r"k8s",
    r"kubernetes",
    r"nodes?\b",
    r"the (?:api|app|service|build|site|fleet)",
    r"to (?:qa|dev|sandbox|perf)\b",
    r"[\w-]{0,128}env\b",  # bounded: unbounded, a long "a-a-a-…" run took quadratic time
    r"\bqa\b",
    r"sandbox",
    r"\bperf\b",
    r"\bdev\b",
    r"replicas?",
    # Cloud resources: a change to one is a change to infrastructure, whatever the stack is called.
    r"v?cpus?\b",
    r"gpus?\b",
    r"subnets?\b",
    r"vpcs?\b",
    r"availability zones?",
    r"nat gateways?",
    r"load balancers?",
    r"instances?\b",
    r"instance (?:type|tier|class|size)",
    r"node pools?",
    r"worker pools?",
    r"(?:ci )?runners?\b",
    r"dns records?",
    r"disks?\b",
    r"volumes?\b",
    r"regions?\b",
)
_PRODUCTION = _words(r"prod\b", r"production", r"live (?:site|system|database|db|traffic)", r"customers? data")
_CHANGE = _words(
    r"change",
    r"modify",
    r"update",
    r"set\b",
    r"restart",
    r"migrate",
    r"pin\b",  # "pin the prod summariser to the premium tier"
    r"switch",
    r"reconcile",
    r"patch",
    r"bump",
    r"edit",
    r"flip",
    r"toggle",
    r"enable",
    r"disable",
    r"apply",
    r"deploy",
    r"delete",
    r"drop",
    r"truncate",
    r"scale",
    r"roll ?back",
    r"rotate",
    r"kill",
    r"reboot",
    r"failover",
    r"refresh",
    r"resize",
    r"upgrade",
    r"push",
    r"merge",
    r"hotfix",
    r"remove",
    r"wipe",
    r"destroy",
    r"revert",
    r"undo",
    r"increase",
    r"decrease",
    r"raise",
    r"lower",
    r"stop\b",
    r"resync",
    r"sync\b",
    r"reset",
    r"live\b",
    r"release",
    r"ship",
    r"roll",
    r"get [\w-]+ (?:live|onto|into|out)",
    r"turn (?:on|off)",
    r"grant",
    r"revoke",
    r"rename",
    r"run\b",
    r"execute",
    r"fix\b",
    *_SLANG_CHANGES,
    r"spin (?:up|\w+ up|down)",
    r"nuke",
    r"zap\b",
    r"torch",
    r"blow (?:away|\w+ away)",
    r"clobber",
    r"overwrite",
)
_DELETION = _words(
    r"delete",
    r"remove",
    r"forget",
    r"prun(?:e|ing)",
    r"purge",
    r"must go",
    r"take (?:down|out)",
    r"reset (?:your|the|all|my|our) (?:memor|index|data)",
    r"start (?:over|fresh) with",
    r"unindex",
    r"wipe",
    r"erase",
    # "drop a note in #x", "drop it in #y", "drop me a line" post a message, they delete nothing.
    r"drop\b(?!\s+(?:a|an)\s+(?:quick\s+)?(?:note|line|message|comment|link|reminder|heads)|\s+(?:me|us|them|him|her)\b|"
    r"[^.;]*\bin(?:to)?\s+(?:the\s+)?#)",
    r"destroy",
    r"get rid of",
    r"clear (?:out|all|the|every)",
    r"clean ?up",
    r"tear ?down",
    r"teardown",
    r"truncate",
    r"decommission",
    r"nuke",
    r"un-?index",
    # Slang and everyday words for the same: "zap every memory", "blow away the env", "torch the old stack".
    r"zap\b",
    r"blow (?:away|\w+ away)",
    r"torch",
    r"scrap\b",
    r"trash\b",
    r"ditch\b",
    r"axe\b",
    r"kill off",
    r"obliterate",
    r"de-?dupe?\b",
    r"deduplicate",
    r"get shot of",
    r"tear [\w-]+(?: back)? down",  # "tear nightjar-preview back down"
    # Archiving is an edit, unless it is for good: "archive the onboarding space for good" removes it.
    r"archive\b[^.;]{0,80}?\b(?:for good|permanently|forever)",
)
_PROTECTED_BRANCH = (
    r"\b(?:main|master|trunk|release[/-]?[\w.]*|prod(?:uction)? branch|protected|default branch|stable branch)\b"
)
_PROTECTED_PUSH = re.compile(
    r"\b(?:(?:push|merge|force[- ]push|land|fast-forward|ff|get|put|bring|ship)\b[^.;]*?|(?:into|onto|to) |"
    r"directly (?:on|to|in|into) )" + _PROTECTED_BRANCH,  # "edit the README directly on main": a commit to it
    re.IGNORECASE,
)
# A history rewrite whose object is the protected branch itself ("clobber main", "hard reset release/3.2",
# "rewrite history on master"), not a feature branch rebased onto it ("rebase feat/x on top of main").
_PROTECTED_REWRITE = re.compile(
    r"\b(?:clobber|overwrite|stomp (?:on|over)|rewrite|reset|rewind|squash|amend|rebase|force|filter-repo|"
    r"blow away|nuke|trash)\b\s+(?:(?!(?:to|onto|into|of|from|with|against|than|like)\b)[\w'-]+\s+){0,4}?"
    + _PROTECTED_BRANCH,
    re.IGNORECASE,
)
_MESSAGE = _words(
    r"send",
    r"e-?mail",
    r"tell",
    r"message",
    r"post",
    r"reply",
    r"respond",
    r"notify",
    r"ping",
    r"dm\b",
    r"share",
    r"let [\w#@' -]{1,40} know",  # "let #partner-x know", "let Acme's admins know"
    r"inform",
    r"update (?:them|the client|the customer)",
    r"announce",
    r"write (?:to|back|in)\b",
    r"follow up with",
    r"reach out",
    # Replies said as answers: "answer the Kestrel folks", "get back to Bramble", "circle back with them".
    r"answer",
    r"get back to",
    r"circle back",
    r"loop (?:in|\w+ in)",
    r"drop (?:a|the|them|it|this|that)\b",
    r"forward",
    r"heads-?up",
    r"cc\b",
    r"fire (?:it |this |that |them )?off",  # a draft sent: "fire it off"
    r"shoot (?:a |an |them a |him a |her a )?(?:note|message|line|email|mail)",
)
_SHARED_MARK = r"(?:ext|shared|external|partners?|customers?|clients?|connect|vendors?)"
_OUTSIDE_CHANNEL = re.compile(  # "#acme-ext", "#ext-acme", "#shared-contoso", "#partner-x": a prefix or a suffix
    rf"#(?:[\w-]*-{_SHARED_MARK}|{_SHARED_MARK}-[\w-]+)\b", re.IGNORECASE
)
_ANY_CHANNEL = re.compile(r"(?<![\w&])#[a-z][\w-]*", re.IGNORECASE)
# Bounded repeats: an address's local part is at most 64 characters (RFC 5321), and "by email" counts within
# 300 characters of its "send". Unbounded, a hostile run was searched from every position: "a-a-a-…" and
# "send send send …" took time quadratic in their length (40,000 characters: 4 s and 6 s).
_EMAIL_SEND = re.compile(
    r"\b(?:e-?mail\b(?! (?:draft|template))|send\b[^.;]{0,300}?\b(?:e-?mail|by mail)|[\w.+-]{1,64}@[\w-]+\.[\w.]+)",
    re.IGNORECASE,
)
_NAMED_RECIPIENT = re.compile(  # "tell the Hooli folks", "send Tyrell the ...", "to the Soylent admins"
    r"\b(?:send|tell|message|ping|email|notify|inform|remind|thank|update)\s+(?:the\s+|our\s+)?[A-Z][\w&-]+"
    # "respond to Initech ..."
    r"|\b(?:reply|respond|get back|write back|confirm|circle back)\s+to\s+(?:the\s+)?[A-Z][\w&-]+"
    r"|\bto\s+(?:the\s+)?[A-Z][\w&-]+(?:\s+[A-Z][\w&-]+)?(?:'s)?(?:\s+[a-z]+)?\s+(?:team|folks|people|admins?|lead|leads|contact|champion|"
    r"engineers?|procurement|legal|buyer|cfo|ceo|cto|owner|stakeholders?)\b"
)
_OUTSIDE = _words(
    r"customers?",
    r"clients?",
    r"partners?",
    r"vendors?",
    r"prospects?",
    r"external",
    r"shared (?:slack )?"
    r"channel",
    r"slack connect",
    r"their team",
    r"procurement",
    r"champion",
    r"the \w+ (?:folks|people|team) (?:at|from|in our shared)",
    # People who sell for or supply us, at another company: "the reseller at Brisa".
    r"resellers?",
    r"distributors?",
    r"suppliers?",
    r"(?:rep|contact|admins?|buyer) (?:at|from) [A-Z]\w+",
    r"(?-i:[A-Z][a-z]+(?: [A-Z][a-z]+)? at [A-Z][\w&-]+)",  # "Imogen Sallow at Greyfriar": someone elsewhere
    r"(?:auditors?|lawyers?|counsel|accountants?|agency|consultants?) (?:at|from) (?-i:[A-Z])",
    r"(?:at|from) [A-Z]\w+ (?:corp|inc|ltd)",
    r"outside the company",
    r"public(?:ly)?",
    r"press",
    r"investors?",
    r"the board\b",
    r"candidates?",
    r"users? (?:list|base)",
    r"newsletter",
    r"all (?:our )?users",
)

# Capitalised words after "tell"/"send" that are ours, not another company.
_INTERNAL_WORDS = {
    "Slack",
    "I",
    "Me",
    "Us",
    "Everyone",
    "Engineering",
    "Sales",
    "Marketing",
    "Support",
    "Ops",
    "Team",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Asana",
    "Notion",
    "Gong",
    "HubSpot",
}
# Verbs that a "don't ..." turns into a promise to change nothing ("don't run it", "do not touch prod").
_NOT_DONE = (
    r"(?:send|post|deploy|apply|delete|push|merge|run|change|touch|execute|do\b|make|modify|remove|commit|ship|"
    r"scale|resize|create|provision|reply|respond|message|email|tear|destroy|wipe|purge|prune|go ahead)"
)
# A clause that only reads, previews, drafts or asks how something works changes nothing.
_HARMLESS = re.compile(
    # "can you ..." asks for an order to be done, in any spelling ("can u", "could ya"), and so does a polite
    # "could we ..." ("could we get the config out to prod?"); "should we ..." weighs one.
    r"^(?:whats|hows|wheres|whos|what|how|why|which|who|where|when|is|are|does|do|can(?! (?:you|u|ya|we)\b)|"
    r"could(?! (?:you|u|ya|we)\b)|should|"
    # A wish orders too: "would be great if ...".
    r"would(?! (?:you|u|ya)\b| be (?:great|nice|lovely|good|awesome|ideal|helpful|cool|amazing)\b)|explain|"
    r"describe|tell me|show"
    r"|list|preview|summari[sz]e|review|check|compare|find|search|look|read|diff)\b"
    r"|\b(?:dry[- ]?run|preview|draft|(?:don'?t|do not) (?:actually )?" + _NOT_DONE + r"|without (?:sending|posting|"
    r"deploying|applying|deleting|changing|touching|running|making|merging|pushing)|but not|change nothing|no changes|"
    r"leave (?:it|them|everything|that) (?:alone|as is)|read[- ]only|hypothetically)\b"
    # A question after a condition ("if we bumped X, what would ...?"), not "resize X so we see what would".
    r"|(?:^|,\s*)(?:what (?:would|will|could)|what happens if)\b",
    re.IGNORECASE,
)
# ... unless the clause also gives the order: "what's left? deploy it", "check it and deploy".
_IMPERATIVE_CHANGE = re.compile(
    r"(?:^|[.,;!?]\s*|\band\s+|\bthen\s+|\bplease\s+)(?:deploy|redeploy|ship|roll ?back|destroy|tear down|delete|"
    r"remove|forget|prune|purge|wipe|merge|push|send|email|post|apply|drop|"
    # ... and the other orders a read can hide now that politeness and "don't X" mark reads:
    # "just look at prod and scale it up", "bump the workers on prod, don't touch staging".
    r"scale|resize|bump|upgrade|restart|provision|spin up|reset|nuke|zap|clobber|overwrite|force[- ]push|rebase|"
    r"squash|blow away|torch|reply|respond|answer|"
    # ... and the everyday words for a deletion: "trash the page with the old pricing draft" orders one, whatever
    # its object's name says ("draft").
    r"trash|scrap|ditch|axe|erase|unindex|decommission|get rid of|clear out|clean up|tear down|take down)\b",
    re.IGNORECASE,
)
_PULL_REQUEST = _words(r"pull requests?", r"PRs?\b", r"merge requests?")
_ALL = _words(r"all\b", r"every", r"everything", r"entire", r"whole", r"namespace\b", r"bulk", r"mass\b")


# A task, ticket or reminder whose content is a message ("an Asana task to send Initech the estimate")
# sends nothing now: someone does it later, and that message passes its own approval then.
_TASK_TO_MESSAGE = re.compile(
    r"\b(?:task|ticket|reminder|to-?do|card|issue)\s+(?:for\s+\w+\s+|assigned to\s+\w+\s+)?(?:to|that says to)\s+"
    r"(?:send|tell|email|e-mail|message|ping|notify|inform|update|call|reply|write)\b(?![^.;]*\b(?:and|then)\s+"
    r"(?:send|tell|email|post|message)\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ApprovalFinding:
    reason: str
    critical: bool


def only_reads(clause: str) -> bool:
    """The clause reads, previews, drafts or asks how something works, and gives no order to change. Politeness
    before the verb does not hide it: "please show ...", "just look", "could you list ..." read."""
    head = _LEAD_IN.sub("", clause.strip()).lstrip(" ,:")
    harmless = _HARMLESS.search(clause) or _HARMLESS.search(head)
    return bool(harmless) and not _IMPERATIVE_CHANGE.search(clause)


def approval_findings(clause: str) -> list[ApprovalFinding]:
    """Why a clause needs a human's yes (empty when it does not)."""
    if only_reads(clause):
        return []
    found: list[ApprovalFinding] = []
    production = bool(_PRODUCTION.search(clause))
    if _INFRA_CHANGE.search(clause) and (_INFRA_TARGET.search(clause) or production):
        destroy = bool(re.search(r"destroy|tear ?down|teardown|decommission", clause, re.IGNORECASE))
        found.append(ApprovalFinding("changes infrastructure (deploy, apply or destroy)", destroy or production))
    if production and _CHANGE.search(clause):
        found.append(ApprovalFinding("changes production", True))
    if _DELETION.search(clause):
        found.append(ApprovalFinding("deletes data", production or bool(_ALL.search(clause))))
    # A pull request named is opened, not merged, unless the clause merges it ("pull it in to trunk" merges).
    merges = re.search(r"\b(?:merge|push|land|pull (?:it|this|that|them|\w+ \d+) in)", clause, re.I)
    opens_pull_request = _PULL_REQUEST.search(clause) and not merges
    if (_PROTECTED_PUSH.search(clause) or _PROTECTED_REWRITE.search(clause)) and not opens_pull_request:
        found.append(ApprovalFinding("pushes or merges to a protected branch", production))
    named = _NAMED_RECIPIENT.search(clause)
    # "tell Ingrid in #backend ...": a person named next to our own channel (and no shared one) is a colleague.
    in_our_channel = bool(_ANY_CHANNEL.search(clause)) and not _OUTSIDE_CHANNEL.search(clause)
    internal = named is not None and (named.group(0).split()[-1] in _INTERNAL_WORDS or in_our_channel)
    outside = _OUTSIDE.search(clause) or _OUTSIDE_CHANNEL.search(clause) or (named is not None and not internal)
    if ((_MESSAGE.search(clause) and outside) or _EMAIL_SEND.search(clause)) and not _TASK_TO_MESSAGE.search(clause):
        found.append(ApprovalFinding("messages people outside the company", False))
    return found


def cue_scores(patterns: dict[str, re.Pattern[str]], text: str) -> dict[str, float]:
    """1.0 for every label whose pattern matches `text`."""
    return {label: 1.0 for label, pattern in patterns.items() if pattern.search(text)}


def first_action(clause: str) -> Action | None:
    """The action whose verb appears earliest in the clause (the verb that governs it)."""
    best: tuple[int, Action] | None = None
    for action, pattern in ACTION_CUES.items():
        match = pattern.search(clause)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), action)
    return best[1] if best else None


# Politeness and framing before the verb that gives the order ("could you please roll back ...").
_LEAD_IN = re.compile(
    r"^(?:(?:hey|hi|ok|okay|so|now|also|then|and|pls|please|kindly|quickly|just|only|go ahead and|let'?s|"
    r"(?:can|could|would|will) you|i (?:need|want) (?:you )?to|i'?d like (?:you )?to|help me|time to|"
    r"we need to|you should)\b[\s,]*)+",
    re.IGNORECASE,
)
_QUESTION = re.compile(
    r"^(?:whats|hows|wheres|whos|what|how|why|which|who|where|when|is|are|was|were|does|do|did|has|have|can we|"
    r"could we|should we|"
    r"would it|any)\b|\?\s*$",
    re.IGNORECASE,
)


def leading_action(clause: str) -> Action | None:
    """The action of the verb that opens a clause (after any politeness): its imperative."""
    head = _LEAD_IN.sub("", clause.strip()).lstrip(" ,:")
    for action, pattern in ACTION_CUES.items():
        match = pattern.search(head)
        if match and match.start() == 0:
            return action
    return None


def leading_capabilities(clause: str) -> set[str]:
    """Capabilities whose cue opens the clause: "remember that ..." is memory, whatever it is about."""
    head = _LEAD_IN.sub("", clause.strip()).lstrip(" ,:")
    found: set[str] = set()
    for capability, pattern in CAPABILITY_CUES.items():
        match = pattern.search(head)
        if match and match.start() == 0:
            found.add(capability)
    return found


def is_question(clause: str) -> bool:
    return bool(_QUESTION.search(clause.strip()))
