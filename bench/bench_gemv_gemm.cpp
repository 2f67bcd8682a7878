// GEMV (decode) and GEMM (prefill) per format, on the FFN shapes of the 246M Llama that
// docs/design.md measures llama.cpp on (d 1024, ffn 2816):
//   up   (2816, 1024): x (1024)       -> y (2816)
//   down (1024, 2816): x (2816)       -> y (1024)
//
// GEMV: decode reads every weight once per token, from DRAM. One pair is 2.9-23 MB, which a large
// L3 would partly hold and so flatter, so each iteration runs over a stack of copies ("layers")
// whose weights total >= 256 MB, like one token through the model. Its bandwidth is divided by the
// start-up probe's for the same thread count: `of_probe` is the fraction of the read roofline the
// kernel reaches, the figure that compares across machines and runs.
//
// GEMM: a 64-token prefill batch through one up and one down matrix; prefill is bound by arithmetic,
// so the matrices may sit in cache and the counter is operations per second (2 per multiply-add).
#include <cstring>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "ulk/base/aligned_buffer.hpp"
#include "ulk/ops/gemm.hpp"
#include "ulk/ops/gemv.hpp"
#include "ulk/quant/packed_matrix.hpp"

namespace ulk::bench {
namespace {

constexpr std::size_t kDim = 1024, kFfn = 2816;
constexpr std::size_t kBatch = 64;  // prefill tokens per GEMM

template <class F>
using Up = quant::PackedMatrix<F, kFfn, kDim>;  // (2816, 1024)
template <class F>
using Down = quant::PackedMatrix<F, kDim, kFfn>;  // (1024, 2816)

// One random float matrix per shape, shared by every format: weights ~ N(0, 0.02), as initialized.
const std::vector<float>& dense_up() {
    static const std::vector<float> w = normal_floats(kFfn * kDim, 1, 0.02f);
    return w;
}
const std::vector<float>& dense_down() {
    static const std::vector<float> w = normal_floats(kDim * kFfn, 2, 0.02f);
    return w;
}

// The format's reference quantization of the two dense matrices: done once per format (the
// reference quantizers of the k-quants take about a second for both shapes), kept for the whole run
// (at most 23 MB per format), copied into the GEMV stacks and used directly by the GEMM.
template <class F>
struct Prototype {
    Up<F> up = Up<F>::quantize(dense_up());
    Down<F> down = Down<F>::quantize(dense_down());
};
template <class F>
const Prototype<F>& prototype() {
    static const Prototype<F> p;
    return p;
}

template <class F>
struct GemvSet {
    std::vector<Up<F>> up;      // (layers) copies of the prototype: layer i runs up[i], then down[i]
    std::vector<Down<F>> down;  // (layers)
    AlignedBuffer<float> x_dim{kDim}, y_ffn{kFfn};  // up's input and output
    AlignedBuffer<float> x_ffn{kFfn}, y_dim{kDim};  // down's input and output
    // Activation quantized once per GEMV (empty for float formats); preallocated, as in decode.
    AlignedBuffer<ops::ActivationBlock<F>> scratch_dim{ops::gemv_scratch_blocks<F>(kDim), false};
    AlignedBuffer<ops::ActivationBlock<F>> scratch_ffn{ops::gemv_scratch_blocks<F>(kFfn), false};

    static constexpr std::size_t kLayerBytes = Up<F>::kBytes + Down<F>::kBytes;
    std::size_t bytes() const noexcept { return up.size() * kLayerBytes; }

    GemvSet() {
        const Prototype<F>& proto = prototype<F>();
        // Copies, not fresh quantizations: quantizing 256 MB with the reference would take minutes.
        const std::size_t layers = std::max<std::size_t>(1, (options().gemv_bytes + kLayerBytes - 1) / kLayerBytes);
        up.reserve(layers);
        down.reserve(layers);
        for (std::size_t i = 0; i < layers; ++i) {
            std::memcpy(static_cast<void*>(up.emplace_back().mutable_data()), proto.up.data(), Up<F>::kBytes);
            std::memcpy(static_cast<void*>(down.emplace_back().mutable_data()), proto.down.data(), Down<F>::kBytes);
        }
        const auto xd = normal_floats(kDim, 3), xf = normal_floats(kFfn, 4);
        std::copy(xd.begin(), xd.end(), x_dim.data());
        std::copy(xf.begin(), xf.end(), x_ffn.data());
    }
};

template <class F>
void bm_gemv(benchmark::State& state, unsigned threads) {
    GemvSet<F>& set = cached<GemvSet<F>>([] { return std::make_unique<GemvSet<F>>(); });
    ThreadPool& p = pool(threads);
    ManualTimer timer;
    const std::uint64_t allocs0 = allocation_count();
    for (auto _ : state) {
        timer.start();
        for (std::size_t i = 0; i < set.up.size(); ++i) {
            ops::gemv<F>(set.up[i].view(), set.x_dim.data(), set.y_ffn.data(), set.scratch_dim.span(), &p);
            benchmark::DoNotOptimize(set.y_ffn.data());
            ops::gemv<F>(set.down[i].view(), set.x_ffn.data(), set.y_dim.data(), set.scratch_ffn.span(), &p);
            benchmark::DoNotOptimize(set.y_dim.data());
        }
        benchmark::ClobberMemory();
        timer.stop(state);
    }
    const std::uint64_t allocs = allocation_count() - allocs0;
    const double iters = double(state.iterations());
    const double bytes = double(set.bytes()) * iters;
    const double probe = probe_bytes_per_s()[threads];
    state.counters["bytes"] = benchmark::Counter(bytes, benchmark::Counter::kIsRate);  // weight bytes/s
    state.counters["of_probe"] = probe > 0 ? bytes / timer.total_seconds() / probe : 0;
    state.counters["bits_per_weight"] = quant::bits_per_weight<F>();
    state.counters["allocs_per_iter"] = double(allocs) / iters;
    state.counters["weight_MiB"] = double(set.bytes()) / double(1 << 20);
}

template <class F>
void bm_gemm(benchmark::State& state, unsigned threads) {
    const Prototype<F>& proto = prototype<F>();
    ThreadPool& p = pool(threads);
    const auto xd = normal_floats(kBatch * kDim, 5), xf = normal_floats(kBatch * kFfn, 6);
    AlignedBuffer<float> y_ffn(kBatch * kFfn), y_dim(kBatch * kDim);  // (tokens, rows)
    AlignedBuffer<ops::ActivationBlock<F>> scratch_dim(ops::gemm_scratch_blocks<F>(kBatch, kDim), false);
    AlignedBuffer<ops::ActivationBlock<F>> scratch_ffn(ops::gemm_scratch_blocks<F>(kBatch, kFfn), false);
    ManualTimer timer;
    const std::uint64_t allocs0 = allocation_count();
    for (auto _ : state) {
        timer.start();
        ops::gemm<F>(proto.up.view(), xd.data(), kBatch, y_ffn.data(), scratch_dim.span(), &p);
        benchmark::DoNotOptimize(y_ffn.data());
        ops::gemm<F>(proto.down.view(), xf.data(), kBatch, y_dim.data(), scratch_ffn.span(), &p);
        benchmark::DoNotOptimize(y_dim.data());
        benchmark::ClobberMemory();
        timer.stop(state);
    }
    const std::uint64_t allocs = allocation_count() - allocs0;
    const double ops_per_iter = 2.0 * double(kBatch) * double(Up<F>::kRows * Up<F>::kCols + Down<F>::kRows * Down<F>::kCols);
    state.counters["ops"] = benchmark::Counter(ops_per_iter * double(state.iterations()), benchmark::Counter::kIsRate);
    state.counters["allocs_per_iter"] = double(allocs) / double(state.iterations());
}

}  // namespace

void register_gemv_benchmarks() {
    for_each_format([]<class F>() {
        for (unsigned threads : options().threads)
            benchmark::RegisterBenchmark(("gemv/" + format_name<F>() + "/threads:" + std::to_string(threads)).c_str(),
                                         [threads](benchmark::State& s) { bm_gemv<F>(s, threads); })
                ->UseManualTime()
                ->Unit(benchmark::kMillisecond);
    });
}

void register_gemm_benchmarks() {
    for_each_format([]<class F>() {
        for (unsigned threads : options().threads)
            benchmark::RegisterBenchmark(("gemm/" + format_name<F>() + "/tokens:" + std::to_string(kBatch) +
                                          "/threads:" + std::to_string(threads)).c_str(),
                                         [threads](benchmark::State& s) { bm_gemm<F>(s, threads); })
                ->UseManualTime()
                ->Unit(benchmark::kMillisecond);
    });
}

}  // namespace ulk::bench
