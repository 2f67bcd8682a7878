#!/bin/sh
# The training pipeline end to end on a CPU, small enough for CI (1-2 minutes on 2 cores):
# tokenize a slice of ../shared/data/ko with ulk-tokenize, pretrain the TrainSmokeShape model
# (smoke_preset.hpp) 20 steps and resume it to 40, distill a student from it (and train the same
# student without the teacher: the control), chat-tune it, score held-out bits per character,
# export to Hugging Face layout, ulk-convert to F32 GGUF, ulk-quantize to Q8_0, then
# ulk-train-smoke-check: C++ F32 logits against PyTorch's golden logits, Q8_0 generation.
#   tests/train/smoke_test.sh BUILD_DIR [SOURCE_DIR]
# Exits 77 (ctest: skipped) when PyTorch or ../shared/data/ko is missing.
set -eu
BUILD=$(cd "$1" && pwd)
SRC=$(cd "${2:-$(dirname "$0")/../..}" && pwd)
DATA="$SRC/../shared/data/ko"
PY=${ULK_PYTHON:-/usr/bin/python3}
if ! "$PY" -c "import torch, numpy" 2>/dev/null; then
    echo "SKIP: PyTorch is missing ($PY -c 'import torch, numpy' failed; apt install python3-torch python3-numpy)"
    exit 77
fi
if [ ! -d "$DATA/pretrain" ] || [ ! -d "$DATA/chat" ]; then
    echo "SKIP: $DATA (the shared Korean text) is missing"
    exit 77
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ulk-train-smoke.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
T="$SRC/tools/train"
TOK="$SRC/models/ulk-ko-16k.model"
PRESET="--preset-header $SRC/tests/train/smoke_preset.hpp --preset TrainSmokeShape"
COMMON="--seq-len 64 --batch 8 --threads 2 --eval-every 10 --eval-batches 2 --log-every 10 --save-every 10"
start=$(date +%s)

echo "== tokenize (two small sources, their training and held-out parts)"
mkdir -p "$WORK/shards"
for s in comments_kote klue_kornlu; do
    for split in train held_out; do
        "$BUILD/tools/ulk-tokenize" -q --model "$TOK" --split $split --out "$WORK/shards/$s.$split" "$DATA/pretrain/$s.txt.xz"
    done
done
"$PY" "$T/prepare_chat.py" --data "$DATA" --out "$WORK/chat" --sets chat,persona,smalltalk --max-per-file 300
"$PY" - "$WORK/chat" <<'PYEOF'
import json, sys
persona = [json.loads(l) for l in open(sys.argv[1] + "/persona.train.jsonl", encoding="utf-8")]
small = [json.loads(l) for l in open(sys.argv[1] + "/smalltalk.train.jsonl", encoding="utf-8")]
assert small and all(len(c["turns"]) == 2 and c["turns"][1]["style"] == "polite" for c in small), "smalltalk: one polite exchange each"
opening = sum(c["turns"][1]["text"].startswith("나는 잘 지내") for c in persona)
assert opening <= len(persona) // 20, f"persona: {opening} of {len(persona)} conversations still open with the greeting reply"
print(f"prepare_chat: {len(persona)} persona conversations without their opening exchange, {len(small)} small-talk exchanges")
PYEOF
for s in chat persona; do
    "$BUILD/tools/ulk-tokenize" -q --model "$TOK" --chat --out "$WORK/shards/$s.train" "$WORK/chat/$s.train.jsonl"
done
"$BUILD/tools/ulk-tokenize" -q --model "$TOK" --chat --out "$WORK/shards/chat.held_out" "$WORK/chat/chat.held_out.jsonl"

echo "== pretrain the teacher 40 steps, in two runs: 20 steps, then --resume to 40"
"$PY" "$T/train.py" --stage pretrain $PRESET $COMMON --shards "$WORK/shards" --out "$WORK/teacher" --max-steps 20 --lr 3e-3 --warmup 5
"$PY" "$T/train.py" --stage pretrain $PRESET $COMMON --shards "$WORK/shards" --out "$WORK/teacher" --max-steps 40 --lr 3e-3 --warmup 5 --resume
"$PY" - "$WORK/teacher/ckpt.pt" <<'PYEOF'
import sys, torch
ck = torch.load(sys.argv[1], map_location="cpu")
assert ck["step"] == 40, f"resumed run ended at step {ck['step']}, expected 40"
print("resume: checkpoint at step", ck["step"], "after", ck["tokens"], "tokens")
PYEOF
echo "== distill a student from the teacher (10 steps)"
"$PY" "$T/train.py" --stage distill $PRESET $COMMON --shards "$WORK/shards" --out "$WORK/student" --max-steps 10 \
    --teacher "$WORK/teacher/ckpt.pt" --temperature 2 --alpha 0.5 --lr 3e-3 --warmup 2
echo "== the control: the same student, same steps and seed, without the teacher"
"$PY" "$T/train.py" --stage pretrain $PRESET $COMMON --shards "$WORK/shards" --out "$WORK/control" --max-steps 10 \
    --lr 3e-3 --warmup 2
echo "== chat-tune the teacher (10 steps; loss on assistant replies only)"
"$PY" "$T/train.py" --stage chat $COMMON --shards "$WORK/shards" --init "$WORK/teacher/ckpt.pt" --out "$WORK/chat-run" \
    --chat "$WORK/shards/chat.train=0.7" --chat "$WORK/shards/persona.train=0.3" --chat-val "$WORK/shards/chat.held_out" \
    --pretrain-share 0.2 --max-steps 10 --lr 1e-3 --warmup 2
"$PY" "$T/eval_bpc.py" "$WORK/chat-run/ckpt.pt" --shards "$WORK/shards" --sources comments_kote,klue_kornlu --max-tokens 2000 --threads 2
echo "== the cool-down (--schedule decay: the rate falls to 0 over this invocation's steps) and the reply loss"
cp "$WORK/chat-run/ckpt.pt" "$WORK/chat-run-constant.pt"
"$PY" "$T/train.py" --stage chat $COMMON --log-every 1 --shards "$WORK/shards" --resume --out "$WORK/chat-run" \
    --chat "$WORK/shards/chat.train=0.7" --chat "$WORK/shards/persona.train=0.3" --pretrain-share 0.2 \
    --max-steps 100000000 --steps-this-run 4 --schedule decay --lr 1e-3 > "$WORK/decay.log"
"$PY" - "$WORK/decay.log" <<'PYEOF'
import json, sys
lrs = [r["lr"] for r in map(json.loads, filter(lambda l: l.startswith("{"), open(sys.argv[1]))) if "lr" in r]
assert [round(x, 6) for x in lrs] == [1e-3, 7.5e-4, 5e-4, 2.5e-4], f"decay: learning rates {lrs}"
print("decay: learning rates", lrs)
PYEOF
for ck in "$WORK/chat-run-constant.pt" "$WORK/chat-run/ckpt.pt"; do
    "$PY" "$T/eval_bpc.py" "$ck" --shards "$WORK/shards" --sources chat --replies --threads 2 | tee "$WORK/replies.txt"
    awk '$1 == "all" { ok = ($2 > 0 && $(NF-1) > 0 && $(NF-1) < 20) } END { exit !ok }' "$WORK/replies.txt"
done

echo "== export, convert, quantize"
"$PY" "$T/export.py" "$WORK/chat-run/ckpt.pt" "$WORK/hf" --tokenizer "$TOK"
"$BUILD/tools/ulk-convert" -q --outtype F32 "$WORK/hf" "$WORK/smoke-F32.gguf"
"$BUILD/tools/ulk-quantize" "$WORK/smoke-F32.gguf" "$WORK/smoke-Q8_0.gguf" Q8_0 | tail -1
"$PY" "$T/golden.py" "$WORK/chat-run/ckpt.pt" "$WORK/golden.bin" --shard "$WORK/shards/klue_kornlu.held_out" --tokens 32

echo "== the chunked loss against PyTorch's cross-entropy"
"$PY" "$SRC/tests/train/check_loss.py"
echo "== import_gguf: the GGUF files back into checkpoints (F32: the same weights; Q8_0: within its rounding)"
"$PY" "$T/import_gguf.py" "$WORK/smoke-F32.gguf" "$WORK/import-F32.pt" $PRESET
"$PY" "$T/import_gguf.py" "$WORK/smoke-Q8_0.gguf" "$WORK/import-Q8_0.pt" $PRESET
"$PY" - "$WORK/chat-run/ckpt.pt" "$WORK/import-F32.pt" "$WORK/import-Q8_0.pt" <<'PYEOF'
import sys, torch
ref, f32, q8 = (torch.load(p, map_location="cpu")["model"] for p in sys.argv[1:])
assert ref.keys() == f32.keys() == q8.keys(), "imported tensor names differ"
for k in ref:
    assert torch.equal(ref[k], f32[k]), f"{k}: the F32 import differs from the checkpoint"
    err = float((ref[k] - q8[k]).abs().max()) / max(float(ref[k].abs().max()), 1e-12)
    assert err < 0.01, f"{k}: the Q8_0 import is {err:.4f} of the tensor's range away"
print("import_gguf: F32 identical,", len(ref), "tensors; Q8_0 within 1% of each tensor's range")
PYEOF

echo "== the C++ engine against PyTorch"
"$BUILD/tests/ulk-train-smoke-check" "$WORK/smoke-F32.gguf" "$WORK/smoke-Q8_0.gguf" "$WORK/golden.bin"
echo "training smoke test passed in $(( $(date +%s) - start )) s"
