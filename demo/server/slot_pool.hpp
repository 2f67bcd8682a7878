#pragma once
// SlotPool<Model>: the sequences the server runs at once. Each slot is its own ulk::Llama over the
// same memory-mapped file (the weights are shared through the page cache; each slot adds only its
// KV cache and activations) with its own Generator, so N clients are answered concurrently and a
// slot keeps its cache between requests. A request takes the idle slot whose cache shares the
// longest prefix with its prompt (a client continuing its conversation usually finds its own), waits
// in a bounded queue when all are busy, and is refused with 503 when the queue is full.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "openai_api.hpp"
#include "ulk/generate/chat_template.hpp"
#include "ulk/generate/chat_session.hpp"

namespace ulk::server {

template <class Model>
class SlotPool {
public:
    struct Slot {
        Slot(Model m, const generate::ChatTemplate& tmpl) : model(std::move(m)), generator(generate::chat_generator(model, tmpl)) {}
        Model model;
        generate::Generator<Model> generator;
        std::atomic<bool> cancel{false};  // set by a disconnect or shutdown
        bool busy = false;
    };

    // Returns the slot to the pool when it goes.
    class Lease {
    public:
        Lease(SlotPool* pool, Slot* slot) : pool_(pool), slot_(slot) {}
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        ~Lease() { pool_->release(slot_); }
        Slot& operator*() const noexcept { return *slot_; }
        Slot* operator->() const noexcept { return slot_; }

    private:
        SlotPool* pool_;
        Slot* slot_;
    };

    SlotPool(std::size_t max_queue) : max_queue_(max_queue) {}

    void add(Model model, const generate::ChatTemplate& tmpl) {
        slots_.push_back(std::make_unique<Slot>(std::move(model), tmpl));
    }

    // Waits for an idle slot; throws ApiError 503 when the queue is full or the server stops.
    std::unique_ptr<Lease> acquire(std::span<const generate::Token> prompt) {
        std::unique_lock lock(mutex_);
        if (stopping_) throw shutting_down();
        if (idle_locked() == 0 && waiting_ >= max_queue_)
            throw ApiError{503, "the server is busy: " + std::to_string(slots_.size()) + " replies running and " +
                                    std::to_string(waiting_) + " waiting; retry shortly",
                           "server_error", "", "server_busy"};
        ++waiting_;
        changed_.wait(lock, [&] { return stopping_ || idle_locked() > 0; });
        --waiting_;
        if (stopping_) throw shutting_down();
        Slot* best = nullptr;
        std::size_t best_common = 0;
        for (auto& s : slots_) {
            if (s->busy) continue;
            const auto ctx = s->generator.context();
            std::size_t common = 0;
            while (common < ctx.size() && common < prompt.size() && ctx[common] == prompt[common]) ++common;
            if (!best || common > best_common) {
                best = s.get();
                best_common = common;
            }
        }
        best->busy = true;
        best->cancel = false;
        return std::make_unique<Lease>(this, best);
    }

    // Stops every running reply and refuses new ones.
    void stop() {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        for (auto& s : slots_) s->cancel = true;
        changed_.notify_all();
    }

    std::size_t size() const noexcept { return slots_.size(); }
    std::size_t idle() const {
        std::lock_guard lock(mutex_);
        return idle_locked();
    }
    std::size_t waiting() const {
        std::lock_guard lock(mutex_);
        return waiting_;
    }

private:
    static ApiError shutting_down() { return ApiError{503, "the server is shutting down", "server_error", "", "shutting_down"}; }
    std::size_t idle_locked() const {
        return std::size_t(std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return !s->busy; }));
    }
    void release(Slot* s) {
        std::lock_guard lock(mutex_);
        s->busy = false;
        changed_.notify_one();
    }

    std::vector<std::unique_ptr<Slot>> slots_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::size_t waiting_ = 0, max_queue_;
    bool stopping_ = false;
};

}  // namespace ulk::server
