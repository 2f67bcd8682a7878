#!/usr/bin/env python3
"""Golden logits: the PyTorch model's float32 logits for a fixed token sequence, which the C++
engine's F32 logits are compared with (tests/train/smoke_check.cpp).

  python3 tools/train/golden.py CKPT OUT.bin --shard /tmp/shards/nsmc.held_out --tokens 32

OUT.bin: int32 n, int32 vocab, n int32 token ids, n * vocab float32 logits (row i: the logits
after token i), little-endian.
"""
import argparse
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import train  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--shard", required=True, help="shard prefix; its first --tokens ids are the sequence")
    ap.add_argument("--tokens", type=int, default=32)
    a = ap.parse_args()
    net, _ = train.load_checkpoint(a.checkpoint, torch.device("cpu"))
    net.eval()
    ids = np.asarray(data.Shard(a.shard).ids[: a.tokens], dtype=np.int64)
    with torch.no_grad():
        logits = net(torch.from_numpy(ids)[None])[0].float().numpy()
    with open(a.out, "wb") as f:
        f.write(struct.pack("<ii", len(ids), logits.shape[1]))
        f.write(ids.astype("<i4").tobytes())
        f.write(logits.astype("<f4").tobytes())
    print(f"wrote {a.out}: {len(ids)} tokens x {logits.shape[1]} logits")


if __name__ == "__main__":
    main()
