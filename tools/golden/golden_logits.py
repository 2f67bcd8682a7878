#!/usr/bin/env python3
"""Golden logits for a Llama GGUF file, from an independent numpy (float64) implementation.

Reads the GGUF file itself (no gguf-py), runs the Llama forward pass exactly as llama.cpp defines
it for `llama` files, and writes the logits at every position as JSON:

    golden_logits.py MODEL.gguf --tokens 1,2,3 --out FILE.json [--greedy N]

Only numpy is needed. See tools/golden/README.md for how the committed golden data is made.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

# ---------------------------------------------------------------------------------------------
# GGUF reader (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md), version 2 and 3.

# Metadata value types: id -> struct format of a scalar (8 = string, 9 = array handled apart).
SCALAR_FORMATS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
                  10: "<Q", 11: "<q", 12: "<d"}
GGUF_STRING, GGUF_ARRAY = 8, 9
# Tensor types this script reads: ggml type id -> numpy dtype.
TENSOR_DTYPES = {0: np.dtype("<f4"), 1: np.dtype("<f2")}
GGML_TYPE_BF16 = 30


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def unpack(self, fmt):
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def string(self):
        n = self.unpack("<Q")
        if self.pos + n > len(self.data):
            raise ValueError(f"string of {n} bytes runs past the end of the file at {self.pos}")
        s = self.data[self.pos:self.pos + n].decode("utf-8")
        self.pos += n
        return s

    def value(self, vtype):
        if vtype in SCALAR_FORMATS:
            return self.unpack(SCALAR_FORMATS[vtype])
        if vtype == GGUF_STRING:
            return self.string()
        if vtype == GGUF_ARRAY:
            etype, n = self.unpack("<I"), self.unpack("<Q")
            return [self.value(etype) for _ in range(n)]
        raise ValueError(f"unknown GGUF value type {vtype} at offset {self.pos}")


def read_gguf(path):
    """Returns (metadata dict, tensors dict name -> float64 numpy array in numpy order)."""
    with open(path, "rb") as f:
        data = f.read()
    r = Reader(data)
    if data[:4] != b"GGUF":
        raise ValueError(f"{path}: not a GGUF file (magic {data[:4]!r})")
    r.pos = 4
    version = r.unpack("<I")
    if version not in (2, 3):
        raise ValueError(f"{path}: GGUF version {version}, expected 2 or 3")
    n_tensors, n_kv = r.unpack("<Q"), r.unpack("<Q")
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.unpack("<I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        n_dims = r.unpack("<I")
        dims = [r.unpack("<Q") for _ in range(n_dims)]  # ggml order: ne0 (contiguous) first
        ttype, offset = r.unpack("<I"), r.unpack("<Q")
        infos.append((name, dims, ttype, offset))
    alignment = meta.get("general.alignment", 32)
    data_start = (r.pos + alignment - 1) // alignment * alignment
    tensors = {}
    for name, dims, ttype, offset in infos:
        count = int(np.prod(dims, dtype=np.uint64)) if dims else 1
        begin = data_start + offset
        if ttype == GGML_TYPE_BF16:
            raw = np.frombuffer(data, dtype="<u2", count=count, offset=begin)
            values = (raw.astype(np.uint32) << 16).view(np.float32)
        elif ttype in TENSOR_DTYPES:
            values = np.frombuffer(data, dtype=TENSOR_DTYPES[ttype], count=count, offset=begin)
        else:
            continue  # quantized tensors are not read; a missing weight is reported when used
        # ggml dims [ne0, ne1, ...] are numpy shape (..., ne1, ne0), row-major.
        tensors[name] = values.astype(np.float64).reshape(tuple(reversed(dims)))
    return meta, tensors


# ---------------------------------------------------------------------------------------------
# The Llama forward pass in float64.

class Llama:
    def __init__(self, path):
        meta, t = read_gguf(path)
        arch = meta.get("general.architecture")
        if arch != "llama":
            raise ValueError(f"{path}: architecture {arch!r}, expected 'llama'")

        def weight(name):
            if name not in t:
                raise ValueError(f"{path}: no F32/F16/BF16 tensor {name!r}")
            return t[name]

        self.dim = meta["llama.embedding_length"]
        self.layers = meta["llama.block_count"]
        self.heads = meta["llama.attention.head_count"]
        self.kv_heads = meta.get("llama.attention.head_count_kv", self.heads)
        self.ffn = meta["llama.feed_forward_length"]
        self.eps = meta["llama.attention.layer_norm_rms_epsilon"]
        self.rope_base = meta.get("llama.rope.freq_base", 10000.0)
        self.context = meta["llama.context_length"]
        self.head_dim = self.dim // self.heads
        self.embedding = weight("token_embd.weight")          # (vocab, dim)
        self.vocab = self.embedding.shape[0]
        self.output_norm = weight("output_norm.weight")
        self.output = t.get("output.weight", self.embedding)  # tied when absent
        self.blocks = []
        for i in range(self.layers):
            b = {k: weight(f"blk.{i}.{k}.weight") for k in
                 ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                  "ffn_norm", "ffn_gate", "ffn_up", "ffn_down")}
            self.blocks.append(b)
        kv_dim = self.kv_heads * self.head_dim
        assert self.embedding.shape == (self.vocab, self.dim)
        assert self.output.shape == (self.vocab, self.dim)
        assert self.blocks[0]["attn_q"].shape == (self.dim, self.dim)
        assert self.blocks[0]["attn_k"].shape == (kv_dim, self.dim)
        assert self.blocks[0]["ffn_gate"].shape == (self.ffn, self.dim)
        assert self.blocks[0]["ffn_down"].shape == (self.dim, self.ffn)
        assert self.heads % self.kv_heads == 0 and self.head_dim % 2 == 0

    def rms_norm(self, x, w):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps) * w

    def rope(self, x):
        """ggml's normal mode: adjacent pairs (x[2i], x[2i+1]) of each head rotate by
        pos * base^(-2i/head_dim). x: (T, heads, head_dim)."""
        T, d = x.shape[0], self.head_dim
        freq = self.rope_base ** (-np.arange(0, d, 2, dtype=np.float64) / d)  # (d/2,)
        angle = np.arange(T, dtype=np.float64)[:, None] * freq[None, :]     # (T, d/2)
        cos, sin = np.cos(angle)[:, None, :], np.sin(angle)[:, None, :]
        x0, x1 = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2] = x0 * cos - x1 * sin
        out[..., 1::2] = x0 * sin + x1 * cos
        return out

    def attention(self, b, h):
        T, d = h.shape[0], self.head_dim
        q = self.rope((h @ b["attn_q"].T).reshape(T, self.heads, d))
        k = self.rope((h @ b["attn_k"].T).reshape(T, self.kv_heads, d))
        v = (h @ b["attn_v"].T).reshape(T, self.kv_heads, d)
        group = self.heads // self.kv_heads
        causal = np.triu(np.ones((T, T), dtype=bool), k=1)  # True above the diagonal: future
        out = np.empty((T, self.heads, d))
        for head in range(self.heads):
            kvh = head // group
            scores = (q[:, head, :] @ k[:, kvh, :].T) / np.sqrt(d)  # (T query, T key)
            scores[causal] = -np.inf
            scores -= scores.max(axis=-1, keepdims=True)
            p = np.exp(scores)
            p /= p.sum(axis=-1, keepdims=True)
            out[:, head, :] = p @ v[:, kvh, :]
        return out.reshape(T, self.dim) @ b["attn_output"].T

    def feed_forward(self, b, h):
        gate, up = h @ b["ffn_gate"].T, h @ b["ffn_up"].T
        silu = gate / (1.0 + np.exp(-gate))
        return (silu * up) @ b["ffn_down"].T

    def logits(self, tokens):
        """Logits (len(tokens), vocab) at every position of the sequence."""
        if not tokens or len(tokens) > self.context:
            raise ValueError(f"need 1..{self.context} tokens, got {len(tokens)}")
        if min(tokens) < 0 or max(tokens) >= self.vocab:
            raise ValueError(f"token ids must lie in [0, {self.vocab})")
        x = self.embedding[np.asarray(tokens)]
        for b in self.blocks:
            x = x + self.attention(b, self.rms_norm(x, b["attn_norm"]))
            x = x + self.feed_forward(b, self.rms_norm(x, b["ffn_norm"]))
        return self.rms_norm(x, self.output_norm) @ self.output.T

    def greedy(self, tokens, n):
        seq = list(tokens)
        for _ in range(n):
            seq.append(int(np.argmax(self.logits(seq)[-1])))
        return seq[len(tokens):]


# ---------------------------------------------------------------------------------------------

def write_json(path, model_name, tokens, logits):
    """Deterministic JSON: every float with 9 significant digits, one position per line."""
    fmt = lambda v: f"{v:.9g}"
    rows = ",\n    ".join("[" + ", ".join(fmt(v) for v in row) + "]" for row in logits)
    text = ("{\n"
            f'  "generator": "tools/golden/golden_logits.py (numpy float64)",\n'
            f'  "model": {json.dumps(model_name)},\n'
            f'  "tokens": [{", ".join(str(t) for t in tokens)}],\n'
            f'  "logits": [\n    {rows}\n  ]\n'
            "}\n")
    json.loads(text)  # must parse
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="GGUF file with F32/F16/BF16 weights, llama architecture")
    ap.add_argument("--tokens", required=True, help="comma-separated token ids, e.g. 1,2,3")
    ap.add_argument("--out", help="JSON file for the logits at every position")
    ap.add_argument("--greedy", type=int, default=0, metavar="N",
                    help="also print the N greedy (argmax) tokens that follow the sequence")
    args = ap.parse_args()
    tokens = [int(s) for s in args.tokens.split(",") if s.strip()]
    model = Llama(args.model)
    print(f"{os.path.basename(args.model)}: dim {model.dim}, layers {model.layers}, heads "
          f"{model.heads}, kv heads {model.kv_heads}, ffn {model.ffn}, vocab {model.vocab}, "
          f"rope base {model.rope_base:g}, rms eps {model.eps:g}", file=sys.stderr)
    logits = model.logits(tokens)
    if args.out:
        write_json(args.out, os.path.basename(args.model), tokens, logits)
        print(f"wrote {args.out}: {len(tokens)} positions x {model.vocab} logits, max |logit| "
              f"{np.abs(logits).max():.4g}", file=sys.stderr)
    if args.greedy:
        print("greedy", " ".join(str(t) for t in model.greedy(tokens, args.greedy)))


if __name__ == "__main__":
    main()
