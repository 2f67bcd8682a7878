// ulk-quantize's library half: presets, overrides and fallbacks pick each tensor's format; the
// output holds the reference quantizer's bytes, reads back through typed views, and stays within
// each format's error bound; bad requests are refused clearly.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "common/hf_to_gguf.hpp"
#include "common/quantize_model.hpp"
#include "hf_checkpoint.hpp"
#include "test_util.hpp"
#include "ulk/gguf/file.hpp"
#include "ulk/ops/bsr_gemv.hpp"

namespace fs = std::filesystem;
using ulk::gguf::GgufFile;

namespace {
using ulk::test::error_of;
struct Converted {
    fs::path dir = fs::temp_directory_path() / ("ulk_quantize_test_" + std::to_string(::getpid()));
    std::string f32;
    Converted() {
        fs::create_directories(dir);
        ulk::test::write_tiny_llama_checkpoint(dir / "ck", {});
        f32 = (dir / "f32.gguf").string();
        ulk::tools::convert_hf_llama({(dir / "ck").string(), f32, "F32", ""});
    }
    ~Converted() { fs::remove_all(dir); }
    std::string out(const std::string& name) const { return (dir / name).string(); }
};
std::vector<float> as_floats(const ulk::gguf::TensorInfo& t) {
    std::vector<float> v(t.elements);
    std::memcpy(v.data(), t.data.data(), v.size() * 4);
    return v;
}
template <class F>
std::vector<float> dequantized(const GgufFile& f, const std::string& name) {
    const auto m = f.matrix<F>(name);
    std::vector<float> v(m.rows * m.cols);
    for (std::size_t r = 0; r < m.rows; ++r) F::dequantize_ref(m.row(r), v.data() + r * m.cols, m.cols);
    return v;
}
}  // namespace

TEST_CASE("presets choose formats as documented, and the bytes are the reference quantizer's") {
    Converted c;
    const auto src = GgufFile::open(c.f32);
    ulk::tools::quantize_model({c.f32, c.out("q4km.gguf"), "Q4_K_M", {}, 2});
    const auto q = GgufFile::open(c.out("q4km.gguf"));
    CHECK(q.tensor("blk.0.attn_q.weight").type.name == "Q4_K");
    // As llama.cpp: with 2 layers, only layer 1 gets more bits.
    CHECK(q.tensor("blk.0.attn_v.weight").type.name == "Q4_K");
    CHECK(q.tensor("blk.1.attn_v.weight").type.name == "Q6_K");
    CHECK(q.tensor("blk.0.ffn_down.weight").type.name == "Q4_K");
    CHECK(q.tensor("blk.1.ffn_down.weight").type.name == "Q6_K");
    CHECK(q.tensor("output.weight").type.name == "Q6_K");
    CHECK(q.tensor("blk.0.attn_norm.weight").type.name == "F32");
    CHECK(q.get_as<std::uint32_t>("general.file_type") == 15);
    CHECK(q.get_string("tokenizer.ggml.model") == "llama");
    CHECK(q.get("ulk.tokenizer.sentencepiece_model").raw_bytes() == src.get("ulk.tokenizer.sentencepiece_model").raw_bytes());

    const auto x = as_floats(src.tensor("blk.0.attn_q.weight"));
    std::vector<ulk::quant::Q4_K::Block> expect(x.size() / 256);
    for (std::size_t r = 0; r < 256; ++r) ulk::quant::Q4_K::quantize_ref(x.data() + r * 256, expect.data() + r, 256);
    const auto& t = q.tensor("blk.0.attn_q.weight");
    CHECK(std::memcmp(t.data.data(), expect.data(), t.nbytes) == 0);
    // Within the stated bound (docs/formats.md: relative RMS error of Q4_K on Gaussian weights < 0.09).
    CHECK(ulk::test::relative_rms(x, dequantized<ulk::quant::Q4_K>(q, "blk.0.attn_q.weight")) < 0.09);
}

TEST_CASE("the fast 2-bit preset writes ulk's format with its key, embeddings and output at Q8_0") {
    Converted c;
    ulk::tools::quantize_model({c.f32, c.out("q2p.gguf"), "Q2P", {{"blk.1.*", "Q4_0"}}, 1});
    const auto q = GgufFile::open(c.out("q2p.gguf"));
    CHECK(q.tensor("blk.0.ffn_up.weight").type.name == "I8");
    CHECK(q.get_string("ulk.format.blk.0.ffn_up.weight") == "Q2Planar");
    CHECK(q.tensor("token_embd.weight").type.name == "Q8_0");
    CHECK(q.tensor("blk.1.ffn_up.weight").type.name == "Q4_0");  // the override
    CHECK(q.find("ulk.format.blk.1.ffn_up.weight") == nullptr);
    const auto src = GgufFile::open(c.f32);
    const auto x = as_floats(src.tensor("blk.0.ffn_up.weight"));
    const auto y = dequantized<ulk::quant::Q2Planar>(q, "blk.0.ffn_up.weight");
    CHECK(ulk::test::relative_rms(x, y) < 0.36);  // docs/formats.md bound for Q2Planar
}

TEST_CASE("overrides: the last match wins; a block that does not divide the row falls back") {
    Converted c;
    ulk::tools::quantize_model({c.f32, c.out("o.gguf"), "Q8_0", {{"*.ffn_*", "Q4_0"}, {"*.ffn_up.weight", "Q6_K"}}, 1});
    const auto q = GgufFile::open(c.out("o.gguf"));
    CHECK(q.tensor("blk.0.ffn_gate.weight").type.name == "Q4_0");
    CHECK(q.tensor("blk.0.ffn_up.weight").type.name == "Q6_K");
    CHECK(q.tensor("blk.0.attn_k.weight").type.name == "Q8_0");

    ulk::gguf::TensorInfo odd;
    odd.name = "blk.0.ffn_down.weight";
    odd.dims = {96, 4};
    const auto [fmt, note] = ulk::tools::choose_format(odd, ulk::tools::find_preset("Q4_K_M"), {}, 2);
    CHECK(fmt == "Q8_0");
    CHECK(note.find("not a multiple of 256") != std::string::npos);
    // llama.cpp's more-bits layers for 32 layers: 0-3, 28-31, and every third from 6.
    std::vector<int> more;
    for (int l = 0; l < 32; ++l)
        if (ulk::tools::layer_gets_more_bits(l, 32)) more.push_back(l);
    CHECK(more == std::vector<int>{0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31});
}

TEST_CASE("quantize refuses quantized input, unknown presets and formats, with the choices") {
    Converted c;
    ulk::tools::quantize_model({c.f32, c.out("q8.gguf"), "Q8_0", {}, 1});
    const std::string re = error_of([&] { ulk::tools::quantize_model({c.out("q8.gguf"), c.out("x.gguf"), "Q4_0", {}, 1}); });
    CHECK(re.find("already quantized") != std::string::npos);
    CHECK(re.find("found Q8_0") != std::string::npos);
    const std::string preset = error_of([&] { ulk::tools::quantize_model({c.f32, c.out("x.gguf"), "Q5_K", {}, 1}); });
    CHECK(preset.find("unknown preset") != std::string::npos);
    CHECK(preset.find("Q4_K_M") != std::string::npos);
    const std::string fmt = error_of([&] { ulk::tools::quantize_model({c.f32, c.out("x.gguf"), "Q4_0", {{"*", "Q9"}}, 1}); });
    CHECK(fmt.find("unknown tensor format") != std::string::npos);
    CHECK_FALSE(fs::exists(c.out("x.gguf")));
}

TEST_CASE("--sparse prunes the FFN tensors by block magnitude and stores them block-sparse") {
    Converted c;
    ulk::tools::QuantizeOptions o{c.f32, c.out("s.gguf"), "Q4_0", {}, 2};
    o.sparse.density = 0.5;
    o.sparse.block_rows = 4;
    o.sparse.block_cols = 32;
    const auto summary = ulk::tools::quantize_model(o);
    const auto q = GgufFile::open(c.out("s.gguf"));
    CHECK(q.find_tensor("blk.0.ffn_up.weight") == nullptr);
    CHECK(q.find_tensor("blk.0.attn_q.weight") != nullptr);  // not matched by the pattern
    const auto v = ulk::gguf::block_sparse<ulk::quant::Q4_0>(q, "blk.0.ffn_up.weight");
    CHECK(v.density() == doctest::Approx(0.5));
    // The file's matrix is the source with the pruned blocks zeroed, quantized.
    const auto src = GgufFile::open(c.f32);
    auto w = as_floats(src.tensor("blk.0.ffn_up.weight"));
    const auto mask = ulk::sparse::choose_blocks(w.data(), 512, 256, 4, 32, 0.5, ulk::sparse::PruneMethod::Magnitude);
    ulk::sparse::zero_pruned(w.data(), mask);
    const auto dense = ulk::quant::PackedMatrix<ulk::quant::Q4_0, 512, 256>::quantize(w);
    const auto x = ulk::test::normal_vector(256, 3);
    std::vector<float> a(512), b(512);
    ulk::ops::bsr_gemv_ref<ulk::quant::Q4_0>(v, x.data(), a.data());
    ulk::ops::gemv_ref<ulk::quant::Q4_0>(dense.view(), x.data(), b.data());
    CHECK(a == b);
    std::size_t sparse_tensors = 0;
    for (const auto& t : summary.tensors) sparse_tensors += t.density < 1.0;
    CHECK(sparse_tensors == 6);
    ulk::tools::QuantizeOptions bad = o;
    bad.sparse.block_cols = 48;
    CHECK(error_of([&] { ulk::tools::quantize_model(bad); }).find("sparse block shape does not fit") != std::string::npos);
}
