"""sophia.code: git repositories in a sandboxed workspace, served as MCP tools."""
