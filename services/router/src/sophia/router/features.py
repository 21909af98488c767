"""What a prompt asks for, as numbers: the signals the tier estimate reads.

The instruction is told apart from the material it works on. Fenced code, tagged or quoted blocks
and, in a long prompt, everything between its opening and closing paragraphs are *payload*: a
3,000-word email to pull the dates out of is still an extraction. Task cues are read in the
instruction; stakes, code and mathematics are read in both, and the model weighs the two apart.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from sophia.router import lexicon

# Past these sizes a prompt is sampled (its start and end): the signals live there, and a
# 400,000-character prompt must still be read in about a millisecond. Python's `re` scans a long
# alternation at roughly 40 ns a character, so the material gets a smaller sample than the code and
# mathematics detectors.
SCAN_HEAD = 6_000
SCAN_TAIL = 2_000
PAYLOAD_HEAD = 1_500
PAYLOAD_TAIL = 500
SHORT_PROMPT = 500  # characters: shorter prompts are all instruction
HEAD_CHARS = 420
TAIL_CHARS = 240

_FENCE = re.compile(r"```.*?(?:```|\Z)", re.S)
_TAGGED = re.compile(r"<([a-z][\w-]{0,30})(?: [^>]*)?>.*?</\1>", re.S | re.I)
_TRIPLE = re.compile(r"\"\"\".*?(?:\"\"\"|\Z)|'''.*?(?:'''|\Z)", re.S)
_QUOTED_LINES = re.compile(r"(?:^>.*(?:\n|$))+", re.M)
# Quoted material inside an instruction ("Classify this ticket: 'How do I export ...'"): apostrophes inside
# words (don't, it's) are not quotes, hence the guards around the single quotes.
_QUOTES = re.compile(
    '["\u201c\u201d][^"\u201c\u201d\n]{12,600}["\u201c\u201d]'
    "|(?<!\\w)['\u2018][^'\u2018\u2019\n]{12,600}['\u2019](?!\\w)"
)
_PARAGRAPHS = re.compile(r"\n\s*\n")
_CODE_LINE = re.compile(
    r"^\s*(?:def |class |function |import |from \S+ import|return\b|if \(|for \(|while \(|public |private |"
    r"const |let |var |func |fn |#include|package |select |insert |update |delete from|create table|@\w+)"
    r"|[;{}]\s*$|=>|->|::|\w\(\w*\)\s*[:{]",
    re.M | re.I,
)
_IDENTIFIER = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b|\b[a-z]+[A-Z][A-Za-z]+\b|\w\(\)|\w\.\w+\(")
_TRACE = re.compile(r"traceback \(most recent|exception in thread|panic:|\bat [\w.$]+\([\w.]+:\d+\)|segmentation fault")
_LATEX = re.compile(r"\\(?:frac|sum|int|prod|lim|sqrt|partial|nabla|forall|exists|mathbb|begin\{|cdot|leq|geq|infty)")
# Mathematical symbols look like letters to ruff's confusables check; here they are the point.
_MATH_SYMBOL = re.compile(
    r"[∑∫√∂∇∀∃≤≥≠≈∞∈⊂∪∩πθλμσφ]|\b[a-z] ?\^ ?\d|\b[a-z]\([a-z]\) ?=|\b(?:log|ln|sin|cos|tan)\("  # noqa: RUF001
)
_EQUATION = re.compile(r"[\w)] ?[-+*/×÷] ?[\w(].{0,20}=")  # noqa: RUF001
_ENUMERATED = re.compile(r"^\s*(?:\d+[.)]|[-*•]|\([a-z0-9]\))\s+\S", re.M)
_WORD = re.compile(r"\w+")
_PERSONAL = re.compile(r"\b(my|our|we|i|me|us|i'm|we're|i've|we've)\b")
_ASKS = re.compile(r"\?|^(can|could|should|would|do|does|did|is|are|am|will|what happens|how much|how do)\b", re.M)
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?(?![.)]\s)")
_LAST_SENTENCE = re.compile(r"(?:^|[.!?]\s)([^.!?]{3,200}\?)\s*$")

SIMPLE = lexicon.compile_cues(lexicon.SIMPLE_TASKS)
BALANCED = lexicon.compile_cues(lexicon.BALANCED_TASKS)
PREMIUM = lexicon.compile_cues(lexicon.PREMIUM_TASKS)
STAKES = lexicon.compile_cues(lexicon.STAKES)
ANALYSIS = lexicon.compile_one(lexicon.ANALYSIS)
MULTI_STEP = lexicon.compile_one(lexicon.MULTI_STEP)
CONSTRAINTS = lexicon.compile_one(lexicon.CONSTRAINTS)
DETAIL = lexicon.compile_one(lexicon.DETAIL)
BREVITY = lexicon.compile_one(lexicon.BREVITY)

TASKS = {**SIMPLE, **BALANCED, **PREMIUM}
# The order of the model's inputs. Changing it changes nothing else: the model is trained at start.
NAMES: tuple[str, ...] = (
    *(f"task:{name}" for name in TASKS),
    *(f"payload:{name}" for name in PREMIUM),
    *(f"stakes:{name}" for name in STAKES),
    *(f"stakes+analysis:{name}" for name in STAKES),
    *(f"stakes+question:{name}" for name in STAKES),
    "analysis",
    "multi_step",
    "constraints",
    "enumerated",
    "questions",
    "detail",
    "brevity",
    "requested_output",
    "requested_short",
    "numbers",
    "math",
    "code_payload",
    "code_lines",
    "trace",
    "instruction_length",
    "input_length",
    "short",
    "simple_only",
    "no_cue",
)
INDEX = {name: i for i, name in enumerate(NAMES)}


@dataclass
class Features:
    """A prompt's signals: `vector` in `NAMES` order, `evidence` the words behind each non-zero one."""

    vector: npt.NDArray[np.float64]
    evidence: dict[str, str] = field(default_factory=dict)
    requested_output_tokens: int | None = None
    instruction: str = ""

    def __getitem__(self, name: str) -> float:
        return float(self.vector[INDEX[name]])


def split(text: str) -> tuple[str, str]:
    """(instruction, payload) of a prompt."""
    blocks: list[str] = []

    def cut(match: re.Match[str]) -> str:
        blocks.append(match.group(0))
        return " ¶ "

    rest = _FENCE.sub(cut, text)
    rest = _TRIPLE.sub(cut, rest)
    rest = _TAGGED.sub(cut, rest)
    rest = _QUOTED_LINES.sub(cut, rest)
    rest = _QUOTES.sub(cut, rest)
    if len(rest) <= SHORT_PROMPT:
        return rest, "\n".join(blocks)
    paragraphs = [p for p in _PARAGRAPHS.split(rest) if p.strip() and p.strip() != "¶"]
    head = paragraphs[0] if paragraphs else rest
    # A closing paragraph is instruction when it is short ("Summarise the above."); a long one is the
    # material itself, unless it ends on a short question.
    last = paragraphs[-1] if len(paragraphs) > 1 else rest
    if len(last) <= TAIL_CHARS:
        tail = last
    else:
        sentence = _LAST_SENTENCE.search(last[-TAIL_CHARS:])
        tail = sentence.group(1) if sentence else ""
    if len(head) > HEAD_CHARS:
        colon = head.find(":", 0, HEAD_CHARS)
        if colon > 0 and len(head[:colon].split()) >= 2:
            # "Extract the dates from this email: Dear ..." - the instruction ends at its colon.
            head = head[: colon + 1]
        elif tail and len(paragraphs) > 1:
            # Material first, then a short instruction: the opening paragraph is the material.
            head = ""
        else:
            head = head[:HEAD_CHARS]
    if tail and tail in head:
        tail = ""
    start = rest.find(head) + len(head) if head else 0
    middle = rest[start : len(rest) - len(tail)] if tail else rest[start:]
    return f"{head}\n{tail}", "\n".join([middle, *blocks])


def sample(text: str, head: int = SCAN_HEAD, tail: int = SCAN_TAIL) -> str:
    if len(text) <= head + tail:
        return text
    return text[:head] + "\n" + text[-tail:]


def requested_words(text: str) -> tuple[float | None, str]:
    """Words of output the prompt asks for ("a 2,000-word essay", "3 paragraphs"), with the phrase."""
    best: tuple[float | None, str] = (None, "")
    for match in lexicon.LENGTH.finditer(text):
        count_text, unit = match.group(1), match.group(2).rstrip("s")
        if count_text in lexicon.NUMBER_WORDS:
            count = float(lexicon.NUMBER_WORDS[count_text])
        else:
            raw = count_text.replace(",", "")
            count = float(raw[:-1]) * 1000 if raw.endswith("k") else float(raw)
        unit = "bullet point" if unit == "bullet point" else unit
        words = count * lexicon.WORDS_PER_UNIT.get(unit, lexicon.WORDS_PER_UNIT.get(unit.split()[0], 15))
        # "under 100 words" and "5 examples" both ask for output; a count of 2019 "words" is a year, not a length.
        if 0 < words <= 50_000 and (best[0] is None or words > best[0]):
            best = (words, match.group(0))
    return best


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return match.group(0).strip() if match else None


def extract(prompt: str, system: str | None = None) -> Features:
    """The signals of one prompt. The system prompt counts as instruction (it frames the task)."""
    text = sample(prompt)
    instruction, payload = split(text)
    ins = instruction.lower()
    if system:
        ins = f"{system[:1000].lower()}\n{ins}"
    pay = sample(payload, PAYLOAD_HEAD, PAYLOAD_TAIL).lower()
    # Code and mathematics are evident from a sample; counting every line of a long file adds nothing.
    excerpt = sample(text, PAYLOAD_HEAD * 2, PAYLOAD_TAIL * 2)
    full = excerpt.lower()
    v = np.zeros(len(NAMES))
    evidence: dict[str, str] = {}

    def put(name: str, value: float, words: str | None = None) -> None:
        v[INDEX[name]] = value
        if value and words:
            evidence[name] = words

    for name, pattern in TASKS.items():
        hits = pattern.findall(ins)
        if hits:
            put(f"task:{name}", min(len(hits), 3) ** 0.5, _first(pattern, ins))
    for name, pattern in PREMIUM.items():
        if not v[INDEX[f"task:{name}"]] and (word := _first(pattern, pay)):
            put(f"payload:{name}", 1.0, word)
    analysis = _first(ANALYSIS, ins)
    # "What is inflation and why ...", "the differences between a Roth IRA and ...": a textbook question.
    textbook = bool(v[INDEX["task:explanation"]] or v[INDEX["task:comparison"]])
    put("analysis", 1.0 if analysis else 0.0, analysis)
    for name, pattern in STAKES.items():
        in_instruction = _first(pattern, ins)
        word = in_instruction or _first(pattern, pay)
        put(f"stakes:{name}", 1.0 if in_instruction else (0.4 if word else 0.0), word)
        if in_instruction and analysis:
            put(f"stakes+analysis:{name}", 1.0, f"{analysis} … {in_instruction}")
        elif in_instruction and _ASKS.search(ins) and (_PERSONAL.search(ins) or not textbook):
            # "Can a company enforce a non-solicit in Germany?", "what happens to my options?": a question about
            # someone's own stakes, not a textbook explanation ("what is inflation and why ...").
            put(f"stakes+question:{name}", 1.0, in_instruction)
    steps = MULTI_STEP.findall(ins)
    put("multi_step", min(len(steps), 3) ** 0.5, _first(MULTI_STEP, ins))
    constraints = len(CONSTRAINTS.findall(ins))
    put("constraints", math.log1p(constraints), f"{constraints} constraint word(s)")
    enumerated = len(_ENUMERATED.findall(instruction)) if len(prompt) <= SHORT_PROMPT * 3 else 0
    put("enumerated", math.log1p(enumerated), f"{enumerated} listed item(s)")
    questions = ins.count("?")
    put("questions", math.log1p(min(questions, 8)), f"{questions} question(s)")
    put("detail", 1.0 if (word := _first(DETAIL, ins)) else 0.0, word)
    put("brevity", 1.0 if (word := _first(BREVITY, ins)) else 0.0, word)
    words, phrase = requested_words(ins)
    put("requested_output", math.log1p(words) / 4 if words else 0.0, phrase)
    put("requested_short", 1.0 if words and words <= 60 else 0.0, phrase)
    numbers = len(_NUMBER.findall(ins))
    put("numbers", math.log1p(min(numbers, 6)), f"{numbers} number(s)")
    math_hits = len(_LATEX.findall(full)) + len(_MATH_SYMBOL.findall(full)) + len(_EQUATION.findall(full))
    put("math", math.log1p(math_hits), f"{math_hits} mathematical expression(s)")
    code_lines = len(_CODE_LINE.findall(excerpt)) + len(_IDENTIFIER.findall(excerpt)) // 3
    fenced = text.count("```") // 2
    put("code_payload", 1.0 if fenced or code_lines >= 3 else 0.0, f"{fenced} code block(s)")
    put("code_lines", math.log1p(code_lines) / 3, f"{code_lines} code-like line(s)")
    put("trace", 1.0 if (word := _first(_TRACE, full)) else 0.0, word)
    instruction_words = len(_WORD.findall(ins))
    put("instruction_length", math.log1p(instruction_words) / 3)
    put("input_length", math.log1p(len(prompt)) / 5)
    put("short", 1.0 if len(prompt) < 60 else 0.0)
    simple_hit = any(v[INDEX[f"task:{n}"]] for n in SIMPLE)
    harder_hit = any(v[INDEX[f"task:{n}"]] for n in (*BALANCED, *PREMIUM))
    put("simple_only", 1.0 if simple_hit and not harder_hit else 0.0)
    put("no_cue", 0.0 if simple_hit or harder_hit else 1.0)
    tokens = round(words * 1.35) if words else None
    return Features(vector=v, evidence=evidence, requested_output_tokens=tokens, instruction=instruction)
