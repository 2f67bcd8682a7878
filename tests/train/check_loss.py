#!/usr/bin/env python3
"""The chunked output product + cross-entropy (model.ChunkedLinearCrossEntropy) against PyTorch's
cross_entropy on the full logits: loss and every parameter's gradient, float32 (within 1e-5,
chunks that do not divide the tokens) and bfloat16 autocast (within 5%), masked tokens included."""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "train"))
import model as llama  # noqa: E402

torch.manual_seed(0)
torch.set_num_threads(2)
s = llama.Shape(name="check", vocab=1000, dim=64, layers=2, heads=4, kv_heads=2, ffn=128, context=64)
net = llama.Llama(s)
x = torch.randint(0, s.vocab, (3, 41))
mask = (torch.rand(3, 40) > 0.3).float()


def grads(loss_fn):
    net.zero_grad()
    loss = loss_fn()
    loss.backward()
    return float(loss), [p.grad.clone() for p in net.parameters()]


def reference():
    net.loss_dtype = None
    logits = net(x[:, :-1])
    ce = F.cross_entropy(logits.reshape(-1, s.vocab), x[:, 1:].reshape(-1), reduction="none")
    return (ce * mask.reshape(-1)).sum() / mask.sum()


def chunked():
    net.loss_dtype = None
    return net(x[:, :-1], x[:, 1:], mask, chunk=37)


def chunked_bf16():
    net.loss_dtype = torch.bfloat16
    with torch.autocast("cpu", dtype=torch.bfloat16):
        return net(x[:, :-1], x[:, 1:], mask, chunk=37)


def worst(a, b):
    return max(float((u - v).norm() / v.norm().clamp(min=1e-30)) for u, v in zip(a, b))


l0, g0 = grads(reference)
l1, g1 = grads(chunked)
l2, g2 = grads(chunked_bf16)
print(f"loss: reference {l0:.6f}, chunked {l1:.6f}, chunked bf16 {l2:.6f}; worst relative gradient error: "
      f"chunked {worst(g1, g0):.2e}, bf16 {worst(g2, g0):.2e}")
assert abs(l1 - l0) < 1e-5 and worst(g1, g0) < 1e-5, "chunked cross-entropy differs from the reference"
assert abs(l2 - l0) < 2e-2 and worst(g2, g0) < 5e-2, "bf16 chunked cross-entropy is too far from the reference"
with torch.no_grad():
    net.loss_dtype = None
    assert abs(float(net(x[:, :-1], x[:, 1:], mask, chunk=37)) - l0) < 1e-5, "no-grad loss differs"
print("chunked loss check passed")
