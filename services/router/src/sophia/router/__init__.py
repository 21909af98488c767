"""sophia.router: the smart LLM router, served as MCP tools."""
