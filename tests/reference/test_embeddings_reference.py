"""cnai's embeddings (`cnai embed`, on the GGUF files the set-up converts) against the
independent NumPy reference (bert_ref.py, which reads the Hugging Face safetensors and
tokenizer.json directly), on 60 varied inputs: short, long up to the model's 512 tokens,
non-English, code, symbols and whitespace.

Bounds: cosine >= 0.9999 for F32 weights (cnai's float32 arithmetic against float64),
>= 0.9995 for F16 (half-precision weights), >= 0.999 for Q8_0 (8-bit weights, and
activations quantized to 8 bits for the integer matmul). Token ids must equal Hugging
Face's exactly. A semantic check: paraphrases score above unrelated sentences."""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cnai_support import CNAI_BIN  # noqa: E402

CLI_TIMEOUT_S = 300
MIN_COSINE = {"F32": 0.9999, "F16": 0.9995, "Q8_0": 0.999}

SHORT = [
    "Hello, world!",
    "A man is eating food.",
    "The quick brown fox jumps over the lazy dog.",
    "I love machine learning.",
    "What is the capital of France?",
    "Paris is the capital and most populous city of France.",
    "It was the best of times, it was the worst of times.",
    "UPPER CASE AND lower case And Mixed Case",
    "Numbers: 3.14159, 2,718, 1e-10 and 42.",
    "e-mail me at someone@example.com or visit https://example.org/path?q=1&x=2",
    "don't, won't, can't; it's fine... really?!",
    "tabs\tand\nnewlines\r\nmixed   spacing",
    "   leading and trailing spaces   ",
    "a",
    "?",
    "##",
    "[CLS] [SEP] [MASK] look like special tokens",
    "Emoji: 😀🎉👍 and symbols ©®™ ∑∫√",
    "naïve café résumé coöperate Ångström",
    "Le renard brun rapide saute par-dessus le chien paresseux.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "El veloz zorro marrón salta sobre el perro perezoso.",
    "Быстрая коричневая лиса прыгает через ленивую собаку.",
    "Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο.",
    "敏捷的棕色狐狸跳过了懒狗。",
    "素早い茶色の狐が怠惰な犬を飛び越える。",
    "빠른 갈색 여우가 게으른 개를 뛰어넘는다.",
    "الثعلب البني السريع يقفز فوق الكلب الكسول.",
    "तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है।",
    "def add(a, b):\n    return a + b",
    "for (int i = 0; i < n; ++i) { sum += v[i] * w[i]; }",
    "SELECT name, COUNT(*) FROM users WHERE age > 30 GROUP BY name;",
    '{"key": [1, 2, 3], "nested": {"ok": true, "v": null}}',
    "#include <vector>\nstd::vector<float> x(384, 0.0f);",
    "git commit -m 'Fix the off-by-one in the tokenizer' && git push",
    "x = np.linalg.norm(a - b, axis=-1) / np.sqrt(d)",
    "The mitochondria is the powerhouse of the cell.",
    "Supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis",
    "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
    "Ünïcödé ÀÉÎÕÜ with accents everywhere, çà et là.",
]

PARAGRAPH = (
    "Retrieval-augmented generation combines a search step with a language model: the question is "
    "embedded, the nearest passages are found in a vector index, and the model answers with those "
    "passages in its context. Good embeddings put paraphrases close together and unrelated texts far "
    "apart, whatever the wording, and they should be cheap to compute locally. "
)
CODE_PARAGRAPH = (
    "template <class T> T clamp(T v, T lo, T hi) { return v < lo ? lo : hi < v ? hi : v; } "
    "int main(int argc, char** argv) { std::vector<int> xs{3, 1, 2}; std::sort(xs.begin(), xs.end()); } "
)

PARAPHRASES = [  # (sentence, paraphrase, unrelated)
    ("A man is playing a guitar.", "Someone plays the guitar.", "The stock market fell sharply today."),
    ("How do I reset my password?", "What are the steps to change my password?", "Bananas are rich in potassium."),
    ("The cat sleeps on the sofa.", "A cat is napping on the couch.", "The train leaves at nine o'clock."),
    ("It is raining heavily outside.", "There is a downpour outside.", "She solved the equation quickly."),
    ("The restaurant was closed on Monday.", "On Monday the restaurant did not open.",
     "Quantum computers use qubits."),
]


def _cache_dir() -> Path:
    return Path(os.environ.get("CNAI_CACHE_DIR") or Path.home() / ".cache" / "cnai")


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        msg = f"{what} {path} is missing (run scripts/fetch_embedding_model.sh)"
        if os.environ.get("CNAI_REQUIRE_MODEL") == "1":
            pytest.fail(msg + " and CNAI_REQUIRE_MODEL=1")
        pytest.skip(msg)
    return path


def gguf(wtype: str) -> Path:
    return _require(_cache_dir() / "models" / f"all-MiniLM-L6-v2.{wtype}.gguf", "embedding model")


def cnai_bin() -> str:
    path = os.environ.get("CNAI_BIN")
    if not path or not Path(path).is_file():
        msg = f"CNAI_BIN={path!r} is not the built cnai program"
        if os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@functools.lru_cache(maxsize=None)
def reference():
    import bert_ref
    return bert_ref.BertReference.load(_require(_cache_dir() / "hf" / "all-MiniLM-L6-v2", "Hugging Face model"))


def _fit(text: str, n_tokens: int) -> str:
    """The longest prefix of `text` (whole words) with exactly n_tokens tokens, [CLS]/[SEP] included."""
    ref = reference()
    words = text.split(" ")
    lo, hi = 1, len(words)
    while lo < hi:  # the largest word count whose tokens fit
        mid = (lo + hi + 1) // 2
        if len(ref.token_ids(" ".join(words[:mid]))) <= n_tokens:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo])


@functools.lru_cache(maxsize=None)
def inputs() -> tuple[str, ...]:
    long = [_fit(PARAGRAPH * 12, n) for n in (64, 128, 200, 256, 300, 384, 450, 500, 511, 512)]
    long += [_fit(CODE_PARAGRAPH * 20, n) for n in (100, 350)]
    long += [_fit("Le modèle répond en français avec des accents: é è ê à ù ç. " * 40, 480)]
    return tuple(SHORT + long)


@functools.lru_cache(maxsize=None)
def reference_states() -> tuple[np.ndarray, ...]:
    """The reference's last-layer states of every input, computed once (each alone: no padding)."""
    ref = reference()
    return tuple(ref.hidden_states([ref.token_ids(t)])[0] for t in inputs())


def reference_embeddings(pooling: str = "mean", normalize: bool = True) -> np.ndarray:
    ref = reference()
    return np.stack([ref.pool(s[None], [s.shape[0]], pooling, normalize)[0] for s in reference_states()])


def cnai_embed(model: Path, texts, *extra: str) -> tuple[np.ndarray, dict]:
    proc = subprocess.run([cnai_bin(), "embed", "-m", str(model), "-t", "2", "--json", *extra, *texts],
                          capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    return np.array([d["embedding"] for d in body["data"]], dtype=np.float64), body


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def test_the_inputs_are_varied_and_reach_the_context():
    lengths = [len(reference().token_ids(t)) for t in inputs()]
    assert len(lengths) >= 50
    assert max(lengths) == 512 and min(lengths) <= 3
    assert sum(n > 256 for n in lengths) >= 6


@pytest.mark.parametrize("text", SHORT[:12] + SHORT[17:30] + [SHORT[-1]])
def test_token_ids_equal_hugging_face(text):
    proc = subprocess.run([cnai_bin(), "tokenize", "-m", str(gguf("Q8_0")), "--json", text],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["ids"] == reference().token_ids(text)


@pytest.mark.parametrize("wtype", ["F32", "F16", "Q8_0"])
def test_embeddings_match_the_reference(wtype):
    got, body = cnai_embed(gguf(wtype), inputs())
    want = reference_embeddings()
    assert got.shape == want.shape
    cos = cosines(got, want)
    worst = int(np.argmin(cos))
    assert cos.min() >= MIN_COSINE[wtype], (
        f"{wtype}: min cosine {cos.min():.6f} at input {worst} ({inputs()[worst][:60]!r}); mean {cos.mean():.6f}")
    assert np.allclose(np.linalg.norm(got, axis=-1), 1.0, atol=1e-5)  # the model's Normalize module
    ref = reference()
    assert body["usage"]["prompt_tokens"] == sum(len(ref.token_ids(t)) for t in inputs())


def test_single_pass_is_llama_cpp_s_precision_and_the_default_is_finer():
    """--single-pass: one integer pass over 8-bit activations, as llama.cpp; the default
    adds the rounding residual's pass. Both against the reference on Q8_0 weights: the
    one-pass error is the larger, worst on the shortest inputs (a one-word input 0.9976)."""
    one, _ = cnai_embed(gguf("Q8_0"), inputs(), "--single-pass")
    two, _ = cnai_embed(gguf("Q8_0"), inputs())
    want = reference_embeddings()
    c1, c2 = cosines(one, want), cosines(two, want)
    assert c1.min() >= 0.997, f"single pass: min cosine {c1.min():.6f}"
    assert c2.min() >= MIN_COSINE["Q8_0"]
    assert (1 - c2).mean() < 0.7 * (1 - c1).mean(), (c1.mean(), c2.mean())
    assert not np.array_equal(one, two)


@pytest.mark.parametrize("pooling", ["cls", "last"])
def test_other_poolings_match_the_reference(pooling):
    got, _ = cnai_embed(gguf("F32"), inputs(), "--pooling", pooling, "--no-normalize")
    cos = cosines(got, reference_embeddings(pooling, False))
    assert cos.min() >= MIN_COSINE["F32"], f"{pooling}: min cosine {cos.min():.6f}"


def test_paraphrases_score_above_unrelated_sentences():
    flat = [s for triple in PARAPHRASES for s in triple]
    got, _ = cnai_embed(gguf("Q8_0"), flat)
    for i, (a, _, _) in enumerate(PARAPHRASES):
        e = got[3 * i: 3 * i + 3]
        close, far = float(e[0] @ e[1]), float(e[0] @ e[2])
        assert close > far + 0.3, f"{a!r}: paraphrase {close:.3f}, unrelated {far:.3f}"


def test_too_long_input_is_named_or_truncated():
    long = _fit(PARAGRAPH * 12, 1000)
    proc = subprocess.run([cnai_bin(), "embed", "-m", str(gguf("Q8_0")), "short", long],
                          capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    assert proc.returncode != 0
    assert "context_overflow" in proc.stderr and "input[1]" in proc.stderr
    got, body = cnai_embed(gguf("F32"), ["short", long], "--truncate")
    assert got.shape == (2, 384)
    ref = reference()
    ids = ref.token_ids(long)[:511] + [ref.token_ids(long)[-1]]  # as Hugging Face truncates: [SEP] kept
    want = ref.embed_ids([ids])[0]
    assert float(cosines(got[1:], want[None])[0]) >= MIN_COSINE["F32"]
    assert body["usage"]["prompt_tokens"] == len(ref.token_ids("short")) + 512
