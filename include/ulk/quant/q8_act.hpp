#pragma once
// Q8Act<ZeroPoint>: the activation format of the 32-weight integer formats (Q8_0, Q4_0).
//
// Activations are quantized once per token (per GEMV input) and reused by every row, so this
// block carries precomputed work: `bias` holds, per group of four activations, -ZeroPoint times
// their sum. VNNI's vpdpbusd multiplies unsigned by signed bytes; a weight format stored with an
// unsigned offset (Q4_0: q = w + 8; Q8_0 after XOR 0x80: q = w + 128) then gets the exact signed
// dot as vpdpbusd(bias, q, x), with no extra instruction per block.
//
// Layout (68 bytes): qs[32] int8 | bias[8] int32 (lane i: -ZeroPoint * sum qs[4i..4i+3]) | d f32
// x = d * qs; d = max|x| / 127, rounded to nearest even (our format: d stays f32, unlike ggml's
// q8_0, since activations never leave memory).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ulk/quant/format.hpp"
#include "ulk/simd/narrow.hpp"
#include "ulk/simd/reduce.hpp"

namespace ulk::quant {

template <int ZeroPoint>
struct BlockQ8Act {
    std::int8_t qs[32];
    std::int32_t bias[8];
    float d;
};
static_assert(sizeof(BlockQ8Act<8>) == 68, "BlockQ8Act: 32 int8 + 8 int32 + f32");

template <int ZeroPoint>
struct Q8Act {
    static constexpr std::string_view kName = "Q8Act";
    static constexpr int kGgmlType = kNotGgml;
    static constexpr std::size_t kBlockWeights = 32;
    using Block = BlockQ8Act<ZeroPoint>;
    using Activation = Q8Act;

    static void quantize_ref(const float* x, Block* y, std::size_t n) {
        for (std::size_t b = 0; b < n / 32; ++b, x += 32) {
            float amax = 0;
            for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
            const float d = amax / 127.f;
            const float id = d != 0 ? 127.f / amax : 0.f;
            for (int j = 0; j < 32; ++j) y[b].qs[j] = std::int8_t(std::nearbyint(x[j] * id));
            finish(y[b], d);
        }
    }
    static void dequantize_ref(const Block* x, float* y, std::size_t n) {
        for (std::size_t b = 0; b < n / 32; ++b)
            for (int j = 0; j < 32; ++j) y[b * 32 + j] = x[b].d * float(x[b].qs[j]);
    }
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
    // Same bytes as quantize_ref, two blocks per step: the scales are the same scalar divisions,
    // the codes one multiply and round-to-nearest-even convert per value, narrowed together, and
    // the bias lanes two multiply-adds (pairs of codes, then pairs of pairs times -ZeroPoint).
    // Codes never leave [-127, 127] (|x| <= amax), so the narrowing's saturation never acts.
    static void quantize(simd::avx512vnni, const float* x, Block* y, std::size_t n) {
        const __m512 sign = _mm512_set1_ps(-0.f);
        const __m512i ones = _mm512_set1_epi8(1);
        const __m512i minus_zero_point = _mm512_set1_epi16(std::int16_t(-ZeroPoint));
        auto scale = [&](__m512 v0, __m512 v1, float& d) {  // d = amax / 127; returns 1 / d in all lanes
            const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_andnot_ps(sign, v0), _mm512_andnot_ps(sign, v1)));
            d = amax / 127.f;
            return _mm512_set1_ps(d != 0 ? 127.f / amax : 0.f);
        };
        const std::size_t nb = n / 32;
        for (std::size_t b = 0; b < nb; b += 2, x += 64) {
            const bool pair = b + 1 < nb;  // an odd last block runs with zeros as its partner
            const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
            const __m512 v2 = pair ? _mm512_loadu_ps(x + 32) : _mm512_setzero_ps();
            const __m512 v3 = pair ? _mm512_loadu_ps(x + 48) : _mm512_setzero_ps();
            float d0, d1;
            const __m512 id0 = scale(v0, v1, d0), id1 = scale(v2, v3, d1);
            // cvtps rounds to nearest even under the default MXCSR, like nearbyint above
            const __m512i q = simd::narrow4_epi32_epi8(
                _mm512_cvtps_epi32(_mm512_mul_ps(v0, id0)), _mm512_cvtps_epi32(_mm512_mul_ps(v1, id0)),
                _mm512_cvtps_epi32(_mm512_mul_ps(v2, id1)), _mm512_cvtps_epi32(_mm512_mul_ps(v3, id1)));
            const __m512i bias = _mm512_madd_epi16(_mm512_maddubs_epi16(ones, q), minus_zero_point);
            _mm256_storeu_si256((__m256i*)y[b].qs, _mm512_castsi512_si256(q));
            _mm256_storeu_si256((__m256i*)y[b].bias, _mm512_castsi512_si256(bias));
            y[b].d = d0;
            if (pair) {
                _mm256_storeu_si256((__m256i*)y[b + 1].qs, _mm512_extracti64x4_epi64(q, 1));
                _mm256_storeu_si256((__m256i*)y[b + 1].bias, _mm512_extracti64x4_epi64(bias, 1));
                y[b + 1].d = d1;
            }
        }
    }
#endif

private:
    static void finish(Block& y, float d) {
        y.d = d;
        for (int i = 0; i < 8; ++i)
            y.bias[i] = -ZeroPoint * (y.qs[4 * i] + y.qs[4 * i + 1] + y.qs[4 * i + 2] + y.qs[4 * i + 3]);
    }
};

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__)
// The AVX-512 VNNI kernels of every format whose activation is Q8Act. A format supplies only
// `unpack(block)`: its 32 codes as unsigned bytes in a 256-bit vector, with its zero point equal
// to the activation's; everything else (bias lanes, scales, accumulation) is shared here. For the
// GEMM tile it also supplies `load8` (see dot_tile8).
namespace q8act_kernels {

template <class Block>
inline __m256 scale_product(const Block& w, float d_act) { return simd::scale_product(w.d, d_act); }

// Dot of one row of n weights with one activation vector.
template <class Unpack, class Block, int ZeroPoint>
inline float dot(Unpack unpack, const Block* w, const BlockQ8Act<ZeroPoint>* a, std::size_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    auto block = [&](std::size_t i, __m256 acc) {
        const __m256i dot = _mm256_dpbusd_epi32(_mm256_loadu_si256((const __m256i*)a[i].bias), unpack(w[i]),
                                                _mm256_loadu_si256((const __m256i*)a[i].qs));
        return _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale_product(w[i], a[i].d), acc);
    };
    const std::size_t nb = n / 32;
    std::size_t b = 0;
    for (; b + 2 <= nb; b += 2) {  // two chains hide the convert + FMA latency
        // 2 KB ahead: with two threads streaming, the hardware prefetchers alone leave bandwidth unused
        _mm_prefetch((const char*)(w + b) + 2048, _MM_HINT_T0);
        acc0 = block(b, acc0);
        acc1 = block(b + 1, acc1);
    }
    if (b < nb) acc0 = block(b, acc0);
    return simd::hsum(_mm256_add_ps(acc0, acc1));
}

// Sum of each of 8 vectors, lane r = sum of v[r]: a transposed reduction, 7 horizontal adds for
// 8 rows instead of 5 shuffles and adds per row.
inline __m256 hsum8(const __m256* v) {
    const __m256 h0 = _mm256_hadd_ps(v[0], v[1]), h1 = _mm256_hadd_ps(v[2], v[3]);
    const __m256 h2 = _mm256_hadd_ps(v[4], v[5]), h3 = _mm256_hadd_ps(v[6], v[7]);
    const __m256 g0 = _mm256_hadd_ps(h0, h1), g1 = _mm256_hadd_ps(h2, h3);  // 128-bit halves: rows 0-3 | 4-7
    return _mm256_add_ps(_mm256_permute2f128_ps(g0, g1, 0x20), _mm256_permute2f128_ps(g0, g1, 0x31));
}

// Block-sparse decode (sparse/block_sparse_matrix.hpp): R rows of a panel against the activation
// blocks their kept blocks meet. w[f * stride + r] is F-block f of row r; F-block f = k * per_block
// + j meets a[cols[k] * per_block + j]. Each activation block is loaded once for all R rows, each
// row keeps one accumulator, and the panel streams from start to end. out[r].
template <std::size_t R, class Unpack, class Block, int ZeroPoint>
inline void dot_rows(Unpack unpack, const Block* w, std::size_t stride, const BlockQ8Act<ZeroPoint>* a,
                     const std::uint32_t* cols, std::size_t kept, std::size_t per_block, float* out) {
    __m256 acc[R];
    #pragma GCC unroll 16
    for (auto& v : acc) v = _mm256_setzero_ps();
    for (std::size_t k = 0; k < kept; ++k) {
        const BlockQ8Act<ZeroPoint>* ak = a + std::size_t(cols[k]) * per_block;
        for (std::size_t j = 0; j < per_block; ++j, w += stride) {
            const __m256i bias = _mm256_loadu_si256((const __m256i*)ak[j].bias);
            const __m256i qs = _mm256_loadu_si256((const __m256i*)ak[j].qs);
            #pragma GCC unroll 16
            for (std::size_t r = 0; r < R; ++r) {
                // 2 KB ahead, once per 64 bytes of rows (as the dense dot)
                if (r * sizeof(Block) / 64 != (r + 1) * sizeof(Block) / 64 || r == 0)
                    _mm_prefetch((const char*)(w + r) + 2048, _MM_HINT_T0);
                const __m256i d = _mm256_dpbusd_epi32(bias, unpack(w[r]), qs);
                acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), scale_product(w[r], ak[j].d), acc[r]);
            }
        }
    }
    if constexpr (R % 8 == 0) {
        #pragma GCC unroll 2
        for (std::size_t r = 0; r < R; r += 8) _mm256_storeu_ps(out + r, hsum8(acc + r));
    } else {
        #pragma GCC unroll 8
        for (std::size_t r = 0; r < R; ++r) out[r] = simd::hsum(acc[r]);
    }
}

// Transposes 8 rows of 16 bytes (p[r]) at 4-byte granularity: t[g] lane r = row r's bytes
// 4g..4g+3. Two 4x4 dword transposes, one per 128-bit lane (rows 0-3 low, rows 4-7 high).
inline void transpose8x16(const void* const* p, __m256i t[4]) {
    __m256i z[4];
    #pragma GCC unroll 16
    for (int k = 0; k < 4; ++k)
        z[k] = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i*)p[k])),
                                       _mm_loadu_si128((const __m128i*)p[k + 4]), 1);
    const __m256i t0 = _mm256_unpacklo_epi32(z[0], z[1]), t1 = _mm256_unpackhi_epi32(z[0], z[1]);
    const __m256i t2 = _mm256_unpacklo_epi32(z[2], z[3]), t3 = _mm256_unpackhi_epi32(z[2], z[3]);
    t[0] = _mm256_unpacklo_epi64(t0, t2);
    t[1] = _mm256_unpackhi_epi64(t0, t2);
    t[2] = _mm256_unpacklo_epi64(t1, t3);
    t[3] = _mm256_unpackhi_epi64(t1, t3);
}

// GEMM micro-kernel: 8 rows x TT tokens, one row per 32-bit lane; row r's block b is w[r][b * stride]
// (stride 1 for a dense matrix, BR for a block-sparse panel). A format supplies
// `load8(w, b, q)`: block b of the 8 rows as signed codes (code - zero point), transposed so that
// q[g] lane r = row r's weights 4g..4g+3. The roles of vpdpbusd's operands are swapped: the
// activation is the unsigned one (qs XOR 0x80 = x + 128, broadcast one 4-byte group at a time
// from a small per-block buffer), the weights the signed one; the +128 * sum(w) this adds is a
// per-(row, block) constant, subtracted once per block from the starting value. Per (token, block)
// the work is 8 vpdpbusd for all 8 rows, then one convert, one scale product and one FMA, 8 rows
// wide. out[t * ldo + r].
template <std::size_t TT, class Load8, class Block, int ZeroPoint>
inline void dot_tile8(Load8 load8, const Block* const* w, std::size_t stride, const BlockQ8Act<ZeroPoint>* const* a,
                      std::size_t n, float* out, std::size_t ldo) {
    __m256 acc[TT];
    #pragma GCC unroll 16
    for (auto& v : acc) v = _mm256_setzero_ps();
    const __m256i k80 = _mm256_set1_epi8(char(0x80));
    for (std::size_t b = 0; b < n / 32; ++b) {
        alignas(32) std::int32_t xu[TT][8];  // token t's qs + 128, as 8 groups of 4 bytes
        #pragma GCC unroll 16
        for (std::size_t t = 0; t < TT; ++t)
            _mm256_store_si256((__m256i*)xu[t], _mm256_xor_si256(_mm256_loadu_si256((const __m256i*)a[t][b].qs), k80));
        // Opaque to the optimizer: the groups must come back as broadcast loads (no ALU work),
        // not as shuffles of the registers just stored.
        asm("" : "+m"(xu));
        __m256i q[8];
        load8(w, b * stride, q);
        __m256i s = _mm256_setzero_si256();  // 128 * sum of each row's codes
        #pragma GCC unroll 16
        for (int g = 0; g < 8; ++g) s = _mm256_dpbusd_epi32(s, k80, q[g]);
        const __m256i start = _mm256_sub_epi32(_mm256_setzero_si256(), s);
        const std::size_t wb = b * stride;
        const __m256 dw = _mm256_cvtph_ps(_mm_setr_epi16(short(w[0][wb].d), short(w[1][wb].d), short(w[2][wb].d),
                                                         short(w[3][wb].d), short(w[4][wb].d), short(w[5][wb].d),
                                                         short(w[6][wb].d), short(w[7][wb].d)));
        #pragma GCC unroll 16
        for (std::size_t t = 0; t < TT; ++t) {
            __m256i d = start;
            #pragma GCC unroll 16
            for (int g = 0; g < 8; ++g) d = _mm256_dpbusd_epi32(d, _mm256_set1_epi32(xu[t][g]), q[g]);
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), _mm256_mul_ps(dw, _mm256_set1_ps(a[t][b].d)), acc[t]);
        }
    }
    #pragma GCC unroll 16
    for (std::size_t t = 0; t < TT; ++t) _mm256_storeu_ps(out + t * ldo, acc[t]);
}

}  // namespace q8act_kernels
#endif

}  // namespace ulk::quant
