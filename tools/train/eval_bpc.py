#!/usr/bin/env python3
"""Held-out bits per character of a training checkpoint, per source, with the rule of the C++
side (tools/common/bits_per_char.hpp, ulk-eval-bpc): whole documents of each held-out shard in
order until at least --max-tokens tokens are scored; a document longer than --window tokens is
scored in windows overlapping by one token, each from an empty context; every token after <s>
(</s> included) is predicted once; characters = code points of the normalized text (PREFIX.chars).

  python3 tools/train/eval_bpc.py runs/tiny-chat/ckpt.pt --shards /tmp/ulk-shards

With --replies (chat shards) it scores what chat batches train instead: the loss on reply tokens
(mask 1) of every held-out conversation, each once, in nats per reply token. The user turns,
which no batch trains, are context only. Nats per token compare checkpoints of one vocabulary.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import train  # noqa: E402


@torch.no_grad()
def bits_per_char(net, shard, max_tokens, window, device):
    chars = np.fromfile(shard.prefix + ".chars", dtype=np.uint32)
    nll, tokens, nchars, docs = 0.0, 0, 0, 0
    starts = list(shard.starts) + [len(shard)]
    for d in range(len(shard.starts)):
        if tokens >= max_tokens:
            break
        doc = torch.from_numpy(np.asarray(shard.ids[starts[d]:starts[d + 1]], dtype=np.int64))
        if len(doc) < 2:
            continue
        begin = 0
        while begin + 1 < len(doc):
            w = doc[begin:begin + window].to(device)
            logits = net(w[None, :-1])[0].float()
            nll += float(F.cross_entropy(logits, w[1:], reduction="sum")) / math.log(2)
            tokens += len(w) - 1
            begin += window - 1
        nchars += int(chars[d])
        docs += 1
    return {"documents": docs, "tokens": tokens, "chars": nchars, "bits_per_char": nll / max(nchars, 1)}


@torch.no_grad()
def reply_loss(net, shard, window, device):
    nll, tokens = 0.0, 0
    starts = list(shard.starts) + [len(shard)]
    for d in range(len(shard.starts)):
        ids = np.asarray(shard.ids[starts[d]:starts[d + 1]], dtype=np.int64)
        mask = np.asarray(shard.mask[starts[d]:starts[d + 1]], dtype=np.float32)
        begin = 0
        while begin + 1 < len(ids):
            w = torch.from_numpy(ids[begin:begin + window]).to(device)
            m = torch.from_numpy(mask[begin + 1:begin + window]).to(device)
            if float(m.sum()) > 0:
                logits = net(w[None, :-1])[0].float()
                nll += float((F.cross_entropy(logits, w[1:], reduction="none") * m).sum())
                tokens += int(m.sum())
            begin += window - 1
    return {"documents": len(shard.starts), "reply_tokens": tokens, "nats_per_token": nll / max(tokens, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--shards", required=True, help="directory with NAME.held_out.* shards")
    ap.add_argument("--sources", default=",".join(data.PRETRAIN_MIX))
    ap.add_argument("--max-tokens", type=int, default=20000)
    ap.add_argument("--window", type=int, default=256)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--replies", action="store_true", help="chat shards: loss on the replies only (nats per token)")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    net, ck = train.load_checkpoint(a.checkpoint, device)
    net.eval()
    # Per source, then pooled: the value is weighted by what it is a mean over (reply tokens or characters).
    if a.replies:
        score = lambda shard: reply_loss(net, shard, a.window, device)  # noqa: E731
        value, weight = "nats_per_token", "reply_tokens"
        line = lambda r: f"{r['reply_tokens']:8d} reply tokens  {r['nats_per_token']:.4f} nats/token"  # noqa: E731
        pooled = lambda n, w: f"{w:20d} reply tokens  {n / max(w, 1):.4f} nats/token"  # noqa: E731
    else:
        score = lambda shard: bits_per_char(net, shard, a.max_tokens, a.window, device)  # noqa: E731
        value, weight = "bits_per_char", "chars"
        line = lambda r: f"{r['tokens']:8d} tokens {r['chars']:8d} chars  {r['bits_per_char']:.4f} bits/char"  # noqa: E731
        pooled = lambda n, w: f"{tokens:22d} tokens {w:8d} chars  {n / max(w, 1):.4f} bits/char"  # noqa: E731
    nll, total_weight, tokens = 0.0, 0, 0
    for name in a.sources.split(","):
        r = score(data.Shard(os.path.join(a.shards, f"{name}.held_out")))
        nll += r[value] * r[weight]
        total_weight += r[weight]
        tokens += r.get("tokens", 0)
        if a.json:
            print(json.dumps({"checkpoint": a.checkpoint, "shard": name, **r}), flush=True)
        else:
            print(f"{name:<16} {r['documents']:6d} docs {line(r)}", flush=True)
    if not a.json:
        print(f"{'all':<16} {pooled(nll, total_weight)}")

if __name__ == "__main__":
    main()
