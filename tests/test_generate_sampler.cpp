// The sampler: each stage of the chain against what it must do, determinism by seed, and the
// sampled distribution against the softmax it should follow.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include "ulk/generate/sampler.hpp"

using namespace ulk::generate;

namespace {

SamplerOptions plain(float temperature, std::uint64_t seed = 1) {
    return {.temperature = temperature, .top_k = 0, .top_p = 1, .min_p = 0, .repeat_penalty = 1, .repeat_last_n = 64, .seed = seed};
}

std::vector<int> draws(Sampler& s, const std::vector<float>& logits, int n) {
    std::vector<int> out;
    for (int i = 0; i < n; ++i) out.push_back(s.sample(logits, {}));
    return out;
}

}  // namespace

TEST_CASE("sampler: greedy takes the best logit, the lower id on a tie") {
    Sampler s(plain(0));
    CHECK(s.sample(std::vector<float>{0.1f, 2.f, -1.f, 1.9f}, {}) == 1);
    CHECK(s.sample(std::vector<float>{3.f, 1.f, 3.f}, {}) == 0);
    CHECK(s.sample(std::vector<float>{-5.f}, {}) == 0);
}

TEST_CASE("sampler: same seed gives the same ids, another seed other ids") {
    std::vector<float> logits(500);
    for (std::size_t i = 0; i < logits.size(); ++i) logits[i] = float(std::sin(double(i)) * 3);
    SamplerOptions o{.temperature = 1.0f, .top_k = 100, .top_p = 0.95f, .min_p = 0.01f, .repeat_penalty = 1.1f, .seed = 42};
    Sampler a(o), b(o);
    o.seed = 43;
    Sampler c(o);
    const auto da = draws(a, logits, 200), db = draws(b, logits, 200), dc = draws(c, logits, 200);
    CHECK(da == db);
    CHECK(da != dc);
    a.reseed(42);
    CHECK(draws(a, logits, 200) == da);
}

TEST_CASE("sampler: the random numbers are a fixed sequence (the same on every platform)") {
    // xoshiro256** seeded by splitmix64(0), computed by an independent Python implementation of
    // both: pinned so that a change of generator cannot pass unnoticed.
    Rng r(0);
    CHECK(r.next() == 0x99ec5f36cb75f2b4ull);
    CHECK(r.next() == 0xbf6e1f784956452aull);
    Rng u(5);
    for (int i = 0; i < 1000; ++i) {
        const double x = u.uniform();
        REQUIRE(x >= 0);
        REQUIRE(x < 1);
    }
}

TEST_CASE("sampler: with no truncation the draws follow the softmax at the temperature") {
    const std::vector<float> logits = {1.0f, 0.0f, 2.0f, -1.0f, 0.5f};
    for (const float t : {0.5f, 1.0f, 2.0f}) {
        CAPTURE(t);
        Sampler s(plain(t, 9));
        const int n = 40000;
        std::map<int, int> count;
        for (const int id : draws(s, logits, n)) ++count[id];
        double z = 0;
        for (const float l : logits) z += std::exp(l / t);
        for (std::size_t i = 0; i < logits.size(); ++i) {
            const double p = std::exp(logits[i] / t) / z, f = double(count[int(i)]) / n;
            // 5 standard deviations of a binomial frequency.
            CHECK(std::abs(f - p) < 5 * std::sqrt(p * (1 - p) / n) + 1e-9);
        }
    }
}

TEST_CASE("sampler: top-k, top-p and min-p keep only the candidates they should") {
    // Probabilities at temperature 1 are about 0.64, 0.24, 0.09, 0.03 for ids 3, 1, 0, 2.
    const std::vector<float> logits = {0.0f, 1.0f, -1.1f, 2.0f};
    auto seen = [&](SamplerOptions o) {
        Sampler s(o);
        std::map<int, int> count;
        for (const int id : draws(s, logits, 4000)) ++count[id];
        std::vector<int> ids;
        for (const auto& [id, n] : count) ids.push_back(id);
        return ids;
    };
    SamplerOptions o = plain(1);
    CHECK(seen(o) == std::vector<int>{0, 1, 2, 3});
    o.top_k = 2;
    CHECK(seen(o) == std::vector<int>{1, 3});
    o.top_k = 1;
    CHECK(seen(o) == std::vector<int>{3});
    o = plain(1);
    o.top_p = 0.8f;  // 0.64 < 0.8 <= 0.64 + 0.24
    CHECK(seen(o) == std::vector<int>{1, 3});
    o.top_p = 0.5f;
    CHECK(seen(o) == std::vector<int>{3});
    o = plain(1);
    o.min_p = 0.2f;  // floor 0.128: keeps 0.64 and 0.24
    CHECK(seen(o) == std::vector<int>{1, 3});
    o.min_p = 0.1f;  // floor 0.064: adds 0.09
    CHECK(seen(o) == std::vector<int>{0, 1, 3});
}

TEST_CASE("sampler: the repetition penalty divides positive and multiplies negative logits of recent ids") {
    SamplerOptions o = plain(0);
    o.repeat_penalty = 1.5f;
    o.repeat_last_n = 2;
    Sampler s(o);
    // id 0: 3.0 -> 2.0 when recent, below id 1's 2.5.
    const std::vector<float> logits = {3.0f, 2.5f, -1.0f};
    CHECK(s.sample(logits, std::vector<Token>{}) == 0);
    CHECK(s.sample(logits, std::vector<Token>{0}) == 1);
    CHECK(s.sample(logits, std::vector<Token>{0, 0, 0}) == 1);  // once, however often seen
    CHECK(s.sample(logits, std::vector<Token>{0, 2, 2}) == 0);  // 0 is outside the last 2
    // Negative logits become more negative: -1 * 1.5 < -1.4.
    const std::vector<float> neg = {-1.0f, -1.4f};
    CHECK(s.sample(neg, std::vector<Token>{}) == 0);
    CHECK(s.sample(neg, std::vector<Token>{0}) == 1);
}

TEST_CASE("sampler: NaN and infinite logits never break it; no finite logit is an error") {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    Sampler greedy(plain(0)), warm(plain(1, 3));
    CHECK(greedy.sample(std::vector<float>{nan, 1.f, nan, 0.5f}, {}) == 1);
    for (int i = 0; i < 100; ++i) {
        const int id = warm.sample(std::vector<float>{nan, 1.f, nan, -inf, 0.5f}, {});
        CHECK((id == 1 || id == 4));
    }
    CHECK(warm.sample(std::vector<float>{0.f, inf, 1.f}, {}) == 1);
    CHECK_THROWS_WITH(warm.sample(std::vector<float>{nan, nan}, {}), doctest::Contains("not finite"));
    CHECK_THROWS(warm.sample(std::vector<float>{}, {}));
}

TEST_CASE("sampler: options out of range are refused with the option's name") {
    auto refused = [](SamplerOptions o, const char* name) {
        CHECK_THROWS_WITH(Sampler{o}, doctest::Contains(name));
    };
    refused({.temperature = -1}, "temperature");
    refused({.temperature = std::numeric_limits<float>::quiet_NaN()}, "temperature");
    refused({.top_k = -1}, "top-k");
    refused({.top_p = 0}, "top-p");
    refused({.top_p = 1.5f}, "top-p");
    refused({.min_p = 1}, "min-p");
    refused({.repeat_penalty = 0.5f}, "repeat-penalty");
    refused({.repeat_last_n = -2}, "repeat-last-n");
    CHECK_NOTHROW(Sampler(SamplerOptions{}));
}
