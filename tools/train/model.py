"""The Llama model of the C++ engine (include/ulk/model/llama.hpp) in PyTorch.

RMSNorm, rotary position embedding in the Hugging Face layout (rotate_half: dimension i pairs with
i + head_dim/2; ulk-convert permutes q/k rows to ggml's interleaved order), SwiGLU feed-forward,
grouped-query attention, output tied to the embedding. Parameter names are the Hugging Face
LlamaForCausalLM names, so export.py writes the state dict as it is.

The shape comes from a C++ preset header (configs/ulk/presets/ko_chat.hpp): one source of truth.
"""
import math
import re
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Shape:
    name: str
    vocab: int
    dim: int
    layers: int
    heads: int
    kv_heads: int
    ffn: int
    context: int
    rope_base: float = 10000.0
    norm_eps: float = 1e-5
    tied_output: bool = True

    def as_dict(self):
        return asdict(self)

    def parameters(self):
        hd = self.dim // self.heads
        per_layer = 2 * self.dim * self.dim + 2 * self.dim * hd * self.kv_heads + 3 * self.dim * self.ffn + 2 * self.dim
        out = 0 if self.tied_output else self.vocab * self.dim
        return self.vocab * self.dim + self.layers * per_layer + self.dim + out


_FIELDS = {"kVocab": "vocab", "kDim": "dim", "kLayers": "layers", "kHeads": "heads", "kKvHeads": "kv_heads",
           "kFfn": "ffn", "kContext": "context", "kRopeBase": "rope_base", "kNormEps": "norm_eps",
           "kTiedOutput": "tied_output"}


def read_preset(header, struct):
    """The k* constants of `struct Name { ... };` in a C++ preset header."""
    text = open(header, encoding="utf-8").read()
    m = re.search(r"struct\s+" + re.escape(struct) + r"\s*\{(.*?)\n\};", text, re.S)
    if not m:
        raise SystemExit(f"{header}: no struct {struct} (expected e.g. KoChatTinyShape)")
    body = m.group(1)
    values = {}
    for name, value in re.findall(r"\b(k[A-Z][A-Za-z]*)\s*=\s*([^,;]+)", body):
        if name in _FIELDS:
            values[_FIELDS[name]] = value.strip()
    missing = [f for f in _FIELDS if _FIELDS[f] not in values]
    if missing:
        raise SystemExit(f"{header}, struct {struct}: missing {', '.join(missing)}")
    name = re.search(r'kName\s*=\s*"([^"]*)"', body)

    def num(s):
        return float(s.rstrip("fF"))
    return Shape(name=name.group(1) if name else struct,
                 vocab=int(values["vocab"]), dim=int(values["dim"]), layers=int(values["layers"]),
                 heads=int(values["heads"]), kv_heads=int(values["kv_heads"]), ffn=int(values["ffn"]),
                 context=int(values["context"]), rope_base=num(values["rope_base"]),
                 norm_eps=num(values["norm_eps"]), tied_output=values["tied_output"] == "true")


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * xf.type_as(x)


def rope_tables(head_dim, length, base, device):
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim))
    t = torch.arange(length, device=device, dtype=torch.float32)
    freqs = torch.outer(t, inv_freq)                     # (T, head_dim/2)
    emb = torch.cat((freqs, freqs), dim=-1)              # (T, head_dim)
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Attention(nn.Module):
    def __init__(self, s: Shape):
        super().__init__()
        self.heads, self.kv_heads, self.hd = s.heads, s.kv_heads, s.dim // s.heads
        self.q_proj = nn.Linear(s.dim, s.heads * self.hd, bias=False)
        self.k_proj = nn.Linear(s.dim, s.kv_heads * self.hd, bias=False)
        self.v_proj = nn.Linear(s.dim, s.kv_heads * self.hd, bias=False)
        self.o_proj = nn.Linear(s.heads * self.hd, s.dim, bias=False)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.heads, self.hd).transpose(1, 2)       # (B, H, T, hd)
        k = self.k_proj(x).view(B, T, self.kv_heads, self.hd).transpose(1, 2)    # (B, KV, T, hd)
        v = self.v_proj(x).view(B, T, self.kv_heads, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if self.kv_heads != self.heads:
            rep = self.heads // self.kv_heads
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        if hasattr(F, "scaled_dot_product_attention"):
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(self.hd)
            mask = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
            att = att.masked_fill(mask, float("-inf")).softmax(-1)
            y = att @ v
        return self.o_proj(y.transpose(1, 2).reshape(B, T, -1))


class MLP(nn.Module):
    def __init__(self, s: Shape):
        super().__init__()
        self.gate_proj = nn.Linear(s.dim, s.ffn, bias=False)
        self.up_proj = nn.Linear(s.dim, s.ffn, bias=False)
        self.down_proj = nn.Linear(s.ffn, s.dim, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, s: Shape):
        super().__init__()
        self.input_layernorm = RMSNorm(s.dim, s.norm_eps)
        self.self_attn = Attention(s)
        self.post_attention_layernorm = RMSNorm(s.dim, s.norm_eps)
        self.mlp = MLP(s)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class Inner(nn.Module):
    def __init__(self, s: Shape):
        super().__init__()
        self.embed_tokens = nn.Embedding(s.vocab, s.dim)
        self.layers = nn.ModuleList(Block(s) for _ in range(s.layers))
        self.norm = RMSNorm(s.dim, s.norm_eps)


class Llama(nn.Module):
    """Parameter names as Hugging Face LlamaForCausalLM (model.*, lm_head)."""

    def __init__(self, s: Shape):
        super().__init__()
        self.shape = s
        self.model = Inner(s)
        self.lm_head = None if s.tied_output else nn.Linear(s.dim, s.vocab, bias=False)
        std = 0.02
        for name, p in self.named_parameters():
            if p.dim() == 2:
                # residual-branch outputs scaled down with depth (GPT-2 / llama2.c practice)
                scale = 1 / math.sqrt(2 * s.layers) if name.endswith(("o_proj.weight", "down_proj.weight")) else 1
                nn.init.normal_(p, mean=0.0, std=std * scale)
        self._rope = None
        self.loss_dtype = None

    def rope(self, T, device):
        if self._rope is None or self._rope[0].shape[0] < T or self._rope[0].device != device:
            self._rope = rope_tables(self.shape.dim // self.shape.heads, max(T, self.shape.context),
                                     self.shape.rope_base, device)
        return self._rope[0][:T], self._rope[1][:T]

    def output_weight(self):
        return self.model.embed_tokens.weight if self.lm_head is None else self.lm_head.weight

    def hidden(self, idx):
        """idx (B, T) -> final-norm hidden states (B, T, dim)."""
        cos, sin = self.rope(idx.shape[1], idx.device)
        x = self.model.embed_tokens(idx)
        for layer in self.model.layers:
            x = layer(x, cos, sin)
        return self.model.norm(x)

    def forward(self, idx, targets=None, mask=None, chunk=1024):
        """idx (B, T) -> logits (B, T, vocab); with targets (B, T) and mask (B, T): the masked mean
        cross-entropy instead, without the (B, T, vocab) logits tensor (ChunkedLinearCrossEntropy),
        its output product in self.loss_dtype (bfloat16 under CPU autocast; None: the input's)."""
        h = self.hidden(idx)
        if targets is None:
            return F.linear(h, self.output_weight())
        return ChunkedLinearCrossEntropy.apply(h.reshape(-1, h.shape[-1]), self.output_weight(), targets.reshape(-1),
                                               mask.reshape(-1).float(), chunk, self.loss_dtype)


class ChunkedLinearCrossEntropy(torch.autograd.Function):
    """loss = sum(mask * CE(h @ W^T, targets)) / sum(mask), gradients computed in the forward pass.

    h (N, dim), W (vocab, dim), targets (N,), mask (N,). The logits of CHUNK rows at a time (chunk x
    vocab floats: 64 MiB at 1024 x 16000) are the only vocabulary-sized buffer; the full logits of a
    16 x 256 batch would be 262 MB, written and read several times by softmax and its backward."""

    @staticmethod
    def forward(ctx, h, w, targets, mask, chunk, dtype):
        dtype = dtype or h.dtype
        want_grad = ctx.needs_input_grad[0] or ctx.needs_input_grad[1]
        denom = mask.sum().clamp(min=1)
        wc = w.to(dtype)
        grad_h = torch.zeros(h.shape if want_grad else (0,), dtype=torch.float32, device=h.device)  # (N, dim)
        grad_w = torch.zeros(w.shape if want_grad else (0,), dtype=torch.float32, device=w.device)  # (vocab, dim)
        total = torch.zeros((), dtype=torch.float32, device=h.device)
        for s in range(0, h.shape[0], chunk):
            hc = h[s:s + chunk].to(dtype)                                           # (n, dim)
            z = (hc @ wc.t()).float()                                               # (n, vocab)
            lse = torch.logsumexp(z, dim=-1)                                        # (n,)
            t = targets[s:s + chunk]
            m = mask[s:s + chunk]
            total += ((lse - z.gather(1, t[:, None])[:, 0]) * m).sum()
            if not want_grad:
                continue
            g = (z - lse[:, None]).exp_()                                           # softmax(z)
            g.scatter_add_(1, t[:, None], -torch.ones_like(z[:, :1]))             # p - onehot
            g.mul_((m / denom)[:, None])
            gd = g.to(dtype)
            grad_h[s:s + chunk] = (gd @ wc).float()
            grad_w += (gd.t() @ hc).float()
        ctx.save_for_backward(grad_h, grad_w)
        ctx.h_dtype, ctx.w_dtype = h.dtype, w.dtype
        return total / denom

    @staticmethod
    def backward(ctx, grad_out):
        grad_h, grad_w = ctx.saved_tensors
        return (grad_h * grad_out).to(ctx.h_dtype), (grad_w * grad_out).to(ctx.w_dtype), None, None, None, None
