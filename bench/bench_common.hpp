#pragma once
// Shared by the kernel benchmarks (bench_*.cpp): the formats under test, the run's options, the
// read-bandwidth probe's result, and helpers that keep the timed loops honest.
//
// Every speed this project quotes is a ratio measured in one run: a GEMV's weight bandwidth over
// the probe's read bandwidth at the same thread count (`of_probe`), a SIMD kernel over its scalar
// reference. Absolute numbers on a shared 2-core machine drift by tens of percent from one run to
// the next; ratios taken in the same run drift far less.
//
// Benchmarks that run on a ThreadPool time themselves (UseManualTime, wall clock per iteration):
// CPU time of the calling thread would miss the workers, and `of_probe` must be computed from
// exactly the time that the rate counters are divided by.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "ulk/base/thread_pool.hpp"
#include "ulk/ops/gemv.hpp"
#include "ulk/quant/bf16.hpp"
#include "ulk/quant/f16.hpp"
#include "ulk/quant/f32.hpp"
#include "ulk/quant/format.hpp"
#include "ulk/quant/q4_0.hpp"
#include "ulk/quant/q8_0.hpp"
#include "ulk/simd/arch.hpp"

// Formats still being written are picked up once their header lands. The k-quants and Q2Planar
// take Q8_K activations: a format header that lands before q8_k.hpp would not compile, so they wait
// for both.
#if __has_include("ulk/quant/q8_k.hpp")
#define ULK_BENCH_HAVE_Q8_K 1
#endif
#if defined(ULK_BENCH_HAVE_Q8_K) && __has_include("ulk/quant/q6_k.hpp")
#include "ulk/quant/q6_k.hpp"
#define ULK_BENCH_HAVE_Q6_K 1
#endif
#if defined(ULK_BENCH_HAVE_Q8_K) && __has_include("ulk/quant/q4_k.hpp")
#include "ulk/quant/q4_k.hpp"
#define ULK_BENCH_HAVE_Q4_K 1
#endif
#if defined(ULK_BENCH_HAVE_Q8_K) && __has_include("ulk/quant/q3_k.hpp")
#include "ulk/quant/q3_k.hpp"
#define ULK_BENCH_HAVE_Q3_K 1
#endif
#if defined(ULK_BENCH_HAVE_Q8_K) && __has_include("ulk/quant/q2_k.hpp")
#include "ulk/quant/q2_k.hpp"
#define ULK_BENCH_HAVE_Q2_K 1
#endif
#if __has_include("ulk/quant/grouped.hpp")
#include "ulk/quant/grouped.hpp"
#define ULK_BENCH_HAVE_GROUPED 1
#endif
#if defined(ULK_BENCH_HAVE_Q8_K) && __has_include("ulk/quant/q2_planar.hpp")
#include "ulk/quant/q2_planar.hpp"
#define ULK_BENCH_HAVE_Q2_PLANAR 1
#endif

namespace ulk::bench {

// Every format under test, from the most bits per weight to the fewest (the order of the tables).
using Formats = decltype(std::tuple_cat(
    std::declval<std::tuple<quant::F32, quant::F16, quant::BF16, quant::Q8_0>>(),
#if defined(ULK_BENCH_HAVE_Q6_K)
    std::declval<std::tuple<quant::Q6_K>>(),
#endif
#if defined(ULK_BENCH_HAVE_Q4_K)
    std::declval<std::tuple<quant::Q4_K>>(),
#endif
    std::declval<std::tuple<quant::Q4_0>>(),
#if defined(ULK_BENCH_HAVE_GROUPED)
    std::declval<std::tuple<quant::Grouped<4, 64>>>(),
#endif
#if defined(ULK_BENCH_HAVE_Q3_K)
    std::declval<std::tuple<quant::Q3_K>>(),
#endif
#if defined(ULK_BENCH_HAVE_Q2_K)
    std::declval<std::tuple<quant::Q2_K>>(),
#endif
#if defined(ULK_BENCH_HAVE_GROUPED)
    std::declval<std::tuple<quant::Grouped<2, 64>>>(),
#endif
#if defined(ULK_BENCH_HAVE_Q2_PLANAR)
    std::declval<std::tuple<quant::Q2Planar>>(),
#endif
    std::declval<std::tuple<>>()));

// fn.template operator()<F>() for every format, in table order.
template <class Fn>
void for_each_format(Fn&& fn) {
    [&]<class... Fs>(std::tuple<Fs...>*) {
        static_assert((quant::DotFormat<Fs> && ...), "every benchmarked format must satisfy quant::DotFormat");
        (fn.template operator()<Fs>(), ...);
    }(static_cast<Formats*>(nullptr));
}

// A format's name as it appears in benchmark names: '/' separates name fields, so none inside.
template <class F>
std::string format_name() {
    std::string s(F::kName);
    std::replace(s.begin(), s.end(), '/', '_');
    std::replace(s.begin(), s.end(), ' ', '_');
    return s;
}

// The strongest arch tag with a dot overload of exactly that tag: the kernel F::dot(native{}) runs
// (a format without an AVX-512 kernel falls back to its AVX2 or portable one).
template <class F, class Arch>
concept HasExactDot = requires {
    static_cast<float (*)(Arch, const typename F::Block*, const ops::ActivationBlock<F>*, std::size_t)>(&F::dot);
};
template <class F>
constexpr std::string_view dot_kernel_name() {
    if constexpr (std::is_base_of_v<simd::avx512vnni, simd::native> && HasExactDot<F, simd::avx512vnni>)
        return simd::avx512vnni::name;
    else if constexpr (std::is_base_of_v<simd::avx2, simd::native> && HasExactDot<F, simd::avx2>)
        return simd::avx2::name;
    else
        return simd::portable::name;
}

// Sizes and thread counts; --ulk_* flags on the command line change them (see bench_kernels.cpp).
struct Options {
    std::size_t probe_bytes = std::size_t(512) << 20;  // > any L3 by far: a DRAM read roofline
    std::size_t gemv_bytes = std::size_t(256) << 20;   // weight bytes streamed per GEMV iteration
    int probe_passes = 9;                              // start-up probe: median of this many passes
    std::vector<unsigned> threads = {1, 2};            // ThreadPool sizes
};
inline Options& options() {
    static Options o;
    return o;
}

// One pool per thread count for the whole run: creating threads is not what we measure.
inline ThreadPool& pool(unsigned threads) {
    static std::map<unsigned, std::unique_ptr<ThreadPool>> pools;
    auto& p = pools[threads];
    if (!p) p = std::make_unique<ThreadPool>(threads);
    return *p;
}

// Start-up probe result: read bandwidth in bytes/s per thread count (bench_probe.cpp).
inline std::map<unsigned, double>& probe_bytes_per_s() {
    static std::map<unsigned, double> m;
    return m;
}
void run_startup_probe();

void register_probe_benchmarks();
void register_gemv_benchmarks();
void register_gemm_benchmarks();
void register_dot_benchmarks();
void register_sparse_benchmarks();

// Allocations (operator new) since start, on every thread: counted by bench_kernels.cpp so that
// a timed loop that allocates shows it (`allocs_per_iter`) instead of hiding it in its time.
std::uint64_t allocation_count() noexcept;

// Large inputs (one format's 256 MB of GEMV matrices, the probe's buffer) are built once and kept
// while the benchmarks that share them run (thread counts, repetitions); building the next one
// frees the previous one first, so that only one large set is alive. Benchmarks run in
// registration order, so each set is built once (unless --benchmark_enable_random_interleaving).
namespace detail {
inline std::function<void()>& release_cached_slot() {
    static std::function<void()> release;
    return release;
}
}  // namespace detail
template <class T, class Make>
T& cached(Make&& make) {
    static std::unique_ptr<T> slot;
    if (!slot) {
        if (auto& release = detail::release_cached_slot()) release();
        slot = make();
        detail::release_cached_slot() = [] { slot.reset(); };
    }
    return *slot;
}

// Deterministic normal floats (splitmix64 + Box-Muller): the same data in every run.
inline std::vector<float> normal_floats(std::size_t n, std::uint64_t seed, float scale = 1.f) {
    std::vector<float> v(n);
    std::uint64_t s = seed;
    auto uniform = [&s] {
        std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return float((z ^ (z >> 31)) >> 40) / float(1 << 24);
    };
    for (auto& x : v) {
        const float u1 = std::max(uniform(), 1e-7f), u2 = uniform();
        x = scale * std::sqrt(-2.f * std::log(u1)) * std::cos(6.2831853f * u2);
    }
    return v;
}

// Wall-clock timing of one iteration, reported to the library as manual time and summed so that
// ratios (of_probe) use exactly the time the rate counters use.
class ManualTimer {
public:
    using Clock = std::chrono::steady_clock;
    void start() noexcept { t0_ = Clock::now(); }
    void stop(benchmark::State& state) noexcept {
        const double dt = std::chrono::duration<double>(Clock::now() - t0_).count();
        state.SetIterationTime(dt);
        total_ += dt;
    }
    // Accumulates without reporting: a second timer in the same loop (a baseline run beside the
    // measured one).
    void stop_untimed() noexcept { total_ += std::chrono::duration<double>(Clock::now() - t0_).count(); }
    double total_seconds() const noexcept { return total_; }

private:
    Clock::time_point t0_{};
    double total_ = 0;
};

inline double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

}  // namespace ulk::bench
