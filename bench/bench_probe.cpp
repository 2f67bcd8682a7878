// Read-bandwidth probe: the roofline every GEMV benchmark is divided by (`of_probe`).
//
// A decode GEMV only reads its weights (the activations and outputs stay in L1/L2), so the probe
// only reads too: a vectorized sum over a buffer far larger than any cache. A STREAM triad (two
// reads and a write, plus the write-allocate read) measures a different mix and is not the ceiling
// a GEMV can reach. Work is split the way ops::gemv splits it: the library's ThreadPool hands out
// fixed chunks dynamically, so the probe pays the same scheduling and its threads stream disjoint
// parts of the buffer.
//
// The probe runs at start-up (median of several passes per thread count) before any benchmark, and
// again as the benchmarks `probe/read/threads:N`, so that its own spread shows in the output.
#include <xsimd/xsimd.hpp>

#include <cstdio>
#include <string>

#include "bench_common.hpp"
#include "ulk/base/aligned_buffer.hpp"

namespace ulk::bench {
namespace {

// 1 MiB per task: a few thousand tasks over 512 MB balance two threads, and each task is long
// enough that the hardware prefetchers reach full speed.
constexpr std::size_t kChunkFloats = (std::size_t(1) << 20) / sizeof(float);

struct ProbeBuffer {
    AlignedBuffer<float> data;     // (chunks * kChunkFloats) floats, all pages touched
    AlignedBuffer<float> partial;  // (chunks): one sum per chunk, so no task shares an accumulator

    explicit ProbeBuffer(std::size_t bytes)
        : data(std::max<std::size_t>(1, bytes / sizeof(float) / kChunkFloats) * kChunkFloats, false),
          partial(data.size() / kChunkFloats) {
        // Written, not just allocated: untouched pages would all map the kernel's one zero page.
        for (std::size_t i = 0; i < data.size(); ++i) data[i] = float(i & 255) * (1.f / 256);
    }
    std::size_t chunks() const noexcept { return partial.size(); }
    std::size_t bytes() const noexcept { return data.size() * sizeof(float); }
};

ProbeBuffer& probe_buffer() {
    return cached<ProbeBuffer>([] { return std::make_unique<ProbeBuffer>(options().probe_bytes); });
}

// Eight independent accumulators of the widest vector: two loads per cycle are never limited by
// add latency, so the loop runs at whatever rate memory delivers.
float read_chunk(const float* p, std::size_t n) {
    using B = xsimd::batch<float>;
    constexpr std::size_t L = B::size;
    static_assert(kChunkFloats % (8 * L) == 0, "chunk must be a whole number of unrolled steps");
    B s0(0.f), s1(0.f), s2(0.f), s3(0.f), s4(0.f), s5(0.f), s6(0.f), s7(0.f);
    for (std::size_t i = 0; i < n; i += 8 * L) {
        s0 += B::load_aligned(p + i);
        s1 += B::load_aligned(p + i + L);
        s2 += B::load_aligned(p + i + 2 * L);
        s3 += B::load_aligned(p + i + 3 * L);
        s4 += B::load_aligned(p + i + 4 * L);
        s5 += B::load_aligned(p + i + 5 * L);
        s6 += B::load_aligned(p + i + 6 * L);
        s7 += B::load_aligned(p + i + 7 * L);
    }
    return xsimd::hadd(((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)));
}

// One pass over the whole buffer on `threads` threads.
void read_pass(ProbeBuffer& buf, ThreadPool& p) {
    const float* data = buf.data.data();
    float* partial = buf.partial.data();
    p.parallel_for(buf.chunks(), [&](std::size_t c) { partial[c] = read_chunk(data + c * kChunkFloats, kChunkFloats); });
    benchmark::DoNotOptimize(partial);
    benchmark::ClobberMemory();
}

void bm_probe(benchmark::State& state, unsigned threads) {
    ProbeBuffer& buf = probe_buffer();
    ThreadPool& p = pool(threads);
    ManualTimer timer;
    for (auto _ : state) {
        timer.start();
        read_pass(buf, p);
        timer.stop(state);
    }
    const double bytes = double(buf.bytes()) * double(state.iterations());
    state.counters["bytes"] = benchmark::Counter(bytes, benchmark::Counter::kIsRate);
    // The start-up median that the GEMV benchmarks divide by, for comparison with this run's.
    state.counters["startup_bytes_per_s"] = probe_bytes_per_s()[threads];
}

}  // namespace

void run_startup_probe() {
    const Options& o = options();
    ProbeBuffer& buf = probe_buffer();
    for (unsigned threads : o.threads) {
        ThreadPool& p = pool(threads);
        read_pass(buf, p);  // warm-up: wakes the workers, settles the clocks and the TLB
        std::vector<double> rates;
        for (int i = 0; i < o.probe_passes; ++i) {
            const auto t0 = ManualTimer::Clock::now();
            read_pass(buf, p);
            const double dt = std::chrono::duration<double>(ManualTimer::Clock::now() - t0).count();
            rates.push_back(double(buf.bytes()) / dt);
        }
        const double rate = median(rates);
        probe_bytes_per_s()[threads] = rate;
        char text[32];
        std::snprintf(text, sizeof text, "%.2f", rate * 1e-9);
        benchmark::AddCustomContext("ulk_probe_GBps_threads:" + std::to_string(threads), text);
        std::fprintf(stderr, "ulk probe: read %.2f GB/s on %u thread%s (median of %d passes over %zu MiB)\n",
                     rate * 1e-9, threads, threads == 1 ? "" : "s", o.probe_passes, buf.bytes() >> 20);
    }
}

void register_probe_benchmarks() {
    for (unsigned threads : options().threads)
        benchmark::RegisterBenchmark(("probe/read/threads:" + std::to_string(threads)).c_str(),
                                     [threads](benchmark::State& s) { bm_probe(s, threads); })
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
}

}  // namespace ulk::bench
