"""An independent NumPy forward pass of a sentence-transformers BERT model, read straight
from its Hugging Face files (model.safetensors, config.json, tokenizer.json, modules.json
and the pooling config): never from a GGUF file, never through cnai.

Tokenization is Hugging Face's own (the `tokenizers` package reading tokenizer.json);
the arithmetic is float64 throughout, following transformers' BertModel: embeddings
(word + position + token type 0) -> LayerNorm -> n x [self-attention with the padding
mask -> dense -> LayerNorm(x + .) -> dense -> erf GELU -> dense -> LayerNorm(x + .)],
then the Pooling module's mode over the real tokens and the Normalize module's L2 norm."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer


def _erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


@dataclass
class BertReference:
    weights: dict
    config: dict
    tokenizer: Tokenizer
    pooling: str      # "mean" | "cls" | "last"
    normalize: bool

    @classmethod
    def load(cls, model_dir: Path) -> "BertReference":
        model_dir = Path(model_dir)
        config = json.loads((model_dir / "config.json").read_text())
        raw = load_file(str(model_dir / "model.safetensors"))
        weights = {k.removeprefix("bert."): v.astype(np.float64) for k, v in raw.items()}
        tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tok.no_padding()
        tok.no_truncation()
        modules = json.loads((model_dir / "modules.json").read_text())
        pooling, normalize = "mean", False
        for m in modules:
            if m["type"].endswith("Pooling"):
                pc = json.loads((model_dir / m["path"] / "config.json").read_text())
                pooling = "mean" if pc.get("pooling_mode_mean_tokens") else "cls" if pc.get("pooling_mode_cls_token") else "last"
            if m["type"].endswith("Normalize"):
                normalize = True
        return cls(weights, config, tok, pooling, normalize)

    def token_ids(self, text: str) -> list[int]:
        return self.tokenizer.encode(text).ids

    def _layer(self, x: np.ndarray, mask: np.ndarray, i: int) -> np.ndarray:
        w, cfg = self.weights, self.config
        p = f"encoder.layer.{i}."
        n_head = cfg["num_attention_heads"]
        batch, seq, dim = x.shape
        hd = dim // n_head

        def proj(name: str, inp: np.ndarray) -> np.ndarray:
            return inp @ w[name + ".weight"].T + w[name + ".bias"]

        def heads(t: np.ndarray) -> np.ndarray:
            return t.reshape(batch, seq, n_head, hd).transpose(0, 2, 1, 3)

        q = heads(proj(p + "attention.self.query", x))
        k = heads(proj(p + "attention.self.key", x))
        v = heads(proj(p + "attention.self.value", x))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd)
        scores = scores + (1.0 - mask[:, None, None, :]) * -1e30  # padding keys get no weight
        scores -= scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, seq, dim)
        eps = cfg["layer_norm_eps"]
        x = _layer_norm(x + proj(p + "attention.output.dense", ctx), w[p + "attention.output.LayerNorm.weight"],
                        w[p + "attention.output.LayerNorm.bias"], eps)
        h = proj(p + "intermediate.dense", x)
        h = 0.5 * h * (1.0 + _erf(h / math.sqrt(2.0)))
        return _layer_norm(x + proj(p + "output.dense", h), w[p + "output.LayerNorm.weight"],
                           w[p + "output.LayerNorm.bias"], eps)

    def hidden_states(self, batch_ids: list[list[int]]) -> np.ndarray:
        """The last layer's states [batch, longest, dim]. The batch is padded to its longest
        member, as transformers runs it, with the padding mask."""
        w, cfg = self.weights, self.config
        seq = max(len(ids) for ids in batch_ids)
        ids = np.zeros((len(batch_ids), seq), dtype=np.int64)
        mask = np.zeros((len(batch_ids), seq))
        for b, row in enumerate(batch_ids):
            ids[b, :len(row)] = row
            mask[b, :len(row)] = 1.0
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:seq][None]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], cfg["layer_norm_eps"])
        for i in range(cfg["num_hidden_layers"]):
            x = self._layer(x, mask, i)
        return x

    def pool(self, states: np.ndarray, lengths: list[int], pooling: str | None = None,
             normalize: bool | None = None) -> np.ndarray:
        """One vector per sequence: the Pooling module's mode over the real tokens, then the
        Normalize module's L2 norm (the model's own choices unless given)."""
        pooling = pooling or self.pooling
        normalize = self.normalize if normalize is None else normalize
        out = np.zeros((len(lengths), states.shape[-1]))
        for b, n in enumerate(lengths):
            out[b] = states[b, :n].mean(axis=0) if pooling == "mean" else states[b, 0] if pooling == "cls" else states[b, n - 1]
        if normalize:
            out /= np.maximum(np.linalg.norm(out, axis=-1, keepdims=True), 1e-12)
        return out

    def embed_ids(self, batch_ids: list[list[int]], pooling: str | None = None,
                  normalize: bool | None = None) -> np.ndarray:
        return self.pool(self.hidden_states(batch_ids), [len(r) for r in batch_ids], pooling, normalize)

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.embed_ids([self.token_ids(t) for t in texts])
