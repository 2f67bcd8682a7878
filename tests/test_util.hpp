#pragma once
// Helpers shared by the tests: deterministic data and tolerances.
#include <cmath>
#include <string>
#include <cstdint>
#include <vector>

#include "ulk/base/error.hpp"

namespace ulk::test {

// The message of the ulk::Error that f() throws, or "" when it throws none.
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const ulk::Error& e) {
        return e.what();
    }
    return "";
}

// splitmix64: a tiny deterministic generator, so failures reproduce everywhere.
struct Rng {
    std::uint64_t s;
    explicit Rng(std::uint64_t seed) : s(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    float uniform() { return float(next() >> 40) / float(1 << 24); }     // [0, 1)
    float symmetric() { return 2.f * uniform() - 1.f; }                  // [-1, 1)
    float normal() {                                                     // Box-Muller
        const float u1 = std::fmax(uniform(), 1e-7f), u2 = uniform();
        return std::sqrt(-2.f * std::log(u1)) * std::cos(6.2831853f * u2);
    }
};

inline std::vector<float> normal_vector(std::size_t n, std::uint64_t seed, float scale = 1.f) {
    Rng r(seed);
    std::vector<float> v(n);
    for (auto& x : v) x = scale * r.normal();
    return v;
}

// Relative RMS error of an approximation against the exact vector.
inline double relative_rms(const std::vector<float>& exact, const std::vector<float>& approx) {
    double num = 0, den = 0;
    for (std::size_t i = 0; i < exact.size(); ++i) {
        num += double(exact[i] - approx[i]) * double(exact[i] - approx[i]);
        den += double(exact[i]) * double(exact[i]);
    }
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

}  // namespace ulk::test
