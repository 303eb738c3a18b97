"""Independent NumPy reference of the Llama / Qwen2 / Qwen3 / Gemma 3 / Phi-3 forward pass
over a GGUF file, following the published model definitions (as llama.cpp runs them).

Reads tensors with gguf.GGUFReader, dequantizes them with its own NumPy code
(checked against gguf.quants.dequantize in the tests) and computes float64 logits
for every position of a token sequence. Shares no code with cnai.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import gguf
import numpy as np

QK = 32  # elements per block of Q4_0 / Q4_1 / Q8_0
T = gguf.GGMLQuantizationType


# ---------------------------------------------------------------- dequantizers
# Each takes the raw bytes of a tensor and returns a flat float32 array.

def _blocks(raw: np.ndarray, block_bytes: int) -> np.ndarray:
    raw = np.ascontiguousarray(raw).view(np.uint8).reshape(-1)
    assert raw.size % block_bytes == 0, "raw size is not a whole number of blocks"
    return raw.reshape(-1, block_bytes)


def _f16_at(blocks: np.ndarray, col: int) -> np.ndarray:
    """The little-endian f16 at byte column `col` of every block, as float32 [n,1]."""
    return np.ascontiguousarray(blocks[:, col:col + 2]).view("<f2").astype(np.float32)


def _nibbles(qs: np.ndarray) -> np.ndarray:
    """[n,16] packed bytes -> [n,32] values: low nibbles are elements 0..15, high 16..31."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32)


def dequant_q4_0(raw: np.ndarray) -> np.ndarray:
    b = _blocks(raw, 2 + QK // 2)  # {f16 d; u8 qs[16]}
    return ((_nibbles(b[:, 2:]) - 8.0) * _f16_at(b, 0)).reshape(-1)


def dequant_q4_1(raw: np.ndarray) -> np.ndarray:
    b = _blocks(raw, 4 + QK // 2)  # {f16 d; f16 m; u8 qs[16]}
    return (_nibbles(b[:, 4:]) * _f16_at(b, 0) + _f16_at(b, 2)).reshape(-1)


def dequant_q8_0(raw: np.ndarray) -> np.ndarray:
    b = _blocks(raw, 2 + QK)  # {f16 d; i8 qs[32]}
    q = np.ascontiguousarray(b[:, 2:]).view(np.int8).astype(np.float32)
    return (q * _f16_at(b, 0)).reshape(-1)


def dequant_bf16(raw: np.ndarray) -> np.ndarray:
    u16 = np.ascontiguousarray(raw).view(np.uint8).reshape(-1).view("<u2")
    return (u16.astype(np.uint32) << 16).view(np.float32)


def dequant_f16(raw: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(raw).view(np.uint8).reshape(-1).view("<f2").astype(np.float32)


def dequant_f32(raw: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(raw).view(np.uint8).reshape(-1).view("<f4").copy()


DEQUANTIZERS = {
    T.F32: dequant_f32, T.F16: dequant_f16, T.BF16: dequant_bf16,
    T.Q8_0: dequant_q8_0, T.Q4_0: dequant_q4_0, T.Q4_1: dequant_q4_1,
}


def dequantize_tensor(t) -> np.ndarray:
    """A ReaderTensor as float32 with numpy shape = reversed GGUF ne (rows = ne[1]).
    Types without a dequantizer here (Q5_0/Q5_1, the K-quants) go through gguf-py's."""
    if t.tensor_type in DEQUANTIZERS:
        flat = DEQUANTIZERS[t.tensor_type](t.data)
    else:
        flat = gguf.quants.dequantize(np.ascontiguousarray(t.data).view(np.uint8).reshape(-1),
                                      t.tensor_type).astype(np.float32).reshape(-1)
    ne = [int(n) for n in t.shape]  # GGUF order: ne[0] is the contiguous (column) dimension
    assert flat.size == math.prod(ne), f"{t.name}: {flat.size} values for shape {ne}"
    return flat.reshape(list(reversed(ne)))


# ---------------------------------------------------------------- model

ARCHS = ("llama", "qwen2", "qwen3", "gemma3", "phi3")


@dataclass
class HParams:
    arch: str
    n_layer: int
    n_embd: int
    n_ff: int
    n_head: int
    n_head_kv: int
    n_vocab: int
    n_rot: int
    eps: float
    rope_base: float
    head_dim: int
    window: int = 0              # gemma3: sliding window of the local layers (0: none)
    swa_pattern: int = 6         # gemma3: every swa_pattern-th layer is global
    rope_base_swa: float = 10000.0
    rope_factors: str | None = None  # phi3: rope_factors_short / _long tensor in use
    rope_attn_factor: float = 1.0    # phi3: cos/sin magnitude (longrope)

    def is_local(self, layer: int) -> bool:
        return self.window > 0 and layer % self.swa_pattern < self.swa_pattern - 1


def _field(reader: gguf.GGUFReader, key: str, default=None):
    f = reader.fields.get(key)
    if f is None:
        if default is None:
            raise KeyError(f"reference: GGUF metadata key {key} is missing")
        return default
    return f.contents()


def read_hparams(reader: gguf.GGUFReader, n_ctx: int = 0) -> HParams:
    """n_ctx: the context the model runs with (Phi-3 picks its rope factors by it)."""
    arch = _field(reader, "general.architecture")
    if arch not in ARCHS:
        raise NotImplementedError(f"reference: architecture {arch} is not supported")
    n_embd = int(_field(reader, f"{arch}.embedding_length"))
    n_head = int(_field(reader, f"{arch}.attention.head_count"))
    head_dim = int(_field(reader, f"{arch}.attention.key_length", n_embd // n_head))
    emb = next(t for t in reader.tensors if t.name == "token_embd.weight")
    names = {t.name for t in reader.tensors}
    hp = HParams(
        arch=arch,
        n_layer=int(_field(reader, f"{arch}.block_count")),
        n_embd=n_embd,
        n_ff=int(_field(reader, f"{arch}.feed_forward_length")),
        n_head=n_head,
        n_head_kv=int(_field(reader, f"{arch}.attention.head_count_kv", n_head)),
        n_vocab=int(emb.shape[1]),
        n_rot=int(_field(reader, f"{arch}.rope.dimension_count", head_dim)),
        eps=float(_field(reader, f"{arch}.attention.layer_norm_rms_epsilon")),
        rope_base=float(_field(reader, f"{arch}.rope.freq_base", 10000.0)),
        head_dim=head_dim,
    )
    if arch == "gemma3":
        hp.window = int(_field(reader, "gemma3.attention.sliding_window", 0))
        hp.swa_pattern = int(_field(reader, "gemma3.attention.sliding_window_pattern", 6))
        hp.rope_base_swa = float(_field(reader, "gemma3.rope.freq_base_swa", 10000.0))
    if arch == "phi3" and "rope_factors_short.weight" in names:
        train = int(_field(reader, "phi3.context_length"))
        n_ctx = n_ctx or train  # as cnai and llama.cpp default to the training context
        orig = int(_field(reader, "phi3.rope.scaling.original_context_length", train))
        hp.rope_factors = "rope_factors_long.weight" if n_ctx > orig else "rope_factors_short.weight"
        hp.rope_attn_factor = float(_field(reader, "phi3.rope.scaling.attn_factor", 1.0))
    return hp


def rms_norm(x: np.ndarray, w: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope(x: np.ndarray, positions: np.ndarray, n_rot: int, base: float, neox: bool,
         factors: np.ndarray | None = None) -> np.ndarray:
    """Rotary embedding on x [n_tok, n_heads, head_dim]; the first n_rot dims rotate.

    GGML "normal" mode (llama) rotates adjacent pairs (x[2i], x[2i+1]);
    NeoX mode (qwen2 and later) rotates (x[i], x[i + n_rot/2]). Pair i turns by
    pos * base^(-2i/n_rot), divided by factors[i] when given (Phi-3's longrope factors).
    """
    half = n_rot // 2
    inv_freq = base ** (-2.0 * np.arange(half, dtype=np.float64) / n_rot)
    if factors is not None:
        inv_freq = inv_freq / factors
    ang = positions.astype(np.float64)[:, None] * inv_freq[None, :]  # [n_tok, half]
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    out = x.copy()
    if neox:
        a, b = x[..., :half], x[..., half:n_rot]
        out[..., :half] = a * cos - b * sin
        out[..., half:n_rot] = a * sin + b * cos
    else:
        a, b = x[..., 0:n_rot:2], x[..., 1:n_rot:2]
        out[..., 0:n_rot:2] = a * cos - b * sin
        out[..., 1:n_rot:2] = a * sin + b * cos
    return out


def causal_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, window: int = 0) -> np.ndarray:
    """q [n, n_head, d], k/v [n, n_kv, d] -> [n, n_head*d]; head h reads kv head h // (n_head/n_kv).
    window > 0: position i sees only j in (i - window, i] (sliding-window attention)."""
    n, n_head, d = q.shape
    group = n_head // k.shape[1]
    k = np.repeat(k, group, axis=1)
    v = np.repeat(v, group, axis=1)
    scores = np.einsum("qhd,khd->hqk", q, k) / math.sqrt(d)
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    visible = (j <= i) & ((j > i - window) if window > 0 else True)
    scores = np.where(visible[None], scores, -np.inf)
    scores -= scores.max(axis=-1, keepdims=True)
    p = np.exp(scores)
    p /= p.sum(axis=-1, keepdims=True)
    return np.einsum("hqk,khd->qhd", p, v).reshape(n, n_head * d)


def quantize_q8_blocks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GGML-style Q8 of activations along the last axis: (x rounded to q*d16, q [.,32], d [.,1])."""
    blocks = x.reshape(-1, QK)
    d = np.abs(blocks).max(axis=1, keepdims=True) / 127.0
    q = np.round(np.divide(blocks, d, out=np.zeros_like(blocks), where=d > 0))
    d16 = d.astype(np.float16).astype(np.float64)
    return (q * d16).reshape(x.shape), q, d


K_QUANTS = (T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K)
Q8_ACT_TYPES = (T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1) + K_QUANTS


def quantize_q8_k(x: np.ndarray) -> np.ndarray:
    """GGML's Q8_K of activations (f32 scale per 256; the largest magnitude maps to -127), dequantized."""
    blocks = x.reshape(-1, 256)
    idx = np.abs(blocks).argmax(axis=1)
    mx = blocks[np.arange(blocks.shape[0]), idx][:, None]
    iscale = np.divide(-127.0, mx, out=np.zeros_like(mx), where=mx != 0)
    q = np.minimum(127.0, np.round(iscale * blocks))  # numpy rounds half to even, as nearbyint
    d = np.divide(1.0, iscale, out=np.zeros_like(iscale), where=iscale != 0)
    return (q * d).reshape(x.shape)


def q8_activation_linear(x: np.ndarray, raw_type, w: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """x @ w.T the way integer-dot kernels do it: activations quantized to Q8_0 blocks
    (Q8_1 with an f16 block sum d*sum(q) for Q4_1/Q5_1, whose min m multiplies that sum;
    Q8_K for the K-quants, whose mins meet exact integer block sums)."""
    if raw_type in K_QUANTS:
        return quantize_q8_k(x) @ w.T
    xq, q, d = quantize_q8_blocks(x)
    if raw_type not in (T.Q4_1, T.Q5_1):
        return xq @ w.T
    n_blk = x.shape[-1] // QK
    b = _blocks(raw, 4 + QK // 2 + (4 if raw_type == T.Q5_1 else 0))
    m = _f16_at(b, 2).astype(np.float64).reshape(w.shape[0], n_blk)  # per-block minimum
    sums = (d * q.sum(axis=1, keepdims=True)).astype(np.float16).astype(np.float64)
    return xq @ (w - np.repeat(m, QK, axis=1)).T + sums.reshape(x.shape[0], n_blk) @ m.T


class ReferenceModel:
    """Dequantizes lazily (one layer at a time) so the real model fits comfortably in memory.

    act_quant=True additionally rounds matmul inputs of quantized weights to Q8 blocks, to
    emulate integer-dot CPU kernels; the default is exact float activations.
    """

    def __init__(self, path: str, act_quant: bool = False, n_ctx: int = 0):
        self.act_quant = act_quant
        self.reader = gguf.GGUFReader(path)
        self.hp = read_hparams(self.reader, n_ctx)
        self._tensors = {t.name: t for t in self.reader.tensors}

    def has(self, name: str) -> bool:
        return name in self._tensors

    def weight(self, name: str) -> np.ndarray:
        if name not in self._tensors:
            raise KeyError(f"reference: tensor {name} is missing")
        return dequantize_tensor(self._tensors[name]).astype(np.float64)

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        t = self._tensors[f"{name}.weight"]
        w = self.weight(f"{name}.weight")
        if self.act_quant and t.tensor_type in Q8_ACT_TYPES:
            y = q8_activation_linear(x, t.tensor_type, w, t.data)
        else:
            y = x @ w.T
        if self.has(f"{name}.bias"):
            y = y + self.weight(f"{name}.bias")
        return y

    def _qkv(self, x: np.ndarray, p: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        hp, n, d = self.hp, x.shape[0], self.hp.head_dim
        if self.has(f"{p}.attn_qkv.weight"):  # phi3: one fused projection, [Q | K | V]
            qkv = self._linear(x, f"{p}.attn_qkv")
            nq, nkv = hp.n_head * d, hp.n_head_kv * d
            q, k, v = qkv[:, :nq], qkv[:, nq:nq + nkv], qkv[:, nq + nkv:]
        else:
            q, k, v = (self._linear(x, f"{p}.attn_{t}") for t in "qkv")
        q, k, v = q.reshape(n, hp.n_head, d), k.reshape(n, hp.n_head_kv, d), v.reshape(n, hp.n_head_kv, d)
        if self.has(f"{p}.attn_q_norm.weight"):  # qwen3, gemma3: RMSNorm over each head
            q = rms_norm(q, self.weight(f"{p}.attn_q_norm.weight"), hp.eps)
            k = rms_norm(k, self.weight(f"{p}.attn_k_norm.weight"), hp.eps)
        return q, k, v

    def _attention(self, x: np.ndarray, layer: int, positions: np.ndarray) -> np.ndarray:
        hp, p = self.hp, f"blk.{layer}"
        q, k, v = self._qkv(x, p)
        neox = hp.arch != "llama"
        base = hp.rope_base_swa if hp.is_local(layer) else hp.rope_base
        factors = self.weight(hp.rope_factors) if hp.rope_factors else None
        q = rope(q, positions, hp.n_rot, base, neox, factors) * hp.rope_attn_factor
        k = rope(k, positions, hp.n_rot, base, neox, factors) * hp.rope_attn_factor
        window = hp.window if hp.is_local(layer) else 0
        return self._linear(causal_attention(q, k, v, window), f"{p}.attn_output")

    def _ffn(self, x: np.ndarray, layer: int) -> np.ndarray:
        p = f"blk.{layer}"
        if self.hp.arch == "phi3":  # fused [gate | up]
            gu = self._linear(x, f"{p}.ffn_up")
            gate, up = gu[:, :self.hp.n_ff], gu[:, self.hp.n_ff:]
        else:
            gate, up = self._linear(x, f"{p}.ffn_gate"), self._linear(x, f"{p}.ffn_up")
        if self.hp.arch == "gemma3":  # GeGLU, tanh-approximated GELU
            act = 0.5 * gate * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (gate + 0.044715 * gate ** 3)))
        else:
            act = gate / (1.0 + np.exp(-gate))
        return self._linear(act * up, f"{p}.ffn_down")

    def logits(self, tokens) -> np.ndarray:
        """float64 logits [len(tokens), n_vocab] for every position (positions start at 0)."""
        tokens = np.asarray(tokens, dtype=np.int64)
        hp = self.hp
        if tokens.size == 0 or tokens.min() < 0 or tokens.max() >= hp.n_vocab:
            raise ValueError(f"reference: tokens must be non-empty ids in [0, {hp.n_vocab})")
        emb = self.weight("token_embd.weight")
        x = emb[tokens]
        # Gemma's RMSNorm multiplies by (1 + w); its GGUF files store 1 + w already (llama.cpp's
        # converter adds the 1), so every norm here is a plain x / rms * w.
        if hp.arch == "gemma3":  # embeddings scaled by sqrt(n_embd)
            x = x * math.sqrt(hp.n_embd)
        positions = np.arange(tokens.size)
        for layer in range(hp.n_layer):
            p = f"blk.{layer}"
            h = rms_norm(x, self.weight(f"{p}.attn_norm.weight"), hp.eps)
            a = self._attention(h, layer, positions)
            if self.has(f"{p}.post_attention_norm.weight"):  # gemma3: norms after each block too
                a = rms_norm(a, self.weight(f"{p}.post_attention_norm.weight"), hp.eps)
            x = x + a
            h = rms_norm(x, self.weight(f"{p}.ffn_norm.weight"), hp.eps)
            f = self._ffn(h, layer)
            if self.has(f"{p}.post_ffw_norm.weight"):
                f = rms_norm(f, self.weight(f"{p}.post_ffw_norm.weight"), hp.eps)
            x = x + f
        x = rms_norm(x, self.weight("output_norm.weight"), hp.eps)
        return self._linear(x, "output" if self.has("output.weight") else "token_embd")  # tied embeddings


def reference_logits(path: str, tokens) -> np.ndarray:
    return ReferenceModel(path).logits(tokens)


if __name__ == "__main__":
    import sys
    model_path = sys.argv[1]
    toks = [int(t) for t in sys.argv[2].split(",")]
    lg = reference_logits(model_path, toks)
    print("argmax per position:", lg.argmax(axis=1).tolist())
