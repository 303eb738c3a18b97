"""The `cnai run` and `cnai chat` programs on the real default model, as a user
runs them: streamed answers, --json, sampling flags, errors and exit codes."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from cnai_support import CNAI_BIN, default_model


# Without a system message SmolLM2's template adds its own, and greedy decoding
# (llama.cpp's too) then answers the France question in French.
SYSTEM = ("--system", "You are a helpful assistant.")


def cnai(*args, stdin=None):
    env = dict(os.environ, CNAI_MODEL=str(default_model()))
    return subprocess.run([CNAI_BIN, *args], input=stdin, capture_output=True, text=True, timeout=300, env=env)


def test_run_streams_the_answer_and_reports_speed():
    out = cnai("run", *SYSTEM, "-p", "What is the capital of France?", "--temperature", "0", "-t", "2")
    assert out.returncode == 0, out.stderr
    assert "Paris" in out.stdout
    assert "tokens/s" in out.stderr


def test_run_with_default_sampling_answers():
    out = cnai("run", "-p", "What is the capital of France?", "--seed", "7", "--max-tokens", "32")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()


def answer(doc):
    """The first choice of `cnai run --json`'s chat.completion object."""
    assert doc["object"] == "chat.completion"
    return doc["choices"][0]


def test_run_json_is_one_chat_completion_with_ids_usage_and_timings():
    out = cnai("run", *SYSTEM, "-p", "What is the capital of France?", "--temperature", "0", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    choice = answer(doc)
    assert "Paris" in choice["message"]["content"]
    assert choice["finish_reason"] == "stop"
    assert doc["usage"]["completion_tokens"] == len(choice["token_ids"])
    assert doc["usage"]["total_tokens"] == doc["usage"]["prompt_tokens"] + doc["usage"]["completion_tokens"]
    assert doc["cnai"]["backend"] == "local"
    assert doc["cnai"]["timings"]["completion_tokens_per_s"] > 0
    # The ids are the model's: tokenizing the answer gives them back (end-of-turn id aside).
    tok = json.loads(cnai("tokenize", choice["message"]["content"], "--json").stdout)
    ids = tok["ids"]
    assert ids == choice["token_ids"][: len(ids)]


def test_run_max_tokens_and_stop():
    out = cnai("run", "-p", "Tell me a long story about a dragon.", "--temperature", "0", "--max-tokens", "5", "--json")
    doc = json.loads(out.stdout)
    assert answer(doc)["finish_reason"] == "length" and doc["usage"]["completion_tokens"] == 5
    out = cnai("run", *SYSTEM, "-p", "What is the capital of France?", "--temperature", "0", "--stop", "Paris", "--json")
    choice = answer(json.loads(out.stdout))
    assert "Paris" not in choice["message"]["content"] and choice["finish_reason"] == "stop"


def test_logit_bias_bans_a_token():
    base = json.loads(cnai("run", *SYSTEM, "-p", "What is the capital of France?", "--temperature", "0", "--json").stdout)
    first = answer(base)["token_ids"][0]
    out = cnai("run", *SYSTEM, "-p", "What is the capital of France?", "--temperature", "0", "--json",
               "--logit-bias", f"{first}=-100", "--max-tokens", "24")
    assert out.returncode == 0, out.stderr
    assert first not in answer(json.loads(out.stdout))["token_ids"]
    bad = cnai("run", "-p", "hi", "--logit-bias", "abc")
    assert bad.returncode != 0 and "--logit-bias" in bad.stderr


def test_run_errors_are_clear():
    out = cnai("run", "-p", "x" * 20000, "-c", "128", "--temperature", "0")
    assert out.returncode != 0
    assert "context" in out.stderr.lower()
    out = cnai("run", "-p", "hi", "-m", "/nonexistent/model.gguf")
    assert out.returncode != 0 and "/nonexistent/model.gguf" in out.stderr
    out = cnai("run", "-p", "hi", "--top-p", "7")
    assert out.returncode != 0 and "top_p" in out.stderr


def test_chat_keeps_history_across_turns():
    # (Rex: the default model names it at temperature 0 with every kernel family; with
    # "Pepper" the AVX2 kernels' rounding made it answer "Piper".)
    turns = "I have a dog called Rex.\nWhat color is the sky?\nWhat is the name of my dog?\n/exit\n"
    out = cnai("chat", "--temperature", "0", "--max-tokens", "48", stdin=turns)
    assert out.returncode == 0, out.stderr
    answers = [a for a in out.stdout.split("\n") if a.strip()]
    assert len(answers) >= 3
    assert "Rex" in answers[-1]
    # /reset forgets: the same last question alone does not know the name.
    out = cnai("chat", "--temperature", "0", "--max-tokens", "48",
               stdin="I have a dog called Rex.\n/reset\nWhat is the name of my dog?\n")
    assert "Rex" not in out.stdout.strip().split("\n")[-1]


def test_bench_serving_mode_reports_each_concurrency_and_the_prefix_and_load_figures():
    out = cnai("bench", "--concurrency", "1,3", "-n", "8", "-r", "1", "--json", "-t", "2")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    levels = doc["serving"]
    assert [e["concurrency"] for e in levels] == [1, 3]
    for e in levels:
        assert e["aggregate_tokens_per_s"] > 0
        assert 0 < e["ttft_p50_ms"] <= e["ttft_p99_ms"]
        assert 0 < e["itl_p50_ms"] <= e["itl_p99_ms"]
    # A request sharing the 500-token system prompt skips its prefill: faster than a cold one.
    assert 0 < doc["prefix_cache"]["ttft_warm_ms"] < doc["prefix_cache"]["ttft_cold_ms"]
    assert 0 < doc["ttft_128_prompt_while_8_decode_ms"] <= doc["ttft_128_prompt_while_8_decode_max_ms"]
    assert doc["batch_invariant"] is True


def test_bench_times_prefill_and_decode_from_the_requested_depth():
    # As llama-bench's -d: both runs start from a cache of d tokens, echoed in --json.
    out = cnai("bench", "-p", "8", "-n", "4", "-d", "24", "-r", "1", "--json", "-t", "2")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    assert (doc["n_prompt"], doc["n_gen"], doc["n_depth"]) == (8, 4, 24)
    assert doc["prefill_tokens_per_s"] > 0 and doc["decode_tokens_per_s"] > 0
    plain = json.loads(cnai("bench", "-p", "8", "-n", "4", "-r", "1", "--json", "-t", "2").stdout.strip().splitlines()[-1])
    assert plain["n_depth"] == 0
    bad = cnai("bench", "-p", "8", "-n", "4", "-d", "-1")
    assert bad.returncode == 2
    assert "-d >= 0" in bad.stderr
