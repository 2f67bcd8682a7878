#!/usr/bin/env bash
# Trains ko-chat-tiny on the CPU time a session leaves idle (tools/train/README.md, "Background").
#   tools/train/background.sh start    prepare (build the tools, tokenize), then train in the background
#   tools/train/background.sh pause    stop the training processes in place (before any benchmark)
#   tools/train/background.sh resume   let them go on
#   tools/train/background.sh status   state, step, tokens, held-out figures, candidates
#   tools/train/background.sh stop     checkpoint and end
# Everything lives in ULK_TRAIN_DIR (default /var/tmp/ulk-train), outside the repository: shards,
# the run's checkpoint, evaluations and candidates. With no checkpoint there (a new machine) the run
# starts from the shipped model, models/ko-chat-tiny-Q8_0.gguf, imported by import_gguf.py.
# All of it runs under `chrt --idle`: builds, tests and the session's own work go first.
# Every ULK_TRAIN_SEGMENT steps (500: 2M tokens, 8-20 minutes) the run stops and a copy of its
# checkpoint is cooled down: ULK_TRAIN_COOLDOWN more steps (50) with the learning rate falling
# linearly to 0 (train.py --schedule decay). The run itself goes on at the constant rate from the
# uncooled checkpoint, so the cool-down costs a tenth of the steps and gains what an annealed run
# gains (docs/models.md). The cooled checkpoint is scored: held-out bits per character (chat and
# pretraining text, all tokens) and the loss on the replies of every held-out everyday conversation
# (eval_bpc.py --replies over chat, persona and smalltalk: what chat batches train). When that
# reply loss beats the best so far by ULK_TRAIN_MARGIN nats, it exports, converts, quantizes and
# evaluates a candidate in DIR/candidates/step-N (a session commits one only for a clear gain, with
# its numbers: docs/models.md). Older candidates keep their GGUF files only.
set -euo pipefail
repo=${ULK_TRAIN_REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
dir=${ULK_TRAIN_DIR:-/var/tmp/ulk-train}
py=${ULK_PYTHON:-/usr/bin/python3}
segment=${ULK_TRAIN_SEGMENT:-500}
margin=${ULK_TRAIN_MARGIN:-0.01}
cooldown=${ULK_TRAIN_COOLDOWN:-50}
seed_gguf=${ULK_TRAIN_SEED:-$repo/models/ko-chat-tiny-Q8_0.gguf}
preset=${ULK_TRAIN_PRESET:-KoChatTinyShape}
threads=${ULK_TRAIN_THREADS:-$(nproc)}
build=$dir/build
shards=$dir/shards
run=$dir/run
pidfile=$dir/background.pid
# The mixture: everyday text ahead of legal text (precedents + statutes 15% of the windows, was 35%),
# half of the batches chat (loss on the replies only).
mix=precedents=0.10,statutes=0.05,nsmc=0.20,petitions=0.12,techdocs=0.08,boddari=0.10,klue_kornlu=0.10,helpdocs=0.05,comments_kote=0.10
chat_sets=(chat=0.30 persona=0.15 smalltalk=0.05 service=0.20 summarize=0.10 translate=0.20)
pretrain_sources=nsmc,comments_kote,klue_kornlu,boddari,petitions,helpdocs,techdocs,statutes,precedents
chat_sources=chat_chat,chat_persona
conversation_sources=chat_chat,chat_persona,chat_smalltalk
chat_version=2  # bump when prepare_chat.py changes what it writes: the chat shards are then made again

log() { echo "$(date -u +%FT%TZ) $*"; }

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

prepare() {
  mkdir -p "$dir" "$shards" "$run"
  if [ ! -x "$build/tools/ulk-tokenize" ] || [ ! -x "$build/tools/ulk-quantize" ]; then
    log "building the tools in $build"
    cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release $(command -v ninja >/dev/null && echo -GNinja) >/dev/null
    cmake --build "$build" -j"$threads" --target ulk-tokenize ulk-convert ulk-quantize ulk-eval-bpc >/dev/null
  fi
  if [ ! -f "$shards/.done" ]; then
    log "tokenizing ../shared/data/ko into $shards"
    local data=$repo/../shared/data/ko
    [ -d "$data" ] || { echo "background.sh: $data is missing (the corpus beside the repository)" >&2; exit 1; }
    for s in ${pretrain_sources//,/ }; do
      local docs=blank
      case $s in nsmc|comments_kote|klue_kornlu) docs=lines;; esac
      for split in train held_out; do
        "$build/tools/ulk-tokenize" -q --model "$repo/models/ulk-ko-16k.model" --docs $docs --split $split \
          --out "$shards/$s.$split" "$data/pretrain/$s.txt.xz"
      done
    done
    touch "$shards/.done"
  fi
  if [ "$(cat "$shards/.chat-version" 2>/dev/null)" != "$chat_version" ]; then
    log "preparing the chat sets (version $chat_version) into $shards"
    "$py" "$repo/tools/train/prepare_chat.py" --data "$repo/../shared/data/ko" --out "$dir/chat-jsonl" >/dev/null
    for c in "${chat_sets[@]}"; do for split in train held_out; do
      "$build/tools/ulk-tokenize" -q --model "$repo/models/ulk-ko-16k.model" --chat \
        --out "$shards/chat_${c%%=*}.$split" "$dir/chat-jsonl/${c%%=*}.$split.jsonl"
    done; done
    echo "$chat_version" > "$shards/.chat-version"
  fi
}

# Held-out bits per character of a checkpoint: one JSON line {"chat": ..., "pretrain": ...}.
evaluate() {
  local ck=$1 label=$2
  local c p
  c=$("$py" "$repo/tools/train/eval_bpc.py" "$ck" --shards "$shards" --sources $chat_sources --max-tokens 3000 \
        --threads "$threads" | awk '$1 == "all" {print $(NF-1)}')
  p=$("$py" "$repo/tools/train/eval_bpc.py" "$ck" --shards "$shards" --sources $pretrain_sources --max-tokens 2000 \
        --threads "$threads" | awk '$1 == "all" {print $(NF-1)}')
  local step tokens
  read -r step tokens < <("$py" -c "import torch,sys; c=torch.load(sys.argv[1]); print(c.get('step',0), c.get('tokens',0))" "$ck")
  local reply
  reply=$(reply_loss "$ck")
  echo "{\"when\": \"$(date -u +%FT%TZ)\", \"label\": \"$label\", \"step\": $step, \"tokens\": $tokens, \"chat_bpc\": $c, \"pretrain_bpc\": $p, \"reply_loss\": $reply}" \
    | tee -a "$dir/evals.jsonl"
}

# Loss on the replies of every held-out everyday conversation (nats per reply token).
reply_loss() {
  "$py" "$repo/tools/train/eval_bpc.py" "$1" --shards "$shards" --sources $conversation_sources --replies \
    --threads "$threads" | awk '$1 == "all" {print $(NF-1)}'
}

best_reply() { [ -f "$dir/best-conversation" ] && cat "$dir/best-conversation" || echo 1e9; }

candidate() {  # STEP CHECKPOINT
  local step=$1 ck=$2 out=$dir/candidates/step-$1
  mkdir -p "$out"
  "$py" "$repo/tools/train/export.py" "$ck" "$out/hf" --name ko-chat-tiny >/dev/null
  "$build/tools/ulk-convert" --outtype F32 "$out/hf" "$out/ko-chat-tiny-F32.gguf" >/dev/null
  "$build/tools/ulk-quantize" "$out/ko-chat-tiny-F32.gguf" "$out/ko-chat-tiny-Q8_0.gguf" Q8_0 >/dev/null
  "$build/tools/ulk-quantize" "$out/ko-chat-tiny-F32.gguf" "$out/ko-chat-tiny-Q2P.gguf" Q2P >/dev/null
  for f in Q8_0 Q2P; do
    "$build/tools/ulk-eval-bpc" "$out/ko-chat-tiny-$f.gguf" --max-tokens 3000 \
      "$shards"/{chat_chat,chat_persona}.held_out > "$out/bpc-chat-$f.txt"
  done
  for old in "$dir"/candidates/step-*; do  # the newest keeps its checkpoint; older ones their GGUF files
    [ "$old" = "$out" ] || rm -rf "$old/ckpt.pt" "$old/hf" "$old/ko-chat-tiny-F32.gguf"
  done
  cp "$ck" "$out/ckpt.pt"
  log "candidate $out"
}

loop() {
  prepare
  if [ ! -f "$run/ckpt.pt" ]; then
    log "no checkpoint in $run: starting from $seed_gguf"
    "$py" "$repo/tools/train/import_gguf.py" "$seed_gguf" "$dir/seed.pt" --preset "$preset"
    [ -f "$dir/best" ] || evaluate "$dir/seed.pt" seed | "$py" -c "import json,sys; print(json.loads(sys.stdin.read())['chat_bpc'])" > "$dir/best"
  fi
  local chat_args=()
  for c in "${chat_sets[@]}"; do chat_args+=(--chat "$shards/chat_${c%%=*}.train=${c#*=}"); done
  local common=(--preset "$preset" --shards "$shards" --mix "$mix" --pretrain-share 0.5 "${chat_args[@]}"
                --chat-val "$shards/chat_chat.held_out" --seq-len 256 --batch 16 --lr 6e-4 --warmup 20
                --max-steps 100000000 --eval-batches 4 --log-every 20 --threads "$threads")
  while [ ! -f "$dir/stop" ]; do
    local from=(--init "$dir/seed.pt")
    [ -f "$run/ckpt.pt" ] && from=(--resume)
    "$py" "$repo/tools/train/train.py" --stage chat "${from[@]}" --out "$run" "${common[@]}" --schedule constant \
      --steps-this-run "$segment" --eval-every 100 --save-every 200 >> "$dir/train.log" 2>&1 &
    echo $! > "$dir/train.pid"
    wait $! || true
    [ -f "$dir/stop" ] && break
    # The cool-down, on a copy: the run goes on from the uncooled checkpoint.
    rm -rf "$dir/cool" && mkdir -p "$dir/cool" && cp "$run/ckpt.pt" "$dir/cool/ckpt.pt"
    "$py" "$repo/tools/train/train.py" --stage chat --resume --out "$dir/cool" "${common[@]}" --schedule decay \
      --steps-this-run "$cooldown" --eval-every 1000000 --save-every 1000000 >> "$dir/train.log" 2>&1 &
    echo $! > "$dir/train.pid"
    wait $! || true
    [ -f "$dir/stop" ] && break
    local rec reply step
    evaluate "$run/ckpt.pt" run > /dev/null  # the uncooled figures beside the cooled ones: what the cool-down gains
    rec=$(evaluate "$dir/cool/ckpt.pt" cooled)
    reply=$(echo "$rec" | "$py" -c "import json,sys; print(json.loads(sys.stdin.read())['reply_loss'])")
    step=$(echo "$rec" | "$py" -c "import json,sys; print(json.loads(sys.stdin.read())['step'])")
    if "$py" -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) - float(sys.argv[3]) else 1)" \
         "$reply" "$(best_reply)" "$margin"; then
      echo "$reply" > "$dir/best-conversation"
      candidate "$step" "$dir/cool/ckpt.pt"
    fi
  done
  rm -f "$dir/stop" "$pidfile"
  log "stopped"
}

signal_all() {  # $1: signal; the loop's process group (it runs under setsid)
  running || { echo "background.sh: not running"; return 0; }
  kill "-$1" -- "-$(cat "$pidfile")" 2>/dev/null || true
}

case "${1:-}" in
  start)
    if running; then echo "background.sh: already running (pid $(cat "$pidfile")); status for more"; exit 0; fi
    mkdir -p "$dir"
    rm -f "$dir/stop"
    # The loop runs a copy of this script: bash reads a script as it goes, so editing the one in the
    # repository would change the running loop mid-way.
    cp "$0" "$dir/background-loop.sh"
    ULK_TRAIN_REPO=$repo setsid chrt --idle 0 nohup bash "$dir/background-loop.sh" _loop >> "$dir/background.log" 2>&1 < /dev/null &
    echo $! > "$pidfile"
    echo "background.sh: started (pid $!, idle priority; log $dir/background.log, training log $dir/train.log)" ;;
  _loop) loop ;;
  pause) signal_all STOP; echo "background.sh: paused" ;;
  resume) signal_all CONT; echo "background.sh: resumed" ;;
  stop)
    running || { echo "background.sh: not running"; exit 0; }
    touch "$dir/stop"
    signal_all CONT
    [ -f "$dir/train.pid" ] && kill -TERM "$(cat "$dir/train.pid")" 2>/dev/null || true
    for _ in $(seq 120); do running || break; sleep 1; done
    running && echo "background.sh: still finishing (an evaluation or candidate); it ends by itself" \
            || echo "background.sh: stopped (checkpoint $run/ckpt.pt)" ;;
  status)
    if running; then
      state=$(ps -o stat= -p "$(cat "$dir/train.pid" 2>/dev/null || cat "$pidfile")" 2>/dev/null | cut -c1 || true)
      [ "$state" = T ] && echo "paused (pid $(cat "$pidfile"))" || echo "running (pid $(cat "$pidfile"), idle priority)"
    else
      echo "not running"
    fi
    echo "directory  $dir"
    [ -f "$dir/train.log" ] && { echo "last step  $(grep '"step"' "$dir/train.log" | tail -1)"; }
    [ -f "$dir/evals.jsonl" ] && { echo "evaluations (held-out bits per character):"; tail -5 "$dir/evals.jsonl"; }
    [ -d "$dir/candidates" ] && { echo "candidates:"; ls "$dir/candidates"; }
    true ;;
  *) sed -n 2,8p "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
