"""Self-checks of the NumPy reference that do not involve cnai at all."""
from __future__ import annotations

import sys
from pathlib import Path

import gguf
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import llama_ref  # noqa: E402
import make_tiny_models as tiny  # noqa: E402

T = gguf.GGMLQuantizationType
TOKENS = [5, 17, 42, 100, 3, 156, 0, 77, 77, 12, 64, 8]


@pytest.mark.parametrize("wtype", ["F16", "BF16", "Q8_0", "Q4_0", "Q4_1"])
def test_own_dequantizer_equals_gguf_package(wtype):
    rng = np.random.default_rng(7)
    w = (rng.standard_normal((6, 96)) * rng.uniform(0.01, 3.0, size=(6, 1))).astype(np.float32)
    w[0, :32] = 0.0  # an all-zero block (d == 0)
    w[1, :32] = 1.5  # a constant block (Q4_1: max == min)
    stored, raw = tiny.encode_matrix(w, wtype)
    qtype = raw if raw is not None else T[wtype]
    mine = llama_ref.DEQUANTIZERS[qtype](stored).reshape(w.shape)
    theirs = gguf.quants.dequantize(stored, qtype).reshape(w.shape)
    np.testing.assert_array_equal(mine, theirs.astype(np.float32))
    assert np.abs(mine - w).max() <= 0.2 * np.abs(w).max()  # and both are near the original


def test_q4_block_layout_by_hand():
    """Low nibbles hold elements 0..15, high nibbles 16..31; Q4_0 subtracts 8, Q4_1 adds m."""
    qs = np.arange(16, dtype=np.uint8) | (np.uint8(15) - np.arange(16, dtype=np.uint8)) << 4
    d, m = np.float16(0.5), np.float16(-1.0)
    q4_0 = np.concatenate([np.frombuffer(d.tobytes(), np.uint8), qs])
    q4_1 = np.concatenate([np.frombuffer(d.tobytes() + m.tobytes(), np.uint8), qs])
    nib = np.concatenate([np.arange(16), 15 - np.arange(16)]).astype(np.float32)
    np.testing.assert_array_equal(llama_ref.dequant_q4_0(q4_0), (nib - 8) * 0.5)
    np.testing.assert_array_equal(llama_ref.dequant_q4_1(q4_1), nib * 0.5 - 1.0)


def test_q8_block_layout_by_hand():
    q = np.arange(-16, 16, dtype=np.int8)
    block = np.concatenate([np.frombuffer(np.float16(0.25).tobytes(), np.uint8), q.view(np.uint8)])
    np.testing.assert_array_equal(llama_ref.dequant_q8_0(block), q.astype(np.float32) * 0.25)


@pytest.mark.parametrize("spec", [tiny.TinySpec(arch="llama", wtype="Q8_0"),
                                  tiny.TinySpec(arch="qwen2", wtype="F16", tied=False)],
                         ids=lambda s: s.name)
def test_reference_is_causal(spec, tmp_path):
    """Row t of the logits depends only on tokens 0..t: it equals the last row of the prefix."""
    path = str(tiny.write_tiny_model(tmp_path / f"{spec.name}.gguf", spec))
    model = llama_ref.ReferenceModel(path)
    full = model.logits(TOKENS)
    for t in range(len(TOKENS)):
        np.testing.assert_allclose(model.logits(TOKENS[: t + 1])[-1], full[t], rtol=0, atol=1e-9)
    assert not np.allclose(full[3], model.logits([TOKENS[3]])[0]), "context must matter"


def test_rope_modes_rotate_the_documented_pairs():
    x = np.zeros((1, 1, 8))
    x[0, 0, 0] = 1.0
    pos = np.array([1])
    normal = llama_ref.rope(x, pos, 8, 10000.0, neox=False)
    neox = llama_ref.rope(x, pos, 8, 10000.0, neox=True)
    assert normal[0, 0, 1] == pytest.approx(np.sin(1.0)) and normal[0, 0, 4] == 0.0
    assert neox[0, 0, 4] == pytest.approx(np.sin(1.0)) and neox[0, 0, 1] == 0.0
    # position 0 is the identity; norms are preserved
    assert np.array_equal(llama_ref.rope(x, np.array([0]), 8, 1e4, neox=False), x)
    y = np.random.default_rng(1).standard_normal((3, 2, 8))
    r = llama_ref.rope(y, np.array([0, 5, 9]), 8, 1e4, neox=True)
    np.testing.assert_allclose(np.linalg.norm(r, axis=-1), np.linalg.norm(y, axis=-1))
