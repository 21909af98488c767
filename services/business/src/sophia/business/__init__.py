"""sophia.business (under construction)."""
