"""Writes tiny random-weight GGUF models (llama / qwen2, every weight dtype cnai loads).

Sizes are deliberately awkward (GQA 4:2 heads, head_dim 16, n_ff 96, vocab 160) so
kernels cannot lean on friendly multiples beyond the 32-element quant block.
Usage: python make_tiny_models.py OUT_DIR   (writes one file per variant)
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np

T = gguf.GGMLQuantizationType
WEIGHT_TYPES = ("F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1")
K_TYPES = ("Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K")  # rows must be whole 256-element super-blocks
FILE_TYPE = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9, "Q2_K": 10, "Q3_K": 11,
             "Q4_K": 14, "Q5_K": 16, "Q6_K": 18, "BF16": 32}


@dataclass(frozen=True)
class TinySpec:
    arch: str = "llama"
    wtype: str = "Q8_0"          # type of every 2-D weight matrix
    tied: bool = True            # no output.weight: the embedding doubles as output
    embd_type: str | None = None  # token_embd type when it differs (SmolLM2 style: Q8_0)
    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    n_head_kv: int = 2
    n_ff: int = 96
    n_vocab: int = 157  # odd: output rows are not a multiple of any register block
    n_ctx: int = 64
    seed: int = 1234
    head_dim: int = 0            # attention.key_length when set (qwen3/gemma3: != n_embd / n_head)
    window: int = 0              # gemma3 sliding window (local layers)
    swa_pattern: int = 2         # gemma3: every swa_pattern-th layer is global
    rope_factors: bool = False   # phi3 longrope factor tensors

    @property
    def hd(self) -> int:
        return self.head_dim or self.n_embd // self.n_head

    @property
    def name(self) -> str:
        embd = f"-embd{self.embd_type}" if self.embd_type else ""
        return f"{self.arch}-{self.wtype}{embd}-{'tied' if self.tied else 'untied'}"


def all_specs() -> list[TinySpec]:
    specs = [TinySpec(arch=a, wtype=w, tied=t) for a in ("llama", "qwen2")
             for w in WEIGHT_TYPES for t in (True, False)]
    specs.append(TinySpec(arch="llama", wtype="Q4_1", embd_type="Q8_0"))  # like the default model
    # K-quants need K % 256 == 0: wider models (head_dim 64, n_ff 512), one per type and arch.
    specs += [TinySpec(arch=a, wtype=w, tied=a == "llama", n_embd=256, n_ff=512)
              for a in ("llama", "qwen2") for w in K_TYPES]
    specs += new_arch_specs()
    return specs


def new_arch_specs() -> list[TinySpec]:
    """qwen3, gemma3 (3 layers: local, global, local; a window of 5 < the 19 test tokens) and
    phi3 (fused tensors, longrope factors) in every weight type; K-quants at 256 wide."""
    arch_args = {"qwen3": dict(head_dim=32, tied=False), "gemma3": dict(head_dim=32, window=5, n_layer=3),
                 "phi3": dict(tied=False, rope_factors=True)}
    out = []
    for a, kw in arch_args.items():
        out += [TinySpec(arch=a, wtype=w, **kw) for w in WEIGHT_TYPES]
        kq = dict(kw, head_dim=64 if kw.get("head_dim") else 0)
        out += [TinySpec(arch=a, wtype=w, n_embd=256, n_ff=512, **kq) for w in K_TYPES]
    return out


def cnai_quantize(w: np.ndarray, wtype: str) -> np.ndarray:
    """Blocks of `wtype` made by `cnai quantize` (gguf-py has no K-quant quantizer); the
    reference still decodes them with gguf-py alone. Needs CNAI_BIN."""
    binary = os.environ.get("CNAI_BIN")
    if not binary:
        raise RuntimeError(f"{wtype} tiny models are quantized by `cnai quantize`: set CNAI_BIN")
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "w.f32"), os.path.join(tmp, "w.bin")
        np.ascontiguousarray(w, dtype=np.float32).tofile(src)
        subprocess.run([binary, "quantize", "--type", wtype, "--cols", str(w.shape[1]), "--in", src, "--out", dst],
                       check=True, capture_output=True, timeout=60)
        return np.fromfile(dst, dtype=np.uint8).reshape(w.shape[0], -1)


def encode_matrix(w: np.ndarray, wtype: str) -> tuple[np.ndarray, T | None]:
    """float32 [rows, cols] -> (array to store, raw GGML type or None for plain numpy dtypes)."""
    if wtype == "F32":
        return w.astype(np.float32), None
    if wtype == "F16":
        return w.astype(np.float16), None
    qtype = T[wtype]
    if wtype in K_TYPES:
        return cnai_quantize(w, wtype), qtype
    return gguf.quants.quantize(w.astype(np.float32), qtype), qtype


def tiny_vocab(n_vocab: int) -> tuple[list[str], list[int], list[str]]:
    """Three control tokens, two merged tokens, then GPT-2 byte-level symbols."""
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    merged = ["ab", "abc"]
    byte_syms = [chr(c) for c in range(ord("!"), ord("~") + 1)]
    byte_syms += [chr(c) for c in range(0xA1, 0xAD)] + [chr(c) for c in range(0xAE, 0x100)]
    byte_syms = [s for s in byte_syms if s not in merged]
    tokens = specials + merged + byte_syms[: n_vocab - len(specials) - len(merged)]
    assert len(tokens) == n_vocab
    types = [int(gguf.TokenType.CONTROL)] * len(specials) + [int(gguf.TokenType.NORMAL)] * (n_vocab - len(specials))
    return tokens, types, ["a b", "ab c"]


def random_weights(spec: TinySpec) -> dict[str, np.ndarray]:
    """float32 tensors, numpy shape [out, in]; scales keep activations O(1) and logits spread."""
    rng = np.random.default_rng(spec.seed)
    hd = spec.hd
    q_dim, kv = spec.n_head * hd, spec.n_head_kv * hd

    def mat(rows: int, cols: int) -> np.ndarray:
        return (rng.standard_normal((rows, cols)) / np.sqrt(cols)).astype(np.float32)

    def norm(n: int) -> np.ndarray:
        return (1.0 + 0.2 * rng.standard_normal(n)).astype(np.float32)

    emb_scale = 1.0 / np.sqrt(spec.n_embd) if spec.arch == "gemma3" else 1.0  # gemma scales it back up
    w = {"token_embd.weight": (rng.standard_normal((spec.n_vocab, spec.n_embd)) * emb_scale).astype(np.float32),
         "output_norm.weight": norm(spec.n_embd)}
    if not spec.tied:
        w["output.weight"] = (rng.standard_normal((spec.n_vocab, spec.n_embd)) * 0.8).astype(np.float32)
    if spec.rope_factors:
        w["rope_factors_short.weight"] = (1.0 + rng.uniform(0.0, 2.0, hd // 2)).astype(np.float32)
        w["rope_factors_long.weight"] = (1.0 + rng.uniform(0.0, 8.0, hd // 2)).astype(np.float32)
    for i in range(spec.n_layer):
        p = f"blk.{i}"
        w[f"{p}.attn_norm.weight"] = norm(spec.n_embd)
        q, k, v = mat(q_dim, spec.n_embd) * 1.5, mat(kv, spec.n_embd) * 1.5, mat(kv, spec.n_embd)  # sharp attention
        if spec.arch == "phi3":
            w[f"{p}.attn_qkv.weight"] = np.concatenate([q, k, v])
        else:
            w[f"{p}.attn_q.weight"], w[f"{p}.attn_k.weight"], w[f"{p}.attn_v.weight"] = q, k, v
        if spec.arch == "qwen2":
            for t, n in (("q", q_dim), ("k", kv), ("v", kv)):
                w[f"{p}.attn_{t}.bias"] = (0.5 * rng.standard_normal(n)).astype(np.float32)
        if spec.arch in ("qwen3", "gemma3"):
            w[f"{p}.attn_q_norm.weight"] = norm(hd) * 2.0
            w[f"{p}.attn_k_norm.weight"] = norm(hd) * 2.0
        w[f"{p}.attn_output.weight"] = mat(spec.n_embd, q_dim) * 2.0  # layers must move the logits
        w[f"{p}.ffn_norm.weight"] = norm(spec.n_embd)
        gate, up = mat(spec.n_ff, spec.n_embd), mat(spec.n_ff, spec.n_embd)
        if spec.arch == "phi3":
            w[f"{p}.ffn_up.weight"] = np.concatenate([gate, up])
        else:
            w[f"{p}.ffn_gate.weight"], w[f"{p}.ffn_up.weight"] = gate, up
        w[f"{p}.ffn_down.weight"] = mat(spec.n_embd, spec.n_ff) * 2.0
        if spec.arch == "gemma3":
            w[f"{p}.post_attention_norm.weight"] = norm(spec.n_embd)
            w[f"{p}.post_ffw_norm.weight"] = norm(spec.n_embd)
    return w


def _add_metadata(wr: gguf.GGUFWriter, spec: TinySpec) -> None:
    a = spec.arch
    wr.add_name(f"tiny-{spec.name}")
    wr.add_uint32(f"{a}.block_count", spec.n_layer)
    wr.add_uint32(f"{a}.context_length", spec.n_ctx)
    wr.add_uint32(f"{a}.embedding_length", spec.n_embd)
    wr.add_uint32(f"{a}.feed_forward_length", spec.n_ff)
    wr.add_uint32(f"{a}.attention.head_count", spec.n_head)
    wr.add_uint32(f"{a}.attention.head_count_kv", spec.n_head_kv)
    wr.add_float32(f"{a}.attention.layer_norm_rms_epsilon", 1e-5)
    wr.add_float32(f"{a}.rope.freq_base", 1e6 if a == "gemma3" else 10000.0)
    wr.add_uint32(f"{a}.rope.dimension_count", spec.hd)
    if spec.head_dim:
        wr.add_uint32(f"{a}.attention.key_length", spec.head_dim)
        wr.add_uint32(f"{a}.attention.value_length", spec.head_dim)
    if spec.window:
        wr.add_uint32(f"{a}.attention.sliding_window", spec.window)
        wr.add_uint32(f"{a}.attention.sliding_window_pattern", spec.swa_pattern)
    if spec.rope_factors:  # longrope: short factors up to the original context, long beyond
        wr.add_uint32(f"{a}.rope.scaling.original_context_length", spec.n_ctx // 2)
        wr.add_float32(f"{a}.rope.scaling.attn_factor", 1.1)
    wr.add_uint32(f"{a}.vocab_size", spec.n_vocab)
    wr.add_uint32("general.file_type", FILE_TYPE[spec.wtype])
    wr.add_uint32("general.quantization_version", 2)
    tokens, types, merges = tiny_vocab(spec.n_vocab)
    wr.add_tokenizer_model("gpt2")
    wr.add_tokenizer_pre("default")
    wr.add_token_list(tokens)
    wr.add_token_types(types)
    wr.add_token_merges(merges)
    wr.add_bos_token_id(1)
    wr.add_eos_token_id(2)
    wr.add_add_bos_token(False)


def write_tiny_model(path: str | Path, spec: TinySpec) -> Path:
    path = Path(path)
    wr = gguf.GGUFWriter(str(path), spec.arch)
    _add_metadata(wr, spec)
    for name, w in random_weights(spec).items():
        if w.ndim == 1:  # norms and biases stay F32
            wr.add_tensor(name, w)
            continue
        wtype = spec.embd_type if (name == "token_embd.weight" and spec.embd_type) else spec.wtype
        data, raw = encode_matrix(w, wtype)
        wr.add_tensor(name, data, raw_dtype=raw)
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file()
    wr.close()
    return path


def write_float_copy(src: str | Path, dst: str | Path, wtype: str = "F16") -> Path:
    """A copy of a GGUF model with every 2-D weight dequantized (gguf.quants) and stored as
    `wtype` (F16 or F32): same metadata, no quantized matmuls left in the forward pass."""
    reader = gguf.GGUFReader(str(src))
    arch = reader.fields["general.architecture"].contents()
    wr = gguf.GGUFWriter(str(dst), arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in ("general.architecture", "general.file_type"):
            continue
        sub = field.types[1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        wr.add_key_value(key, field.contents(), field.types[0], sub_type=sub)
    wr.add_uint32("general.file_type", FILE_TYPE[wtype])
    for t in reader.tensors:
        w = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        w = w.reshape([int(n) for n in reversed(t.shape)])
        if w.ndim == 1:
            wr.add_tensor(t.name, w)
        else:
            data, raw = encode_matrix(w, wtype)
            wr.add_tensor(t.name, data, raw_dtype=raw)
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file()
    wr.close()
    return Path(dst)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    for s in all_specs():
        print(write_tiny_model(out / f"tiny-{s.name}.gguf", s))
