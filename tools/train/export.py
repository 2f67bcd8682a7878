#!/usr/bin/env python3
"""A training checkpoint (train.py's ckpt.pt) to a Hugging Face Llama checkpoint directory:
model.safetensors (float32), config.json (LlamaForCausalLM) and tokenizer.model, which
build/tools/ulk-convert turns into GGUF.

  python3 tools/train/export.py runs/tiny-chat/ckpt.pt /tmp/ko-chat-tiny-hf --tokenizer models/ulk-ko-16k.model
  build/tools/ulk-convert --outtype F32 /tmp/ko-chat-tiny-hf /tmp/ko-chat-tiny-F32.gguf

Needs no safetensors package: the format is an 8-byte little-endian header length, a JSON header
{"name": {"dtype", "shape", "data_offsets"}}, and the raw tensors.
"""
import argparse
import json
import os
import shutil
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous().cpu()
        raw = t.numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * ((8 - len(head) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def hf_config(shape, bos=1, eos=2):
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": shape["vocab"],
        "hidden_size": shape["dim"],
        "num_hidden_layers": shape["layers"],
        "num_attention_heads": shape["heads"],
        "num_key_value_heads": shape["kv_heads"],
        "intermediate_size": shape["ffn"],
        "max_position_embeddings": shape["context"],
        "rms_norm_eps": shape["norm_eps"],
        "rope_theta": shape["rope_base"],
        "rope_scaling": None,
        "hidden_act": "silu",
        "tie_word_embeddings": shape["tied_output"],
        "bos_token_id": bos,
        "eos_token_id": eos,
        "torch_dtype": "float32",
    }


def export(ckpt_path, out_dir, tokenizer, name=None):
    ck = torch.load(ckpt_path, map_location="cpu")
    shape = ck["shape"]
    state = {k: v for k, v in ck["model"].items()}
    if shape["tied_output"]:
        state.pop("lm_head.weight", None)
    os.makedirs(out_dir, exist_ok=True)
    meta = {"ulk_stage": str(ck.get("stage", "")), "ulk_step": str(ck.get("step", 0)), "ulk_tokens": str(ck.get("tokens", 0))}
    write_safetensors(os.path.join(out_dir, "model.safetensors"), state, meta)
    cfg = hf_config(shape)
    if name:
        cfg["_name_or_path"] = name
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    shutil.copyfile(tokenizer, os.path.join(out_dir, "tokenizer.model"))
    return shape


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("out_dir")
    ap.add_argument("--tokenizer", default=os.path.join(REPO, "models/ulk-ko-16k.model"))
    ap.add_argument("--name", default=None)
    a = ap.parse_args()
    shape = export(a.checkpoint, a.out_dir, a.tokenizer, a.name)
    print(f"wrote {a.out_dir}: model.safetensors, config.json, tokenizer.model ({shape['name']})")


if __name__ == "__main__":
    main()
