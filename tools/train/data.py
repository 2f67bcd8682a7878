"""Token shards written by ulk-tokenize (tools/common/tokenize_corpus.hpp) and the samplers over them.

A shard PREFIX is PREFIX.bin (uint16/uint32 ids), PREFIX.idx (uint64 document starts),
PREFIX.json (counts) and, for chat, PREFIX.mask (uint8, 1 = loss on this token).
"""
import json
import os

import numpy as np
import torch

# Pretraining mixture: the fraction of sampled tokens each source gets (a source is drawn for each
# sequence with this probability). Legal text (precedents + statutes) is 73% of the bytes; it gets
# 35% of the tokens. The smaller everyday sources are repeated more often than the legal text.
PRETRAIN_MIX = {
    "precedents": 0.25,
    "statutes": 0.10,
    "nsmc": 0.15,
    "petitions": 0.12,
    "techdocs": 0.10,
    "boddari": 0.08,
    "klue_kornlu": 0.08,
    "helpdocs": 0.07,
    "comments_kote": 0.05,
}


class Shard:
    def __init__(self, prefix):
        self.prefix = prefix
        with open(prefix + ".json", encoding="utf-8") as f:
            self.meta = json.load(f)
        dtype = np.uint16 if self.meta["dtype"] == "uint16" else np.uint32
        self.ids = np.memmap(prefix + ".bin", dtype=dtype, mode="r")
        self.starts = np.fromfile(prefix + ".idx", dtype=np.uint64).astype(np.int64)
        self.mask = np.memmap(prefix + ".mask", dtype=np.uint8, mode="r") if os.path.exists(prefix + ".mask") else None
        assert len(self.ids) == self.meta["tokens"], f"{prefix}.bin: {len(self.ids)} ids, json says {self.meta['tokens']}"

    def __len__(self):
        return len(self.ids)


def window(shard, start, length):
    """ids[start : start + length] as int64, padded with 0 (mask 0) past the end."""
    end = min(start + length, len(shard))
    ids = np.zeros(length, dtype=np.int64)
    ids[: end - start] = shard.ids[start:end]
    mask = np.zeros(length, dtype=np.float32)
    if shard.mask is not None:
        mask[: end - start] = shard.mask[start:end]
    else:
        mask[: end - start] = 1
    return ids, mask


class _WindowSampler:
    """Batches of seq_len + 1 token windows from shards drawn by weight; subclasses choose where a
    window starts (_start). self.shards: [(name, Shard)], self.weights: probabilities."""

    def batch(self, batch_size):
        xs, ms = [], []
        for _ in range(batch_size):
            _, shard = self.shards[self.rng.choice(len(self.shards), p=self.weights)]
            ids, mask = window(shard, self._start(shard), self.seq_len + 1)
            xs.append(ids)
            ms.append(mask)
        return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ms))

    def state(self):
        return self.rng.bit_generator.state

    def set_state(self, s):
        self.rng.bit_generator.state = s


class MixtureSampler(_WindowSampler):
    """Random windows of seq_len+1 tokens; each sequence from a source drawn by its weight.

    Under DDP every rank samples with its own seed (seed + rank): the ranks see different windows,
    which is what a DistributedSampler gives for random-window training.
    """

    def __init__(self, shard_dir, mix, split, seq_len, seed, rank=0):
        self.shards, self.weights = [], []
        for name, w in mix.items():
            prefix = os.path.join(shard_dir, f"{name}.{split}")
            if not os.path.exists(prefix + ".bin") or w <= 0:
                continue
            self.shards.append((name, Shard(prefix)))
            self.weights.append(w)
        if not self.shards:
            raise SystemExit(f"no shards *.{split}.bin in {shard_dir} for sources {list(mix)}")
        self.weights = np.array(self.weights) / sum(self.weights)
        self.seq_len = seq_len
        self.rng = np.random.default_rng(seed + 1000003 * rank)

    def _start(self, shard):
        return int(self.rng.integers(0, max(1, len(shard) - self.seq_len - 1)))


class ChatSampler(_WindowSampler):
    """Windows that start at a conversation's <s> (chat shards; loss only where mask == 1)."""

    def __init__(self, prefixes_weights, seq_len, seed, rank=0):
        self.shards = [(p, Shard(p)) for p, _ in prefixes_weights]
        self.weights = np.array([w for _, w in prefixes_weights], dtype=np.float64)
        self.weights /= self.weights.sum()
        self.seq_len = seq_len
        self.rng = np.random.default_rng(seed + 1000003 * rank)

    def _start(self, shard):
        return int(shard.starts[self.rng.integers(0, len(shard.starts))])
