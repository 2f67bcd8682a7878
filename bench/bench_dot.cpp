// One row's dot product, scalar reference against the SIMD kernel, per format:
//   dot/<format>/ref     F::dot_ref                      (the slow definition of the format)
//   dot/<format>/<tag>   F::dot(simd::native{}, ...)     (tag: the overload that actually runs)
// over a row of 4096 weights and its activation (<= 32 KB together, so L1/L2): compute only, no
// memory traffic, so the ratio of the two is the kernel's own speed-up over its reference.
//
// Single-threaded and without a pool, so these report CPU time: on a shared machine that excludes
// the time the thread spends descheduled, and both sides of the ratio are measured the same way.
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "ulk/base/aligned_buffer.hpp"

namespace ulk::bench {
namespace {

constexpr std::size_t kRowWeights = 4096;

template <class F>
struct Row {
    AlignedBuffer<typename F::Block> w{quant::block_count<F>(kRowWeights)};                        // (4096 weights)
    AlignedBuffer<ops::ActivationBlock<F>> a{quant::block_count<typename F::Activation>(kRowWeights)};  // (4096)

    Row() {
        const auto wf = normal_floats(kRowWeights, 7, 0.02f), xf = normal_floats(kRowWeights, 8);
        F::quantize_ref(wf.data(), w.data(), kRowWeights);
        quant::quantize_activation<typename F::Activation>(simd::native{}, xf.data(), a.data(), kRowWeights);
    }
};

template <class F, bool Reference>
void bm_dot(benchmark::State& state) {
    Row<F> row;
    const typename F::Block* w = row.w.data();
    const ops::ActivationBlock<F>* a = row.a.data();
    for (auto _ : state) {
        // Opaque pointers: the compiler may not hoist the dot out of the loop.
        benchmark::DoNotOptimize(w);
        benchmark::DoNotOptimize(a);
        float r;
        if constexpr (Reference) r = F::dot_ref(w, a, kRowWeights);
        else r = F::dot(simd::native{}, w, a, kRowWeights);
        benchmark::DoNotOptimize(r);
    }
    state.counters["weights"] = benchmark::Counter(double(kRowWeights) * double(state.iterations()), benchmark::Counter::kIsRate);
}

}  // namespace

void register_dot_benchmarks() {
    for_each_format([]<class F>() {
        const std::string base = "dot/" + format_name<F>() + "/";
        benchmark::RegisterBenchmark((base + "ref").c_str(), bm_dot<F, true>)->Unit(benchmark::kNanosecond);
        benchmark::RegisterBenchmark((base + std::string(dot_kernel_name<F>())).c_str(), bm_dot<F, false>)
            ->Unit(benchmark::kNanosecond);
    });
}

}  // namespace ulk::bench
