#pragma once
// Grouped<Bits, GroupSize>: our own compile-time family of group-quantized weight formats, for
// experiments with bit width and group size ("G4x64" = 4 bits, groups of 64). Not a ggml type.
//
//   Bits 2, 3, 4: asymmetric,  x = d * q - m,  q in [0, 2^Bits - 1],  d and m f16 per group.
//   Bits 8:       symmetric,   x = d * (q - 128),  q in [0, 255] (zero point 128),  d f16.
//
// Why 8-bit is symmetric: an asymmetric 8-bit grid (same search, 255 steps) measured on N(0,1)
// gives relative RMS 0.0043 / 0.0062 at groups of 32 / 256 against 0.0052 / 0.0070 symmetric:
// 11-17% less, on an error that is already as small as the 8-bit activation's own (about 0.5%),
// so the dot product's error drops by about 10% at most. In exchange, symmetric codes keep an
// exact zero (a pruned weight stays 0), G8x32 has Q8_0's grid, the block
// saves 2 bytes, and the kernel folds the zero point into the integer dot (below) instead of
// running a second FMA per 32 weights. The low widths are where the min earns its bytes.
//
// Quantizer (quantize_ref), per group, for the asymmetric widths: a grid search over the range.
// Candidate k of kSearchSteps covers a fraction f_k of [min, max] (f from 1 down to
// kSearchMinFraction, centred), which clips outliers: the best 2-bit grid on Gaussian data spans
// only about 3 sigma, while a group of 256 spans about 5.5. For each candidate: codes by rounding,
// then kRefineSteps rounds of (closed-form least-squares d and m for those codes, re-round the
// codes against the new grid). The pair with the least squared error wins, plain min/max included,
// so before f16 rounding the result is never worse than min/max. Finally d and m are rounded to
// f16 and the codes are chosen once more against the rounded grid, so the f16 rounding of m shifts
// the grid instead of adding a constant error to the whole group. 8-bit: d = max|x| / 127, then
// the same alternation of least-squares d and re-rounding. Cost: about kSearchSteps *
// (kRefineSteps + 1) passes over a group; offline only. Gain over plain min/max (relative RMS on
// N(0,1)): 2-bit 0.395 -> 0.300 at G=32 and 0.544 -> 0.341 at G=256; 4-bit 0.078 -> 0.071 at G=32
// and 0.109 -> 0.099 at G=256.
//
// Dot product: the activation is Q8Act<1>: 32 int8 per block with an f32 scale, and bias lanes
// holding -(sum of each four activations). A group of G weights meets G/32 activation blocks; per
// block, with integer sums P = sum q*x and X = sum x,
//     dot += a.d * (d * P - m * X)            (asymmetric)
//     dot += a.d * d * (P - 128 * X)          (8-bit)
// Codes are unsigned and activations signed, which is exactly VNNI's vpdpbusd(u8, s8). X comes
// from the bias lanes: Q8Act computes them once per token, so no row pays for them again (with
// Q8Act<0> every row would need a second vpdpbusd against a vector of ones to get X); dot_ref
// sums X from the activation codes instead, so the bias lanes are checked too. For 8-bit,
// bias << 7 is -128 * X per lane and seeds the vpdpbusd accumulator, which gives P - 128 X in one
// instruction.
//
// Layouts (little-endian; "element e" is the e-th weight of the group, 0 <= e < G):
//   Bits 4  {f16 d; f16 m; u8 qs[G/2]}     element e < G/2: low nibble of qs[e];
//                                          element e + G/2: high nibble of qs[e].
//           G = 32 is then exactly Q4_0's nibble order. One 32-byte load, mask (and shift) gives
//           two whole activation blocks: bytes [32c, 32c+32) hold blocks c and c + G/64.
//   Bits 2  {f16 d; f16 m; u8 qs[G/4]}     field k (bits 2k, 2k+1) of qs[i] is element i + k*G/4.
//           One shift by 2k and a mask yields the contiguous run of elements k*G/4 .. +G/4:
//           G >= 128: 32-byte chunk c, field k = activation block c + k*G/128;
//           G = 64: fields 2b, 2b+1 of all 16 bytes = block b (one 64-bit variable shift);
//           G = 32: the 8 bytes broadcast to 4 qwords, shifted by 0, 2, 4, 6 = the block.
//   Bits 3  {f16 d; f16 m; u8 ql[G/4]; u8 qh[G/8]}  (stored as qs[3G/8])
//           bits 0-1: a 2-bit plane laid out exactly as Bits 2;
//           bit 2: a plain bitmap, element e at bit e%8 of qh[e/8], so one 32-bit load is the
//           AVX-512 byte mask of an activation block (a masked add of 4 applies it).
//   Bits 8  {f16 d; u8 qs[G]}              element e = qs[e]; x = d * (qs[e] - 128).
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>

#include "ulk/base/fp16.hpp"
#include "ulk/quant/format.hpp"
#include "ulk/quant/q8_act.hpp"
#include "ulk/simd/reduce.hpp"

namespace ulk::quant {

namespace detail {

// "G<Bits>x<GroupSize>", NUL-terminated, built at compile time.
template <int Bits, std::size_t GroupSize>
constexpr std::array<char, 8> grouped_name() {
    std::array<char, 8> s{};
    std::size_t i = 0;
    s[i++] = 'G';
    s[i++] = char('0' + Bits);
    s[i++] = 'x';
    char digits[4]{};
    std::size_t n = 0;
    for (std::size_t v = GroupSize; v > 0; v /= 10) digits[n++] = char('0' + v % 10);
    while (n > 0) s[i++] = digits[--n];
    return s;
}
template <int Bits, std::size_t GroupSize>
inline constexpr std::array<char, 8> kGroupedName = grouped_name<Bits, GroupSize>();

}  // namespace detail

template <int Bits, std::size_t GroupSize>
struct BlockGrouped {
    f16_bits d;
    f16_bits m;
    std::uint8_t qs[GroupSize * Bits / 8];
};
template <std::size_t GroupSize>
struct BlockGrouped<8, GroupSize> {
    f16_bits d;
    std::uint8_t qs[GroupSize];
};

template <int Bits, std::size_t GroupSize>
struct Grouped {
    static_assert(Bits == 2 || Bits == 3 || Bits == 4 || Bits == 8,
                  "Grouped<Bits, GroupSize>: Bits must be 2, 3, 4 or 8");
    static_assert(GroupSize == 32 || GroupSize == 64 || GroupSize == 128 || GroupSize == 256,
                  "Grouped<Bits, GroupSize>: GroupSize must be 32, 64, 128 or 256 (a whole number of "
                  "32-element activation blocks)");

    static constexpr std::size_t G = GroupSize;
    static constexpr bool kSymmetric = Bits == 8;
    static constexpr int kLevels = 1 << Bits;            // q in [0, kLevels - 1]
    static constexpr std::size_t kCodeBytes = G * Bits / 8;
    static constexpr std::size_t kActBlocks = G / 32;    // Q8Act blocks per group

    static constexpr std::string_view kName{detail::kGroupedName<Bits, GroupSize>.data()};
    static constexpr int kGgmlType = kNotGgml;
    static constexpr std::size_t kBlockWeights = GroupSize;
    using Block = BlockGrouped<Bits, GroupSize>;
    using Activation = Q8Act<1>;  // bias lanes = -(sum of each four activations)

    static_assert(sizeof(Block) == (kSymmetric ? 2 : 4) + kCodeBytes,
                  "Grouped block: f16 d (+ f16 m below 8 bits) + GroupSize * Bits / 8 code bytes, no padding");

    // Quantizer tuning (see the header comment). Measured on N(0,1): refinement matters more than
    // the grid; 64 steps, or 6 refinements, lower the error by under 1% against 8 x 4.
    static constexpr int kSearchSteps = 8;
    static constexpr float kSearchMinFraction = 0.4f;
    static constexpr int kRefineSteps = 4;

    // ---- codes <-> bytes: these two functions define the layouts above -------------------------

    static void pack(const std::uint8_t* q, Block& b) {
        std::memset(b.qs, 0, sizeof b.qs);
        if constexpr (Bits == 8) {
            std::memcpy(b.qs, q, G);
        } else if constexpr (Bits == 4) {
            for (std::size_t i = 0; i < G / 2; ++i) b.qs[i] = std::uint8_t(q[i] | (q[i + G / 2] << 4));
        } else {
            for (std::size_t i = 0; i < G / 4; ++i)
                for (std::size_t k = 0; k < 4; ++k) b.qs[i] |= std::uint8_t((q[i + k * G / 4] & 3) << (2 * k));
            if constexpr (Bits == 3)
                for (std::size_t e = 0; e < G; ++e) b.qs[G / 4 + e / 8] |= std::uint8_t(((q[e] >> 2) & 1) << (e % 8));
        }
    }
    static void unpack(const Block& b, std::uint8_t* q) {
        if constexpr (Bits == 8) {
            std::memcpy(q, b.qs, G);
        } else if constexpr (Bits == 4) {
            for (std::size_t i = 0; i < G / 2; ++i) {
                q[i] = b.qs[i] & 15;
                q[i + G / 2] = b.qs[i] >> 4;
            }
        } else {
            for (std::size_t k = 0; k < 4; ++k)
                for (std::size_t i = 0; i < G / 4; ++i) q[i + k * G / 4] = (b.qs[i] >> (2 * k)) & 3;
            if constexpr (Bits == 3)
                for (std::size_t e = 0; e < G; ++e) q[e] |= std::uint8_t(((b.qs[G / 4 + e / 8] >> (e % 8)) & 1) << 2);
        }
    }

    // ---- reference quantizer ------------------------------------------------------------------

    static void quantize_ref(const float* x, Block* y, std::size_t n) {
        std::uint8_t q[G];
        for (std::size_t g = 0; g < n / G; ++g, x += G) {
            float d, m = 0;
            if constexpr (kSymmetric) search_symmetric(x, d);
            else search_asymmetric(x, d, m);
            y[g].d = f32_to_f16_scalar(d);
            const float dr = f16_to_f32_scalar(y[g].d);
            float mr = 0;
            if constexpr (!kSymmetric) {
                y[g].m = f32_to_f16_scalar(m);
                mr = f16_to_f32_scalar(y[g].m);
            }
            assign(x, dr, mr, q);
            pack(q, y[g]);
        }
    }

    static void dequantize_ref(const Block* x, float* y, std::size_t n) {
        std::uint8_t q[G];
        for (std::size_t g = 0; g < n / G; ++g, y += G) {
            unpack(x[g], q);
            const float d = f16_to_f32_scalar(x[g].d);
            if constexpr (kSymmetric) {
                for (std::size_t e = 0; e < G; ++e) y[e] = d * float(int(q[e]) - 128);
            } else {
                const float m = f16_to_f32_scalar(x[g].m);
                for (std::size_t e = 0; e < G; ++e) y[e] = d * float(q[e]) - m;
            }
        }
    }

    // ---- dot products -------------------------------------------------------------------------

    // Exact integer sums per activation block (X from the activation codes, not the bias lanes),
    // then floats.
    static float dot_ref(const Block* w, const Activation::Block* a, std::size_t n) {
        std::uint8_t q[G];
        float s = 0;
        for (std::size_t g = 0; g < n / G; ++g) {
            unpack(w[g], q);
            const float d = f16_to_f32_scalar(w[g].d);
            const float m = kSymmetric ? 0.f : f16_to_f32_scalar(mins(w[g]));
            for (std::size_t k = 0; k < kActBlocks; ++k) {
                const auto& ab = a[g * kActBlocks + k];
                std::int32_t p = 0, sx = 0;
                for (int j = 0; j < 32; ++j) {
                    p += std::int32_t(q[32 * k + j]) * ab.qs[j];
                    sx += ab.qs[j];
                }
                if constexpr (kSymmetric) s += ab.d * d * float(p - 128 * sx);
                else s += ab.d * (d * float(p) - m * float(sx));
            }
        }
        return s;
    }

    // Portable: unpack a group 8 bytes at a time (SWAR), integer dots the compiler vectorizes, X
    // from the bias lanes.
    static float dot(simd::portable, const Block* w, const Activation::Block* a, std::size_t n) {
        std::uint8_t q[G];
        float s = 0;
        for (std::size_t g = 0; g < n / G; ++g) {
            unpack_swar(w[g], q);
            const float d = f16_to_f32(w[g].d);
            const float m = kSymmetric ? 0.f : f16_to_f32(mins(w[g]));
            for (std::size_t k = 0; k < kActBlocks; ++k) {
                const auto& ab = a[g * kActBlocks + k];
                std::int32_t p = 0, sx = 0;
                for (int j = 0; j < 32; ++j) p += std::int32_t(q[32 * k + j]) * std::int32_t(ab.qs[j]);
                for (int i = 0; i < 8; ++i) sx -= ab.bias[i];
                if constexpr (kSymmetric) s += ab.d * d * float(p - 128 * sx);
                else s += ab.d * (d * float(p) - m * float(sx));
            }
        }
        return s;
    }

#if defined(ULK_HAVE_AVX512VNNI)
    // The 32 codes (u8) that meet activation block K of a group; see the layout comment.
    template <std::size_t K>
    static __m256i codes(const Block& b) {
        static_assert(K < kActBlocks);
        if constexpr (Bits == 8) {
            return _mm256_loadu_si256((const __m256i*)(b.qs + 32 * K));
        } else if constexpr (Bits == 4) {
            const __m256i nib = _mm256_set1_epi8(0x0f);
            if constexpr (G == 32) {  // Q4_0 order: broadcast 16 bytes, upper half shifted by 4
                const __m256i shifts = _mm256_setr_epi64x(0, 0, 4, 4);
                const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i*)b.qs));
                return _mm256_and_si256(_mm256_srlv_epi64(v, shifts), nib);
            } else {
                constexpr std::size_t kChunks = G / 64, c = K % kChunks;
                const __m256i v = _mm256_loadu_si256((const __m256i*)(b.qs + 32 * c));
                if constexpr (K < kChunks) return _mm256_and_si256(v, nib);
                else return _mm256_and_si256(_mm256_srli_epi16(v, 4), nib);
            }
        } else {
            const __m256i two = _mm256_set1_epi8(0x03);
            __m256i lo;
            if constexpr (G == 32) {
                std::uint64_t bytes;
                std::memcpy(&bytes, b.qs, 8);
                const __m256i v = _mm256_set1_epi64x(std::int64_t(bytes));
                lo = _mm256_and_si256(_mm256_srlv_epi64(v, _mm256_setr_epi64x(0, 2, 4, 6)), two);
            } else if constexpr (G == 64) {
                const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i*)b.qs));
                const __m256i shifts = _mm256_setr_epi64x(4 * K, 4 * K, 4 * K + 2, 4 * K + 2);
                lo = _mm256_and_si256(_mm256_srlv_epi64(v, shifts), two);
            } else {
                constexpr std::size_t kChunks = G / 128, c = K % kChunks, field = K / kChunks;
                const __m256i v = _mm256_loadu_si256((const __m256i*)(b.qs + 32 * c));
                lo = _mm256_and_si256(_mm256_srli_epi16(v, int(2 * field)), two);
            }
            if constexpr (Bits == 2) {
                return lo;
            } else {
                std::uint32_t high;
                std::memcpy(&high, b.qs + G / 4 + 4 * K, 4);
                return _mm256_mask_add_epi8(lo, __mmask32(high), lo, _mm256_set1_epi8(4));
            }
        }
    }

    // One group against its activation blocks. Two accumulators: the d * P terms and the m * X
    // terms (unused for 8-bit), so the two FMA chains run in parallel.
    static void group_avx512(const Block& b, const Activation::Block* a, __m256& acc_q, __m256& acc_m) {
        const float d = f16_to_f32(b.d);
        const float m = kSymmetric ? 0.f : f16_to_f32(mins(b));
        [&]<std::size_t... K>(std::index_sequence<K...>) {
            auto step = [&]<std::size_t k>(std::integral_constant<std::size_t, k>) {
                const __m256i x = _mm256_loadu_si256((const __m256i*)a[k].qs);
                const __m256i bias = _mm256_loadu_si256((const __m256i*)a[k].bias);  // -X per 4 lanes
                if constexpr (kSymmetric) {
                    const __m256i p = _mm256_dpbusd_epi32(_mm256_slli_epi32(bias, 7), codes<k>(b), x);
                    acc_q = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(a[k].d * d), acc_q);
                } else {
                    const __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), codes<k>(b), x);
                    acc_q = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(a[k].d * d), acc_q);
                    acc_m = _mm256_fmadd_ps(_mm256_cvtepi32_ps(bias), _mm256_set1_ps(a[k].d * m), acc_m);
                }
            };
            (step(std::integral_constant<std::size_t, K>{}), ...);
        }(std::make_index_sequence<kActBlocks>{});
    }

    static float dot(simd::avx512vnni, const Block* w, const Activation::Block* a, std::size_t n) {
        __m256 q0 = _mm256_setzero_ps(), m0 = _mm256_setzero_ps();
        __m256 q1 = _mm256_setzero_ps(), m1 = _mm256_setzero_ps();
        const std::size_t ng = n / G;
        std::size_t g = 0;
        for (; g + 2 <= ng; g += 2) {
            group_avx512(w[g], a + g * kActBlocks, q0, m0);
            group_avx512(w[g + 1], a + (g + 1) * kActBlocks, q1, m1);
        }
        if (g < ng) group_avx512(w[g], a + g * kActBlocks, q0, m0);
        return simd::hsum(_mm256_add_ps(_mm256_add_ps(q0, q1), _mm256_add_ps(m0, m1)));
    }
#endif

private:
    static constexpr int kMaxCode = kLevels - 1;

    // unpack() on 64-bit words: each 8 code bytes become 8 (or 16, 32) codes with a shift and a
    // mask per field; the bitmap byte b becomes 8 bytes of 0 or 4 by a multiply-select-carry trick.
    static void unpack_swar(const Block& b, std::uint8_t* q) {
        static_assert(std::endian::native == std::endian::little, "Grouped: SWAR unpacking assumes little-endian");
        constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
        if constexpr (Bits == 8) {
            std::memcpy(q, b.qs, G);
        } else if constexpr (Bits == 4) {
            for (std::size_t c = 0; c < G / 16; ++c) {
                std::uint64_t v, lo, hi;
                std::memcpy(&v, b.qs + 8 * c, 8);
                lo = v & (kOnes * 0x0f);
                hi = (v >> 4) & (kOnes * 0x0f);
                std::memcpy(q + 8 * c, &lo, 8);
                std::memcpy(q + G / 2 + 8 * c, &hi, 8);
            }
        } else {
            for (std::size_t c = 0; c < G / 32; ++c) {
                std::uint64_t v;
                std::memcpy(&v, b.qs + 8 * c, 8);
                for (std::size_t k = 0; k < 4; ++k) {
                    const std::uint64_t f = (v >> (2 * k)) & (kOnes * 0x03);
                    std::memcpy(q + k * G / 4 + 8 * c, &f, 8);
                }
            }
            if constexpr (Bits == 3) {
                for (std::size_t j = 0; j < G / 8; ++j) {
                    // byte i of sel is bit i of the bitmap byte (0 or 1 << i); + 0x7f carries into bit 7
                    const std::uint64_t sel = (b.qs[G / 4 + j] * kOnes) & 0x8040201008040201ULL;
                    const std::uint64_t hi = ((sel + kOnes * 0x7f) & (kOnes * 0x80)) >> 5;
                    std::uint64_t v;
                    std::memcpy(&v, q + 8 * j, 8);
                    v |= hi;
                    std::memcpy(q + 8 * j, &v, 8);
                }
            }
        }
    }

    static f16_bits mins(const Block& b) {
        if constexpr (kSymmetric) return 0;
        else return b.m;
    }

    // Nearest level of the grid {d * q - m} (resp. {d * (q - 128)}), clamped; returns the squared error.
    static float assign(const float* x, float d, float m, std::uint8_t* q) {
        const float id = d != 0 ? 1.f / d : 0.f;
        const float offset = kSymmetric ? 128.f : 0.f;
        float err = 0;
        for (std::size_t e = 0; e < G; ++e) {
            const float c = std::clamp(std::nearbyint((x[e] + m) * id + offset), 0.f, float(kMaxCode));
            q[e] = std::uint8_t(c);
            const float r = d * (c - offset) - m - x[e];
            err += r * r;
        }
        return err;
    }

    // Least-squares d, m for fixed codes: minimise sum (d q - m - x)^2. False if all codes are equal.
    static bool fit_asymmetric(const float* x, const std::uint8_t* q, float& d, float& m) {
        double sq = 0, sqq = 0, sx = 0, sqx = 0;
        for (std::size_t e = 0; e < G; ++e) {
            sq += q[e];
            sqq += double(q[e]) * q[e];
            sx += x[e];
            sqx += double(q[e]) * x[e];
        }
        const double det = double(G) * sqq - sq * sq;
        if (det <= 0) return false;
        const double dd = (double(G) * sqx - sq * sx) / det;
        d = float(dd);
        m = float((dd * sq - sx) / double(G));
        return true;
    }

    static void search_asymmetric(const float* x, float& best_d, float& best_m) {
        const auto [lo_it, hi_it] = std::minmax_element(x, x + G);
        const float lo = *lo_it, hi = *hi_it;
        best_d = 0;
        best_m = -lo;
        if (!(hi > lo)) return;  // constant group (all zero included): x = -m exactly
        std::uint8_t q[G];
        float best = std::numeric_limits<float>::infinity();
        const float mid = 0.5f * (lo + hi), range = hi - lo;
        for (int t = 0; t < kSearchSteps; ++t) {
            const float f = 1.f - float(t) * (1.f - kSearchMinFraction) / float(kSearchSteps - 1);
            float d = f * range / float(kMaxCode), m = -(mid - 0.5f * f * range);
            float err = assign(x, d, m, q);
            for (int r = 0;; ++r) {
                if (err < best) { best = err; best_d = d; best_m = m; }
                if (r == kRefineSteps || !fit_asymmetric(x, q, d, m) || !(d > 0)) break;
                err = assign(x, d, m, q);
            }
        }
    }

    static void search_symmetric(const float* x, float& best_d) {
        float amax = 0;
        for (std::size_t e = 0; e < G; ++e) amax = std::max(amax, std::fabs(x[e]));
        best_d = amax / 127.f;
        if (amax == 0) return;
        std::uint8_t q[G];
        float d = best_d, best = assign(x, d, 0, q);
        for (int r = 0; r < kRefineSteps; ++r) {
            double sqx = 0, sqq = 0;
            for (std::size_t e = 0; e < G; ++e) {
                const double c = double(q[e]) - 128;
                sqx += c * x[e];
                sqq += c * c;
            }
            if (!(sqx > 0)) break;
            d = float(sqx / sqq);
            const float err = assign(x, d, 0, q);
            if (err < best) { best = err; best_d = d; }
        }
    }
};

}  // namespace ulk::quant
