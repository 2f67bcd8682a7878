#pragma once
// Q2Planar: our 2-bit format, laid out so that unpacking costs one shift and one mask per 64
// weights. ggml's Q2_K interleaves its 2-bit codes and 16-weight sub-blocks in a way that costs
// several shuffles and scale multiplies per 32 weights, so it decodes at about 40% of memory
// bandwidth on a 2-core Zen 4; this layout is designed for VNNI (vpdpbusd) instead.
//
// Layout (76 bytes per 256 weights, 2.375 bits per weight):
//   d      f16        scale of the sub-block scales
//   dmin   f16        scale of the sub-block mins
//   sm[8]  u8         sub-block j (weights 32j..32j+31): low nibble scale sc_j, high nibble min m_j
//   qs[64] u8         "planes": byte i holds weights i, i+64, i+128, i+192 in bits 0-1, 2-3, 4-5, 6-7
//   x = d * sc_j * q - dmin * m_j,   q in 0..3
//
// So (qs >> 2k) & 3 over all 64 bytes is weights 64k..64k+63 in order: exactly the 64 activation
// bytes a 512-bit vpdpbusd multiplies them with. Activations are Q8_K (256 int8, f32 scale, sums of
// each 16), whose sums fold the mins in without touching the weights again.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "ulk/base/fp16.hpp"
#include "ulk/quant/format.hpp"
#include "ulk/quant/q8_act.hpp"
#include "ulk/quant/q8_k.hpp"
#include "ulk/simd/reduce.hpp"

namespace ulk::quant {

struct BlockQ2Planar {
    f16_bits d;
    f16_bits dmin;
    std::uint8_t sm[8];
    std::uint8_t qs[64];
};
static_assert(sizeof(BlockQ2Planar) == 76, "Q2Planar block: 2 f16 + 8 scale/min bytes + 64 bytes of 2-bit planes");

namespace q2planar_detail {

struct ScaleMin {
    float scale = 0, min = 0;  // x ~ scale * q - min, min >= 0
};

// Best (scale, min) for 2-bit codes of n values: several starting ranges, each refined by least
// squares for its codes; the one with the smallest squared error wins.
inline ScaleMin fit(const float* x, int n) {
    float lo = 0, hi = 0;
    for (int i = 0; i < n; ++i) { lo = std::min(lo, x[i]); hi = std::max(hi, x[i]); }
    ScaleMin best{0, -lo};
    if (hi <= lo) return best;
    double best_err = 0;
    for (int i = 0; i < n; ++i) best_err += double(x[i] - lo) * double(x[i] - lo);  // all codes 0
    for (int step = -3; step <= 6; ++step) {
        const float s0 = (hi - lo) / (3.f + 0.1f * float(step));
        const float m0 = -lo;
        int q[256];
        double sq = 0, sx = 0, sqq = 0, sqx = 0;
        for (int i = 0; i < n; ++i) {
            q[i] = std::clamp(int(std::nearbyint((x[i] + m0) / s0)), 0, 3);
            sq += q[i]; sx += x[i]; sqq += double(q[i]) * q[i]; sqx += double(q[i]) * x[i];
        }
        // minimise sum (s q - m - x)^2 over s, m: normal equations of a 2-parameter line fit
        const double det = double(n) * sqq - sq * sq;
        if (det <= 0) continue;
        double s = (double(n) * sqx - sq * sx) / det;
        double m = (sq * sqx - sqq * sx) / det;
        if (m < 0) { m = 0; s = sqq > 0 ? sqx / sqq : 0; }
        if (s <= 0) continue;
        double err = 0;
        for (int i = 0; i < n; ++i) {
            const double e = s * q[i] - m - x[i];
            err += e * e;
        }
        if (err < best_err) { best_err = err; best = {float(s), float(m)}; }
    }
    return best;
}

}  // namespace q2planar_detail

struct Q2Planar {
    static constexpr std::string_view kName = "Q2Planar";
    static constexpr int kGgmlType = kNotGgml;
    static constexpr std::size_t kBlockWeights = 256;
    using Block = BlockQ2Planar;
    using Activation = Q8_K;

    static void quantize_ref(const float* x, Block* y, std::size_t n) {
        for (std::size_t b = 0; b < n / 256; ++b, x += 256) {
            q2planar_detail::ScaleMin sm[8];
            float max_scale = 0, max_min = 0;
            for (int j = 0; j < 8; ++j) {
                sm[j] = q2planar_detail::fit(x + 32 * j, 32);
                max_scale = std::max(max_scale, sm[j].scale);
                max_min = std::max(max_min, sm[j].min);
            }
            Block& out = y[b];
            out.d = f32_to_f16_scalar(max_scale / 15.f);
            out.dmin = f32_to_f16_scalar(max_min / 15.f);
            const float d = f16_to_f32_scalar(out.d), dmin = f16_to_f32_scalar(out.dmin);
            std::uint8_t q[256];
            for (int j = 0; j < 8; ++j) {
                const int sc = d > 0 ? std::clamp(int(std::nearbyint(sm[j].scale / d)), 0, 15) : 0;
                const int mn = dmin > 0 ? std::clamp(int(std::nearbyint(sm[j].min / dmin)), 0, 15) : 0;
                out.sm[j] = std::uint8_t(sc | (mn << 4));
                const float step = d * float(sc), offset = dmin * float(mn);
                for (int i = 0; i < 32; ++i)
                    q[32 * j + i] = step > 0 ? std::uint8_t(std::clamp(int(std::nearbyint((x[32 * j + i] + offset) / step)), 0, 3)) : 0;
            }
            for (int i = 0; i < 64; ++i)
                out.qs[i] = std::uint8_t(q[i] | (q[i + 64] << 2) | (q[i + 128] << 4) | (q[i + 192] << 6));
        }
    }

    static int code(const Block& blk, int i) { return (blk.qs[i & 63] >> (2 * (i >> 6))) & 3; }

    static void dequantize_ref(const Block* x, float* y, std::size_t n) {
        for (std::size_t b = 0; b < n / 256; ++b) {
            const float d = f16_to_f32_scalar(x[b].d), dmin = f16_to_f32_scalar(x[b].dmin);
            for (int i = 0; i < 256; ++i) {
                const int j = i / 32;
                y[b * 256 + i] = d * float(x[b].sm[j] & 15) * float(code(x[b], i)) - dmin * float(x[b].sm[j] >> 4);
            }
        }
    }

    // Exact integers per sub-block; floats only per block.
    static float dot_ref(const Block* w, const Activation::Block* a, std::size_t n) {
        float s = 0;
        for (std::size_t b = 0; b < n / 256; ++b) {
            std::int32_t scaled = 0, mins = 0;
            for (int j = 0; j < 8; ++j) {
                std::int32_t isum = 0;
                for (int i = 32 * j; i < 32 * j + 32; ++i) isum += code(w[b], i) * a[b].qs[i];
                scaled += (w[b].sm[j] & 15) * isum;
                mins += (w[b].sm[j] >> 4) * (a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
            }
            s += a[b].d * (f16_to_f32_scalar(w[b].d) * float(scaled) - f16_to_f32_scalar(w[b].dmin) * float(mins));
        }
        return s;
    }

    // Portable: walk the planes in the kernel's order (contiguous runs the compiler vectorizes).
    static float dot(simd::portable, const Block* w, const Activation::Block* a, std::size_t n) {
        float s = 0;
        for (std::size_t b = 0; b < n / 256; ++b) {
            std::int32_t sub[8] = {};
            for (int k = 0; k < 4; ++k)
                for (int half = 0; half < 2; ++half) {
                    std::int32_t isum = 0;
                    for (int i = 32 * half; i < 32 * half + 32; ++i)
                        isum += std::int32_t((w[b].qs[i] >> (2 * k)) & 3) * a[b].qs[64 * k + i];
                    sub[2 * k + half] = isum;
                }
            std::int32_t scaled = 0, mins = 0;
            for (int j = 0; j < 8; ++j) {
                scaled += (w[b].sm[j] & 15) * sub[j];
                mins += (w[b].sm[j] >> 4) * (a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
            }
            s += a[b].d * (f16_to_f32(w[b].d) * float(scaled) - f16_to_f32(w[b].dmin) * float(mins));
        }
        return s;
    }

#if defined(ULK_HAVE_AVX512VNNI)
    // The constants of the block step below, loaded once per dot.
    struct VnniKernel {
        alignas(64) static constexpr struct Tables {
            std::uint8_t scale_index[64], entry_q[64], min_index[64];
        } kTables = [] {
            Tables t{};
            for (int lane = 0; lane < 4; ++lane)
                for (int e = 0; e < 16; ++e) {
                    t.scale_index[16 * lane + e] = std::uint8_t(2 * (e >> 2) + (lane >= 2));
                    t.entry_q[16 * lane + e] = std::uint8_t(e & 3);  // as words: q0 + 256 q1
                }
            for (int i = 0; i < 64; ++i) t.min_index[i] = std::uint8_t(i / 4);  // word 2j, 2j+1: byte j
            return t;
        }();
        const __m512i scale_index = _mm512_load_si512(kTables.scale_index);
        const __m512i entry_q = _mm512_load_si512(kTables.entry_q);
        const __m256i min_index = _mm256_load_si256((const __m256i*)kTables.min_index);
        const __m512i three = _mm512_set1_epi8(3);
        const __m512i sel1 = _mm512_set1_epi8(4), sel2 = _mm512_set1_epi8(8), sel3 = _mm512_set1_epi8(12);
        // float lanes 0-7 take element 0 of the scales (a.d * d), lanes 8-15 element 1 (a.d * dmin)
        const __m512i halves = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);

        // acc + one block's terms: lanes 0-7 plane sums * a.d * d, lanes 8-15 min sums * a.d * dmin.
        __m512 block(const Block& blk, const Activation::Block& a, __m512 acc) const {
            // 2 KB ahead (~27 blocks): in a 2-thread GEMV the hardware prefetchers alone leave
            // about 20% of the streaming bandwidth unused
            _mm_prefetch((const char*)&blk + 2048, _MM_HINT_T0);
            const __m512i sm = _mm512_castsi128_si512(_mm_loadl_epi64((const __m128i*)blk.sm));
            // sc_j in the low byte of each word (high byte zeroed), times the word q0 + 256 q1 of the
            // entry pair: both bytes of the product are sc_j * q (at most 45, no carry)
            const __m512i table = _mm512_mullo_epi16(
                _mm512_maskz_permutexvar_epi8(0x5555555555555555ull, scale_index,
                                              _mm512_castsi128_si512(_mm_and_si128(_mm512_castsi512_si128(sm), _mm_set1_epi8(15)))),
                entry_q);
            __m512i planes = _mm512_loadu_si512(blk.qs);
#if defined(__GNUC__)
            // one load: compilers otherwise fold it into each of the four uses (four unaligned
            // 64-byte loads, most of them crossing a cache line)
            __asm__("" : "+v"(planes));
#endif
            const __m512i* act = (const __m512i*)a.qs;
            // (planes >> 2k) & 3 | 4k
            const __m512i i0 = _mm512_and_si512(planes, three);
            const __m512i i1 = _mm512_ternarylogic_epi32(_mm512_srli_epi16(planes, 2), three, sel1, 0xEA);
            const __m512i i2 = _mm512_ternarylogic_epi32(_mm512_srli_epi16(planes, 4), three, sel2, 0xEA);
            const __m512i i3 = _mm512_ternarylogic_epi32(_mm512_srli_epi16(planes, 6), three, sel3, 0xEA);
            __m512i s01 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_shuffle_epi8(table, i0), _mm512_loadu_si512(act + 0));
            __m512i s23 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_shuffle_epi8(table, i2), _mm512_loadu_si512(act + 2));
            s01 = _mm512_dpbusd_epi32(s01, _mm512_shuffle_epi8(table, i1), _mm512_loadu_si512(act + 1));
            s23 = _mm512_dpbusd_epi32(s23, _mm512_shuffle_epi8(table, i3), _mm512_loadu_si512(act + 3));
            const __m512i isum = _mm512_add_epi32(s01, s23);
            const __m256i isum8 = _mm256_add_epi32(_mm512_castsi512_si256(isum), _mm512_extracti64x4_epi64(isum, 1));
            // m_j in words 2j and 2j+1 (the high byte zeroed), times the pairs of 16-sums
            const __m256i mins = _mm256_srli_epi16(
                _mm256_maskz_permutexvar_epi8(0x55555555u, min_index, _mm512_castsi512_si256(sm)), 4);
            const __m256i min_sums = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i*)a.bsums), mins);
            int d_dmin;  // the two adjacent halves, as one 32-bit load
            std::memcpy(&d_dmin, &blk.d, 4);
            const __m128 dd = _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(d_dmin)), _mm_set1_ps(a.d));
            const __m512 scales = _mm512_permutexvar_ps(halves, _mm512_castps128_ps512(dd));
            return _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_inserti64x4(_mm512_castsi256_si512(isum8), min_sums, 1)),
                                   scales, acc);
        }
        static float finish(__m512 acc) {
            return simd::hsum(_mm512_castps512_ps256(acc)) - simd::hsum(_mm512_extractf32x8_ps(acc, 1));
        }
    };

    // Per block: one 64-byte load; for each plane k a shift, one ternary-logic op that masks the
    // code and adds a table selector, one vpshufb that turns the code q into sc_j * q (at most 45,
    // still a byte), and one vpdpbusd into a single accumulator. No per-plane integer multiplies.
    //
    // The 16-byte table in each 128-bit lane: entry 4k + q = sc_j * q, where j is the sub-block
    // that lane holds in plane k (lanes 0-1: 2k, lanes 2-3: 2k+1, since plane k covers weights
    // 64k..64k+63). It is built per block with one vpermb (sc_j into the low byte of each word) and
    // one vpmullw by the constant words q0 + 256 q1 of each entry pair.
    //
    // The tail is one convert and one FMA per block: the plane sums, folded to 8 lanes, and the 8
    // min sums (Q8_K's 16-sums times m_j, one vpmaddwd) share a vector, scaled by a.d * d in the
    // low half and a.d * dmin in the high half; the high half is subtracted at the end.
    static float dot(simd::avx512vnni, const Block* w, const Activation::Block* a, std::size_t n) {
        const VnniKernel k;
        __m512 acc = _mm512_setzero_ps();
        for (std::size_t b = 0; b < n / 256; ++b) acc = k.block(w[b], a[b], acc);
        return VnniKernel::finish(acc);
    }

    // Block-sparse decode over R interleaved panel rows (see q8act_kernels::dot_rows): each
    // activation block is read once for all R rows, one accumulator per row.
    template <std::size_t R>
    static void dot_rows(simd::avx512vnni, const Block* w, std::size_t stride, const Activation::Block* a,
                         const std::uint32_t* cols, std::size_t kept, std::size_t per_block, float* out) {
        const VnniKernel kern;
        __m512 acc[R];
        #pragma GCC unroll 16
        for (auto& v : acc) v = _mm512_setzero_ps();
        for (std::size_t k = 0; k < kept; ++k) {
            const Activation::Block* ak = a + std::size_t(cols[k]) * per_block;
            for (std::size_t j = 0; j < per_block; ++j, w += stride) {
                #pragma GCC unroll 16
                for (std::size_t r = 0; r < R; ++r) acc[r] = kern.block(w[r], ak[j], acc[r]);
            }
        }
        if constexpr (R % 8 == 0) {
            // 8 rows at a time: plane half minus min half, then one transposed reduction (a panel
            // row of a sparse matrix may be a single block, so the sums are a fair share of it)
            #pragma GCC unroll 2
            for (std::size_t r = 0; r < R; r += 8) {
                __m256 v[8];
                #pragma GCC unroll 8
                for (std::size_t i = 0; i < 8; ++i)
                    v[i] = _mm256_sub_ps(_mm512_castps512_ps256(acc[r + i]), _mm512_extractf32x8_ps(acc[r + i], 1));
                _mm256_storeu_ps(out + r, q8act_kernels::hsum8(v));
            }
        } else {
            #pragma GCC unroll 8
            for (std::size_t r = 0; r < R; ++r) out[r] = VnniKernel::finish(acc[r]);
        }
    }
#endif
};

}  // namespace ulk::quant
