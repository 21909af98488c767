"""TEST STAND-IN for an LLM provider (no real one is reachable from tests): a local server speaking the
OpenAI-compatible chat API (`POST /v1/chat/completions`, bearer key, `choices[0].message.content`), and
the router's `complete` tool as an in-process server that calls it the way the router's OpenAI provider
does. The replies are scripted by each test (by a word of the system prompt: the planner's reflection,
the answer's writer, its critic); what is under test is what the gateway does with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .inprocess import Tool, error, structured, tool

KEY = "sk-stand-in"


@dataclass
class ChatStandIn:
    """`script`: (a substring of the system prompt, replies given in turn; the last one repeats)."""

    script: list[tuple[str, list[str]]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"])])

    async def chat(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return JSONResponse({"error": {"message": "Incorrect API key provided"}}, 401)
        body = await request.json()
        messages = body.get("messages")
        if not body.get("model") or not isinstance(messages, list) or not messages:
            return JSONResponse({"error": {"message": "messages and model are required"}}, 400)
        self.requests.append(body)
        system = next((m["content"] for m in messages if m.get("role") == "system"), "")
        for key, replies in self.script:
            if key in system:
                text = replies.pop(0) if len(replies) > 1 else replies[0]
                break
        else:
            return JSONResponse({"error": {"message": "no scripted reply for this prompt"}}, 500)
        return JSONResponse(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )

    def prompts(self, system_word: str) -> list[str]:
        """The user prompts of the requests whose system prompt holds `system_word`."""
        return [
            next(m["content"] for m in body["messages"] if m["role"] == "user")
            for body in self.requests
            if any(m["role"] == "system" and system_word in m["content"] for m in body["messages"])
        ]


def router_complete(standin: ChatStandIn) -> Tool:
    """The router's `complete` tool: a chat completion from the stand-in, its text as structured content."""

    async def complete(arguments: dict[str, Any]) -> dict[str, Any]:
        messages = [{"role": "system", "content": arguments.get("system") or ""},
                    {"role": "user", "content": arguments["prompt"]}]  # fmt: skip
        async with httpx.AsyncClient(timeout=5) as client:
            reply = await client.post(
                f"{standin.url}/v1/chat/completions",
                headers={"authorization": f"Bearer {KEY}"},
                json={"model": "stand-in-1", "messages": messages, "max_tokens": arguments.get("max_tokens")},
            )
        if reply.status_code != 200:
            return error(f"provider error: {reply.json()['error']['message']}")
        return structured({"text": reply.json()["choices"][0]["message"]["content"], "model": "stand-in-1"})

    text = {"type": "string"}
    properties = {"prompt": text, "system": {"type": ["string", "null"]}, "max_tokens": {"type": ["integer", "null"]}}
    return tool("complete", properties, ["prompt"], complete)
