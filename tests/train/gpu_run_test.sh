#!/bin/sh
# tools/train/gpu_run.sh run on the CPU with the smoke shape and a 60-second budget: tokenize,
# teacher from scratch, student distilled with chat batches, export, convert, quantize, split into
# returnable pieces; then `unpack` joins them and ulk-inspect reads every file.
#   tests/train/gpu_run_test.sh BUILD_DIR [SOURCE_DIR]      (exits 77 without PyTorch or the corpus)
set -eu
BUILD=$(cd "$1" && pwd)
SRC=$(cd "${2:-$(dirname "$0")/../..}" && pwd)
DATA="$SRC/../shared/data/ko"
PY=${ULK_PYTHON:-/usr/bin/python3}
"$PY" -c "import torch, numpy" 2>/dev/null || { echo "SKIP: PyTorch is missing"; exit 77; }
[ -d "$DATA/pretrain" ] || { echo "SKIP: $DATA is missing"; exit 77; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ulk-gpu-run.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ULK_GPU_SMOKE=1 ULK_GPU_BUDGET=60 OUT="$WORK/out" ULK_GPU_WORK="$WORK/work" ULK_PYTHON="$PY" \
    ULK_GPU_BIN="$BUILD/tools" ULK_GPU_DATA="$DATA" bash "$SRC/tools/train/gpu_run.sh" run
count=$(ls "$WORK/out" | wc -l)
[ "$count" -le 8 ] || { echo "FAIL: $count files under OUT; the device returns at most 8"; exit 1; }
bash "$SRC/tools/train/gpu_run.sh" unpack "$WORK/models" "$WORK/out"
for f in ko-chat-small-Q4_0 ko-chat-tiny-Q8_0 ko-chat-tiny-Q2P; do
    "$BUILD/tools/ulk-inspect" "$WORK/models/$f.gguf" > "$WORK/inspect.txt" || { echo "FAIL: $f.gguf does not read back"; exit 1; }
done
grep -q '"final": true' "$WORK/out/train-logs.jsonl" || { echo "FAIL: a training run did not finish"; exit 1; }
echo "gpu_run.sh on the CPU: passed ($count files returned)"
