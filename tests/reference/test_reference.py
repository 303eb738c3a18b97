"""Compares cnai's logits with the independent NumPy reference (llama_ref.py).

Cases: the real default model, and tiny random GGUF models (llama / qwen2 x every weight
dtype, tied and untied output) written at test time. The reference dequantizes exactly the
stored weights, so any difference comes from cnai's arithmetic, not from weight quantization.
"""
from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import gguf
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import llama_ref  # noqa: E402
from cnai_support import default_model, gemma_model  # noqa: E402
import make_tiny_models as tiny  # noqa: E402

# "The capital of France is Paris. The capital of Germany is Berlin. The capital of" (SmolLM2 ids)
REAL_TOKENS = [504, 3575, 282, 4649, 314, 7042, 30, 378, 3575, 282, 4521, 314, 11452, 30, 378, 3575]
TINY_TOKENS = [5, 17, 42, 100, 3, 156, 0, 77, 77, 12, 64, 8, 130, 99, 1, 2, 150, 33, 33]  # 19: odd batch

# Tolerances as a fraction of the reference logit range (max - min over all positions).
# Quantized weights get a looser bound: cnai quantizes the activations to Q8 blocks so it
# can use integer dot products, the reference multiplies by exact float activations. That
# rounding is the dominant difference (measured: the act_quant reference, which emulates it,
# agrees with cnai to <= 0.13% of range on the tiny models); it applies to Q8_0 weights
# exactly as to Q4, so Q8_0 shares the 3% bound.
TOL_FRACTION = {"F32": 0.02, "F16": 0.02, "BF16": 0.02, "Q8_0": 0.03, "Q4_0": 0.03, "Q4_1": 0.03,
                "Q5_0": 0.03, "Q5_1": 0.03, "Q2_K": 0.045, "Q3_K": 0.045, "Q4_K": 0.03, "Q5_K": 0.03, "Q6_K": 0.03}
# Q2_K/Q3_K: the low-bit K-quants' tiny models have the largest logits to round; with Q8_K
# activations (one scale per 256) measured up to 4.06% (qwen3 Q3_K, whose QK-norm rescales the
# rounded q and k; 0.000% against the reference that emulates the rounding).
# The real model re-stored as F16: cnai's float path rounds nothing but its float32 sums
# (measured 0.0001% of range), so this bound is tight; it still leaves room for F16 activations.
FLOAT_COPY_TOL_FRACTION = 0.005
# cnai vs the reference that emulates Q8 activation rounding: mostly identical (0.000%), but
# where float32 vs float64 lands an activation on the other side of a rounding step that one
# step propagates (measured up to 0.64% on a 2-layer tiny model), hence 1.5%, half the plain
# bound. Used on the 2-layer tiny models only: through 30 layers (the real model) single rounding
# flips of that discontinuous step amplify (measured 3.6% on SmolLM2), so no tight bound holds.
ACT_QUANT_TOL_FRACTION = 0.015
# llama-quantize's mixes on the real model: the K-quants meet Q8_K activations (one scale per 256
# elements, not per 32), whose coarser rounding compounds over 30 layers: measured 2.98% (Q4_K_M),
# 3.50% (Q5_K_M), 3.51% (Q6_K; 3.05% even against the reference that emulates the rounding).
LLAMA_QUANT_TOL_FRACTION = 0.045
CLI_TIMEOUT_S = 120


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


def cnai_bin() -> str:
    path = os.environ.get("CNAI_BIN")
    if not path:
        msg = "CNAI_BIN is not set: point it at the built cnai program (build target cnai_cli)"
        if _truthy("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    if not Path(path).is_file():
        pytest.fail(f"CNAI_BIN={path} does not exist")
    if not _has_logits_command(path):
        msg = f"{path} has no `logits` command yet (it comes with the model branch)"
        if _truthy("CNAI_REQUIRE_LOGITS"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@functools.lru_cache(maxsize=None)
def _has_logits_command(path: str) -> bool:
    """`cnai --help` lists the registered subcommands, one per line."""
    proc = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=30)
    listing = proc.stdout + proc.stderr
    return any(line.split()[:1] == ["logits"] for line in listing.splitlines())


def run_cnai_logits(model: Path, tokens: list[int], out: Path, all_rows: bool, n_vocab: int) -> np.ndarray:
    """Runs `cnai logits` and reads its raw little-endian float32 [rows x n_vocab] output."""
    cmd = [cnai_bin(), "logits", "-m", str(model), "-t", "2",
           "--tokens", ",".join(str(t) for t in tokens), "--out", str(out)]
    if all_rows:
        cmd.append("--all")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}"
    data = np.fromfile(out, dtype="<f4")
    rows = len(tokens) if all_rows else 1
    assert data.size == rows * n_vocab, f"{out}: {data.size} floats, expected {rows} x {n_vocab}"
    return data.reshape(rows, n_vocab).astype(np.float64)


def compare_logits(case: str, ref: np.ndarray, got: np.ndarray, tol_fraction: float) -> None:
    """Max abs diff within tol_fraction of the reference range; same top-1 at every position.

    Where the reference's own top-2 margin is below the tolerance the two candidates are a
    near-tie; there cnai's pick must still be within the tolerance of the reference maximum.
    """
    assert ref.shape == got.shape, f"{case}: shape {got.shape} vs reference {ref.shape}"
    assert np.all(np.isfinite(got)), f"{case}: cnai produced non-finite logits"
    span = float(ref.max() - ref.min())
    tol = tol_fraction * span
    diff = float(np.abs(ref - got).max())
    top_ref, top_got = ref.argmax(axis=1), got.argmax(axis=1)
    ordered = np.sort(ref, axis=1)
    margin = ordered[:, -1] - ordered[:, -2]
    decisive = margin > tol
    print(f"\n[{case}] rows={ref.shape[0]} range={span:.3f} max_abs_diff={diff:.4f} "
          f"({100 * diff / span:.3f}% of range, bound {100 * tol_fraction:.1f}%) "
          f"top1_equal={int((top_ref == top_got).sum())}/{ref.shape[0]} near_ties={int((~decisive).sum())}")
    assert diff <= tol, f"{case}: max abs diff {diff:.4f} > {tol:.4f} ({tol_fraction:.0%} of range {span:.3f})"
    bad = np.nonzero(decisive & (top_ref != top_got))[0]
    assert bad.size == 0, f"{case}: top-1 differs at positions {bad.tolist()} (ref {top_ref[bad]}, cnai {top_got[bad]})"
    rows = np.arange(ref.shape[0])
    picked = ref[rows, top_got]
    assert np.all(picked >= ref.max(axis=1) - tol), f"{case}: cnai's top-1 is far below the reference maximum"


def model_tolerance(reader: gguf.GGUFReader) -> float:
    """The loosest bound over the weight-matrix types present in the file."""
    types = {t.tensor_type.name for t in reader.tensors if len(t.shape) == 2}
    return max(TOL_FRACTION[t] for t in types)


# ------------------------------------------------------------------ tiny models

TINY_SPECS = tiny.all_specs()


@pytest.fixture(params=TINY_SPECS, ids=[s.name for s in TINY_SPECS])
def tiny_model(request, tmp_path) -> tuple[Path, tiny.TinySpec]:
    spec = request.param
    return tiny.write_tiny_model(tmp_path / f"tiny-{spec.name}.gguf", spec), spec


def test_tiny_logits_are_not_degenerate(tiny_model):
    path, spec = tiny_model
    lg = llama_ref.reference_logits(str(path), TINY_TOKENS)
    assert lg.shape == (len(TINY_TOKENS), spec.n_vocab)
    assert lg.max() - lg.min() > 1.0
    assert len(set(lg.argmax(axis=1).tolist())) > 3, "predictions should vary with position"


def test_tiny_model_matches_reference(tiny_model, tmp_path):
    path, spec = tiny_model
    got = run_cnai_logits(path, TINY_TOKENS, tmp_path / "all.f32", True, spec.n_vocab)
    model = llama_ref.ReferenceModel(str(path))
    compare_logits(spec.name, model.logits(TINY_TOKENS), got, model_tolerance(model.reader))


QUANT_SPECS = [s for s in TINY_SPECS if s.wtype not in ("F32", "F16", "BF16")]


@pytest.mark.parametrize("spec", QUANT_SPECS, ids=[s.name for s in QUANT_SPECS])
def test_tiny_model_matches_activation_quantized_reference(spec, tmp_path):
    """Only quantized weights: float weights have no activation quantization to emulate."""
    path = tiny.write_tiny_model(tmp_path / f"tiny-{spec.name}.gguf", spec)
    got = run_cnai_logits(path, TINY_TOKENS, tmp_path / "all.f32", True, spec.n_vocab)
    ref = llama_ref.ReferenceModel(str(path), act_quant=True).logits(TINY_TOKENS)
    compare_logits(spec.name + " act-quant", ref, got, ACT_QUANT_TOL_FRACTION)


def test_tiny_model_last_row_equals_all_rows(tiny_model, tmp_path):
    path, spec = tiny_model
    every = run_cnai_logits(path, TINY_TOKENS, tmp_path / "all.f32", True, spec.n_vocab)
    last = run_cnai_logits(path, TINY_TOKENS, tmp_path / "last.f32", False, spec.n_vocab)
    span = float(every.max() - every.min())
    diff = float(np.abs(every[-1] - last[0]).max())
    print(f"\n[{spec.name} last-row] max_abs_diff={diff:.2e} range={span:.3f}")
    assert diff <= 1e-3 * span


# ------------------------------------------------------------------ real model

@pytest.fixture(scope="module")
def real_reference():
    path = default_model()
    model = llama_ref.ReferenceModel(str(path))
    return path, model.logits(REAL_TOKENS), model_tolerance(model.reader)


def test_reference_completes_capitals(real_reference):
    """Sanity of the reference alone: SmolLM2 continues "...Germany is" with " Berlin"."""
    path, ref, _ = real_reference
    assert ref.argmax(axis=1)[11] == 11452  # " Berlin"
    assert ref.argmax(axis=1)[4] == 7042  # " Paris"


def test_real_model_matches_reference(real_reference, tmp_path):
    path, ref, tol = real_reference
    got = run_cnai_logits(path, REAL_TOKENS, tmp_path / "real_all.f32", True, ref.shape[1])
    compare_logits(path.name, ref, got, tol)


def test_real_model_as_f16_matches_reference(tmp_path):
    """The real architecture and weights without activation quantization: a tight bound."""
    path = tiny.write_float_copy(default_model(), tmp_path / "real-f16.gguf", "F16")
    ref = llama_ref.ReferenceModel(str(path)).logits(REAL_TOKENS)
    got = run_cnai_logits(path, REAL_TOKENS, tmp_path / "real_f16_all.f32", True, ref.shape[1])
    compare_logits(path.name, ref, got, FLOAT_COPY_TOL_FRACTION)


def test_real_model_last_row_equals_all_rows(real_reference, tmp_path):
    path, ref, _ = real_reference
    n_vocab = ref.shape[1]
    every = run_cnai_logits(path, REAL_TOKENS, tmp_path / "real_all.f32", True, n_vocab)
    last = run_cnai_logits(path, REAL_TOKENS, tmp_path / "real_last.f32", False, n_vocab)
    span = float(every.max() - every.min())
    diff = float(np.abs(every[-1] - last[0]).max())
    print(f"\n[{path.name} last-row] max_abs_diff={diff:.2e} range={span:.3f}")
    assert diff <= 1e-3 * span


# ------------------------------------------------------------------ llama.cpp's own quantizations

LLAMA_QUANT_VARIANTS = ("Q4_K_M", "Q5_K_M", "Q6_K")


@pytest.mark.parametrize("variant", LLAMA_QUANT_VARIANTS)
def test_llama_quantized_copy_matches_reference(variant, tmp_path):
    """SmolLM2 requantized from its F16 copy by llama-quantize (mixed K-quants with Q5_0/Q5_1/
    Q8_0 where rows are not whole super-blocks). Made by hand for benchmarks, never by CI:
    skipped when absent."""
    path = default_model().with_name(f"SmolLM2-135M-Instruct.{variant}.gguf")
    if not path.is_file():
        pytest.skip(f"{path} is missing (llama-quantize the F16 copy from scripts/make_model_variants.py)")
    model = llama_ref.ReferenceModel(str(path))
    ref = model.logits(REAL_TOKENS)
    got = run_cnai_logits(path, REAL_TOKENS, tmp_path / "all.f32", True, ref.shape[1])
    compare_logits(path.name, ref, got, max(model_tolerance(model.reader), LLAMA_QUANT_TOL_FRACTION))


# ------------------------------------------------------------------ Gemma 3 270M Q4_K_M

# "<bos>The capital of France is Paris. The capital of Italy is" (Gemma 3 ids)
GEMMA_TOKENS = [2, 818, 5279, 529, 7001, 563, 9079, 236761, 818, 5279, 529, 9405, 563]


def test_gemma_matches_reference(tmp_path):
    """The second real model: gemma3 with sliding-window layers, Q4_K/Q6_K/Q5_0/Q8_0 weights
    (measured 2.78% of range, top-1 identical at all 13 positions)."""
    path = gemma_model()
    model = llama_ref.ReferenceModel(str(path))
    ref = model.logits(GEMMA_TOKENS)
    got = run_cnai_logits(path, GEMMA_TOKENS, tmp_path / "gemma.f32", True, ref.shape[1])
    compare_logits(path.name, ref, got, LLAMA_QUANT_TOL_FRACTION)
    # The reference itself: after "The capital of France is", " Paris" is among the base model's top 3
    # (" the" and " a" lead: a base model, not a chat model).
    assert 9079 in np.argsort(ref[5])[-3:], "reference: ' Paris' not in the top 3 after 'The capital of France is'"
