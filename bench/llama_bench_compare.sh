#!/usr/bin/env bash
# End-to-end speed against llama.cpp on the same GGUF files, in the same session: prompt processing
# of 64 tokens in one batch (pp64) and generation of 64 tokens one at a time (tg64), 2 threads.
#
#   bench/llama_bench_compare.sh [OPTIONS] LLAMA_CPP_BUILD_DIR ULK_BENCH FILE.gguf...
#   bench/llama_bench_compare.sh [OPTIONS] --harness PATH ULK_BENCH FILE.gguf...
#
# LLAMA_CPP_BUILD_DIR: an existing llama.cpp build holding bin/llama-bench (this script never
#   builds or downloads llama.cpp). With --harness PATH, PATH is run instead of llama-bench: any
#   program that takes llama-bench's `-m FILE -p N -n N -t T -r R -o json` and prints llama-bench's
#   JSON (an array of tests with model_filename, n_prompt, n_gen, avg_ts, stddev_ts, samples_ts).
# ULK_BENCH: the path of the ulk-bench binary; run as
#   `ulk-bench FILE --threads T --prompt P --tokens N --repetitions R --json`, it prints one JSON
#   object with prefill_tok_s and decode_tok_s (medians). Give `-` to time llama.cpp only.
#
# For every round and every file, llama.cpp and ulk-bench run back to back (which goes first
# alternates from one round to the next), so both see the same machine state. A file one engine
# cannot load (e.g. Q2P or block-sparse files in llama.cpp) shows n/a.
#
# Example (the 246M benchmark shape, each engine 3 times per file, waiting for an idle machine):
#   bench/llama_bench_compare.sh --rounds 3 --wait-idle 300 ~/llama.cpp/build build/tools/ulk-bench \
#       models/m246-q8_0.gguf models/m246-q4_0-pure.gguf models/m246-q2_k-pure.gguf
#
# Options:
#   -t, --threads T       threads for both engines (default 2)
#   -p, --prompt P        prompt tokens, pp test (default 64)
#   -n, --tokens N        generated tokens, tg test (default 64)
#   -r, --repetitions R   repetitions per run, after each tool's warm-up (default 5)
#   --rounds K            runs of each engine per file (default 1); the table shows the median of the
#                         K per-run medians
#   --keep DIR            keep every run's raw JSON and stderr in DIR
#   --wait-idle S         before each run, wait up to S seconds for the CPUs to be idle (under 10%
#                         busy over one second, from /proc/stat); default 0: no wait
#   --max-other PCT       a run during which other processes (or the hypervisor: steal time) used
#                         more than PCT% of the machine's CPU time is run again (default 5)
#   --retries N           at most N such repeats per run (default 2); the table flags what stays
#   -h, --help            this text
#
# Output: markdown on stdout: file, its 2-D tensor types ("pure" when all 2-D tensors share one
# type), llama.cpp pp/tg t/s, ulk pp/tg t/s, the ratios ulk / llama.cpp, and the most CPU other
# processes took during that file's runs. For llama.cpp the per-run figure is the median of
# llama-bench's samples_ts (its avg_ts is a mean). Two-thread timings are only worth keeping on an
# otherwise idle machine: hence --wait-idle and the repeat of runs that other processes disturbed.
# Needs bash and python3 (standard library only: JSON and GGUF headers); not jq.
set -euo pipefail

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

threads=2 prompt=64 tokens=64 reps=5 rounds=1 keep="" harness="" wait_idle=0 max_other=5 retries=2
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -t|--threads) threads=$2; shift 2 ;;
    -p|--prompt) prompt=$2; shift 2 ;;
    -n|--tokens) tokens=$2; shift 2 ;;
    -r|--repetitions) reps=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --wait-idle) wait_idle=$2; shift 2 ;;
    --max-other) max_other=$2; shift 2 ;;
    --retries) retries=$2; shift 2 ;;
    --harness) harness=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; args+=("$@"); break ;;
    -) args+=("$1"); shift ;;
    -*) echo "llama_bench_compare.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
for v in "$wait_idle" "$max_other" "$retries"; do
  [[ $v =~ ^[0-9]+$ ]] || { echo "llama_bench_compare.sh: '$v' is not a whole number" >&2; exit 2; }
done
for v in "$threads" "$prompt" "$tokens" "$reps" "$rounds"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "llama_bench_compare.sh: '$v' is not a positive integer" >&2; exit 2; }
done

if [ -n "$harness" ]; then
  llama=$harness
  [ ${#args[@]} -ge 2 ] || { usage >&2; exit 2; }
else
  [ ${#args[@]} -ge 3 ] || { usage >&2; exit 2; }
  llama=${args[0]%/}/bin/llama-bench
  args=("${args[@]:1}")
fi
ulk=${args[0]}
files=("${args[@]:1}")
[ -x "$llama" ] || { echo "llama_bench_compare.sh: $llama is not an executable" >&2; exit 2; }
[ "$ulk" = - ] || [ -x "$ulk" ] || { echo "llama_bench_compare.sh: $ulk is not an executable" >&2; exit 2; }
for f in "${files[@]}"; do
  [ -f "$f" ] || { echo "llama_bench_compare.sh: no file $f" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "llama_bench_compare.sh: needs python3" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "$keep" ]; then mkdir -p "$keep"; fi
loadavg() { cut -d' ' -f1 /proc/loadavg; }
load_before=$(loadavg)
busy_pct() {  # percent of all CPUs' time not idle over the next second
  local a b
  read -r -a a < <(head -1 /proc/stat)
  sleep 1
  read -r -a b < <(head -1 /proc/stat)
  local total=0 idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) k
  for k in 1 2 3 4 5 6 7 8; do total=$((total + b[k] - a[k])); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
wait_for_idle() {
  local start=$SECONDS busy
  busy=$(busy_pct)
  while [ "$busy" -ge 10 ] && [ $((SECONDS - start)) -lt "$wait_idle" ]; do
    sleep 4
    busy=$(busy_pct)
  done
  echo "$busy"
}

run_llama() {  # FILE OUTPREFIX
  "$llama" -m "$1" -p "$prompt" -n "$tokens" -t "$threads" -r "$reps" -o json >"$2.json" 2>"$2.err"
}
run_ulk() {  # FILE OUTPREFIX
  "$ulk" "$1" --threads "$threads" --prompt "$prompt" --tokens "$tokens" --repetitions "$reps" --json \
    >"$2.json" 2>"$2.err"
}

# CPU time of everything but this script's children: all CPUs' non-idle time (steal included)
# from /proc/stat, less the CPU time of the run itself (bash's `times`, children's line).
ncpu=$(getconf _NPROCESSORS_ONLN)
hz=$(getconf CLK_TCK)
busy_ms() {
  local c
  read -r -a c < /proc/stat
  echo $(( (c[1] + c[2] + c[3] + c[6] + c[7] + c[8]) * 1000 / hz ))
}
children_ms() {  # sets $children (not in a subshell: `times` reports the calling shell's children)
  local line t m s
  times >"$work/times"
  line=$(sed -n 2p "$work/times")
  children=0
  for t in $line; do  # e.g. 1m2.345s
    m=${t%%m*}; s=${t#*m}; s=${s%s}
    children=$(( children + m * 60000 + 10#${s%.*} * 1000 + 10#${s#*.} ))
  done
}
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }

measure() {  # ENGINE(llama|ulk) FILE OUTPREFIX: run, again while others took too much CPU
  local attempt=0 b0 c0 t0 b1 c1 t1 other
  [ "$1" = ulk ] && [ "$ulk" = - ] && return 0
  while :; do
    wait_for_idle >/dev/null
    children_ms; c0=$children; b0=$(busy_ms); t0=$(now_ms)
    if ! "run_$1" "$2" "$3"; then
      echo "llama_bench_compare.sh: $1 failed on $2 (see $(basename "$3").err with --keep)" >&2
      rm -f "$3.json"
      return 0
    fi
    b1=$(busy_ms); t1=$(now_ms); children_ms; c1=$children
    other=$(( 100 * ((b1 - b0) - (c1 - c0)) / ((t1 - t0) * ncpu + 1) ))
    (( other < 0 )) && other=0
    echo "$other" >"$3.other"
    if (( other <= max_other || attempt >= retries )); then break; fi
    attempt=$((attempt + 1))
    echo "  $1: other processes used ${other}% of the CPUs during the run; again ($attempt/$retries)" >&2
  done
  echo "  $1: done (${other}% of the CPUs used by others during it)" >&2
}

for ((r = 1; r <= rounds; r++)); do
  for i in "${!files[@]}"; do
    f=${files[$i]}
    echo "round $r/$rounds: $(basename "$f") (load $(loadavg))" >&2
    if (((r + i) % 2 == 0)); then
      measure llama "$f" "$work/llama.$i.$r"; measure ulk "$f" "$work/ulk.$i.$r"
    else
      measure ulk "$f" "$work/ulk.$i.$r"; measure llama "$f" "$work/llama.$i.$r"
    fi
  done
done
load_after=$(loadavg)
if [ -n "$keep" ]; then cp "$work"/* "$keep"/ 2>/dev/null || true; fi

python3 - "$work" "$rounds" "$prompt" "$tokens" "$threads" "$reps" "$load_before" "$load_after" "$max_other" "$llama" "$ulk" \
  "${files[@]}" <<'PY'
import json, os, statistics, struct, sys

work, rounds, prompt, tokens, threads, reps, load0, load1, max_other, llama, ulk = sys.argv[1:12]
files = sys.argv[12:]
rounds = int(rounds)

GGML_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1",
              10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 24: "I8",
              25: "I16", 26: "I32", 30: "BF16"}

def tensor_types(path):
    """'Q4_0 pure' or 'Q4_0 113, Q6_K 1' over the GGUF file's 2-D weight tensors; ulk's own formats
    (stored as I8 rows) by the name in their ulk.format.<tensor> key."""
    try:
        with open(path, "rb") as f:
            def rd(fmt):
                return struct.unpack("<" + fmt, f.read(struct.calcsize("<" + fmt)))
            def string():
                (n,) = rd("Q"); return f.read(n).decode("utf-8", "replace")
            sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
            def skip_value(t):
                if t in sizes: f.seek(sizes[t], 1)
                elif t == 8: (n,) = rd("Q"); f.seek(n, 1)
                elif t == 9:
                    (et,) = rd("I"); (n,) = rd("Q")
                    if et in sizes: f.seek(sizes[et] * n, 1)
                    else:
                        for _ in range(n): skip_value(et)
                else: raise ValueError(f"metadata type {t}")
            if f.read(4) != b"GGUF": return "not GGUF"
            rd("I"); (n_tensors,) = rd("Q"); (n_kv,) = rd("Q")
            own = {}
            for _ in range(n_kv):
                key = string(); (t,) = rd("I")
                if t == 8 and key.startswith("ulk.format."): own[key[len("ulk.format."):]] = string()
                else: skip_value(t)
            count = {}
            sparse = False
            for _ in range(n_tensors):
                name = string()
                (nd,) = rd("I"); rd("Q" * nd); (t,) = rd("I"); rd("Q")
                if name.endswith((".bsr_values", ".bsr_col_idx", ".bsr_row_ptr")):
                    sparse = True
                    if not name.endswith(".bsr_values"): continue
                if nd == 2:
                    key = own.get(name, GGML_TYPES.get(t, f"type{t}"))
                    count[key] = count.get(key, 0) + 1
    except (OSError, ValueError, struct.error) as e:
        return f"? ({e.__class__.__name__})"
    if not count: return "?"
    if len(count) == 1: s = f"{next(iter(count))} pure"
    else: s = ", ".join(f"{k} {v}" for k, v in sorted(count.items(), key=lambda kv: -kv[1]))
    return s + (" block-sparse" if sparse else "")

def load(path):
    """The file's JSON; failing that, its last line that is JSON on its own."""
    try:
        with open(path) as f: text = f.read()
    except OSError:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return None

def llama_run(i, r):
    """(pp, tg) medians of samples_ts from one llama-bench JSON run, None where missing."""
    data = load(f"{work}/llama.{i}.{r}.json")
    pp = tg = None
    for t in data if isinstance(data, list) else []:
        samples = t.get("samples_ts") or [t.get("avg_ts")]
        if t.get("n_prompt") == int(prompt) and t.get("n_gen") == 0: pp = statistics.median(samples)
        if t.get("n_prompt") == 0 and t.get("n_gen") == int(tokens): tg = statistics.median(samples)
    return pp, tg

def ulk_run(i, r):
    data = load(f"{work}/ulk.{i}.{r}.json")
    if not isinstance(data, dict): return None, None
    return data.get("prefill_tok_s"), data.get("decode_tok_s")

def median(vals):
    vals = [v for v in vals if isinstance(v, (int, float))]
    return statistics.median(vals) if vals else None

def fmt(v): return "n/a" if v is None else f"{v:.1f}"
def ratio(a, b): return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}"

def other(kind, i):
    """Highest share of the CPUs other processes took during the kept runs (None: no run)."""
    vals = []
    for r in range(1, rounds + 1):
        try:
            with open(f"{work}/{kind}.{i}.{r}.other") as f: vals.append(int(f.read()))
        except (OSError, ValueError):
            pass
    return max(vals) if vals else None

engine = os.path.basename(llama)
print(f"pp{prompt} / tg{tokens}, {threads} threads, {reps} repetitions per run, median of {rounds} "
      f"run(s) per engine; llama.cpp: `{engine}`; ulk: `{os.path.basename(ulk) if ulk != '-' else '(not run)'}`; "
      f"1-min load average {load0} before, {load1} after (this load includes the benchmarks' own threads)")
print()
print(f"| file | 2-D tensor types | llama.cpp pp{prompt} t/s | llama.cpp tg{tokens} t/s "
      f"| ulk pp{prompt} t/s | ulk tg{tokens} t/s | pp ulk/llama.cpp | tg ulk/llama.cpp | other CPU % |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
worst = 0
for i, path in enumerate(files):
    lr = [llama_run(i, r) for r in range(1, rounds + 1)]
    ur = [ulk_run(i, r) for r in range(1, rounds + 1)]
    lpp, ltg = median(x[0] for x in lr), median(x[1] for x in lr)
    upp, utg = median(x[0] for x in ur), median(x[1] for x in ur)
    o = [v for v in (other("llama", i), other("ulk", i)) if v is not None]
    worst = max([worst] + o)
    flag = (f"{max(o)}" + (" (!)" if max(o) > int(max_other) else "")) if o else "n/a"
    print(f"| {os.path.basename(path)} | {tensor_types(path)} | {fmt(lpp)} | {fmt(ltg)} | {fmt(upp)} | {fmt(utg)} "
          f"| {ratio(upp, lpp)} | {ratio(utg, ltg)} | {flag} |")
print()
print(f"other CPU %: the most that other processes and steal time took of the CPUs during any kept run of "
      f"that file; a run above {max_other}% was repeated (up to the --retries limit), (!) marks one that stayed above.")
PY
