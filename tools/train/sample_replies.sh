#!/usr/bin/env bash
# The 20 everyday prompts (everyday_prompts.tsv) answered by MODEL with ulk-chat's default sampling,
# one-shot, seed = the prompt's number: a markdown table for docs/models.md, unedited.
#   tools/train/sample_replies.sh MODEL.gguf [ULK_CHAT]      (ULK_CHAT default: build/demo/ulk-chat)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
model=${1:?usage: sample_replies.sh MODEL.gguf [ULK_CHAT]}
chat=${2:-$here/../../build/demo/ulk-chat}
echo "| # | style | prompt | reply |"
echo "|---:|---|---|---|"
n=0
grep -v '^#' "$here/everyday_prompts.tsv" | while IFS=$'\t' read -r style prompt; do
  n=$((n + 1))
  reply=$("$chat" -m "$model" --style "$style" --seed "$n" --max-tokens 80 -t 2 -p "$prompt" 2>/dev/null | tr '\n|' ' /')
  echo "| $n | $style | $prompt | $reply |"
done
