"""sophia.infra (under construction)."""
