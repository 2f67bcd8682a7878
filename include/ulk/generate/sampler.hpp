#pragma once
// Sampler: logits in, one token id out. The chain, in llama.cpp's order:
//
//   repetition penalty (last repeat_last_n ids) -> greedy if temperature == 0
//   -> top-k -> softmax at temperature -> top-p (nucleus) -> min-p (relative to the best) -> draw
//
// Determinism: the random numbers come from our own xoshiro256** seeded by splitmix64 and turned
// into doubles by hand, because std::uniform_real_distribution differs between standard libraries.
// Same seed, same logits: same ids, on every platform.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ulk/base/error.hpp"

namespace ulk::generate {

using Token = std::int32_t;

struct SamplerOptions {
    float temperature = 0.7f;     // 0: greedy
    int top_k = 40;               // 0: off
    float top_p = 0.95f;          // 1: off
    float min_p = 0.05f;          // 0: off
    float repeat_penalty = 1.1f;  // 1: off
    int repeat_last_n = 64;       // how many recent ids the penalty looks at
    std::uint64_t seed = 0;
};

// Throws ulk::Error naming the option that is out of range.
inline void check(const SamplerOptions& o) {
    auto bad = [](const char* name, const std::string& expected, double found) {
        throw Error({"sampler option out of range", name, expected, std::to_string(found), ""});
    };
    if (!(o.temperature >= 0 && o.temperature <= 100)) bad("temperature", "0 (greedy) .. 100", o.temperature);
    if (o.top_k < 0) bad("top-k", ">= 0 (0: off)", o.top_k);
    if (!(o.top_p > 0 && o.top_p <= 1)) bad("top-p", "in (0, 1]", o.top_p);
    if (!(o.min_p >= 0 && o.min_p < 1)) bad("min-p", "in [0, 1)", o.min_p);
    if (!(o.repeat_penalty >= 1 && o.repeat_penalty <= 10)) bad("repeat-penalty", "1 (off) .. 10", o.repeat_penalty);
    if (o.repeat_last_n < 0) bad("repeat-last-n", ">= 0", o.repeat_last_n);
}

// xoshiro256** (Blackman and Vigna), state filled by splitmix64 from one 64-bit seed.
class Rng {
public:
    explicit Rng(std::uint64_t seed = 0) { reseed(seed); }
    void reseed(std::uint64_t seed) noexcept {
        for (auto& s : s_) {
            seed += 0x9e3779b97f4a7c15ull;
            std::uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            s = z ^ (z >> 31);
        }
    }
    std::uint64_t next() noexcept {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    // Uniform in [0, 1), 53 random bits.
    double uniform() noexcept { return double(next() >> 11) * 0x1.0p-53; }

private:
    static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
    std::uint64_t s_[4];
};

class Sampler {
public:
    explicit Sampler(SamplerOptions options = {}) : options_(options), rng_(options.seed) { check(options_); }

    const SamplerOptions& options() const noexcept { return options_; }
    // Added to the logits of the given ids before anything else (OpenAI's logit_bias: -100 bans
    // an id in practice, +100 all but forces it).
    void set_logit_bias(std::vector<std::pair<Token, float>> bias) { bias_ = std::move(bias); }
    void reseed(std::uint64_t seed) noexcept {
        options_.seed = seed;
        rng_.reseed(seed);
    }

    // `recent`: the ids before this one (prompt and reply); the last repeat_last_n are penalized.
    // `banned`: ids never to sample (out-of-range ids are ignored).
    Token sample(std::span<const float> logits, std::span<const Token> recent, std::span<const Token> banned = {}) {
        require(!logits.empty(), {"sampling from no logits", "sampler", "the model's vocabulary", "0 logits", ""});
        const std::size_t n = logits.size();
        candidates_.resize(n);
        // NaN would break the sort's ordering: it ranks last, as -inf does; +inf becomes the
        // largest float so that the softmax stays finite.
        bool any_finite = false;
        for (std::size_t i = 0; i < n; ++i) {
            const float l = logits[i];
            any_finite |= std::isfinite(l);
            candidates_[i] = {Token(i), std::isnan(l) ? -std::numeric_limits<float>::infinity()
                                         : std::min(l, std::numeric_limits<float>::max())};
        }
        for (const auto& [id, add] : bias_)
            if (id >= 0 && std::size_t(id) < n) candidates_[std::size_t(id)].logit += add;
        for (const Token b : banned)
            if (b >= 0 && std::size_t(b) < n) candidates_[std::size_t(b)].logit = -std::numeric_limits<float>::infinity();
        require(any_finite, {"the model's logits are not finite", "sampler", "finite numbers", "NaN or infinity only",
                             "the model file's weights may be corrupt: convert or download it again"});
        apply_repeat_penalty(recent);

        if (options_.temperature == 0) return argmax();

        std::size_t keep = n;
        if (options_.top_k > 0 && std::size_t(options_.top_k) < n) {
            keep = std::size_t(options_.top_k);
            std::partial_sort(candidates_.begin(), candidates_.begin() + std::ptrdiff_t(keep), candidates_.end(), by_logit);
        } else {
            std::sort(candidates_.begin(), candidates_.end(), by_logit);
        }
        // Softmax at temperature over the kept candidates (sorted, best first), in double.
        probs_.resize(keep);
        const double best = candidates_[0].logit;
        double sum = 0;
        for (std::size_t i = 0; i < keep; ++i) sum += probs_[i] = std::exp((candidates_[i].logit - best) / options_.temperature);
        for (std::size_t i = 0; i < keep; ++i) probs_[i] /= sum;
        // Nucleus: the fewest best candidates whose mass reaches top_p.
        if (options_.top_p < 1) {
            double mass = 0;
            std::size_t i = 0;
            while (i < keep && mass < options_.top_p) mass += probs_[i++];
            keep = std::max<std::size_t>(i, 1);
        }
        // min-p: drop candidates less likely than min_p times the best one.
        if (options_.min_p > 0) {
            const double floor = options_.min_p * probs_[0];
            std::size_t i = 1;
            while (i < keep && probs_[i] >= floor) ++i;
            keep = i;
        }
        double mass = 0;
        for (std::size_t i = 0; i < keep; ++i) mass += probs_[i];
        double u = rng_.uniform() * mass;
        for (std::size_t i = 0; i < keep; ++i) {
            u -= probs_[i];
            if (u < 0) return candidates_[i].id;
        }
        return candidates_[keep - 1].id;
    }

private:
    struct Candidate {
        Token id;
        float logit;
    };
    // Ties go to the lower id, so the order (and greedy) never depends on the sort algorithm.
    static bool by_logit(const Candidate& a, const Candidate& b) noexcept {
        return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
    }

    // llama.cpp's rule: a seen id's logit is divided by the penalty when positive, multiplied
    // when negative (so it always becomes less likely), once however often it was seen.
    void apply_repeat_penalty(std::span<const Token> recent) {
        if (options_.repeat_penalty == 1 || options_.repeat_last_n == 0) return;
        const std::size_t window = std::min(recent.size(), std::size_t(options_.repeat_last_n));
        const auto ids = recent.subspan(recent.size() - window);
        seen_.resize(candidates_.size(), false);  // all false between calls: only the window's ids are set and cleared
        for (const Token t : ids) {
            if (t < 0 || std::size_t(t) >= candidates_.size() || seen_[std::size_t(t)]) continue;
            seen_[std::size_t(t)] = true;
            float& l = candidates_[std::size_t(t)].logit;
            l = l > 0 ? l / options_.repeat_penalty : l * options_.repeat_penalty;
        }
        for (const Token t : ids)
            if (t >= 0 && std::size_t(t) < seen_.size()) seen_[std::size_t(t)] = false;
    }

    Token argmax() const noexcept {
        std::size_t best = 0;
        for (std::size_t i = 1; i < candidates_.size(); ++i)
            if (candidates_[i].logit > candidates_[best].logit) best = i;
        return candidates_[best].id;
    }

    SamplerOptions options_;
    Rng rng_;
    std::vector<std::pair<Token, float>> bias_;
    std::vector<Candidate> candidates_;  // (vocab)
    std::vector<double> probs_;          // (kept candidates)
    std::vector<bool> seen_;             // (vocab)
};

}  // namespace ulk::generate
