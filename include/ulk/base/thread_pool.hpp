#pragma once
// A small fork-join pool: parallel_for(n, fn) runs fn(task) for task in [0, n) on the calling
// thread plus the workers and returns when all are done.
//
// Why not OpenMP: the library is header-only, and OpenMP would force -fopenmp (and libgomp or
// libomp) on every consumer. Decode calls ~100 small GEMVs per token, so a fork-join must cost
// well under a microsecond: workers spin for a short while before sleeping on an atomic wait.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace ulk {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(_M_X64)
    _mm_pause();
#endif
}

class ThreadPool {
public:
    // threads = total threads including the caller; 0 means std::thread::hardware_concurrency().
    explicit ThreadPool(unsigned threads = 0) {
        if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
        for (unsigned i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
    }
    ~ThreadPool() {
        stop_.store(true, std::memory_order_relaxed);
        generation_.fetch_add(1, std::memory_order_release);
        generation_.notify_all();
        for (auto& t : workers_) t.join();
    }
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    unsigned size() const noexcept { return unsigned(workers_.size()) + 1; }

    // fn(task) for every task in [0, tasks); tasks are handed out dynamically so that uneven
    // tasks still balance. Not re-entrant: call from one thread at a time.
    template <class Fn>
    void parallel_for(std::size_t tasks, Fn&& fn) {
        if (tasks == 0) return;
        if (workers_.empty() || tasks == 1) {
            for (std::size_t t = 0; t < tasks; ++t) fn(t);
            return;
        }
        job_ = [&fn](std::size_t t) { fn(t); };
        tasks_ = tasks;
        next_.store(0, std::memory_order_relaxed);
        pending_.store(unsigned(workers_.size()), std::memory_order_relaxed);
        generation_.fetch_add(1, std::memory_order_release);
        generation_.notify_all();
        run_tasks();
        // Spin, then sleep until the last worker finishes: on a busy machine a worker may be
        // waiting for this very core, and spinning through its time slice would cost milliseconds
        // per fork-join.
        for (int i = 0;; ++i) {
            const unsigned p = pending_.load(std::memory_order_acquire);
            if (p == 0) break;
            if (i < kCallerSpin) cpu_relax();
            else pending_.wait(p, std::memory_order_acquire);
        }
    }

private:
    void run_tasks() {
        for (;;) {
            const std::size_t t = next_.fetch_add(1, std::memory_order_relaxed);
            if (t >= tasks_) break;
            job_(t);
        }
    }

    void worker_loop() {
        // Generation 0 is the pool's state at construction: a job posted before this thread
        // first runs is still seen as new.
        std::uint32_t seen = 0;
        for (;;) {
            // Spin first (cheap wake-up between the GEMVs of one token), then sleep.
            std::uint32_t g = seen;
            for (int i = 0; i < kSpin && (g = generation_.load(std::memory_order_acquire)) == seen; ++i) cpu_relax();
            while (g == seen) {
                generation_.wait(seen, std::memory_order_acquire);
                g = generation_.load(std::memory_order_acquire);
            }
            seen = g;
            if (stop_.load(std::memory_order_relaxed)) return;
            run_tasks();
            if (pending_.fetch_sub(1, std::memory_order_release) == 1) pending_.notify_one();
        }
    }

    static constexpr int kSpin = 1 << 16, kCallerSpin = 1 << 11;
    std::vector<std::thread> workers_;
    std::function<void(std::size_t)> job_;
    std::size_t tasks_ = 0;
    std::atomic<std::size_t> next_{0};
    std::atomic<unsigned> pending_{0};
    std::atomic<std::uint32_t> generation_{0};
    std::atomic<bool> stop_{false};
};

}  // namespace ulk
