// ulk_bench_kernels: the kernel benchmarks, in this order:
//   probe/read/threads:N               read-bandwidth roofline (bench_probe.cpp)
//   gemv/<format>/threads:N            decode GEMV over >= 256 MB of weights, `of_probe` (bench_gemv_gemm.cpp)
//   gemm/<format>/tokens:64/threads:N  prefill GEMM (bench_gemv_gemm.cpp)
//   sparse_gemv/<format>/<BR>x<BC>/density:<percent>/threads:N
//                                      block-sparse GEMV beside the dense one, `speedup` (bench_sparse.cpp)
//   dot/<format>/ref, dot/<format>/<simd tag>   scalar reference vs SIMD kernel (bench_dot.cpp)
//
// The probe runs once at start-up, before anything is registered, so that every GEMV of this run
// is divided by a roofline measured in this run. bench/run_benchmarks.sh runs the whole set with
// repetitions and writes JSON; bench/summarize.py turns it into the tables of docs/benchmarks.md.
//
// Flags of our own (removed before Google Benchmark parses the rest):
//   --ulk_probe_mb=N       probe buffer in MiB (default 512)
//   --ulk_gemv_mb=N        weight MiB streamed per GEMV iteration (default 256)
//   --ulk_probe_passes=N   start-up probe passes per thread count, median taken (default 9)
//   --ulk_threads=1,2      ThreadPool sizes (default 1,2)
// Small sizes are for checking that everything runs, not for numbers.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>

#include "bench_common.hpp"

// Counting operator new: the timed loops must not allocate, and this makes it visible if they do.
namespace {
std::atomic<std::uint64_t> g_allocations{0};
}
void* operator new(std::size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

std::uint64_t ulk::bench::allocation_count() noexcept { return g_allocations.load(std::memory_order_relaxed); }

namespace {

bool parse_size(std::string_view text, std::size_t& out) {
    char* end = nullptr;
    const std::string s(text);
    const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || v == 0) return false;
    out = std::size_t(v);
    return true;
}

bool parse_threads(std::string_view text, std::vector<unsigned>& out) {
    std::vector<unsigned> v;
    while (!text.empty()) {
        const std::size_t comma = text.find(',');
        std::size_t n = 0;
        if (!parse_size(text.substr(0, comma), n)) return false;
        v.push_back(unsigned(n));
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    }
    if (v.empty()) return false;
    out = v;
    return true;
}

void print_ulk_help() {
    std::printf(
        "ulk_bench_kernels flags (besides Google Benchmark's):\n"
        "  --ulk_probe_mb=N       probe buffer in MiB (default 512)\n"
        "  --ulk_gemv_mb=N        weight MiB streamed per GEMV iteration (default 256)\n"
        "  --ulk_probe_passes=N   start-up probe passes per thread count (default 9)\n"
        "  --ulk_threads=LIST     ThreadPool sizes, comma-separated (default 1,2)\n\n");
}

// Removes our flags from argv; false (after a message) on a malformed one.
bool parse_ulk_flags(int& argc, char** argv) {
    ulk::bench::Options& o = ulk::bench::options();
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (!arg.starts_with("--ulk_")) {
            if (arg == "--help" || arg == "-h") print_ulk_help();
            argv[kept++] = argv[i];
            continue;
        }
        const std::size_t eq = arg.find('=');
        const std::string_view name = arg.substr(0, eq), value = eq == arg.npos ? "" : arg.substr(eq + 1);
        std::size_t n = 0;
        bool ok = name == "--ulk_threads" ? parse_threads(value, o.threads) : parse_size(value, n);
        if (name == "--ulk_probe_mb") o.probe_bytes = n << 20;
        else if (name == "--ulk_gemv_mb") o.gemv_bytes = n << 20;
        else if (name == "--ulk_probe_passes") o.probe_passes = int(n);
        else if (name != "--ulk_threads") ok = false;
        if (!ok) {
            std::fprintf(stderr, "ulk_bench_kernels: bad flag '%s'\n", argv[i]);
            print_ulk_help();
            return false;
        }
    }
    argc = kept;
    argv[argc] = nullptr;
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace ulk::bench;
    if (!parse_ulk_flags(argc, argv)) return 2;
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;

    const Options& o = options();
    std::string threads;
    for (unsigned t : o.threads) threads += (threads.empty() ? "" : ",") + std::to_string(t);
    benchmark::AddCustomContext("ulk_simd", std::string(ulk::simd::native::name));
    benchmark::AddCustomContext("ulk_threads", threads);
    benchmark::AddCustomContext("ulk_probe_MiB", std::to_string(o.probe_bytes >> 20));
    benchmark::AddCustomContext("ulk_gemv_MiB", std::to_string(o.gemv_bytes >> 20));
#if defined(__OPTIMIZE__) && defined(NDEBUG)
    benchmark::AddCustomContext("ulk_build", "optimized");
#else
    benchmark::AddCustomContext("ulk_build", "NOT OPTIMIZED: numbers are meaningless");
    std::fprintf(stderr, "ulk_bench_kernels: built without optimization (use CMAKE_BUILD_TYPE=Release)\n");
#endif

    run_startup_probe();
    register_probe_benchmarks();
    register_gemv_benchmarks();
    register_gemm_benchmarks();
    register_dot_benchmarks();
    register_sparse_benchmarks();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
