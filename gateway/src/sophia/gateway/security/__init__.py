"""Who is calling and what they may do: authentication (API keys, JWTs), the role policy, rate limits
and the audit log. The request's principal travels in a context variable, so every path (MCP, REST,
`ask` steps) asks the same question the same way."""
