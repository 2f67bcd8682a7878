#pragma once
// Generator<Model>: drives a model (ulk::Llama<Config>, or anything with its prefill / decode /
// rewind / position interface) from token ids to streamed text.
//
// It remembers the ids that the model's KV cache holds. `feed(ids)` keeps the longest prefix the
// cache already has and prefills only the rest, which is how a conversation reuses the cache from
// one turn to the next. `generate` then samples until end of turn, a stop string, max_new_tokens,
// the end of the context or cancellation, streaming text through the StreamingDetokenizer (complete
// UTF-8 and syllables only) and holding back any text that could still become a stop string.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <concepts>
#include <functional>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ulk/base/error.hpp"
#include "ulk/generate/sampler.hpp"
#include "ulk/text/tokenizer.hpp"

namespace ulk::generate {

template <class M>
concept LanguageModel = requires(M m, std::span<const Token> ids, Token t, std::size_t pos) {
    { M::kContext } -> std::convertible_to<std::size_t>;
    { M::kVocab } -> std::convertible_to<std::size_t>;
    { m.prefill(ids) } -> std::convertible_to<std::span<const float>>;
    { m.decode(t) } -> std::convertible_to<std::span<const float>>;
    { m.position() } -> std::convertible_to<std::size_t>;
    m.rewind(pos);
};

enum class StopReason : std::uint8_t { end_of_turn, stop_string, max_tokens, context_full, cancelled };

constexpr std::string_view stop_reason_name(StopReason r) noexcept {
    switch (r) {
        case StopReason::end_of_turn: return "end of turn";
        case StopReason::stop_string: return "stop string";
        case StopReason::max_tokens: return "max tokens";
        case StopReason::context_full: return "context full";
        case StopReason::cancelled: return "cancelled";
    }
    return "?";
}

struct GenerateOptions {
    std::size_t max_new_tokens = 512;
    std::vector<std::string> stop_strings;     // the reply ends before the first one; it is not emitted
    const std::atomic<bool>* cancel = nullptr;  // set from any thread (a signal handler, say) to stop
};

struct GenerateStats {
    std::size_t reused_tokens = 0;   // prompt ids the KV cache already held
    std::size_t prefill_tokens = 0;  // prompt ids run through the model
    double prefill_seconds = 0;
    std::size_t decode_tokens = 0;   // sampled ids run through the model
    double decode_seconds = 0;

    double prefill_tokens_per_second() const noexcept { return prefill_seconds > 0 ? prefill_tokens / prefill_seconds : 0; }
    double decode_tokens_per_second() const noexcept { return decode_seconds > 0 ? decode_tokens / decode_seconds : 0; }
};

struct GenerateResult {
    std::vector<Token> tokens;  // sampled ids, without the one that ended the reply
    std::string text;           // all the text emitted, stop string excluded
    StopReason reason = StopReason::end_of_turn;
    GenerateStats stats;
};

template <LanguageModel Model>
class Generator {
    using Clock = std::chrono::steady_clock;

public:
    // `ends_reply(id)`: whether a sampled id ends the reply (end of turn, end of text).
    template <class EndsReply>
    Generator(Model& model, const text::Tokenizer& tokenizer, EndsReply ends_reply)
        : model_(&model), tokenizer_(&tokenizer), ends_reply_(std::move(ends_reply)) {
        require(std::size_t(tokenizer.size()) <= Model::kVocab,
                {"tokenizer and model disagree", "vocabulary size", "at most " + std::to_string(Model::kVocab) + " pieces (the model's)",
                 std::to_string(tokenizer.size()), "use the tokenizer stored in the model file"});
        model.rewind(0);
    }

    Model& model() noexcept { return *model_; }
    // The ids the KV cache holds, position by position.
    std::span<const Token> context() const noexcept { return context_; }
    static constexpr std::size_t capacity() noexcept { return Model::kContext; }

    // Ids that generate() never samples (for a chat: <s> and the style markers).
    void set_suppressed(std::vector<Token> ids) { suppressed_ = std::move(ids); }

    void reset() {
        context_.clear();
        model_->rewind(0);
        have_logits_ = false;
    }

    // Makes the KV cache hold exactly `ids` and leaves their last logits ready for generate().
    // Returns how many ids were run through the model.
    std::size_t feed(std::span<const Token> ids) {
        require(!ids.empty(), {"nothing to feed the model", "generator", "at least one id", "0", ""});
        require(ids.size() <= Model::kContext,
                {"prompt longer than the context", "generator", "at most " + std::to_string(Model::kContext) + " tokens",
                 std::to_string(ids.size()), "drop old turns, or shorten the message"});
        std::size_t common = 0;
        while (common < context_.size() && common < ids.size() && context_[common] == ids[common]) ++common;
        // The last id always runs again: its logits are what the reply starts from.
        if (common == ids.size()) --common;
        model_->rewind(common);
        context_.resize(common);
        const auto start = Clock::now();
        const std::span<const Token> rest = ids.subspan(common);
        logits_ = model_->prefill(rest);
        context_.insert(context_.end(), rest.begin(), rest.end());
        last_.reused_tokens = common;
        last_.prefill_tokens = rest.size();
        last_.prefill_seconds = seconds_since(start);
        have_logits_ = true;
        return rest.size();
    }

    // Samples after what feed() left. on_text(std::string_view) receives the text as it completes.
    template <class OnText>
    GenerateResult generate(Sampler& sampler, const GenerateOptions& options, OnText&& on_text) {
        require(have_logits_, {"generate before feed", "generator", "feed(prompt ids) first", "", ""});
        GenerateResult result;
        result.stats = last_;
        result.stats.decode_tokens = 0;
        result.stats.decode_seconds = 0;
        std::size_t max_stop = 0;
        for (const auto& s : options.stop_strings) max_stop = std::max(max_stop, s.size());

        text::StreamingDetokenizer detok = tokenizer_->streaming_detokenizer();
        std::string text;      // everything detokenized so far
        std::size_t sent = 0;  // text[0, sent) went to on_text
        const auto start = Clock::now();
        auto stop = [&](StopReason r) { result.reason = r; };

        for (;;) {
            if (options.cancel && options.cancel->load(std::memory_order_relaxed)) {
                stop(StopReason::cancelled);
                break;
            }
            if (result.tokens.size() >= options.max_new_tokens) {
                stop(StopReason::max_tokens);
                break;
            }
            const Token id = sampler.sample(logits_, context_, suppressed_);
            if (ends_reply_(id)) {
                stop(StopReason::end_of_turn);
                break;
            }
            if (context_.size() >= Model::kContext) {
                stop(StopReason::context_full);
                break;
            }
            result.tokens.push_back(id);
            detok.push(id, text);
            logits_ = model_->decode(id);
            context_.push_back(id);
            ++result.stats.decode_tokens;

            if (const std::size_t at = find_stop(text, sent, max_stop, options.stop_strings); at != std::string::npos) {
                text.resize(at);
                stop(StopReason::stop_string);
                break;
            }
            const std::size_t safe = text.size() - held_for_stop(text, options.stop_strings);
            if (safe > sent) {
                on_text(std::string_view(text).substr(sent, safe - sent));
                sent = safe;
            }
        }
        if (result.reason != StopReason::stop_string) {
            detok.finish(text);
            if (const std::size_t at = find_stop(text, sent, max_stop, options.stop_strings); at != std::string::npos) {
                text.resize(at);
                result.reason = StopReason::stop_string;
            }
        }
        if (text.size() > sent) on_text(std::string_view(text).substr(sent));
        result.text = std::move(text);
        result.stats.decode_seconds = seconds_since(start);
        return result;
    }

private:
    static double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

    // Where the first stop string starts in text, searching only where new text could complete one.
    static std::size_t find_stop(const std::string& text, std::size_t sent, std::size_t max_stop,
                                 const std::vector<std::string>& stops) {
        std::size_t best = std::string::npos;
        const std::size_t from = sent > max_stop ? sent - max_stop : 0;
        for (const auto& s : stops) {
            if (s.empty()) continue;
            const std::size_t at = text.find(s, from);
            if (at < best) best = at;
        }
        return best;
    }
    // Length of the longest end of text that is the start of a stop string (not yet safe to send).
    static std::size_t held_for_stop(const std::string& text, const std::vector<std::string>& stops) {
        std::size_t held = 0;
        for (const auto& s : stops)
            for (std::size_t len = std::min(s.size() - (s.empty() ? 0 : 1), text.size()); len > held; --len)
                if (std::string_view(text).substr(text.size() - len) == std::string_view(s).substr(0, len)) {
                    held = len;
                    break;
                }
        return held;
    }

    Model* model_;
    const text::Tokenizer* tokenizer_;
    std::function<bool(Token)> ends_reply_;
    std::vector<Token> context_;  // (positions held by the KV cache)
    std::vector<Token> suppressed_;
    std::span<const float> logits_;
    bool have_logits_ = false;
    GenerateStats last_;
};

}  // namespace ulk::generate
