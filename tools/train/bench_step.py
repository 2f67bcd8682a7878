#!/usr/bin/env python3
"""Training-step throughput of a preset on this machine: tokens/s and the FLOP/s of the model's
matrix products (6 x parameters x tokens for the weights, + the attention products), for the loss
and precision variants train.py can use, measured in one run (tools/train/README.md, "Speed").

  python3 tools/train/bench_step.py --preset KoChatTinyShape --batch 16 --seq-len 256 --threads 2
"""
import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as llama  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def step_flops(s, batch, seq):
    """Multiply-adds x 2 of one training step (forward + backward = 3x forward)."""
    hd = s.dim // s.heads
    per_token = 2 * (s.parameters() - s.dim * (s.layers * 2 + 1))          # weights incl. the output product
    per_token += 2 * s.layers * 2 * seq * s.heads * hd // 2                 # QK^T and PV, causal half
    return 3 * per_token * batch * seq


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset-header", default=os.path.join(REPO, "configs/ulk/presets/ko_chat.hpp"))
    p.add_argument("--preset", default="KoChatTinyShape")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=4, help="timed steps per variant (after one warm-up)")
    p.add_argument("--rounds", type=int, default=2, help="the variants are timed in turn this many times")
    p.add_argument("--variants", default="f32-full,f32-chunked,bf16-chunked")
    p.add_argument("--peak", type=float, default=230.0, help="the CPU's FP32 peak in GFLOP/s, for the ratio")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    s = llama.read_preset(a.preset_header, a.preset)
    net = llama.Llama(s)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    x = torch.randint(0, s.vocab, (a.batch, a.seq_len + 1))
    mask = torch.ones(a.batch, a.seq_len)
    flops = step_flops(s, a.batch, a.seq_len)

    def step(variant):
        bf16 = variant.startswith("bf16")
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            if variant.endswith("full"):
                logits = net(x[:, :-1])
                loss = F.cross_entropy(logits.float().reshape(-1, s.vocab), x[:, 1:].reshape(-1))
            else:
                net.loss_dtype = torch.bfloat16 if bf16 else None
                loss = net(x[:, :-1], x[:, 1:], mask)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    variants = a.variants.split(",")
    times = {v: [] for v in variants}
    for v in variants:
        step(v)
    for _ in range(a.rounds):
        for v in variants:
            for _ in range(a.steps):
                t = time.perf_counter()
                step(v)
                times[v].append(time.perf_counter() - t)
    print(f"{s.name}: {s.parameters() / 1e6:.2f} M parameters, batch {a.batch} x {a.seq_len}, {a.threads} threads, "
          f"{flops / 1e9:.1f} GFLOP per step")
    base = statistics.median(times[variants[0]])
    for v in variants:
        t = statistics.median(times[v])
        print(f"  {v:14s} {a.batch * a.seq_len / t:8.0f} tokens/s  {flops / t / 1e9:6.1f} GFLOP/s "
              f"({flops / t / 1e9 / a.peak:.0%} of {a.peak:.0f})  {base / t:.2f}x {variants[0]}  "
              f"(median of {len(times[v])} steps, {min(times[v]):.2f}-{max(times[v]):.2f} s)")


if __name__ == "__main__":
    main()
