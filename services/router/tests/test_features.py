"""The signals a prompt gives: the instruction told apart from its material, requested length, code, maths."""

from __future__ import annotations

import pytest

from sophia.router import features

EMAIL = "Dear team, the quarterly numbers look good and the contract renewal went through. " * 30


def test_a_short_prompt_is_all_instruction() -> None:
    instruction, payload = features.split("Prove that 17 is prime.")
    assert instruction == "Prove that 17 is prime." and payload == ""


def test_the_instruction_before_a_colon_is_kept_apart_from_the_material() -> None:
    instruction, payload = features.split(f"Extract the dates from this email: {EMAIL}")
    assert instruction.strip() == "Extract the dates from this email:"
    assert "quarterly numbers" in payload


def test_a_short_closing_paragraph_is_the_instruction_and_the_material_before_it_is_not() -> None:
    instruction, payload = features.split(f"{EMAIL}\n\nWho should I reply to?")
    assert instruction.strip() == "Who should I reply to?"
    assert "contract renewal" in payload


def test_fenced_code_and_quotes_are_material() -> None:
    prompt = "Classify this ticket: 'How do I export my invoices to Excel?'\n```python\nprint('hi')\n```"
    instruction, payload = features.split(prompt)
    assert "export" not in instruction and "print" not in instruction
    assert "export" in payload and "print" in payload


def test_stakes_in_the_material_weigh_less_than_stakes_in_the_instruction() -> None:
    asked = features.extract("Assess our liability under this indemnification clause.")
    mentioned = features.extract(f"What is the sender's name?\n\n{EMAIL}")
    assert asked["stakes:legal"] == 1.0 and asked["stakes+analysis:legal"] == 1.0
    assert mentioned["stakes:legal"] == 0.4 and mentioned["stakes+analysis:legal"] == 0.0


@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        ("Write a 2,000-word essay on tides.", 2000),
        ("Write three paragraphs about owls.", 330),
        ("Give me 5 bullet points on onboarding.", 75),
        ("Answer in one sentence: what is DNS?", 20),
        ("Draft a 2-page memo.", 1000),
        ("What happened in 1969?", None),
    ],
)
def test_requested_output_length(prompt: str, words: int | None) -> None:
    found, _ = features.requested_words(prompt.lower())
    assert found == words
    signals = features.extract(prompt)
    assert signals.requested_output_tokens == (round(words * 1.35) if words else None)


def test_code_maths_and_traces_are_recognised() -> None:
    code = features.extract("Why does this fail?\n```python\ndef total(xs):\n    return sum(x.price for x in xs)\n```")
    assert code["code_payload"] == 1.0 and code["code_lines"] > 0
    maths = features.extract("Solve x^2 + 3x = 10 and show that f(x) = x^3 is injective.")
    assert maths["math"] > 0
    trace = features.extract("Traceback (most recent call last):\n  File \"a.py\", line 1\nKeyError: 'b'")
    assert trace["trace"] == 1.0


def test_evidence_names_the_words_behind_each_signal() -> None:
    signals = features.extract("Think step by step: design a sharded ledger and weigh the trade-offs.")
    assert signals.evidence["task:architecture"] == "design a sharded ledger"
    assert signals.evidence["multi_step"] == "step by step"
    assert signals.evidence["task:strategy"] == "trade-offs"


def test_a_huge_prompt_is_read_from_a_bounded_sample() -> None:
    """Speed is measured in `make bench`; here, that the work does not grow with the prompt."""
    prompt = "Summarise this: " + "lorem ipsum dolor sit amet, consectetur adipiscing. " * 8000  # ~420k characters
    assert len(features.sample(prompt)) <= features.SCAN_HEAD + features.SCAN_TAIL + 1
    signals = features.extract(prompt + "\n\nKeep it to 3 bullet points.")
    assert signals["task:summary"] > 0 and signals.requested_output_tokens == round(45 * 1.35)
