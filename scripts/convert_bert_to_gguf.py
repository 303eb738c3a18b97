#!/usr/bin/env python3
"""Converts a sentence-transformers BERT model directory (model.safetensors, config.json,
tokenizer.json, modules.json, 1_Pooling/config.json) into a GGUF file with llama.cpp's BERT
tensor names and metadata keys, so that the same file loads in cnai and in llama.cpp.

    convert_bert_to_gguf.py MODEL_DIR OUT.gguf [--outtype f32|f16|q8_0]

Weight types follow llama.cpp's converter: 1-D tensors, norms, biases, position and
token-type embeddings stay F32; the other matrices (token embeddings, Q/K/V/output and
FFN weights) take the requested type. Needs numpy, safetensors and gguf (PyPI)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import gguf
import numpy as np
from safetensors.numpy import load_file

OUTTYPES = {
    "f32": (gguf.GGMLQuantizationType.F32, gguf.LlamaFileType.ALL_F32),
    "f16": (gguf.GGMLQuantizationType.F16, gguf.LlamaFileType.MOSTLY_F16),
    "q8_0": (gguf.GGMLQuantizationType.Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
}
ARCH = gguf.MODEL_ARCH.BERT
SKIPPED = ("embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias")
# Tensors llama.cpp keeps in F32 whatever the file type (its converter's list, for BERT).
ALWAYS_F32 = (gguf.MODEL_TENSOR.POS_EMBD, gguf.MODEL_TENSOR.TOKEN_TYPES)


def read_json(path: Path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def pooling_type(model_dir: Path) -> gguf.PoolingType | None:
    """The sentence-transformers Pooling module's mode, as llama.cpp's converter reads it."""
    modules = model_dir / "modules.json"
    if not modules.is_file():
        return None
    for mod in read_json(modules):
        if mod["type"].endswith("Pooling"):
            cfg = read_json(model_dir / mod["path"] / "config.json")
            if cfg.get("pooling_mode_mean_tokens"):
                return gguf.PoolingType.MEAN
            if cfg.get("pooling_mode_cls_token"):
                return gguf.PoolingType.CLS
            if cfg.get("pooling_mode_lasttoken"):
                return gguf.PoolingType.LAST
            raise SystemExit(f"unsupported pooling config {cfg}")
    return None


def normalizes(model_dir: Path) -> bool:
    """True when the sentence-transformers pipeline ends in a Normalize (L2) module."""
    modules = model_dir / "modules.json"
    return modules.is_file() and any(m["type"].endswith("Normalize") for m in read_json(modules))


def vocabulary(tok: dict) -> tuple[list[str], list[int]]:
    """Tokens in id order with llama.cpp's "phantom space" spelling: word starts get a
    U+2581 prefix, "##" continuations lose it; special tokens are CONTROL and unchanged."""
    vocab = tok["model"]["vocab"]
    special = {t["content"] for t in tok.get("added_tokens", []) if t.get("special")}
    by_id = sorted(vocab.items(), key=lambda kv: kv[1])
    if [i for _, i in by_id] != list(range(len(by_id))):
        raise SystemExit("tokenizer.json vocabulary ids are not 0..n-1")
    tokens, types = [], []
    for text, _ in by_id:
        if text in special:
            tokens.append(text)
            types.append(gguf.TokenType.CONTROL)
        else:
            tokens.append(text[2:] if text.startswith("##") else "\u2581" + text)
            types.append(gguf.TokenType.NORMAL)
    return tokens, types


def write_metadata(w: gguf.GGUFWriter, model_dir: Path, cfg: dict, tok: dict, ftype) -> None:
    w.add_name(model_dir.name)
    w.add_file_type(ftype)
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_layer_norm_eps(cfg["layer_norm_eps"])
    w.add_causal_attention(False)
    if (pool := pooling_type(model_dir)) is not None:
        w.add_pooling_type(pool)
    # Not a llama.cpp key (llama.cpp normalises by default, --embd-normalize): cnai reads
    # it to follow the model's own pipeline.
    w.add_bool("cnai.embedding.normalize", normalizes(model_dir))

    tokens, types = vocabulary(tok)
    w.add_tokenizer_model("bert")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_type_count(cfg.get("type_vocab_size", 1))
    norm = tok.get("normalizer") or {}
    if norm.get("type") == "BertNormalizer":
        # llama.cpp reads these (lowercase defaults to false there when absent).
        w.add_bool("tokenizer.ggml.normalizer.lowercase", bool(norm.get("lowercase", True)))
        if norm.get("strip_accents") is not None:
            w.add_bool("tokenizer.ggml.normalizer.strip_accents", bool(norm["strip_accents"]))
    ids = tok["model"]["vocab"]
    # As llama.cpp's SpecialVocab reads BERT's TemplateProcessing "[CLS] A [SEP]": BOS is
    # [CLS] and EOS is [SEP], both added.
    for name, keys in (("[UNK]", ["unknown"]), ("[SEP]", ["seperator", "eos"]), ("[PAD]", ["padding"]),
                       ("[CLS]", ["cls", "bos"]), ("[MASK]", ["mask"])):
        if name in ids:
            for key in keys:
                w.add_uint32(f"tokenizer.ggml.{key}_token_id", ids[name])
    w.add_add_bos_token(True)
    w.add_add_eos_token(True)


def write_tensors(w: gguf.GGUFWriter, weights: dict, n_layer: int, qtype) -> None:
    names = gguf.get_tensor_name_map(ARCH, n_layer)
    for hf_name in sorted(weights):
        name = hf_name[5:] if hf_name.startswith("bert.") else hf_name
        if name in SKIPPED:
            continue
        new_name = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if new_name is None:
            raise SystemExit(f"no GGUF name for tensor {hf_name}")
        data = np.ascontiguousarray(weights[hf_name].astype(np.float32))
        keep_f32 = (data.ndim <= 1 or not new_name.endswith(".weight")
                    or any(new_name == gguf.TENSOR_NAMES[t] + ".weight" for t in ALWAYS_F32))
        t = gguf.GGMLQuantizationType.F32 if keep_f32 else qtype
        if t == gguf.GGMLQuantizationType.F32:
            w.add_tensor(new_name, data)
        elif t == gguf.GGMLQuantizationType.F16:
            w.add_tensor(new_name, data.astype(np.float16))
        else:
            w.add_tensor(new_name, gguf.quants.quantize(data, t), raw_dtype=t)


def convert(model_dir: Path, out: Path, outtype: str) -> Path:
    cfg = read_json(model_dir / "config.json")
    if cfg.get("model_type") != "bert":
        raise SystemExit(f"{model_dir}: model_type {cfg.get('model_type')!r} is not bert")
    if cfg.get("position_embedding_type", "absolute") != "absolute" or cfg.get("hidden_act") != "gelu":
        raise SystemExit("only absolute position embeddings and the erf GELU are supported")
    tok = read_json(model_dir / "tokenizer.json")
    qtype, ftype = OUTTYPES[outtype]
    weights = load_file(str(model_dir / "model.safetensors"))
    w = gguf.GGUFWriter(str(out), gguf.MODEL_ARCH_NAMES[ARCH])
    write_metadata(w, model_dir, cfg, tok, ftype)
    write_tensors(w, weights, cfg["num_hidden_layers"], qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--outtype", choices=sorted(OUTTYPES), default="f32")
    args = ap.parse_args()
    print(convert(args.model_dir, args.out, args.outtype))


if __name__ == "__main__":
    main()
