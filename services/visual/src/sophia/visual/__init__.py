"""sophia.visual (under construction)."""
