"""cnai's block (de)quantizers against gguf-py's, through `cnai quantize`.

Blocks cnai writes must decode with gguf-py's dequantizers to what cnai decodes
(same GGML layouts) and close to the input (a bound per type on the RMS error,
relative to the input's RMS); blocks gguf-py writes (it quantizes the 32-element
types) must decode in cnai exactly as in gguf-py.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gguf
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_reference import cnai_bin  # noqa: E402

T = gguf.GGMLQuantizationType
COLS = 512
# RMS error / RMS of the input, per normal row. Measured with cnai's quantizers (round to
# nearest over min/max fits, not llama-quantize's search): Q2_K 0.343, Q3_K 0.152, Q4_K 0.081,
# Q5_K 0.037, Q6_K 0.019, Q5_0 0.043, Q5_1 0.037, Q8_0 0.006, Q4_0 0.085, Q4_1 0.081; bounds 1.25x.
RMS_BOUND = {"Q2_K": 0.43, "Q3_K": 0.19, "Q4_K": 0.1, "Q5_K": 0.047, "Q6_K": 0.024, "Q5_0": 0.054,
             "Q5_1": 0.047, "Q8_0": 0.0075, "Q4_0": 0.107, "Q4_1": 0.1}
GGUF_PY_QUANTIZES = ("Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0")


def rows(seed: int) -> np.ndarray:
    """Normal rows, plus rows that stress the fits: all-positive, one outlier, all zero."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((6, COLS)).astype(np.float32)
    x[1] = np.abs(x[1]) + 0.5
    x[2, 7] = 40.0
    x[3] = 0.0
    x[4] *= 1e-3
    return x


def cnai_quantize(tmp: Path, wtype: str, data: np.ndarray, back: bool = False) -> np.ndarray:
    src, dst = tmp / f"in-{wtype}.bin", tmp / f"out-{wtype}.bin"
    data.tofile(src)
    cmd = [cnai_bin(), "quantize", "--type", wtype, "--cols", str(COLS), "--in", str(src), "--out", str(dst)]
    if back:
        cmd.append("--dequantize")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return np.fromfile(dst, dtype=np.float32 if back else np.uint8)


@pytest.mark.parametrize("wtype", list(RMS_BOUND))
def test_cnai_blocks_decode_in_gguf_py(wtype, tmp_path):
    x = rows(1)
    qtype = T[wtype]
    blocks = cnai_quantize(tmp_path, wtype, x).reshape(x.shape[0], -1)
    assert blocks.shape[1] == COLS // gguf.GGML_QUANT_SIZES[qtype][0] * gguf.GGML_QUANT_SIZES[qtype][1]
    ref = gguf.quants.dequantize(blocks, qtype).astype(np.float64)
    ours = cnai_quantize(tmp_path, wtype, blocks, back=True).reshape(x.shape).astype(np.float64)
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6 * np.abs(ref).max(initial=1e-30))
    for i in range(x.shape[0]):
        scale = np.sqrt(np.mean(x[i].astype(np.float64) ** 2))
        err = np.sqrt(np.mean((ref[i] - x[i]) ** 2))
        print(f"[{wtype} row {i}] rms error {err / scale if scale else err:.4f}")
        if scale == 0.0:
            assert err == 0.0, f"{wtype}: an all-zero row must stay zero"
        elif i != 2:  # the outlier row stretches its block's scale by design
            assert err <= RMS_BOUND[wtype] * scale, f"{wtype} row {i}: rms error {err / scale:.4f}"


@pytest.mark.parametrize("wtype", GGUF_PY_QUANTIZES)
def test_gguf_py_blocks_decode_in_cnai(wtype, tmp_path):
    x = rows(2)
    blocks = gguf.quants.quantize(x, T[wtype])
    ref = gguf.quants.dequantize(blocks, T[wtype]).astype(np.float64)
    ours = cnai_quantize(tmp_path, wtype, blocks, back=True).reshape(x.shape).astype(np.float64)
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6 * np.abs(ref).max())
