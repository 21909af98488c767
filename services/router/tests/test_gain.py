"""The gain model: P(the strong model is right where a weaker one is wrong), and the signals it reads.

Small models are trained here on a few dozen labelled questions (fractions of a second); one test trains the
shipped model (the tier library plus `gain.jsonl`) as `library/gain_build.py` does before saving the weights the service
loads (the gain model is on by default; `SOPHIA_ROUTER_GAIN_MODEL=false` turns it off).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sophia.router import features
from sophia.router.catalog import Tier
from sophia.router.gain import (
    QUESTION_SIGNALS,
    GainModel,
    Labelled,
    closed_question,
    fit_platt,
    load_questions,
    question_signals,
    shipped_gain_model,
    split_question,
    train_shipped,
    written_sets,
    zipf,
)
from sophia.router.tiers import Estimator, shipped_model

REPLAY = Path(__file__).parents[3] / "bench" / "data" / "router_replay.jsonl"
SIGNAL = {name: i for i, name in enumerate(QUESTION_SIGNALS)}


def test_word_problems_code_and_exact_values_are_read_as_what_a_small_model_slips_on() -> None:
    steps = question_signals(
        "A shop buys 40 lamps at 12 each. It marks them up 50%. After 30 sell, the rest go at half price. "
        "What is the total profit? Round to the nearest dollar."
    )
    one = question_signals("A lamp costs 12 dollars. What do 3 lamps cost?")
    assert steps[SIGNAL["question:operations"]] >= 5 > one[SIGNAL["question:operations"]]
    assert steps[SIGNAL["question:number_sentences"]] > one[SIGNAL["question:number_sentences"]]
    assert steps[SIGNAL["question:exact"]] == 1 and one[SIGNAL["question:exact"]] == 0
    code = question_signals("What does this print? xs = [1, 2]; ys = xs; ys.append(3); print(len(xs))")
    prose = question_signals("What does a printer do with a page?")
    assert code[SIGNAL["question:code"]] >= 3 and prose[SIGNAL["question:code"]] == 0
    assert one[SIGNAL["question:open_question"]] == 1 and code[SIGNAL["question:has_options"]] == 0


def test_only_closed_questions_are_decided_by_the_expected_gain() -> None:
    for closed in (
        "Which gas is inert?\nA) Argon\nB) Oxygen\nC) Chlorine\nD) Fluorine",
        "A tank holds 600 litres and loses 4% an hour. How much is left after 5 hours?",
        "In which year did the Peace of Augsburg settle religion in the Empire?",
        "What does print(len('abc' * 2)) print?",
    ):
        assert closed_question(closed), closed
    for task in (
        "Why does my Postgres query use a sequential scan?",
        "How do I split a monolith into services without downtime?",
        "Write a limerick about a cat who owns a bakery.",
        "What are the trade-offs between Kafka and RabbitMQ for 20 services?",
        "Who signed this agreement?\n\nSUPPLY AGREEMENT. Between Acme and Foo, dated 3 May.",  # material attached
        "What is the result?\n```python\nprint(1)\n```",
        "x" * 800 + "?",
    ):
        assert not closed_question(task), task


def test_an_open_task_keeps_the_tier_models_judgement_with_a_gain_model_on() -> None:
    gain = GainModel.train(_toy_rows())
    tier_only = Estimator(shipped_model())
    with_gain = Estimator(shipped_model(), gain=gain)
    task = "How should we shard a multi-tenant Postgres database that has outgrown one primary?"
    assert with_gain.assess(task).gain is None
    assert with_gain.assess(task).probabilities == tier_only.assess(task).probabilities


def test_the_saved_weights_are_what_training_on_the_shipped_files_gives() -> None:
    """The service loads `gain_weights.json`; a change to the questions, the library or the signals without
    rerunning `library/gain_build.py` fails here."""
    saved, trained = shipped_gain_model(), train_shipped()
    assert saved.platt == pytest.approx(trained.platt, rel=1e-4)
    for prompt in (
        "Which planet is largest?\nA) Mars\nB) Jupiter\nC) Venus\nD) Earth",
        "A fund of 9,000 grows 6% a year for 3 years, then 20% is withdrawn. What remains after 2 more years at 4%?",
        "What does print([i * 2 for i in range(3)][-1]) print?",
        "Design a multi-region active-active architecture for a payments ledger.",
    ):
        signals = features.extract(prompt)
        assert saved.assess(prompt, None, signals) == pytest.approx(trained.assess(prompt, None, signals), abs=1e-4)


def test_no_training_question_is_in_a_replay_file() -> None:
    """The replay files measure the router; a question trained on would measure nothing."""
    replays = {
        json.loads(line)["prompt"]
        for path in REPLAY.parent.glob("router_replay*.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    }
    written = written_sets()
    assert len(written) >= 5 and all(len(rows) >= 150 for rows in written.values())
    training = {row.prompt for row in load_questions()} | {row.prompt for rows in written.values() for row in rows}
    assert len(replays) >= 300 and not training & replays


def test_written_questions_keep_their_writer_in_the_group_so_calibration_holds_out_a_writers_kind() -> None:
    written = written_sets()
    for name, rows in written.items():
        assert all(row.group.startswith(f"w:{name}:") for row in rows)
    assert sum(row.gain for rows in written.values() for row in rows) > 0


def test_saved_weights_for_other_signals_are_refused() -> None:
    saved = json.loads(shipped_gain_model().to_json())
    saved["signals"] = saved["signals"][:-1]
    with pytest.raises(ValueError, match=r"gain_build\.py"):
        GainModel.from_json(json.dumps(saved))


def test_options_are_told_apart_from_the_stem_in_every_layout() -> None:
    for text in (
        "Which gas is inert?\nA) Argon\nB) Oxygen\nC) Chlorine\nD) Fluorine\nAnswer with the letter.",
        "Which gas is inert?\n(a) Argon\n(b) Oxygen\n(c) Chlorine\n(d) Fluorine",
        "Which gas is inert?\n\n1. Argon\n2. Oxygen\n3. Chlorine\n4. Fluorine\n\nWhich number is correct?",
        "Which gas is inert? Options: A. Argon; B. Oxygen; C. Chlorine; D. Fluorine.",
    ):
        stem, options = split_question(text)
        assert stem.strip() == "Which gas is inert?", text
        assert [o.split()[0].strip(".") for o in options] == ["Argon", "Oxygen", "Chlorine", "Fluorine"], text
    assert split_question("Why is the sky blue?") == ("Why is the sky blue?", [])


def test_question_signals_count_numbers_exceptions_statements_and_rare_words() -> None:
    calc = question_signals("A 5,000 loan at 6.5% is repaid over 3 years with 2 fees of 40. What is the payment?")
    assert calc[SIGNAL["question:stem_numbers"]] == 5
    exception = question_signals(
        "All of the following are noble gases EXCEPT:\nA) Neon\nB) Argon\nC) Xenon\nD) Nitrogen"
    )
    assert exception[SIGNAL["question:all_except"]] == 1 and exception[SIGNAL["question:has_options"]] == 1
    combine = question_signals("Consider: I. A is true. II. B is false. III. C holds. Which are true?")
    assert combine[SIGNAL["question:statements"]] == 1
    rare = question_signals("Which enzyme is the rate-limiting step of cholesterol synthesis? HMG-CoA reductase")
    common = question_signals("Which animal is the largest one that lives in the sea today?")
    assert rare[SIGNAL["question:stem_rare_words"]] > common[SIGNAL["question:stem_rare_words"]]
    assert rare[SIGNAL["question:stem_rarest"]] < common[SIGNAL["question:stem_rarest"]]
    assert zipf("the") > 7 > zipf("nitrogen") > zipf("stoichiometry") > zipf("qzxwvprt") == 0.0


def test_a_correctness_file_with_a_bad_line_is_refused_naming_the_line() -> None:
    good = json.dumps({"prompt": "2+2?", "strong_correct": True, "weak_correct": True})
    with pytest.raises(ValueError, match="line 2: missing \\['weak_correct'\\]"):
        load_questions(good + "\n" + json.dumps({"prompt": "x", "strong_correct": True}))
    with pytest.raises(ValueError, match="line 1: prompt must be text"):
        load_questions(json.dumps({"prompt": "x", "strong_correct": "yes", "weak_correct": False}))
    rows = load_questions(good + "\n" + json.dumps({"prompt": "y", "strong_correct": True, "weak_correct": False}))
    assert [r.gain for r in rows] == [False, True]


def test_the_shipped_question_file_is_apart_from_the_replay_file_and_labels_both_ways() -> None:
    questions = load_questions()
    replayed = {json.loads(line)["prompt"] for line in REPLAY.read_text(encoding="utf-8").splitlines() if line}
    assert not {q.prompt for q in questions} & replayed
    gains = sum(q.gain for q in questions)
    assert len(questions) >= 400 and 0.3 < gains / len(questions) < 0.8
    assert len({q.group.split(":")[1] for q in questions}) >= 10  # kinds of question


def test_platt_scaling_recovers_a_known_map() -> None:
    rng = np.random.default_rng(7)
    scores = rng.normal(size=4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-(2.0 * scores - 1.0)))).astype(float)
    a, b = fit_platt(scores, y, np.ones_like(y))
    assert a == pytest.approx(2.0, abs=0.2) and b == pytest.approx(-1.0, abs=0.15)


def _toy_rows() -> list[Labelled]:
    rows = []
    for i in range(12):
        calc = f"A sum of {1000 + 100 * i} grows {3 + i % 4}% a year, compounded monthly, for {2 + i % 5} years"
        rows.append(Labelled(f"{calc}, then {10 + i}% is taxed. What is left?", True, 1.0, f"calc:{i % 4}"))
        recall = f"Which planet is number {1 + i % 8} from the Sun?\nA) Mars\nB) Venus\nC) Earth\nD) Saturn"
        rows.append(Labelled(recall, False, 1.0, f"recall:{i % 4}"))
    return rows


def test_a_trained_gain_model_ranks_a_multi_step_calculation_above_a_recall_question() -> None:
    model = GainModel.train(_toy_rows())
    calc = "A deposit of 7,500 earns 4% a year compounded monthly for 6 years, then 15% is taxed. What is left?"
    recall = "Which planet is the largest?\nA) Mars\nB) Jupiter\nC) Earth\nD) Saturn"
    p_calc = model.assess(calc, None, features.extract(calc))
    p_recall = model.assess(recall, None, features.extract(recall))
    assert 0 < p_recall < p_calc < 1


def test_with_a_gain_model_the_premium_probability_is_the_expected_gain_and_the_knob_decides() -> None:
    gain = GainModel.train(_toy_rows())
    gain.platt = (0.0, 0.0)  # a model that knows nothing: an expected gain of one half everywhere
    estimator = Estimator(shipped_model(), gain=gain)
    prompt = "A loan of 12,000 at 5% a year compounded monthly runs 4 years, then a 2% fee is added. What is owed?"
    low = estimator.assess(prompt, min_quality=0.3)  # pays for premium when its gain exceeds 0.7
    high = estimator.assess(prompt, min_quality=0.8)  # ... exceeds 0.2
    assert low.gain == 0.5 and low.probabilities[Tier.PREMIUM] == pytest.approx(0.5, abs=1e-3)
    assert sum(low.probabilities.values()) == pytest.approx(1.0, abs=2e-3)
    assert high.tier is Tier.PREMIUM and low.tier is not Tier.PREMIUM
    assert any("expected gain" in r for r in low.reasons)
    assert Estimator(shipped_model()).assess(prompt).gain is None  # off unless asked for


def test_the_shipped_gain_model_prefers_the_strong_model_where_it_pays(tmp_path: Path) -> None:
    """The model the service trains at start with gain_model on (plus an operator's file of graded answers)."""
    extra = "\n".join(
        json.dumps(
            {
                "prompt": f"Operator question {i}: what is 17 * {i} + 3?",
                "strong_correct": True,
                "weak_correct": i % 2 == 0,
            }
        )
        for i in range(10)
    )
    estimator = Estimator.from_library(gain=True, gain_data=(extra,))
    assert estimator.gain is not None
    famous = "Who wrote 'Romeo and Juliet'?\nA) Marlowe\nB) Shakespeare\nC) Milton\nD) Jonson"
    steps = (
        "A 3-year bond with face value 1,000 pays a 5% annual coupon. If the yield is 7%, what is its price?\n"
        "A) 947.51\nB) 1,000.00\nC) 1,054.46\nD) 900.00"
    )
    assert estimator.assess(steps).gain > estimator.assess(famous).gain  # type: ignore[operator]


def test_the_replay_figure_counts_the_strong_calls_a_ranking_needs_against_random_and_the_oracle() -> None:
    """Four prompts the strong model answers, two of which only it does (1 and 2): keeping 95 % of its quality
    needs both. The oracle sends just those (half the calls); a ranking that puts one of them last needs all."""
    from sophia.router.gain import replay_shares

    strong, weak = np.array([1.0, 1.0, 1.0, 1.0]), np.array([1.0, 0.0, 0.0, 1.0])
    shares = replay_shares(np.array([0.9, 0.1, 0.8, 0.2]), strong, weak, 0.95)
    assert shares == {"router": 1.0, "random": pytest.approx(0.9), "oracle": 0.5}
    assert replay_shares(np.array([0.1, 0.9, 0.8, 0.2]), strong, weak, 0.95)["router"] == 0.5
