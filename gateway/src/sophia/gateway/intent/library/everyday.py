"""Families in the words of people who never read the library (issue 16, round 2): polite and indirect
orders, wishes and needs, slang, questions that only ask, and long requests that touch several services,
for every service's everyday labels as well as the approval classes, each next to its near-miss.

Requests written by outsiders phrase things differently from the library ("would be great if the
workers on X had more memory", "any idea why ...", "keep tabs on ...", "blow away ..."): the same
kinds of request, said the ways people at a desk say them. Some are expanded with a typo (two letters
swapped in one word), as people type them. Entity lists add to `templates.ENTITIES` and `approvals.ENTITIES`
and, like them, share no names with the evaluation sets.
"""

from __future__ import annotations

from sophia.gateway.intent.library.family import F, Family

ENTITIES: dict[str, list[str]] = {
    "svc": ["quartz-api", "mosaic-web", "harbor-jobs", "cobalt-auth", "fjord-search", "saffron-etl", "juniper-bot"],
    "env": ["qa-north", "perf-2", "demo-eu", "uat", "preprod-west", "loadtest", "staging-blue", "dev-7"],
    "live_env": ["prod-north", "live-eu", "prod-apac-2", "production", "prod-blue", "the live cluster"],
    "slack_ext": [
        "#ext-marigold",
        "#shared-tamarack",
        "#partner-brisk",
        "#client-lattice",
        "#velo-ext",
        "#ember-shared",
    ],
    "slack_int": ["#ops", "#backend", "#cs-team", "#release-train", "#data-eng", "#on-call", "#growth"],
    "org": ["Marigold", "Tamarack Foods", "Brisk Freight", "Lattice Health", "Velo Bikes", "Emberly", "Norrland Bank"],
    "teammate": ["Ingrid", "Tomasz", "Aiko", "Desmond", "Leila", "Mateo", "Nadia", "Oskar"],
    "thing_to_say": [
        "the patch is live",
        "we're looking into it",
        "their data export finished",
        "the downtime is over",
        "we moved the call to Thursday",
        "the bug is fixed on our side",
    ],
    "period_unit": ["day", "week", "month"],
    "model_job": [
        "tagging support emails",
        "a long security review",
        "quick chit-chat replies",
        "summarising board decks",
        "code review comments",
    ],
}

FAMILIES: list[Family] = [
    # -- infrastructure: changes said politely, as wishes, or in slang -------------------------------------
    F(
        "infrastructure modify infra yes",
        "would be great if the {workload} on {env} had more memory, can you bump it",
        "crank the {workload} on {env} up to {count}",
        "I think {svc} on {env} needs another couple of nodes, go ahead and add them",
        "{svc} is struggling on {live_env}, throw more instances at it",
        "can we get the {resource} on {env} onto bigger boxes? please do it",
        "make the {resource} on {live_env} a size bigger",
        "please give {svc} on {env} double the cpu",
        "the {workload} on {live_env} should run {count} replicas, set that up",
        "pump up the {resource} on {env}, it's maxed out",
        "dial the {workload} on {env} down to one, we're not using them",
        "I need the {resource} on {env} resized to {size} by tonight",
        "ok let's scale {svc} on {live_env} out, traffic is spiking",
    ),
    F(
        "infrastructure create infra yes",
        "could you spin up a {cloud_thing} on {env} for me",
        "I'd love a fresh {env} copy for the {topic} testing, can you make one",
        "we need a new {cloud_thing} for {svc} on {env}",
        "stand a {cloud_thing} up next to {svc} on {env}",
        "hook {svc} up with its own {cloud_thing} on {live_env}",
        "get me a throwaway environment for {svc} please",
    ),
    F(
        "infrastructure delete infra yes",
        "blow {env} away, nobody needs it",
        "torch {env} and everything on it",
        "zap the leftover {cloud_thing}s on {env}",
        "{env} isn't needed anymore, please tear it down",
        "would be good to get rid of the unused {resource} on {env}",
        "clean {env} out completely, delete everything in it",
        "scrap the {cloud_thing} we made for {svc} on {env}",
    ),
    F(
        "infrastructure deploy infra yes",
        "ok go ahead and ship {svc} {version} to {live_env}",
        "let's get {svc} {version} out on {env}",
        "can you push the latest {svc} build to {env}",
        "put {svc} back on the previous version on {live_env}, the new one is broken",
        "take {live_env} back to yesterday's build",
        "I need {svc} {version} live on {live_env} before the demo",
        "roll {svc} on {env} forward to {version} pls",
        "we're good to go, release {svc} to {live_env}",
    ),
    F(
        "infrastructure query infra no",
        "what's running on {env} right now?",
        "can I get a list of what's deployed on {live_env}",
        "which version of {svc} is on {live_env}?",
        "how many {workload} does {svc} have on {env} at the moment",
        "any idea what size the {resource} on {live_env} is?",
        "what does {env} have in it these days",
        "quick q: when did {svc} last go out to {live_env}?",
        "whats deployed on {env}",
    ),
    F(
        "infrastructure analyze infra no",
        "any idea why the last rollout of {svc} on {env} failed?",
        "could you take a look at why {svc} on {live_env} keeps restarting? don't change anything",
        "walk me through what a deploy of {svc} to {live_env} would change",
        "if we doubled the {workload} on {live_env}, what would happen? just curious",
        "I'm wondering whether {env} is oversized, can you check",
        "give me a rundown of the {env} resources and what they cost",
        "what would blowing away {env} take with it? don't do it yet",
    ),
    F(
        "infrastructure monitor infra no",
        "keep tabs on {live_env} for drift",
        "let me know if someone changes {env} by hand",
        "is {live_env} healthy right now?",
        "watch the {svc} rollout on {env} and ping me if it goes sideways",
        "has anything drifted on {live_env} since friday?",
    ),
    F(
        "infrastructure optimize infra no",
        "how can we make {env} cost less?",
        "suggest a cheaper setup for {svc} on {live_env}, nothing applied",
        "where are we wasting money on {env}?",
    ),
    # -- code -------------------------------------------------------------------------------------------------
    F(
        "technical modify code yes",
        "clobber {protected_branch} in {repo} with my branch",
        "just force it onto {protected_branch} in {repo}",
        "overwrite {protected_branch} in {repo} with what's on {feature_branch}",
        "stomp on {protected_branch} with the fixed history",
        "I messed up {protected_branch} in {repo}, hard reset it to {sha} and force push",
        "get my change straight onto {protected_branch} in {repo}, skip the PR",
        "squash {protected_branch} down to one commit and push it",
        "wipe the bad commits off {protected_branch} in {repo}",
    ),
    F(
        "technical modify code no",
        "I squashed my own branch {feature_branch}, force push it",
        "tidy up the history on {feature_branch} before the review",
        "could you clean up the commits on my branch {feature_branch}",
        "fix the failing test in {repo} on {feature_branch}",
        "rename {symbol} everywhere in {repo}, on a branch please",
        "bump the lodash version in {repo} on {feature_branch}",
        "get rid of the dead code in {file} on {feature_branch}",
    ),
    F(
        "technical query code no",
        "whats the latest commit on {protected_branch} in {repo}",
        "what's the lastest commit on {protected_branch}",
        "can I see the recent commits on {protected_branch} in {repo}",
        "who touched {file} last in {repo}?",
        "show me where {symbol} gets called in {repo}",
        "any open PRs in {repo} waiting on me?",
        "is there a branch for {topic} in {repo} already?",
        "pull up {file} from {repo}",
    ),
    F(
        "technical analyze code no",
        "could you have a look at {repo} and tell me what's wrong with {symbol}",
        "any idea why the build for {repo} broke on {protected_branch}?",
        "what would we lose if we reset {protected_branch} in {repo} to {sha}? just look",
        "give {feature_branch} a once-over and tell me if it's ready",
        "sanity check the diff between {feature_branch} and {protected_branch}",
        "explain to me how {symbol} works, I'm new to {repo}",
    ),
    F(
        "technical create code no",
        "can you put up a PR from {feature_branch} into {protected_branch}",
        "branch off {protected_branch} for the {topic} work in {repo}",
        "I need a test for {symbol}, write one",
        "stub out a new endpoint for {topic} in {repo}",
    ),
    # -- business: messages, CRM, tasks -------------------------------------------------------------------------
    F(
        "business create business yes",
        "answer {org}'s question in {slack_ext}: {thing_to_say}",
        "get back to {org} on {slack_ext} with {thing_to_say}",
        "can you respond to {org} in {slack_ext}, tell them {thing_to_say}",
        "reply to {org} over in {slack_ext}: {thing_to_say}",
        "shoot {org} an email that {thing_to_say}",
        "let the {org} people know {thing_to_say}",
        "circle back to {org} about {topic} by email",
        "loop {org}'s {role} in on the fix, email them the details",
        "drop {org} a line that {thing_to_say}",
        "hit up {org} in {slack_ext} and tell them {thing_to_say}",
        "could you let {slack_ext} know {thing_to_say}",
        "post our reply to {org}'s question in {slack_ext}",
    ),
    F(
        "business create business no",
        "answer {teammate} in {slack_int} that {thing_to_say}",
        "get back to {teammate} in {slack_int}: {thing_to_say}",
        "let {slack_int} know {thing_to_say}",
        "drop a note in {slack_int} that {thing_to_say}",
        "shoot {teammate} a slack message that {thing_to_say}",
        "write up a reply to {org} for me, I'll send it myself",
        "draft something for {slack_ext} about {topic}, don't post it",
        "put together an email to {org} about {topic}, leave it as a draft",
        "make an Asana task for {teammate} to get back to {org}",
        "start a Notion page for the {org} onboarding",
    ),
    F(
        "business query business no",
        "what did {org} say in {slack_ext} yesterday?",
        "has {org} replied in {slack_ext}?",
        "can I get the latest on the {org} deal",
        "who's our main contact at {org}?",
        "any open tasks for {teammate} in Asana?",
        "pull up the Notion doc on {topic}",
        "what's been going on in {slack_int} today",
        "find the last Gong call with {org}",
        "pull a list of doubled-up {crm_thing} in Salesforce, leave them as they are",
        "how many {crm_thing} for {org} are duplicates? no merging",
        "show the HubSpot {crm_thing} that look like dupes, I'll clean them up myself",
    ),
    F(
        "business analyze business no",
        "give me a rundown of the last call with {org}",
        "what's {org} unhappy about lately?",
        "skim {slack_ext} and tell me what {org} needs from us",
        "how's the {org} renewal looking?",
    ),
    F(
        "business delete business yes",
        "zap the dupes for {org} in HubSpot",
        "blow away the test contacts in the CRM",
        "clear out the old {crm_thing} from Salesforce for good",
        "get rid of the {org} deal in HubSpot entirely",
        "trash the {topic} page in Notion permanently",
    ),
    F(
        "business modify business no",
        "move the {org} deal to negotiation",
        "can you mark {teammate}'s {topic} task as done",
        "push the {org} close date out a month",
        "change the owner of the {org} account to {teammate}",
    ),
    # -- memory ---------------------------------------------------------------------------------------------------
    F(
        "administrative create memory no",
        "hang on to this for later: {fact}",
        "fyi for the future, {fact}",
        "please file away that {fact}",
        "can you remember for me that {teammate} owns {svc}",
        "note for next time: {org} wants invoices monthly",
    ),
    F(
        "administrative query memory no",
        "remind me, what did we settle on for {topic}?",
        "do we have anything saved on {org}?",
        "what's in your notes about {teammate}?",
        "what did I tell you about {svc} last week?",
    ),
    F(
        "administrative delete memory yes",
        "zap all the memories about {org}",
        "blow away the {ns} namespace",
        "please forget what I said about {teammate}",
        "kill the duplicate entries in {ns}",
        "ditch the stale notes about {topic}",
        "clear your notes on {svc}, they're wrong",
    ),
    F(
        "administrative analyze memory no",
        "are any notes about {org} doubled up? only show me",
        "what would clearing the {ns} namespace take out? don't do it",
        "are there stale memories about {topic}? leave them for now",
    ),
    F(
        "administrative modify memory no",
        "actually {teammate} moved teams, update what you have on them",
        "fix the note about {org}: they renew in June now",
    ),
    # -- router ---------------------------------------------------------------------------------------------------
    F(
        "administrative query router no",
        "how much have we burned on LLM calls {period_words}?",
        "what's the AI bill looking like {period_words}",
        "can I see token usage by model {period_words}",
    ),
    F(
        "administrative modify router no",
        "bump our {period} model budget to {amount}",
        "drop the AI spend cap to {amount} a {period_unit}",
        "can you set the LLM budget to {amount} per {period_unit}",
    ),
    F(
        "technical query router no",
        "which model would you use for {model_job}?",
        "is {model_job} a cheap-tier job or does it need a big model?",
        "what tier would {model_job} end up on?",
    ),
    F(
        "creative create router no",
        "give me a catchy subject line for {topic}",
        "can you come up with a few taglines for {svc}",
        "I need a friendly blurb about {topic} for the newsletter",
        "whip up a short intro paragraph about {topic}",
    ),
    F(
        "creative modify router no",
        'make this sound less stiff: "{thing_to_say}"',
        'tighten up this sentence: "{fact}"',
        'can you reword "{thing_to_say}" so it sounds warmer',
    ),
    # -- visual ---------------------------------------------------------------------------------------------------
    F(
        "creative query visual no",
        "can you dig up the {image_thing} of the {screen}",
        "got any {image_thing}s of the {screen} from last sprint?",
        "pull up the {image_thing}s that look like /tmp/{image_thing}-draft.png",
    ),
    F(
        "creative delete visual yes",
        "nuke the old {screen} {image_thing}s from image search",
        "zap the blurry {image_thing}s from the index",
        "get rid of the outdated {screen} {image_thing}s in visual search",
    ),
    F(
        "creative create visual no",
        "load the new {image_thing}s for the {screen} into image search",
        "can you index the {image_thing}s from the design drive",
    ),
    # -- questions about a risky change: they weigh it, they order nothing --------------------------------------
    F(
        "infrastructure analyze infra no",
        "how risky would it be to roll {svc} out to {live_env} on a Friday?",
        "is it safe to resize the {resource} on {live_env} during business hours?",
        "should we tear down {env} or keep it another month?",
        "what could go wrong if we scaled {svc} on {live_env} down to one replica?",
    ),
    F(
        "technical analyze code no",
        "is it safe to merge {feature_branch} into {protected_branch} yet? tell me, don't merge",
        "how risky is it to force-push {protected_branch} in {repo}?",
        "should {feature_branch} go into {protected_branch} before the freeze?",
    ),
    F(
        "business analyze business no",
        "is it a good idea to email {org} about {topic} this week?",
        "should we reply to {org} in {slack_ext} before the call or wait?",
    ),
    F(
        "administrative analyze memory no",
        "would it hurt to clear the {ns} namespace? what's in there?",
        "is it safe to forget the old notes about {org}?",
    ),
    F(
        "administrative delete memory yes",
        "drop the note where I mentioned {topic}",
        "drop the memory about {teammate}'s old team",
        "toss the notes about {org}, they're outdated",
    ),
    F(
        "creative create business,visual no",
        "grab the {screen} {image_thing} and file an Asana task to fix the spacing",
        "dig up the {image_thing} of the {screen} and open a ticket for {teammate} about it",
    ),
    F(
        "technical query code no",
        "search {repo} for every call to {symbol} without a timeout",
        "look through {repo} for places that call {symbol}",
    ),
    # -- internal posts and write-ups said with "say", "drop it in", "put it in": no approval ---------------------
    F(
        "business create business no",
        "say in {slack_int} that {thing_to_say}",
        "put a message in {slack_int}: {thing_to_say}",
        "share in {slack_int} that {thing_to_say}",
        "shout in {slack_int} that {thing_to_say}",
    ),
    F(
        "business create business,code no",
        "sum up this week's commits in {repo} and drop it in {slack_int}",
        "write up what changed in {repo} since {version} and put it in {slack_int}",
    ),
    F(
        "business analyze business,memory no",
        "check our notes and the CRM on {org} and write me a short summary",
        "I can't remember what we promised {org} about {topic}; look in memory and HubSpot and sum it up for me",
    ),
    F(
        "administrative modify memory no",
        "the note about {topic} is out of date, fix it",
        "that memory about {org} is wrong, {teammate} is their contact now, correct it",
        "the stored fact about the {routine} is off by a week, please fix the note",
    ),
    F(
        "creative create visual no",
        "add /tmp/{image_thing}-final.png to the image index",
        "tag the new {screen} {image_thing} and add it to visual search",
    ),
    # -- long requests with context before the order: the order decides ------------------------------------------
    F(
        "infrastructure deploy business,infra yes",
        "Hey, hope the week's going ok. Two things: check what's on {env} and if it looks stale roll {svc} {version} "
        "out there, then let {slack_int} know",
        "Quick favour before I log off: {svc} {version} passed QA, so please get it onto {live_env} and post a note in "
        "{slack_int} once it's out",
    ),
    F(
        "infrastructure analyze infra no",
        "Morning! The {workload} on {live_env} are falling over again. Please look at the outputs and the recent "
        "rollouts and tell me what you think, but don't change anything yet",
        "So {svc} on {env} has been slow since yesterday and I'm not sure why. Could you dig into the stack and "
        "give me your best guess? No changes please",
    ),
    F(
        "infrastructure modify infra yes",
        "Morning! The {workload} on {live_env} are falling over again, looks like memory. Go ahead and give them "
        "double the memory",
        "{svc} on {env} has been slow since yesterday; if it's the {resource}, just resize it to {size}",
    ),
    F(
        "business create business,memory no",
        "I'm prepping for the {org} renewal. Find the deal in HubSpot, check what we noted about their pricing, and "
        "draft a short email I can review",
        "{org} pinged us about {topic}; pull what we remember about them and the CRM record and write me a draft "
        "reply, don't send it",
    ),
    F(
        "business create business,memory yes",
        "{org} pinged us about {topic}; pull what we remember about them and email their {role} our answer",
        "I'm prepping for the {org} renewal: check what we noted about their pricing and send them the new quote",
    ),
    F(
        "technical analyze code,visual no",
        "can you look at the {screen} {image_thing} and the code that renders it in {repo} and say why it looks off",
        "compare the {screen} {image_thing} with what {repo} actually renders and list the differences",
    ),
    F(
        "infrastructure modify infra,memory yes",
        "remember that {svc} on {live_env} needs at least {count} replicas, then scale it to that",
        "note that the {resource} on {env} should be {size}, and resize it now",
    ),
    F(
        "administrative create infra,memory no",
        "remember that {svc} on {live_env} needs at least {count} replicas, we'll scale it next week",
        "make a note of which version is on {live_env} right now",
    ),
    F(
        "technical modify code,memory no",
        "look up the naming rules we agreed on and apply them to {repo} on {feature_branch}",
    ),
    F(
        "creative create business,visual yes",
        "find the final {screen} {image_thing} and send it over to {org}'s {role}",
        "grab the approved {image_thing} and post it in {slack_ext} for {org}",
    ),
    # -- watching and tuning, said loosely ---------------------------------------------------------------------------
    F(
        "infrastructure monitor infra no",
        "ping me if {live_env} drifts from the code",
        "keep an eye on the {svc} rollout on {env} for the next hour",
        "tell me when {env} finishes updating",
    ),
    F(
        "administrative monitor router no",
        "let me know if we're about to blow the AI budget",
        "keep tabs on how many tokens {model_job} burns each day",
    ),
    F(
        "administrative optimize router no",
        "we're spending too much on {model_job}, what can we do?",
        "find us a cheaper way to handle {model_job}",
    ),
    F(
        "technical optimize code no",
        "{svc}'s test suite takes forever in {repo}, how do we speed it up?",
        "make {symbol} in {repo} faster, it's a hotspot",
    ),
    F(
        "business monitor business no",
        "let me know if {org} posts anything new in {slack_ext}",
        "keep an eye on the {org} deal and tell me if it stalls",
    ),
    # -- several services: the changing part carries the approval --------------------------------------------------
    F(
        "infrastructure deploy infra,memory yes",
        "see what our notes say about the freeze, then roll {svc} out to {live_env}",
        "look up our notes on {svc} and roll it out to {env} if nothing blocks it",
    ),
    F(
        "infrastructure query infra,memory no",
        "check what we agreed about the release freeze and tell me what's on {live_env}",
    ),
    F(
        "infrastructure deploy business,infra yes",
        "roll {svc} {version} out to {env} and let {slack_int} know when it's done",
        "ship {svc} to {live_env}, then post in {slack_int}",
    ),
    F(
        "business create business,router yes",
        "put together an apology about {topic} and email it to {org}'s {role}",
        "draft a reply to {org} about {topic} and post it in {slack_ext}",
    ),
    F(
        "creative create router no",
        "put together an apology about {topic} for me to read first",
        "draft a reply to {org} about {topic} that I can tweak",
    ),
    F(
        "infrastructure analyze business,infra no",
        "go over the {org} Gong call and the {env} stack settings",
        "compare what {org} asked for in {slack_ext} with what's deployed on {env}",
    ),
    F(
        "infrastructure query infra,router no",
        "look at model spend and the outputs of {env}",
        "how much did {svc} cost us in model calls and what's it running on {live_env}?",
    ),
    F(
        "administrative delete memory,visual yes",
        "forget the {topic} notes and pull the {image_thing}s about it from the index",
    ),
    F(
        "technical create business,code no",
        "open a PR for {feature_branch} in {repo} and drop the link in {slack_int}",
        "list the open PRs in {repo} and post them to {slack_int}",
    ),
    F(
        "business create business,code yes",
        "send {org} the list of fixes in {repo} since {version}",
    ),
]
