// Block-sparse GEMV against the dense GEMV of the same format, in the same run and the same loop:
// each iteration streams a stack of dense (up, down) FFN matrices (>= 256 MB, as bench_gemv_gemm.cpp)
// and then the same stack pruned to the density under test, timing both; each stack is one buffer,
// layer after layer, as in a model file. `speedup` is dense time over sparse time, so machine noise
// that hits both cancels. The sparse stack is pruned once by
// magnitude (all block shapes and densities prune the same random weights) and copied, as the
// dense one is.
//   sparse_gemv/<format>/<BR>x<BC>/density:<percent>/threads:N
#include <cstring>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "ulk/base/aligned_buffer.hpp"
#include "ulk/ops/bsr_gemv.hpp"
#include "ulk/ops/gemm.hpp"
#include "ulk/ops/gemv.hpp"
#include "ulk/quant/packed_matrix.hpp"
#include "ulk/quant/q2_planar.hpp"
#include "ulk/quant/q4_0.hpp"
#include "ulk/sparse/prune.hpp"

namespace ulk::bench {
namespace {

constexpr std::size_t kDim = 1024, kFfn = 2816;

template <class F>
struct SparseSet {
    using Block = typename F::Block;
    // Each side's stack lies in one buffer, layer after layer (up, then down), as a model file lays
    // out its tensors: separate allocations per matrix put page and allocation boundaries between
    // the matrices that a mapped file does not have (at 25% density they cost the block-sparse
    // stack about 9%).
    AlignedBuffer<Block> dense_stack;                // (layers x 2) matrices: up (kFfn, kDim), down (kDim, kFfn)
    AlignedBuffer<Block> sparse_stack;               // the same pruned: (layers x 2) value tensors
    std::vector<std::uint32_t> index_stack;          // (layers x 2) x (row_ptr, col_idx)
    std::vector<const Block*> dense;                 // (layers x 2) matrix starts in dense_stack
    std::vector<sparse::BsrView<F>> pruned;          // (layers x 2) views into sparse_stack and index_stack
    AlignedBuffer<float> x_dim{kDim}, x_ffn{kFfn}, y_dim{kDim}, y_ffn{kFfn};
    AlignedBuffer<ops::ActivationBlock<F>> scratch;
    std::size_t dense_bytes = 0, sparse_bytes = 0;

    SparseSet(std::size_t br, std::size_t bc, double density) {
        const auto up = normal_floats(kFfn * kDim, 1, 0.02f), down = normal_floats(kDim * kFfn, 2, 0.02f);
        const std::size_t shapes[2][2] = {{kFfn, kDim}, {kDim, kFfn}};
        const std::vector<float>* w[2] = {&up, &down};
        std::vector<AlignedBuffer<Block>> proto_dense;
        std::vector<sparse::BsrStorage<F>> proto_sparse;
        std::size_t dense_layer = 0, sparse_layer = 0, index_layer = 0;  // blocks and index words per layer
        for (int m = 0; m < 2; ++m) {
            const std::size_t rows = shapes[m][0], cols = shapes[m][1];
            auto& d = proto_dense.emplace_back(rows * cols / F::kBlockWeights);
            for (std::size_t r = 0; r < rows; ++r)
                F::quantize_ref(w[m]->data() + r * cols, d.data() + r * cols / F::kBlockWeights, cols);
            const auto& p = proto_sparse.emplace_back(sparse::pack_block_sparse<F>(
                w[m]->data(), sparse::choose_blocks(w[m]->data(), rows, cols, br, bc, density, sparse::PruneMethod::Magnitude)));
            dense_layer += d.size();
            sparse_layer += p.values.size();
            index_layer += p.row_ptr.size() + p.col_idx.size();
        }
        const std::size_t layers =
            std::max<std::size_t>(1, (options().gemv_bytes + dense_layer * sizeof(Block) - 1) / (dense_layer * sizeof(Block)));
        dense_stack = AlignedBuffer<Block>(layers * dense_layer, false);
        sparse_stack = AlignedBuffer<Block>(std::max<std::size_t>(1, layers * sparse_layer), false);
        index_stack.resize(layers * index_layer);
        Block* dp = dense_stack.data();
        Block* sp = sparse_stack.data();
        std::uint32_t* ip = index_stack.data();
        for (std::size_t l = 0; l < layers; ++l)
            for (int m = 0; m < 2; ++m) {
                const auto& d = proto_dense[m];
                const auto& p = proto_sparse[m];
                std::memcpy(static_cast<void*>(dp), d.data(), d.size() * sizeof(Block));
                dense.push_back(dp);
                dp += d.size();
                std::memcpy(static_cast<void*>(sp), p.values.data(), p.values.size() * sizeof(Block));
                std::copy(p.row_ptr.begin(), p.row_ptr.end(), ip);
                std::copy(p.col_idx.begin(), p.col_idx.end(), ip + p.row_ptr.size());
                pruned.push_back({p.rows, p.cols, p.block_rows, p.block_cols, std::span<const std::uint32_t>(ip, p.row_ptr.size()),
                                  std::span<const std::uint32_t>(ip + p.row_ptr.size(), p.col_idx.size()), sp});
                sp += p.values.size();
                ip += p.row_ptr.size() + p.col_idx.size();
                dense_bytes += d.size() * sizeof(Block);
                sparse_bytes += p.bytes();
            }
        const auto xd = normal_floats(kDim, 3), xf = normal_floats(kFfn, 4);
        std::copy(xd.begin(), xd.end(), x_dim.data());
        std::copy(xf.begin(), xf.end(), x_ffn.data());
        const std::size_t ranges = kMaxStealingRanges;
        scratch = AlignedBuffer<ops::ActivationBlock<F>>(
            std::max(ops::bsr_scratch_blocks<F>(kFfn, 1, ranges), ops::gemv_scratch_blocks<F>(kFfn)), false);
    }
};

template <class F>
void bm_sparse_gemv(benchmark::State& state, std::size_t br, std::size_t bc, int percent, unsigned threads) {
    // One set per (format, block shape, density), kept for the thread counts that follow it.
    static std::unique_ptr<SparseSet<F>> slot;
    static std::string slot_key;
    const std::string key = std::to_string(br) + "x" + std::to_string(bc) + "@" + std::to_string(percent);
    if (!slot || slot_key != key) {
        slot.reset();
        if (auto& release = detail::release_cached_slot()) release();
        slot = std::make_unique<SparseSet<F>>(br, bc, percent / 100.0);
        slot_key = key;
        detail::release_cached_slot() = [] { slot.reset(); };
    }
    SparseSet<F>& set = *slot;
    ThreadPool& p = pool(threads);
    ManualTimer sparse_timer, dense_timer;
    const std::uint64_t allocs0 = allocation_count();
    for (auto _ : state) {
        dense_timer.start();
        for (std::size_t i = 0; i < set.dense.size(); i += 2) {
            ops::gemv<F>({set.dense[i], kFfn, kDim}, set.x_dim.data(), set.y_ffn.data(), set.scratch.span(), &p);
            ops::gemv<F>({set.dense[i + 1], kDim, kFfn}, set.x_ffn.data(), set.y_dim.data(), set.scratch.span(), &p);
        }
        benchmark::ClobberMemory();
        dense_timer.stop_untimed();
        sparse_timer.start();
        for (std::size_t i = 0; i < set.pruned.size(); i += 2) {
            ops::bsr_gemv<F>(set.pruned[i], set.x_dim.data(), set.y_ffn.data(), set.scratch.span(), &p);
            ops::bsr_gemv<F>(set.pruned[i + 1], set.x_ffn.data(), set.y_dim.data(), set.scratch.span(), &p);
        }
        benchmark::DoNotOptimize(set.y_dim.data());
        benchmark::ClobberMemory();
        sparse_timer.stop(state);
    }
    const double iters = double(state.iterations());
    const double probe = probe_bytes_per_s()[threads];
    const double sparse_bw = double(set.sparse_bytes) * iters / sparse_timer.total_seconds();
    state.counters["speedup"] = dense_timer.total_seconds() / sparse_timer.total_seconds();
    state.counters["dense_ms"] = 1e3 * dense_timer.total_seconds() / iters;
    state.counters["sparse_of_probe"] = probe > 0 ? sparse_bw / probe : 0;
    state.counters["dense_of_probe"] =
        probe > 0 ? double(set.dense_bytes) * iters / dense_timer.total_seconds() / probe : 0;
    state.counters["bytes_ratio"] = double(set.sparse_bytes) / double(set.dense_bytes);
    state.counters["allocs_per_iter"] = double(allocation_count() - allocs0) / iters;
}

// Prefill: 64 tokens through one pruned (up, down) pair beside the dense pair, both from cache.
template <class F>
void bm_sparse_gemm(benchmark::State& state, std::size_t br, std::size_t bc, int percent, unsigned threads) {
    constexpr std::size_t kTokens = 64;
    const auto up = normal_floats(kFfn * kDim, 1, 0.02f), down = normal_floats(kDim * kFfn, 2, 0.02f);
    const auto dense_up = quant::PackedMatrix<F, kFfn, kDim>::quantize(up);
    const auto dense_down = quant::PackedMatrix<F, kDim, kFfn>::quantize(down);
    const auto sparse_up = sparse::pack_block_sparse<F>(
        up.data(), sparse::choose_blocks(up.data(), kFfn, kDim, br, bc, percent / 100.0, sparse::PruneMethod::Magnitude));
    const auto sparse_down = sparse::pack_block_sparse<F>(
        down.data(), sparse::choose_blocks(down.data(), kDim, kFfn, br, bc, percent / 100.0, sparse::PruneMethod::Magnitude));
    const auto xd = normal_floats(kTokens * kDim, 5), xf = normal_floats(kTokens * kFfn, 6);
    AlignedBuffer<float> y_ffn(kTokens * kFfn), y_dim(kTokens * kDim);
    AlignedBuffer<ops::ActivationBlock<F>> scratch(
        std::max(ops::bsr_scratch_blocks<F>(kFfn, kTokens, kMaxStealingRanges), ops::gemm_scratch_blocks<F>(kTokens, kFfn)), false);
    ThreadPool& p = pool(threads);
    ManualTimer sparse_timer, dense_timer;
    for (auto _ : state) {
        dense_timer.start();
        ops::gemm<F>(dense_up.view(), xd.data(), kTokens, y_ffn.data(), scratch.span(), &p);
        ops::gemm<F>(dense_down.view(), xf.data(), kTokens, y_dim.data(), scratch.span(), &p);
        benchmark::ClobberMemory();
        dense_timer.stop_untimed();
        sparse_timer.start();
        ops::bsr_gemm<F>(sparse_up.view(), xd.data(), kTokens, y_ffn.data(), scratch.span(), &p);
        ops::bsr_gemm<F>(sparse_down.view(), xf.data(), kTokens, y_dim.data(), scratch.span(), &p);
        benchmark::DoNotOptimize(y_dim.data());
        benchmark::ClobberMemory();
        sparse_timer.stop(state);
    }
    state.counters["speedup"] = dense_timer.total_seconds() / sparse_timer.total_seconds();
    state.counters["dense_ms"] = 1e3 * dense_timer.total_seconds() / double(state.iterations());
}

template <class F>
void register_format(std::size_t bc_min) {
    const std::size_t bc = std::max<std::size_t>(bc_min, F::kBlockWeights);
    const std::size_t shapes[][2] = {{1, bc}, {4, bc}, {16, std::max<std::size_t>(64, bc)}};
    for (const auto& shape : shapes)
        for (int percent : {100, 75, 50, 25, 10})
            for (unsigned threads : options().threads) {
                const std::string name = "sparse_gemv/" + format_name<F>() + "/" + std::to_string(shape[0]) + "x" +
                                         std::to_string(shape[1]) + "/density:" + std::to_string(percent) +
                                         "/threads:" + std::to_string(threads);
                const std::size_t br = shape[0], c = shape[1];
                benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& s) { bm_sparse_gemv<F>(s, br, c, percent, threads); })
                    ->UseManualTime()
                    ->Unit(benchmark::kMillisecond);
            }
}

}  // namespace

void register_sparse_benchmarks() {
    register_format<quant::Q4_0>(32);
    register_format<quant::Q2Planar>(256);
    for (int percent : {100, 50, 25})
        for (unsigned threads : options().threads)
            benchmark::RegisterBenchmark(("sparse_gemm/Q4_0/16x64/tokens:64/density:" + std::to_string(percent) +
                                          "/threads:" + std::to_string(threads)).c_str(),
                                         [=](benchmark::State& s) { bm_sparse_gemm<quant::Q4_0>(s, 16, 64, percent, threads); })
                ->UseManualTime()
                ->Unit(benchmark::kMillisecond);
}

}  // namespace ulk::bench
