#!/usr/bin/env bash
# Builds and runs the kernel benchmarks, writes their JSON, prints the markdown tables.
#
#   bench/run_benchmarks.sh                      everything, 5 repetitions (medians): ~5-10 min on 2 cores
#   bench/run_benchmarks.sh -f 'gemv/Q4'         only benchmarks whose name matches the regex
#   bench/run_benchmarks.sh -q                   quick: 3 repetitions, 0.2 s each (rougher medians)
#   bench/run_benchmarks.sh --smoke              tiny sizes, 1 repetition: checks that it all runs
#   bench/run_benchmarks.sh -o out.json -- --benchmark_min_time=1   (args after -- go to the binary)
#   bench/run_benchmarks.sh -b /tmp/bench-build --no-build            use a binary built elsewhere
#
# Output: JSON in bench/results/latest.json (or -o FILE; bench/results/ is not tracked), the console
# table on stderr as it runs, then bench/summarize.py's markdown on stdout. The probe runs at the
# start of every run, so each run's GEMV numbers are divided by a roofline from that same run.
# Build: Release in ${ULK_BUILD_DIR:-build} (or -b DIR), configured the way ./ulk.sh bench configures
# it, plus $ULK_CMAKE_ARGS if set (run `./ulk.sh bench` or scripts/install-deps.sh once if packages
# are missing).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

out=$root/bench/results/latest.json
filter=.
reps=5
extra=()
smoke=0
quick=0
build=${ULK_BUILD_DIR:-build}
do_build=1
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out=$(realpath -m -- "$2"); shift 2 ;;  # relative to where it was called from
    -f) filter=$2; shift 2 ;;
    -b) build=$(realpath -m -- "$2"); shift 2 ;;
    --no-build) do_build=0; shift ;;
    -q|--quick) quick=1; shift ;;
    --smoke) smoke=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "run_benchmarks.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

cd "$root"
args=(--benchmark_filter="$filter")
if [ "$smoke" = 1 ]; then
  args+=(--benchmark_repetitions=1 --benchmark_min_time=0.01
         --ulk_probe_mb=32 --ulk_gemv_mb=16 --ulk_probe_passes=3)
elif [ "$quick" = 1 ]; then
  args+=(--benchmark_repetitions=3 --benchmark_report_aggregates_only=true --benchmark_min_time=0.2)
else
  args+=(--benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true)
fi

if [ "$do_build" = 1 ]; then
  jobs=$(nproc 2>/dev/null || echo 2)
  read -r -a cmake_args <<<"${ULK_CMAKE_ARGS:-}"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DULK_BUILD_BENCH=ON "${cmake_args[@]}" >/dev/null
  cmake --build "$build" -j"$jobs" --target ulk_bench_kernels >&2
fi

mkdir -p "$(dirname "$out")"
"$build/bench/ulk_bench_kernels" "${args[@]}" "${extra[@]}" \
  --benchmark_out="$out" --benchmark_out_format=json >&2
echo "run_benchmarks.sh: JSON written to $out" >&2
python3 bench/summarize.py "$out"
