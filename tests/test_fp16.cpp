// Half and bfloat16 conversions: the scalar reference against the hardware (F16C) and exhaustive
// round trips over all 65,536 half patterns.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>

#include "test_util.hpp"
#include "ulk/base/fp16.hpp"

TEST_CASE("f16: every half pattern widens exactly and narrows back") {
    for (std::uint32_t h = 0; h < 65536; ++h) {
        const float f = ulk::f16_to_f32_scalar(std::uint16_t(h));
        if (std::isnan(f)) continue;
        REQUIRE(ulk::f32_to_f16_scalar(f) == h);
#if defined(__F16C__)
        REQUIRE(std::bit_cast<std::uint32_t>(ulk::f16_to_f32(std::uint16_t(h))) == std::bit_cast<std::uint32_t>(f));
#endif
    }
}

TEST_CASE("f16: narrowing rounds to nearest even, like F16C") {
    ulk::test::Rng rng(7);
    // Random bit patterns cover normals, subnormals, overflow and the rounding ties.
    for (int i = 0; i < 2000000; ++i) {
        const std::uint32_t bits = std::uint32_t(rng.next());
        const float f = std::bit_cast<float>(bits);
        if (std::isnan(f)) continue;
#if defined(__F16C__)
        REQUIRE(ulk::f32_to_f16_scalar(f) == std::uint16_t(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT)));
#endif
    }
    CHECK(ulk::f32_to_f16_scalar(65504.f) == 0x7bff);
    CHECK(ulk::f32_to_f16_scalar(65520.f) == 0x7c00);  // the tie rounds up to infinity
    CHECK(ulk::f32_to_f16_scalar(std::ldexp(1.f, -25)) == 0x0000);  // tie to even: zero
    CHECK(ulk::f32_to_f16_scalar(std::nextafter(std::ldexp(1.f, -25), 1.f)) == 0x0001);
    CHECK(std::isnan(ulk::f16_to_f32_scalar(ulk::f32_to_f16_scalar(NAN))));
}

TEST_CASE("bf16: rounds to nearest even and keeps NaN") {
    CHECK(ulk::f32_to_bf16(1.f) == 0x3f80);
    CHECK(ulk::f32_to_bf16(std::bit_cast<float>(0x3f808000u)) == 0x3f80);  // tie, even stays
    CHECK(ulk::f32_to_bf16(std::bit_cast<float>(0x3f818000u)) == 0x3f82);  // tie, odd rounds up
    CHECK(ulk::f32_to_bf16(std::bit_cast<float>(0x3f808001u)) == 0x3f81);
    CHECK(std::isnan(ulk::bf16_to_f32(ulk::f32_to_bf16(NAN))));
    for (std::uint32_t h = 0; h < 65536; ++h) {
        const float f = ulk::bf16_to_f32(std::uint16_t(h));
        if (!std::isnan(f)) REQUIRE(ulk::f32_to_bf16(f) == h);
    }
}
