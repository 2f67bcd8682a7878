// Known-answer vectors: our reference quantizers and dequantizers against ggml's, bit for bit.
//
// tests/data/kat/<fmt>.bin hold inputs, the bytes ggml's quantize_row_*_ref (or fp32->fp16/bf16
// row conversion) made of them, and what ggml's dequantizer made of those bytes; see
// tests/data/kat/README.md for the file format, the inputs and how the files were generated.
// A missing or malformed file fails the test.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "ulk/base/fp16.hpp"
#include "ulk/quant/bf16.hpp"
#include "ulk/quant/f16.hpp"
#include "ulk/quant/format.hpp"
#include "ulk/quant/q4_0.hpp"
#include "ulk/quant/q8_0.hpp"
#if __has_include("ulk/quant/q4_k.hpp")
#include "ulk/quant/q4_k.hpp"
#define ULK_KAT_HAVE_Q4_K 1
#endif
#if __has_include("ulk/quant/q6_k.hpp")
#include "ulk/quant/q6_k.hpp"
#define ULK_KAT_HAVE_Q6_K 1
#endif
#if __has_include("ulk/quant/q3_k.hpp")
#include "ulk/quant/q3_k.hpp"
#define ULK_KAT_HAVE_Q3_K 1
#endif
#if __has_include("ulk/quant/q2_k.hpp")
#include "ulk/quant/q2_k.hpp"
#define ULK_KAT_HAVE_Q2_K 1
#endif
#if __has_include("ulk/quant/q8_k.hpp")
#include "ulk/quant/q8_k.hpp"
#define ULK_KAT_HAVE_Q8_K 1
#endif

#ifndef ULK_TEST_DATA
#error "ULK_TEST_DATA must name the tests/data directory (tests/CMakeLists.txt sets it)"
#endif

namespace {

using ulk::quant::GgmlType;

// One known-answer file: header, then f32 inputs[n], quantized bytes, f32 dequantized[n].
struct Kat {
    std::string path;
    std::uint32_t type = 0, n = 0;
    std::vector<float> x;            // inputs
    std::vector<std::uint8_t> q;     // ggml's quantized bytes
    std::vector<float> y;            // ggml's dequantization of q
};

std::uint32_t le32(const std::uint8_t* p) {
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
}

std::vector<float> le_floats(const std::uint8_t* p, std::size_t n) {
    std::vector<float> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = std::bit_cast<float>(le32(p + 4 * i));
    return v;
}

// Bytes per block and weights per block of the ggml types in the files (ggml-common.h).
struct TypeSize { GgmlType type; std::size_t weights, bytes; };
constexpr TypeSize kTypeSizes[] = {
    {GgmlType::F16, 1, 2},      {GgmlType::BF16, 1, 2},      {GgmlType::Q8_0, 32, 34},
    {GgmlType::Q4_0, 32, 18},   {GgmlType::Q4_K, 256, 144},  {GgmlType::Q6_K, 256, 210},
    {GgmlType::Q3_K, 256, 110}, {GgmlType::Q2_K, 256, 84},   {GgmlType::Q8_K, 256, 292},
};

Kat load_kat(const std::string& name, GgmlType expected) {
    Kat k;
    k.path = std::string(ULK_TEST_DATA) + "/kat/" + name + ".bin";
    INFO("known-answer file ", k.path);
    std::ifstream in(k.path, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "missing known-answer file");
    const std::vector<std::uint8_t> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(raw.size() >= 20);
    REQUIRE(std::memcmp(raw.data(), "ULKKAT1\0", 8) == 0);
    k.type = le32(raw.data() + 8);
    k.n = le32(raw.data() + 12);
    const std::uint32_t qbytes = le32(raw.data() + 16);
    REQUIRE(k.type == std::uint32_t(expected));
    REQUIRE(raw.size() == 20 + std::size_t(k.n) * 8 + qbytes);
    bool known = false;
    for (const auto& ts : kTypeSizes) {
        if (ts.type != expected) continue;
        known = true;
        REQUIRE(k.n > 0);
        REQUIRE(k.n % ts.weights == 0);
        REQUIRE(qbytes == k.n / ts.weights * ts.bytes);
    }
    REQUIRE(known);
    const std::uint8_t* p = raw.data() + 20;
    k.x = le_floats(p, k.n);
    k.q.assign(p + 4 * std::size_t(k.n), p + 4 * std::size_t(k.n) + qbytes);
    k.y = le_floats(p + 4 * std::size_t(k.n) + qbytes, k.n);
    return k;
}

std::string hex_bytes(const std::uint8_t* p, std::size_t from, std::size_t to) {
    std::string s;
    char buf[4];
    for (std::size_t i = from; i < to; ++i) {
        std::snprintf(buf, sizeof buf, "%02x", p[i]);
        if (i > from) s += ' ';
        s += buf;
    }
    return s;
}

std::string float_desc(float f) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g (0x%08x)", double(f), std::bit_cast<std::uint32_t>(f));
    return buf;
}

// Compares two float arrays bit for bit; reports the first difference and the count.
void check_floats_bitexact(const char* what, const std::vector<float>& ours, const std::vector<float>& ggml,
                           std::size_t block_weights) {
    std::size_t first = ours.size(), count = 0;
    for (std::size_t i = 0; i < ours.size(); ++i)
        if (std::bit_cast<std::uint32_t>(ours[i]) != std::bit_cast<std::uint32_t>(ggml[i])) {
            if (count++ == 0) first = i;
        }
    if (count == 0) return;
    std::ostringstream m;
    m << what << ": " << count << " of " << ours.size() << " values differ; first at weight " << first
      << " (format block " << first / block_weights << ", input block " << first / 256 << "): ours "
      << float_desc(ours[first]) << ", ggml " << float_desc(ggml[first]);
    FAIL_CHECK(m.str());
}

template <class F>
void check_known_answers(const std::string& name) {
    using Block = typename F::Block;
    const Kat k = load_kat(name, GgmlType(F::kGgmlType));
    INFO("known-answer file ", k.path);
    REQUIRE(k.n % F::kBlockWeights == 0);
    const std::size_t nb = k.n / F::kBlockWeights;
    REQUIRE(k.q.size() == nb * sizeof(Block));

    // Quantize: every byte equal to ggml's. The output starts zeroed, as in the generator (ggml's
    // Q8_K leaves bsums unwritten for an all-zero block).
    std::vector<Block> ours(nb);
    std::memset(static_cast<void*>(ours.data()), 0, nb * sizeof(Block));
    F::quantize_ref(k.x.data(), ours.data(), k.n);
    const auto* a = reinterpret_cast<const std::uint8_t*>(ours.data());
    const std::uint8_t* b = k.q.data();
    std::size_t first = k.q.size(), bad_blocks = 0;
    for (std::size_t blk = 0; blk < nb; ++blk)
        if (std::memcmp(a + blk * sizeof(Block), b + blk * sizeof(Block), sizeof(Block)) != 0) {
            if (bad_blocks++ == 0)
                for (std::size_t i = blk * sizeof(Block); i < (blk + 1) * sizeof(Block); ++i)
                    if (a[i] != b[i]) { first = i; break; }
        }
    if (bad_blocks != 0) {
        const std::size_t blk = first / sizeof(Block), off = first % sizeof(Block);
        const std::size_t from = blk * sizeof(Block) + (off >= 8 ? off - 8 : 0);
        const std::size_t to = std::min((blk + 1) * sizeof(Block), blk * sizeof(Block) + off + 9);
        std::ostringstream m;
        m << F::kName << " quantize_ref: " << bad_blocks << " of " << nb << " blocks differ from ggml; first: block "
          << blk << " (weights " << blk * F::kBlockWeights << ".." << (blk + 1) * F::kBlockWeights - 1
          << ", input block " << blk * F::kBlockWeights / 256 << "), byte " << off << " of " << sizeof(Block)
          << "\n  ours bytes " << from - blk * sizeof(Block) << "..: " << hex_bytes(a, from, to)
          << "\n  ggml bytes " << from - blk * sizeof(Block) << "..: " << hex_bytes(b, from, to);
        if (F::kBlockWeights == 1) m << "\n  input " << float_desc(k.x[blk]);
        FAIL_CHECK(m.str());
    }

    // Dequantize ggml's bytes: every float bit-equal to ggml's.
    std::vector<Block> theirs(nb);
    std::memcpy(static_cast<void*>(theirs.data()), k.q.data(), k.q.size());
    std::vector<float> y(k.n);
    F::dequantize_ref(theirs.data(), y.data(), k.n);
    check_floats_bitexact((std::string(F::kName) + " dequantize_ref").c_str(), y, k.y, F::kBlockWeights);
}

}  // namespace

TEST_CASE("known answers: every file is present and well formed") {
    const struct { const char* name; GgmlType type; } files[] = {
        {"f16", GgmlType::F16},   {"bf16", GgmlType::BF16}, {"q8_0", GgmlType::Q8_0},
        {"q4_0", GgmlType::Q4_0}, {"q4_k", GgmlType::Q4_K}, {"q6_k", GgmlType::Q6_K},
        {"q3_k", GgmlType::Q3_K}, {"q2_k", GgmlType::Q2_K}, {"q8_k", GgmlType::Q8_K},
    };
    for (const auto& f : files) {
        CAPTURE(f.name);
        const Kat k = load_kat(f.name, f.type);
        CHECK(k.n >= 256 * 8);
    }
}

TEST_CASE("known answers: F16 matches ggml") { check_known_answers<ulk::quant::F16>("f16"); }
TEST_CASE("known answers: BF16 matches ggml") { check_known_answers<ulk::quant::BF16>("bf16"); }
TEST_CASE("known answers: Q8_0 matches ggml") { check_known_answers<ulk::quant::Q8_0>("q8_0"); }
TEST_CASE("known answers: Q4_0 matches ggml") { check_known_answers<ulk::quant::Q4_0>("q4_0"); }
#if defined(ULK_KAT_HAVE_Q4_K)
TEST_CASE("known answers: Q4_K matches ggml") { check_known_answers<ulk::quant::Q4_K>("q4_k"); }
#endif
#if defined(ULK_KAT_HAVE_Q6_K)
TEST_CASE("known answers: Q6_K matches ggml") { check_known_answers<ulk::quant::Q6_K>("q6_k"); }
#endif
#if defined(ULK_KAT_HAVE_Q3_K)
TEST_CASE("known answers: Q3_K matches ggml") { check_known_answers<ulk::quant::Q3_K>("q3_k"); }
#endif
#if defined(ULK_KAT_HAVE_Q2_K)
TEST_CASE("known answers: Q2_K matches ggml") { check_known_answers<ulk::quant::Q2_K>("q2_k"); }
#endif
#if defined(ULK_KAT_HAVE_Q8_K)
TEST_CASE("known answers: Q8_K matches ggml") { check_known_answers<ulk::quant::Q8_K>("q8_k"); }
#endif

// The scalar conversions themselves, value by value, on the F16/BF16 inputs (which include
// infinities, NaNs, f32 denormals, overflow and every kind of rounding tie) and on ggml's bytes.
TEST_CASE("known answers: f16 and bf16 conversions match ggml on every input") {
    auto compare16 = [](const char* what, const Kat& k, auto narrow) {
        std::size_t count = 0, first = 0;
        for (std::size_t i = 0; i < k.n; ++i) {
            const std::uint16_t g = std::uint16_t(k.q[2 * i] | (k.q[2 * i + 1] << 8));
            if (narrow(k.x[i]) != g && count++ == 0) first = i;
        }
        if (count == 0) return;
        const std::uint16_t g = std::uint16_t(k.q[2 * first] | (k.q[2 * first + 1] << 8));
        char buf[64];
        std::snprintf(buf, sizeof buf, "ours 0x%04x, ggml 0x%04x", unsigned(narrow(k.x[first])), unsigned(g));
        std::ostringstream m;
        m << what << ": " << count << " of " << k.n << " inputs differ; first: input " << first << " = "
          << float_desc(k.x[first]) << ": " << buf;
        FAIL_CHECK(m.str());
    };
    auto widen_all = [](const Kat& k, auto widen) {
        std::vector<float> y(k.n);
        for (std::size_t i = 0; i < k.n; ++i) y[i] = widen(std::uint16_t(k.q[2 * i] | (k.q[2 * i + 1] << 8)));
        return y;
    };

    const Kat h = load_kat("f16", GgmlType::F16);
    compare16("f32_to_f16_scalar", h, [](float f) { return ulk::f32_to_f16_scalar(f); });
    // F16C (when compiled in) rounds like ggml but keeps NaN payloads: compare it on the numbers.
    compare16("f32_to_f16 on non-NaN inputs", h, [](float f) {
        return std::isnan(f) ? ulk::f32_to_f16_scalar(f) : ulk::f32_to_f16(f);
    });
    check_floats_bitexact("f16_to_f32_scalar", widen_all(h, [](std::uint16_t v) { return ulk::f16_to_f32_scalar(v); }),
                          h.y, 1);
    check_floats_bitexact("f16_to_f32", widen_all(h, [](std::uint16_t v) { return ulk::f16_to_f32(v); }), h.y, 1);

    const Kat b = load_kat("bf16", GgmlType::BF16);
    compare16("f32_to_bf16", b, [](float f) { return ulk::f32_to_bf16(f); });
    check_floats_bitexact("bf16_to_f32", widen_all(b, [](std::uint16_t v) { return ulk::bf16_to_f32(v); }), b.y, 1);
}
