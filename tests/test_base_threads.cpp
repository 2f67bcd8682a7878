// The fork-join pool and the range split with stealing: every task and every item runs exactly
// once, for any number of tasks, ranges (empty ones included) and threads, also when one thread
// is held up so that the others must steal its work.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "test_util.hpp"
#include "ulk/base/error.hpp"
#include "ulk/base/stealing_ranges.hpp"
#include "ulk/base/thread_pool.hpp"

using namespace ulk;

TEST_CASE("ThreadPool::parallel_for runs every task exactly once") {
    for (unsigned threads : {1u, 2u, 3u, 4u}) {
        ThreadPool pool(threads);
        CHECK(pool.size() == threads);
        for (std::size_t tasks : {0u, 1u, 2u, 3u, 7u, 64u}) {
            for (int round = 0; round < 50; ++round) {
                std::vector<std::atomic<int>> runs(tasks);
                pool.parallel_for(tasks, [&](std::size_t t) { runs[t].fetch_add(1, std::memory_order_relaxed); });
                for (std::size_t t = 0; t < tasks; ++t) REQUIRE(runs[t].load() == 1);
            }
        }
    }
}

namespace {

// Runs run_ranges over bounds and checks that the pieces cover every item once, that each piece
// lies within the bounds, and that start ran once per invocation; returns how many items were run
// under a slot other than the range they started in (stolen).
std::size_t check_cover(ThreadPool* pool, const std::vector<std::size_t>& bounds, std::size_t slow_range = ~std::size_t{0}) {
    const std::size_t ranges = bounds.size() - 1, first = bounds.front(), last = bounds.back();
    std::vector<std::atomic<int>> runs(last);
    std::vector<std::atomic<int>> starts(ranges);
    std::atomic<std::size_t> stolen{0};
    // a piece empty or outside the bounds (checked after the call: doctest asserts on this thread)
    std::atomic<bool> outside{false};
    run_ranges(
        pool, bounds.data(), ranges, [&](std::size_t slot) { starts[slot].fetch_add(1); },
        [&](std::size_t slot, std::size_t lo, std::size_t hi) {
            if (lo >= hi || lo < first || hi > last) {
                outside.store(true);
                return;
            }
            for (std::size_t i = lo; i < hi; ++i) {
                runs[i].fetch_add(1, std::memory_order_relaxed);
                if (i < bounds[slot] || i >= bounds[slot + 1]) stolen.fetch_add(1, std::memory_order_relaxed);
                if (slot == slow_range) std::this_thread::sleep_for(std::chrono::microseconds(200));
            }
        });
    REQUIRE_FALSE(outside.load());
    for (std::size_t i = 0; i < last; ++i) REQUIRE(runs[i].load() == (i >= first ? 1 : 0));
    // one invocation per range; without a pool, one for everything
    for (std::size_t r = 0; r < ranges; ++r) REQUIRE(starts[r].load() == (pool || r == 0 ? 1 : 0));
    return stolen.load();
}

}  // namespace

TEST_CASE("run_ranges covers every item once, with empty ranges and any thread count") {
    test::Rng rng(5);
    for (unsigned threads : {1u, 2u, 3u, 4u}) {
        ThreadPool pool(threads);
        for (int round = 0; round < 200; ++round) {
            const std::size_t ranges = 1 + rng.next() % 6;
            std::vector<std::size_t> bounds{rng.next() % 3};
            for (std::size_t r = 0; r < ranges; ++r) bounds.push_back(bounds.back() + rng.next() % 40 * (rng.next() % 4 != 0));
            INFO("threads ", threads, " round ", round);
            check_cover(&pool, bounds);
            check_cover(nullptr, bounds);
        }
    }
}

TEST_CASE("run_ranges: a held-up thread's range is finished by the others") {
    // Range 1's owner sleeps on every item; the other thread empties range 0 first and must then
    // take items from range 1. (If the pool hands range 1 to the same thread as range 0, there is
    // no one to steal: retry a few times; the check is that stealing happens at all.)
    ThreadPool pool(2);
    const std::vector<std::size_t> bounds{0, 40, 80};
    std::size_t stolen = 0;
    for (int attempt = 0; attempt < 20 && stolen == 0; ++attempt) stolen = check_cover(&pool, bounds, 1);
    CHECK(stolen > 0);
}

TEST_CASE("run_ranges rejects more ranges or items than it can pack") {
    ThreadPool pool(2);
    std::vector<std::size_t> many(kMaxStealingRanges + 2, 0);
    CHECK_THROWS_AS(run_ranges(&pool, many.data(), many.size() - 1, [](std::size_t) {}, [](std::size_t, std::size_t, std::size_t) {}),
                    Error);
    const std::size_t huge[] = {0, std::size_t(UINT32_MAX) + 1};
    CHECK_THROWS_WITH(run_ranges(&pool, huge, 1, [](std::size_t) {}, [](std::size_t, std::size_t, std::size_t) {}),
                      doctest::Contains("below 2^32"));
}
