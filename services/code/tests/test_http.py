"""The service as `sophia up` runs it: its own process, MCP over real HTTP, the router stand-in process as the LLM
and a local stand-in for GitHub's REST API (GitHub itself cannot be reached from here)."""

from __future__ import annotations

import json
from pathlib import Path

from mcp.client import Client

import sophia.code.__main__ as entry_point
from sophia.kit.testing import KitServer, serve_asgi

from .conftest import RouterStandin, git
from .github_standin import TOKEN, GitHubStandin

GENERATED = "src/app.py\n<<<<<<< SEARCH\n    return a + b\n=======\n    return sum((a, b))\n>>>>>>> REPLACE\n"


async def test_clone_edit_review_commit_push_and_pull_request_over_http(
    tmp_path: Path, origin: Path, router: RouterStandin
) -> None:
    github = GitHubStandin(remotes={"acme/widgets": origin})
    router.reply({"Instruction:": GENERATED, "Review this diff": json.dumps([{"file": "src/app.py", "line": 9,
                  "severity": "info", "message": "sum() of two values reads oddly"}])})  # fmt: skip
    async with serve_asgi(github.app(), lifespan=False) as github_url:
        server = KitServer(
            Path(entry_point.__file__),
            "code",
            tmp_path / "logs",
            # The script's folder holds modules named like common ones (search, files, ...): keep it off the path.
            env={"SOPHIA_DATA_DIR": str(tmp_path / "data"), "PYTHONSAFEPATH": "1"},
            settings={
                "allowed_remotes": f"file://{tmp_path}/remotes/",
                "router_url": router.url,
                "github_url": f"{github_url}/api/v3",
                "github_token": TOKEN,
                "log_level": "WARNING",
            },
        )
        server.start(timeout=60)
        try:
            async with Client(server.mcp_url) as client:
                listed = {tool.name: tool for tool in (await client.list_tools()).tools}
                assert len(listed) == 15
                push = listed["push"]
                assert push.meta is not None and push.meta["sophia/risk"] == "medium"
                assert push.meta["sophia/approval"] == "per-call"  # protected branches wait for an approver
                assert push.annotations is not None and not push.annotations.read_only_hint
                assert listed["read_file"].annotations is not None and listed["read_file"].annotations.read_only_hint
                assert listed["read_file"].output_schema is not None

                async def ok(tool: str, **arguments: object) -> dict:
                    result = await client.call_tool(tool, arguments)
                    assert not result.is_error, result.content
                    assert result.structured_content is not None
                    return dict(result.structured_content)

                added = await ok("add_repo", name="widgets", url=f"file://{origin}", github="acme/widgets")
                assert added["repo"]["branch"] == "main"
                assert (tmp_path / "data" / "code" / "widgets" / "src" / "app.py").exists()
                await ok("create_branch", repo="widgets", name="feature/sum")
                preview = await ok("generate", repo="widgets", instruction="use sum", path="src/app.py")
                await ok("apply_edit", repo="widgets", preview_hash=preview["preview_hash"])
                review = await ok("review", repo="widgets")
                assert review["llm"]["status"] == "ok"
                assert [f["message"] for f in review["findings"]] == ["sum() of two values reads oddly"]
                done = await ok("commit", repo="widgets", message="Use sum", branch="feature/sum", author_name="Ada",
                                author_email="ada@example.com")  # fmt: skip
                pushed = await ok("push", repo="widgets", branch="feature/sum")
                assert pushed["result"] == "new branch" and not pushed["protected"]
                assert git(origin, "rev-parse", "feature/sum").strip() == done["commit"]
                pull = await ok("open_pull_request", repo="widgets", head="feature/sum", base="main", title="Use sum")
                status = await ok("pr_status", repo="widgets", number=pull["number"])
                assert status["status"]["state"] == "open" and status["status"]["head_sha"] == done["commit"]
                assert status["untrusted"] is True
        finally:
            server.stop()
    assert server.process is not None and TOKEN not in server.process.log()  # the token is never logged
