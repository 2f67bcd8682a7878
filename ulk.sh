#!/usr/bin/env bash
# The project's entry point on a fresh Debian 12 machine:
#   ./ulk.sh chat [ulk-chat options]   install packages, build, start the chatbot
#   ./ulk.sh test                      install packages, build, run the whole test suite (native,
#                                      sanitized, and baseline x86-64 builds)
#   ./ulk.sh bench [filter]            install packages, build, run the kernel benchmarks
set -euo pipefail
cd "$(dirname "$0")"
build=${ULK_BUILD_DIR:-build}
jobs=$(nproc 2>/dev/null || echo 2)
cmd=${1:-}
[ $# -gt 0 ] && shift
# Ninja where it is installed (scripts/install-deps.sh installs it): it keeps both cores busy across
# targets, where make builds the targets named on one command line one after another. A build
# folder keeps the generator it was first configured with.
generator() { [ -f "$1/CMakeCache.txt" ] || ! command -v ninja >/dev/null || echo "-GNinja"; }
configure() { cmake $(generator "$build") -S . -B "$build" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null; }
case "$cmd" in
  chat)
    bash scripts/install-deps.sh
    configure -DULK_BUILD_DEMO=ON
    cmake --build "$build" -j"$jobs" --target ulk-chat
    exec "$build/demo/ulk-chat" "$@" ;;
  test)
    bash scripts/install-deps.sh test
    configure -DULK_BUILD_TESTS=ON -DULK_BUILD_BENCH=ON -DULK_BUILD_DEMO=ON
    cmake --build "$build" -j"$jobs"
    ctest --test-dir "$build" --output-on-failure -j"$jobs"
    # The unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer, and the programs' bad-input cases.
    # -Og -g1: this build is for the checks, not for speed. Its compile costs about a quarter of the CPU
    # time of -O2 -g (the sanitizers' instrumentation is what -O2 spends it optimizing), and line tables
    # are all a sanitizer report needs.
    cmake $(generator "$build-sanitize") -S . -B "$build-sanitize" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-Og -g1 -DNDEBUG" -DULK_SANITIZE=ON \
      -DULK_BUILD_TESTS=ON -DULK_BUILD_BENCH=OFF -DULK_BUILD_DEMO=ON >/dev/null
    cmake --build "$build-sanitize" -j"$jobs" --target ulk_tests ulk_chat_cli_tests ulk_server_tests
    ctest --test-dir "$build-sanitize" --output-on-failure -j"$jobs" -L unit
    # (the programs' hostile-input and concurrency cases; 8 clients x 10 requests)
    ULK_TEST_REQUESTS=10 ctest --test-dir "$build-sanitize" --output-on-failure -j"$jobs" \
      -R 'ulk-chat: (invalid UTF-8|missing, corrupt)|ulk-server: (malformed|with an API key|8 concurrent|a client that disconnects|a full queue)'
    # And for baseline x86-64 (no AVX): the portable kernels are all that is compiled in.
    cmake $(generator "$build-portable") -S . -B "$build-portable" -DCMAKE_BUILD_TYPE=Release -DULK_MARCH=x86-64 \
      -DULK_BUILD_TESTS=ON -DULK_BUILD_BENCH=OFF -DULK_BUILD_DEMO=OFF >/dev/null
    cmake --build "$build-portable" -j"$jobs" --target ulk_tests
    ctest --test-dir "$build-portable" --output-on-failure -j"$jobs" -L unit ;;
  bench)
    bash scripts/install-deps.sh
    configure -DULK_BUILD_BENCH=ON
    cmake --build "$build" -j"$jobs" --target ulk_bench_kernels
    exec "$build/bench/ulk_bench_kernels" --benchmark_filter="${1:-.}" ;;
  *)
    echo "usage: ./ulk.sh chat|test|bench" >&2; exit 2 ;;
esac
