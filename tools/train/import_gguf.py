#!/usr/bin/env python3
"""A shipped GGUF model (F32, F16, BF16 or Q8_0 tensors) back into a training checkpoint: the seed
that tools/train/background.sh continues from on a machine that has no checkpoint of its own.

  python3 tools/train/import_gguf.py models/ko-chat-tiny-Q8_0.gguf /tmp/seed.pt --preset KoChatTinyShape

The inverse of export.py + ulk-convert: GGUF names to Hugging Face names, ggml's RoPE row order of
attn_q/attn_k back to rotate-half (tools/common/hf_to_gguf.hpp: permute_for_rope), Q8_0 blocks
dequantized (the shipped Q8_0 file is within 0.001 bits per character of its F32 source:
docs/models.md). The checkpoint holds weights and shape only; the optimizer starts afresh.
"""
import argparse
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as llama  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# GGUF metadata value types: id -> struct format (scalars); 8 = string, 9 = array.
_SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
# ggml tensor types read here: id -> (name, bytes per block, weights per block).
_TYPES = {0: ("F32", 4, 1), 1: ("F16", 2, 1), 8: ("Q8_0", 34, 32), 30: ("BF16", 2, 1)}


class Reader:
    def __init__(self, path):
        self.path = path
        self.buf = open(path, "rb").read()
        self.pos = 0

    def fail(self, what):
        raise SystemExit(f"{self.path}: byte {self.pos}: {what} (is this a GGUF file written by ulk-quantize?)")

    def take(self, fmt):
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.buf):
            self.fail("file ends inside a field")
        v = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += size
        return v[0] if len(v) == 1 else v

    def string(self):
        n = self.take("Q")
        if self.pos + n > len(self.buf):
            self.fail(f"string of {n} bytes past the end")
        s = self.buf[self.pos:self.pos + n].decode("utf-8", "replace")
        self.pos += n
        return s

    def value(self, t):
        if t in _SCALAR:
            return self.take(_SCALAR[t])
        if t == 8:
            return self.string()
        if t == 9:
            et, n = self.take("I"), self.take("Q")
            if et in _SCALAR:  # arrays of numbers are skipped in one step (token scores, types)
                size = struct.calcsize("<" + _SCALAR[et]) * n
                if self.pos + size > len(self.buf):
                    self.fail("array past the end")
                self.pos += size
                return None
            return [self.value(et) for _ in range(n)]
        self.fail(f"unknown metadata type {t}")


def read_gguf(path):
    """(metadata, {name: float32 array in ggml shape reversed: (rows, cols)})."""
    r = Reader(path)
    if r.take("4s") != b"GGUF":
        r.fail("not a GGUF file (magic)")
    version = r.take("I")
    if version not in (2, 3):
        r.fail(f"GGUF version {version}; 2 or 3 expected")
    n_tensors, n_kv = r.take("Q"), r.take("Q")
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.take("I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        dims = [r.take("Q") for _ in range(r.take("I"))]
        infos.append((name, dims, r.take("I"), r.take("Q")))
    align = int(meta.get("general.alignment", 32))
    base = (r.pos + align - 1) // align * align
    tensors = {}
    for name, dims, t, offset in infos:
        if t not in _TYPES:
            raise SystemExit(f"{path}: tensor '{name}' has ggml type {t}; only F32, F16, BF16 and Q8_0 can be "
                             "imported (re-quantize the F32 file to Q8_0 first)")
        _, block_bytes, block_weights = _TYPES[t]
        count = int(np.prod(dims))
        start = base + offset
        nbytes = count // block_weights * block_bytes
        if start + nbytes > len(r.buf):
            raise SystemExit(f"{path}: tensor '{name}' ends past the end of the file")
        raw = np.frombuffer(r.buf, dtype=np.uint8, count=nbytes, offset=start)
        if t == 0:
            v = raw.view(np.float32).copy()
        elif t == 1:
            v = raw.view(np.float16).astype(np.float32)
        elif t == 30:
            v = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:  # Q8_0: per 32 weights, an F16 scale then 32 int8 codes
            blocks = raw.reshape(-1, 34)
            d = blocks[:, :2].copy().view(np.float16).astype(np.float32)        # (blocks, 1)
            q = blocks[:, 2:].copy().view(np.int8).astype(np.float32)           # (blocks, 32)
            v = (q * d).reshape(-1)
        tensors[name] = v.reshape(list(reversed(dims)))
    return meta, tensors


def unpermute_rope(w, heads):
    """ggml's RoPE row order to rotate-half: row h*d + s*d/2 + j of the result is row h*d + 2j + s."""
    rows, cols = w.shape
    d = rows // heads
    return w.reshape(heads, d // 2, 2, cols).transpose(0, 2, 1, 3).reshape(rows, cols)


def import_gguf(path, shape):
    meta, t = read_gguf(path)
    checks = {"llama.embedding_length": shape.dim, "llama.block_count": shape.layers,
              "llama.attention.head_count": shape.heads, "llama.attention.head_count_kv": shape.kv_heads,
              "llama.feed_forward_length": shape.ffn}
    for key, want in checks.items():
        if int(meta.get(key, -1)) != want:
            raise SystemExit(f"{path}: {key} is {meta.get(key)}, the preset {shape.name} says {want}")
    sd = {"model.embed_tokens.weight": t["token_embd.weight"], "model.norm.weight": t["output_norm.weight"]}
    for n in range(shape.layers):
        g, h = f"blk.{n}.", f"model.layers.{n}."
        sd[h + "input_layernorm.weight"] = t[g + "attn_norm.weight"]
        sd[h + "self_attn.q_proj.weight"] = unpermute_rope(t[g + "attn_q.weight"], shape.heads)
        sd[h + "self_attn.k_proj.weight"] = unpermute_rope(t[g + "attn_k.weight"], shape.kv_heads)
        sd[h + "self_attn.v_proj.weight"] = t[g + "attn_v.weight"]
        sd[h + "self_attn.o_proj.weight"] = t[g + "attn_output.weight"]
        sd[h + "post_attention_layernorm.weight"] = t[g + "ffn_norm.weight"]
        sd[h + "mlp.gate_proj.weight"] = t[g + "ffn_gate.weight"]
        sd[h + "mlp.up_proj.weight"] = t[g + "ffn_up.weight"]
        sd[h + "mlp.down_proj.weight"] = t[g + "ffn_down.weight"]
    if "output.weight" in t:
        sd["lm_head.weight"] = t["output.weight"]
    net = llama.Llama(shape)
    net.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()})
    return net


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("gguf")
    p.add_argument("out", help="checkpoint path (train.py --init)")
    p.add_argument("--preset-header", default=os.path.join(REPO, "configs/ulk/presets/ko_chat.hpp"))
    p.add_argument("--preset", default="KoChatTinyShape")
    a = p.parse_args()
    net = import_gguf(a.gguf, llama.read_preset(a.preset_header, a.preset))
    torch.save({"model": net.state_dict(), "shape": net.shape.as_dict(), "imported_from": os.path.abspath(a.gguf)},
               a.out)
    print(f"{a.gguf} -> {a.out}: {net.shape.parameters() / 1e6:.2f} M parameters")


if __name__ == "__main__":
    main()
