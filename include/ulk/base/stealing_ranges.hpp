#pragma once
// Work split for streaming kernels: one contiguous range per thread, and stealing at the end.
//
// Each thread streams its own range front to back in shrinking chunks (a quarter of what is left
// per claim), so the hardware prefetchers see one long run per thread. A thread whose range is
// empty takes the back half of the fullest other range and carries on with it as its own, so a
// thread slowed by a busy host hands over its tail in pieces as small as one item. A fixed split
// into two tasks per thread balances worse and starts twice the streams: on a 25% block-sparse
// FFN matrix at 2 threads it took 3-4% longer (docs/benchmarks.md).
//
// A range is one 64-bit word (front, back) on its own cache line; the owner and the thieves move
// its ends with compare-and-swap, so every item is run exactly once. The pool's fork-join orders
// everything else.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "ulk/base/error.hpp"
#include "ulk/base/thread_pool.hpp"

namespace ulk {

inline constexpr std::size_t kMaxStealingRanges = 64;

// Ranges run_ranges splits work into: one per thread, at most kMaxStealingRanges.
inline std::size_t stealing_range_count(const ThreadPool* pool) noexcept {
    return std::min<std::size_t>(pool ? pool->size() : 1, kMaxStealingRanges);
}

// Runs run(slot, lo, hi) over pieces [lo, hi) that together cover [bounds[0], bounds[ranges])
// once each. Range r is [bounds[r], bounds[r + 1]); slot is the range the calling invocation
// started from (a thread's own: scratch indexed by slot is never used by two threads at once).
// start(slot) runs once per invocation before its first piece. Items are indices below 2^32.
template <class Start, class Run>
void run_ranges(ThreadPool* pool, const std::size_t* bounds, std::size_t ranges, Start&& start, Run&& run) {
    if (ranges == 0) return;
    if (ranges > kMaxStealingRanges || bounds[ranges] > UINT32_MAX)
        throw Error({"too many ranges or items for run_ranges", "",
                     "at most " + std::to_string(kMaxStealingRanges) + " ranges of items below 2^32",
                     std::to_string(ranges) + " ranges up to item " + std::to_string(bounds[ranges]), ""});
    if (!pool || ranges == 1) {
        start(std::size_t{0});
        if (bounds[0] < bounds[ranges]) run(std::size_t{0}, bounds[0], bounds[ranges]);
        return;
    }
    struct alignas(64) Range {
        std::atomic<std::uint64_t> ends;  // back << 32 | front
    };
    auto pack = [](std::uint64_t front, std::uint64_t back) { return back << 32 | front; };
    Range range[kMaxStealingRanges];
    for (std::size_t r = 0; r < ranges; ++r) range[r].ends.store(pack(bounds[r], bounds[r + 1]), std::memory_order_relaxed);
    pool->parallel_for(ranges, [&](std::size_t self) {
        start(self);
        for (;;) {
            // Own range, from the front.
            std::uint64_t e = range[self].ends.load(std::memory_order_relaxed);
            for (;;) {
                const std::uint64_t front = e & UINT32_MAX, back = e >> 32;
                if (front >= back) break;
                const std::uint64_t end = front + std::max<std::uint64_t>(1, (back - front) / 4);
                if (range[self].ends.compare_exchange_weak(e, pack(end, back), std::memory_order_relaxed)) {
                    run(self, std::size_t(front), std::size_t(end));
                    e = range[self].ends.load(std::memory_order_relaxed);
                }
            }
            // Empty: take the back half of the fullest other range (a snapshot; a lost race rescans).
            std::size_t victim = ranges;
            std::uint64_t most = 0;
            for (std::size_t r = 0; r < ranges; ++r) {
                const std::uint64_t v = range[r].ends.load(std::memory_order_relaxed);
                const std::uint64_t front = v & UINT32_MAX, back = v >> 32;
                if (r != self && back > front && back - front > most) most = back - front, victim = r;
            }
            if (victim == ranges) return;  // every item is claimed
            std::uint64_t v = range[victim].ends.load(std::memory_order_relaxed);
            for (;;) {
                const std::uint64_t front = v & UINT32_MAX, back = v >> 32;
                if (front >= back) break;
                const std::uint64_t mid = back - std::max<std::uint64_t>(1, (back - front) / 2);
                if (range[victim].ends.compare_exchange_weak(v, pack(front, mid), std::memory_order_relaxed)) {
                    // Own range is empty, so no thief touches it until this store makes [mid, back) visible.
                    range[self].ends.store(pack(mid, back), std::memory_order_relaxed);
                    break;
                }
            }
        }
    });
}

}  // namespace ulk
