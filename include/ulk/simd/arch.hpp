#pragma once
// Architecture tags. Kernels are overloaded on a tag; the most specific overload that the build
// target supports wins at compile time (tags derive from the next weaker one, so a format with no
// AVX-512 kernel falls back to its AVX2 one, then to the portable one).
//
//   portable    xsimd batches and plain C++ loops; builds on any xsimd target (x86, ARM)
//   avx2        AVX2 + FMA + F16C intrinsics where xsimd lacks the instruction (maddubs)
//   avx512vnni  AVX-512 F/BW/VL + VNNI (vpdpbusd): the int8 dot of Zen 4 and recent Xeons
//
// `ulk::simd::native` is the best tag for the compiler's target (-march); tests also run the
// weaker tags on the same machine so that every path is checked everywhere it can run.
#include <string_view>

namespace ulk::simd {

struct portable {
    static constexpr std::string_view name = "portable";
};
struct avx2 : portable {
    static constexpr std::string_view name = "avx2";
};
struct avx512vnni : avx2 {
    static constexpr std::string_view name = "avx512vnni";
};

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__)
#define ULK_HAVE_AVX512VNNI 1
#endif
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define ULK_HAVE_AVX2 1
#endif

#if defined(ULK_HAVE_AVX512VNNI)
using native = avx512vnni;
#elif defined(ULK_HAVE_AVX2)
using native = avx2;
#else
using native = portable;
#endif

}  // namespace ulk::simd
