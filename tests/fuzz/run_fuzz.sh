#!/usr/bin/env bash
# Builds the GGUF reader's libFuzzer target (clang, ASan + UBSan) and runs it.
#   tests/fuzz/run_fuzz.sh [seconds=600] [jobs=1]
# Work files go to build-fuzz/ (corpus, crashes); a crash leaves crash-* there to reproduce with
#   build-fuzz/fuzz_gguf build-fuzz/crash-...
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-600}
jobs=${2:-1}
out=build-fuzz
mkdir -p "$out/corpus" "$out/seeds"
command -v clang++ >/dev/null || { echo "clang++ not found: apt-get install clang" >&2; exit 2; }
flags="-std=c++20 -O1 -g -Iinclude -Itests"
clang++ $flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  tests/fuzz/fuzz_gguf.cpp -o "$out/fuzz_gguf"
clang++ $flags tests/fuzz/make_seeds.cpp -o "$out/make_seeds"
"$out/make_seeds" "$out/seeds"
cd "$out"
./fuzz_gguf -max_total_time="$seconds" -jobs="$jobs" -workers="$jobs" -max_len=65536 \
  -rss_limit_mb=2048 -print_final_stats=1 corpus seeds
