#pragma once
// IEEE binary16 and bfloat16 conversions, bit-exact with ggml: round to nearest even, subnormals
// handled (F16C rounds the same in hardware; the scalar path is the reference). A NaN narrows to
// the quiet NaN 0x7e00 with its sign, as ggml's ggml_compute_fp32_to_fp16 does (F16C keeps the
// payload instead; tests/test_known_answers.cpp checks the scalar path against ggml).
#include <bit>
#include <cstdint>
#include <cstring>
#if defined(__F16C__)
#include <immintrin.h>
#endif

namespace ulk {

// Storage types: plain 16-bit patterns so that blocks stay POD and byte-exact with ggml.
using f16_bits = std::uint16_t;
using bf16_bits = std::uint16_t;

constexpr float f16_to_f32_scalar(f16_bits h) noexcept {
    const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
    std::uint32_t exp = (h >> 10) & 0x1fu;
    std::uint32_t mant = h & 0x3ffu;
    std::uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13);  // inf or NaN
    } else if (exp != 0) {
        bits = sign | ((exp + 112u) << 23) | (mant << 13);
    } else if (mant == 0) {
        bits = sign;
    } else {  // subnormal half: normalize
        int e = -1;
        do { ++e; mant <<= 1; } while ((mant & 0x400u) == 0);
        bits = sign | (std::uint32_t(112 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
    return std::bit_cast<float>(bits);
}

constexpr f16_bits f32_to_f16_scalar(float f) noexcept {
    const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
    const std::uint32_t sign = (x >> 16) & 0x8000u;
    const std::uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u)  // inf, or NaN: ggml's canonical quiet NaN, sign kept, payload dropped
        return f16_bits(sign | (absx > 0x7f800000u ? 0x7e00u : 0x7c00u));
    if (absx >= 0x477ff000u) return f16_bits(sign | 0x7c00u);  // rounds to >= 65520: infinity
    if (absx < 0x38800000u) {  // result is subnormal or zero: shift with round to nearest even
        if (absx < 0x33000000u) return f16_bits(sign);  // < 2^-25: rounds to zero
        const std::uint32_t e = absx >> 23;
        const std::uint32_t m = (absx & 0x7fffffu) | 0x800000u;
        const std::uint32_t shift = 126u - e;  // 14..24
        const std::uint32_t half = m >> shift;
        const std::uint32_t rem = m & ((1u << shift) - 1u);
        const std::uint32_t mid = 1u << (shift - 1u);
        const std::uint32_t r = half + ((rem > mid || (rem == mid && (half & 1u))) ? 1u : 0u);
        return f16_bits(sign | r);
    }
    // normal: rebias exponent, round mantissa to 10 bits (nearest even); carry may bump exponent
    std::uint32_t v = absx - 0x38000000u;
    v += 0xfffu + ((v >> 13) & 1u);
    return f16_bits(sign | (v >> 13));
}

inline float f16_to_f32(f16_bits h) noexcept {
#if defined(__F16C__)
    return _cvtsh_ss(h);
#else
    return f16_to_f32_scalar(h);
#endif
}

inline f16_bits f32_to_f16(float f) noexcept {
#if defined(__F16C__)
    return f16_bits(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
#else
    return f32_to_f16_scalar(f);
#endif
}

constexpr float bf16_to_f32(bf16_bits h) noexcept {
    return std::bit_cast<float>(std::uint32_t(h) << 16);
}

// ggml's rule: NaN becomes a quiet NaN; everything else rounds to nearest even (no flush).
constexpr bf16_bits f32_to_bf16(float f) noexcept {
    const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return bf16_bits((u >> 16) | 64u);
    return bf16_bits((u + (0x7fffu + ((u >> 16) & 1u))) >> 16);
}

}  // namespace ulk
