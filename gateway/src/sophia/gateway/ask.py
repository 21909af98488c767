"""`ask`: classify a request, plan it over the capability graph (names from live state: entities.py),
run the plan and any follow-up rounds its results call for (rounds.py), answer.

One coroutine serves `POST /v1/ask` (JSON or a server-sent event stream) and the MCP tool `ask`
(progress notifications); `emit` is how each of them hears the events: intent, plan, step started,
finished, failed, held or skipped, answer.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from sophia.gateway import when
from sophia.gateway.answer import write_answer
from sophia.gateway.entities import LiveNames
from sophia.gateway.executor import Emit, Executor, StepOutcome
from sophia.gateway.intent.engine import IntentEngine
from sophia.gateway.intent.schema import Intent
from sophia.gateway.llm import RouterLLM
from sophia.gateway.planner import Plan, Planner
from sophia.gateway.rounds import Rounds
from sophia.gateway.sessions import Sessions, refers_back, resolve


class AskResult(BaseModel):
    intent: Intent
    plan: Plan
    steps: dict[str, StepOutcome] | None = Field(None, description="Each step's result or error (absent in a dry run).")
    pending_approvals: list[dict[str, Any]] | None = Field(None, description="Held steps and their approval ids.")
    answer: str | None = None
    resolved_query: str | None = Field(
        None, description="The request as read, when the session's recent turns gave its references context."
    )


class Asker:
    def __init__(
        self,
        intents: IntentEngine,
        planner: Planner,
        executor: Executor,
        llm: RouterLLM,
        *,
        rounds: int = 3,
        refinements: int = 1,
    ) -> None:
        """`rounds`: of tool calls per request, the planned one included; `refinements`: critiques of an
        LLM-written answer."""
        self.intents = intents
        self.planner = planner
        self.executor = executor
        self.llm = llm
        self.refinements = refinements
        self.sessions = Sessions(executor, planner.catalog.has) if executor is not None else None
        self.live_names = LiveNames(executor, planner) if executor is not None else None
        self.rounds = Rounds(planner, executor, llm, rounds)

    async def classify(self, query: str, namespace: str = "default") -> Intent:
        """The intent, with approval decided by the plan's structure as well as by the words: the request
        is planned (dry: nothing runs, servers that decide approval per call are only asked) and needs
        approval when any step would be held. Names are resolved from live state as `ask` does, so a post
        into a channel shared with another company is known to wait here too."""
        reading = await self.intents.read(query)
        plan = await self.planner.plan(query, reading.intent, namespace, reading.clause_vectors)
        if self.live_names is not None:
            await self.live_names.fill(plan, query)
        return _with_structural_approval(reading.intent, plan)

    async def ask(
        self,
        query: str,
        *,
        dry_run: bool = False,
        namespace: str = "default",
        emit: Emit | None = None,
        session: str | None = None,
    ) -> AskResult:
        """`session`: a conversation id; its recent turns resolve references ("now deploy it") and this
        request and its answer are recorded in it (memory's session memory)."""
        asked = query
        if session is not None and self.sessions is not None:
            turns = await self.sessions.recent(session, namespace)
            known: dict[str, list[str]] = {}
            if turns and refers_back(query) and self.live_names is not None:
                known = await self.live_names.known()  # only when a reference needs what an earlier turn named
            query = resolve(query, turns, known)
        resolved = query if query != asked else None
        reading = await self.intents.read(query)
        intent = reading.intent
        plan = await self.planner.plan(query, intent, namespace, reading.clause_vectors)
        if self.live_names is not None:
            await self.live_names.fill(plan, query)
        when.fill(plan, query, self.planner)
        await self.planner.fill_missing(plan, query, self.llm)
        intent = _with_structural_approval(intent, plan)
        if emit is not None:
            await emit("intent", intent.model_dump())
            await emit("plan", plan.model_dump())
        if dry_run:
            return AskResult(intent=intent, plan=plan, resolved_query=resolved)
        outcomes = await self.executor.run(plan, query=query, emit=emit)
        await self.rounds.follow(query, intent, plan, outcomes, namespace, emit)
        pending = [o.approval for o in outcomes.values() if o.status == "held" and o.approval is not None]
        answer = await write_answer(self.llm, query, intent, plan, outcomes, self.refinements)
        if emit is not None:
            await emit("answer", {"answer": answer, "pending_approvals": pending})
        if session is not None and self.sessions is not None:
            await self.sessions.record(session, namespace, asked, answer)
        return AskResult(
            intent=intent, plan=plan, steps=outcomes, pending_approvals=pending, answer=answer, resolved_query=resolved
        )


def _with_structural_approval(intent: Intent, plan: Plan) -> Intent:
    """Structure decides too: a plan that would hold a step needs approval, whatever the words said."""
    if intent.requires_approval or not any(step.requires_approval for step in plan.steps):
        return intent
    risk = intent.risk_level if intent.risk_level in ("high", "critical") else "high"
    return intent.model_copy(update={"requires_approval": True, "risk_level": risk})
