#!/usr/bin/env bash
# The GPU plan: train ko-chat-small from scratch in bf16 on a lent GPU machine, distil ko-chat-tiny
# from it, and bring both back as GGUF files (tools/train/README.md, "On a lent GPU").
#
#   tools/train/gpu_run.sh pack        here, first (about 2 minutes): portable tools, the corpus and
#                                      the SentencePiece library into .gpu-carry/ (git-ignored; 40 MB)
#   then, with the device tool:        run(command="bash tools/train/gpu_run.sh run", carry=[".gpu-carry"],
#                                          timeout_s=600)
#   tools/train/gpu_run.sh unpack DIR  here, after: joins the returned pieces into DIR/*.gguf
#
# `run` works in one command of at most ULK_GPU_BUDGET seconds (default 500, inside the device's
# 600-second limit): tokenize on all cores, pretrain the teacher (KoChatSmallShape) for most of the
# time, distil the student (KoChatTinyShape) from it for the rest, export, convert, quantize
# (small: Q4_0; tiny: Q8_0 and Q2P) and split the files into pieces of 15 MiB under $OUT (the
# device returns at most 8 files of 16 MiB, 64 MiB in all). The same script runs on the CPU:
#   ULK_GPU_SMOKE=1 ULK_GPU_BUDGET=60 OUT=/tmp/gpu-out ULK_PYTHON=/usr/bin/python3 tools/train/gpu_run.sh run
# trains the d64 smoke shape for both roles (tests/train/smoke_preset.hpp): the end-to-end proof.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
carry=$repo/.gpu-carry
py=${ULK_PYTHON:-python3}

pack() {
  local build=${ULK_GPU_PACK_BUILD:-/var/tmp/ulk-gpu-build}
  # Baseline x86-64: the lent machine's CPU is not this one.
  cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DULK_MARCH=x86-64 \
    $(command -v ninja >/dev/null && echo -GNinja) >/dev/null
  cmake --build "$build" -j"$(nproc)" --target ulk-tokenize ulk-convert ulk-quantize >/dev/null
  rm -rf "$carry"
  mkdir -p "$carry/bin" "$carry/lib" "$carry/data"
  cp "$build"/tools/{ulk-tokenize,ulk-convert,ulk-quantize} "$carry/bin/"
  cp -L "$(ldd "$build/tools/ulk-tokenize" | awk '/libsentencepiece/ {print $3}')" "$carry/lib/"
  # The corpus without precedents (35 MB of court rulings: the carried tree must stay under 64 MiB).
  local data=$repo/../shared/data/ko
  (cd "$data" && cp --parents chat/*.xz parallel/*.xz summarization/sae4k.jsonl.xz \
     pretrain/{nsmc,boddari,comments_kote,helpdocs,klue_kornlu,petitions,statutes,techdocs}.txt.xz "$carry/data/")
  du -sh "$carry"
}

unpack() {
  local dest=$1 src=${2:-/work/.device}
  mkdir -p "$dest"
  for first in $(find "$src" -name '*.gguf.part-aa'); do
    local name
    name=$(basename "${first%.part-aa}")
    cat "${first%-aa}"-* > "$dest/$name"
    echo "$dest/$name"
  done
}

run() {
  local budget=${ULK_GPU_BUDGET:-500} start=$SECONDS
  local out=${OUT:?OUT: the folder whose files come back}
  local work=${ULK_GPU_WORK:-/tmp/ulk-gpu}
  # ULK_GPU_BIN / ULK_GPU_DATA: the tools and corpus from elsewhere (the CI test: the build's own tools).
  local bin=${ULK_GPU_BIN:-$carry/bin} data=${ULK_GPU_DATA:-$carry/data}
  [ -x "$bin/ulk-tokenize" ] || { echo "gpu_run.sh: $carry is missing: run 'tools/train/gpu_run.sh pack' here first" >&2; exit 1; }
  export LD_LIBRARY_PATH=$carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  local teacher=KoChatSmallShape student=KoChatTinyShape header=$repo/configs/ulk/presets/ko_chat.hpp
  local seq=512 batch=64 tlr=1.5e-3 slr=2e-3 threads=0
  if [ -n "${ULK_GPU_SMOKE:-}" ]; then
    teacher=TrainSmokeShape student=TrainSmokeShape header=$repo/tests/train/smoke_preset.hpp
    seq=64 batch=8 threads=2
  fi
  mkdir -p "$work/shards" "$out"
  exec > >(tee "$out/gpu_run.log") 2>&1
  echo "gpu_run: $(date -u +%FT%TZ), budget ${budget}s, teacher $teacher, student $student"
  "$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available() and torch.cuda.get_device_name(0))"

  # 1. Tokenize (the C++ tokenizer: the ids the engine sees), every source at once.
  local model=$repo/models/ulk-ko-16k.model pids=()
  for s in nsmc boddari comments_kote helpdocs klue_kornlu petitions statutes techdocs; do
    local docs=blank
    case $s in nsmc|comments_kote|klue_kornlu) docs=lines;; esac
    [ -n "${ULK_GPU_SMOKE:-}" ] && case $s in klue_kornlu|comments_kote) ;; *) continue;; esac
    for split in train held_out; do
      "$bin/ulk-tokenize" -q --model "$model" --docs $docs --split $split --out "$work/shards/$s.$split" \
        "$data/pretrain/$s.txt.xz" > /dev/null & pids+=($!)
    done
  done
  "$py" "$repo/tools/train/prepare_chat.py" --data "$data" --out "$work/chat" > /dev/null
  for s in chat persona smalltalk service summarize translate; do for split in train held_out; do
    "$bin/ulk-tokenize" -q --model "$model" --chat --out "$work/shards/chat_$s.$split" \
      "$work/chat/$s.$split.jsonl" > /dev/null & pids+=($!)
  done; done
  for p in "${pids[@]}"; do wait "$p"; done
  echo "gpu_run: tokenized in $((SECONDS - start)) s"

  # 2. Teacher from scratch, then 3. the student distilled from it; the rest of the time split 70/30
  # after a reserve for export and quantization. Both: pretraining mixture with 30% chat batches.
  local reserve=$((budget / 8 + 15))
  local left=$((budget - (SECONDS - start) - reserve))
  local t_min s_min
  # (at least 6 and 3 seconds: --max-minutes 0 would mean no limit)
  t_min=$("$py" -c "print(round(max($left * 0.70, 6) / 60, 3))")
  s_min=$("$py" -c "print(round(max($left * 0.30, 3) / 60, 3))")
  local mix=nsmc=0.25,petitions=0.12,techdocs=0.10,boddari=0.12,klue_kornlu=0.12,helpdocs=0.06,comments_kote=0.13,statutes=0.10,precedents=0
  local chat=(--chat "$work/shards/chat_chat.train=0.30" --chat "$work/shards/chat_persona.train=0.15"
              --chat "$work/shards/chat_smalltalk.train=0.05" --chat "$work/shards/chat_service.train=0.20"
              --chat "$work/shards/chat_summarize.train=0.10" --chat "$work/shards/chat_translate.train=0.20")
  local common=(--shards "$work/shards" --mix "$mix" --pretrain-share 0.7 "${chat[@]}"
                --chat-val "$work/shards/chat_chat.held_out" --preset-header "$header" --seq-len $seq --batch $batch
                --max-steps 100000000 --eval-every 200 --eval-batches 4 --log-every 50 --save-every 500 --threads $threads)
  "$py" "$repo/tools/train/train.py" --stage chat --preset "$teacher" --out "$work/teacher" --lr $tlr --warmup 200 \
    --max-minutes "$t_min" "${common[@]}"
  "$py" "$repo/tools/train/train.py" --stage distill --teacher "$work/teacher/ckpt.pt" --temperature 2 --alpha 0.5 \
    --preset "$student" --out "$work/student" --lr $slr --warmup 100 --max-minutes "$s_min" "${common[@]}"

  # 4. Export, convert, quantize, split into returnable pieces.
  local role ck name fmt
  for role in teacher student; do
    ck=$work/$role/ckpt.pt
    name=$([ $role = teacher ] && echo ko-chat-small || echo ko-chat-tiny)
    "$py" "$repo/tools/train/export.py" "$ck" "$work/$role-hf" --name $name > /dev/null
    "$bin/ulk-convert" --outtype F32 "$work/$role-hf" "$work/$name-F32.gguf" > /dev/null
    for fmt in $([ $role = teacher ] && echo Q4_0 || echo "Q8_0 Q2P"); do
      "$bin/ulk-quantize" "$work/$name-F32.gguf" "$work/$name-$fmt.gguf" $fmt > /dev/null
      split -b 15M "$work/$name-$fmt.gguf" "$out/$name-$fmt.gguf.part-"
    done
    { echo "# $role"; tail -3 "$work/$role/log.jsonl"; } >> "$out/train-logs.jsonl"
  done
  ls -la "$out"
  echo "gpu_run: done in $((SECONDS - start)) s of ${budget}"
}

case "${1:-}" in
  pack) pack ;;
  run) run ;;
  unpack) unpack "${2:?unpack DIR [FROM]}" "${3:-/work/.device}" ;;
  *) sed -n 2,18p "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
