#!/usr/bin/env python3
"""Trains the project's Korean Llama models: pretrain, distill, chat-tune (tools/train/README.md).

  python3 tools/train/train.py --stage pretrain --shards /tmp/ulk-shards --out runs/tiny-pt \
      --preset KoChatTinyShape --seq-len 256 --batch 16 --max-steps 100000 --stop-at 03:55

Runs on a CPU (PyTorch 1.13, float32) and on GPUs (PyTorch 2.x: bf16 autocast, torch.compile);
under torchrun (WORLD_SIZE set) every rank trains a DDP replica on its own random windows.
A checkpoint (OUT/ckpt.pt) is written every --save-every steps and at the end; --resume goes on
from it with the optimizer, the step, the schedule's clock and the samplers' random state.
"""
import argparse
import datetime
import json
import math
import os
import signal
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import model as llama  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stage", choices=["pretrain", "distill", "chat"], required=True)
    p.add_argument("--preset-header", default=os.path.join(REPO, "configs/ulk/presets/ko_chat.hpp"))
    p.add_argument("--preset", default="KoChatTinyShape", help="struct in --preset-header giving the shape")
    p.add_argument("--shards", help="directory of pretraining shards NAME.train.bin / NAME.held_out.bin")
    p.add_argument("--mix", default="", help="NAME=W,... overrides data.PRETRAIN_MIX (unlisted sources keep theirs)")
    p.add_argument("--chat", action="append", default=[], help="chat shard PREFIX=WEIGHT (repeatable; --stage chat)")
    p.add_argument("--chat-val", default="", help="held-out chat shard PREFIX for the validation loss")
    p.add_argument("--pretrain-share", type=float, default=0.0,
                   help="chat stage: fraction of batches drawn from the pretraining mixture (keeps the language)")
    p.add_argument("--out", required=True, help="run directory: ckpt.pt, log.jsonl")
    p.add_argument("--init", help="checkpoint to start from (e.g. the pretrained model for --stage chat)")
    p.add_argument("--resume", action="store_true", help="continue OUT/ckpt.pt")
    p.add_argument("--teacher", help="distill: teacher checkpoint (same vocabulary)")
    p.add_argument("--temperature", type=float, default=2.0)
    p.add_argument("--alpha", type=float, default=0.5, help="distill: weight of the KL term (1 - alpha: cross-entropy)")
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--batch", type=int, default=16, help="sequences per micro-batch per rank")
    p.add_argument("--accum", type=int, default=1, help="micro-batches per optimizer step")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-lr-frac", type=float, default=0.1)
    p.add_argument("--schedule", choices=["cosine", "constant", "decay"], default="cosine",
                   help="constant: --lr after the warm-up, for open-ended runs resumed many times (background.sh); "
                        "decay: from --lr at the step this invocation starts to 0 at its last step, linearly "
                        "(the cool-down that turns a constant-rate checkpoint into a candidate)")
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--max-steps", type=int, default=1000)
    p.add_argument("--steps-this-run", type=int, default=0,
                   help="stop after this many steps of this invocation (0: no such limit; background.sh's segments)")
    p.add_argument("--max-minutes", type=float, default=0, help="time budget; the schedule follows max(steps, time)")
    p.add_argument("--stop-at", default="", help="UTC HH:MM: stop (and save) at this time; also ends the schedule")
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--eval-batches", type=int, default=4)
    p.add_argument("--save-every", type=int, default=100)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--precision", choices=["bf16", "f32"], default="bf16",
                   help="bf16: autocast the matrix products to bfloat16 (CPU: oneDNN's AVX-512 BF16 kernels, 5.5x the "
                        "float32 step on Zen 4; tools/train/README.md), weights and optimizer in float32")
    return p.parse_args(argv)


def deadline_seconds(args, t0):
    """Seconds of training allowed from t0 (inf when unbounded)."""
    limit = math.inf
    if args.max_minutes > 0:
        limit = args.max_minutes * 60
    if args.stop_at:
        now = datetime.datetime.now(datetime.timezone.utc)
        hh, mm = map(int, args.stop_at.split(":"))
        stop = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
        if stop < now:
            stop += datetime.timedelta(days=1)
        limit = min(limit, (stop - now).total_seconds() + (time.time() - t0))
    return limit


def lr_at(args, step, progress, first_step=0):
    if args.schedule == "decay":
        last = first_step + args.steps_this_run if args.steps_this_run else args.max_steps
        return args.lr * max(0.0, (last - step) / max(1, last - first_step))
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    if args.schedule == "constant":
        return args.lr
    p = min(1.0, progress)
    return args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))


def masked_ce(logits, targets, mask):
    loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
    mask = mask.reshape(-1)
    return (loss * mask).sum() / mask.sum().clamp(min=1)


def distill_kl(student_logits, teacher_logits, mask, temperature):
    """KL(teacher || student) on temperature-softened distributions, times T^2 (Hinton et al.)."""
    t = temperature
    s_log = F.log_softmax(student_logits.float() / t, dim=-1)
    t_log = F.log_softmax(teacher_logits.float() / t, dim=-1)
    kl = (t_log.exp() * (t_log - s_log)).sum(-1).reshape(-1)
    mask = mask.reshape(-1)
    return (kl * mask).sum() / mask.sum().clamp(min=1) * t * t


def load_checkpoint(path, device):
    ck = torch.load(path, map_location=device)
    shape = llama.Shape(**ck["shape"])
    m = llama.Llama(shape).to(device)
    m.load_state_dict(ck["model"])
    return m, ck


def save_checkpoint(path, raw_model, opt, state):
    tmp = path + ".tmp"
    torch.save({"model": raw_model.state_dict(), "optimizer": opt.state_dict(), "shape": raw_model.shape.as_dict(),
                **state}, tmp)
    os.replace(tmp, path)


def main(argv=None):
    args = parse_args(argv)
    t0 = time.time()
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank, world = 0, 1
    if distributed:
        import torch.distributed as dist
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed + rank)
    main_rank = rank == 0
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "ckpt.pt")

    state = {"step": 0, "tokens": 0, "loss_tokens": 0, "elapsed": 0.0, "stage": args.stage, "args": vars(args)}
    resume_ck = None
    if args.resume and os.path.exists(ckpt_path):
        net, resume_ck = load_checkpoint(ckpt_path, device)
        for k in ("step", "tokens", "loss_tokens", "elapsed"):
            state[k] = resume_ck.get(k, state[k])
    elif args.init:
        net, _ = load_checkpoint(args.init, device)
    else:
        net = llama.Llama(llama.read_preset(args.preset_header, args.preset)).to(device)
    shape = net.shape
    if main_rank:
        print(f"{shape.name}: {shape.parameters() / 1e6:.2f} M parameters, {shape}", flush=True)

    teacher = None
    if args.stage == "distill":
        if not args.teacher:
            raise SystemExit("--stage distill needs --teacher CKPT")
        teacher, _ = load_checkpoint(args.teacher, device)
        teacher.eval()
        if teacher.shape.vocab != shape.vocab:
            raise SystemExit(f"teacher vocabulary {teacher.shape.vocab} differs from the student's {shape.vocab}")

    mix = dict(data.PRETRAIN_MIX)
    for item in filter(None, args.mix.split(",")):
        k, v = item.split("=")
        mix[k] = float(v)
    pre = val = None
    if args.shards and (args.stage != "chat" or args.pretrain_share > 0):
        pre = data.MixtureSampler(args.shards, mix, "train", args.seq_len, args.seed, rank)
    if args.shards:
        val = data.MixtureSampler(args.shards, mix, "held_out", args.seq_len, seed=777)
    chat = chat_val = None
    if args.stage == "chat" and not args.chat:
        raise SystemExit("--stage chat needs --chat PREFIX=WEIGHT")
    if args.chat:  # chat batches in --stage chat, and in --stage distill when given (the student learns to chat)
        chat = data.ChatSampler([(c.rsplit("=", 1)[0], float(c.rsplit("=", 1)[1])) for c in args.chat],
                                args.seq_len, args.seed, rank)
        if args.chat_val:
            chat_val = data.ChatSampler([(args.chat_val, 1.0)], args.seq_len, seed=777)
    if pre is None and chat is None:
        raise SystemExit("no training data: pass --shards (and --chat for --stage chat)")
    val_batches = [val.batch(args.batch) for _ in range(args.eval_batches)] if val else []
    chat_val_batches = [chat_val.batch(args.batch) for _ in range(args.eval_batches)] if chat_val else []

    decay = [p for n, p in net.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in net.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    if resume_ck is not None:
        opt.load_state_dict(resume_ck["optimizer"])
        if pre is not None and "pre_rng" in resume_ck:
            pre.set_state(resume_ck["pre_rng"])
        if chat is not None and "chat_rng" in resume_ck:
            chat.set_state(resume_ck["chat_rng"])

    raw = net
    fwd = net
    if cuda and hasattr(torch.nn.Module, "compile") and not args.no_compile:
        for block in net.model.layers:  # the blocks, in place (the state dict keeps its names); the loss stays eager
            block.compile()
    if distributed:
        from torch.nn.parallel import DistributedDataParallel
        fwd = DistributedDataParallel(fwd, device_ids=[device.index] if cuda else None)
    bf16 = args.precision == "bf16"
    autocast = lambda: torch.autocast("cuda" if cuda else "cpu", dtype=torch.bfloat16, enabled=bf16)  # noqa: E731
    raw.loss_dtype = torch.bfloat16 if bf16 else None

    def evaluate(batches):
        net.eval()
        total, count = 0.0, 0.0
        with torch.no_grad(), autocast():
            for x, m in batches:
                x, m = x.to(device), m.to(device)
                n = float(m[:, 1:].sum())
                total += float(net(x[:, :-1], x[:, 1:], m[:, 1:])) * n
                count += n
        net.train()
        return total / max(count, 1)

    log = open(os.path.join(args.out, "log.jsonl"), "a") if main_rank else None

    def write_record(rec, with_eval):
        # One line of log.jsonl (and of the output), with the validation losses when asked.
        if with_eval and val_batches:
            rec["val_loss"] = evaluate(val_batches)
        if with_eval and chat_val_batches:
            rec["chat_val_loss"] = evaluate(chat_val_batches)
        print(json.dumps(rec), flush=True)
        log.write(json.dumps(rec) + "\n")
        log.flush()

    # SIGTERM (background.sh stop) ends the run at the next step boundary, with a checkpoint.
    stop_requested = []
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.append(True))
    budget = deadline_seconds(args, t0)
    first_step = state["step"]
    run_start = time.time() - state["elapsed"]
    budget_total = budget + state["elapsed"] if math.isfinite(budget) else math.inf
    rng = torch.Generator().manual_seed(args.seed + 17 * rank)
    net.train()
    last_log = time.time()
    while True:
        elapsed = time.time() - run_start
        progress = max(state["step"] / args.max_steps, elapsed / budget_total if math.isfinite(budget_total) else 0.0)
        stop = (state["step"] >= args.max_steps or (time.time() - t0) >= budget or bool(stop_requested)
                or (args.steps_this_run and state["step"] - first_step >= args.steps_this_run))
        if distributed:
            flag = torch.tensor([1.0 if stop else 0.0], device=device)
            torch.distributed.all_reduce(flag)
            stop = flag.item() > 0
        if stop:
            break
        lr = lr_at(args, state["step"], progress, first_step)
        for g in opt.param_groups:
            g["lr"] = lr
        loss_sum = 0.0
        for micro in range(args.accum):
            use_pre = chat is None or (pre is not None and float(torch.rand(1, generator=rng)) < args.pretrain_share)
            x, m = (pre if use_pre else chat).batch(args.batch)
            x, m = x.to(device, non_blocking=True), m.to(device, non_blocking=True)
            inp, tgt, mask = x[:, :-1], x[:, 1:], m[:, 1:]
            sync = not distributed or micro == args.accum - 1
            ctx = fwd.no_sync() if (distributed and not sync) else _null()
            with ctx:
                with autocast():
                    if teacher is None:
                        loss = fwd(inp, tgt, mask)           # chunked output product + cross-entropy
                    else:
                        logits = fwd(inp)
                        with torch.no_grad():
                            t_logits = teacher(inp)
                        loss = (args.alpha * distill_kl(logits, t_logits, mask, args.temperature)
                                + (1 - args.alpha) * masked_ce(logits, tgt, mask))
                (loss / args.accum).backward()
            loss_sum += float(loss)
            state["tokens"] += int(inp.numel()) * world
            state["loss_tokens"] += int(mask.sum()) * world
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        state["step"] += 1
        state["elapsed"] = time.time() - run_start
        step = state["step"]
        if main_rank and (step % args.log_every == 0 or step == 1):
            now = time.time()
            rec = {"step": step, "loss": loss_sum / args.accum, "lr": lr, "tokens": state["tokens"],
                   "elapsed_s": round(state["elapsed"], 1), "tok_per_s": round(args.log_every * args.accum * args.batch
                                                                          * args.seq_len * world / max(now - last_log, 1e-9))}
            last_log = now
            write_record(rec, with_eval=step % args.eval_every == 0)
        if main_rank and step % args.save_every == 0:
            save_checkpoint(ckpt_path, raw, opt, _extra(state, pre, chat))
    if main_rank:
        write_record({"step": state["step"], "tokens": state["tokens"], "elapsed_s": round(state["elapsed"], 1), "final": True},
                     with_eval=True)
        log.close()
        save_checkpoint(ckpt_path, raw, opt, _extra(state, pre, chat))
    if distributed:
        torch.distributed.destroy_process_group()


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def _extra(state, pre, chat):
    out = dict(state)
    if pre is not None:
        out["pre_rng"] = pre.state()
    if chat is not None:
        out["chat_rng"] = chat.state()
    return out


if __name__ == "__main__":
    main()
