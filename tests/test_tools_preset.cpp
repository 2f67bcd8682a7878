// `ulk-inspect --preset`: the preset printed for a file is the one the file loads with.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/preset_from_file.hpp"
#include "common/quantize_model.hpp"
#include "model_fixtures.hpp"

using namespace ulk;
namespace fs = std::filesystem;

TEST_CASE("ulk-inspect --preset prints the file's shape, formats and sparsity, and flags per-layer mixes") {
    const fs::path dir = fs::temp_directory_path() / ("ulk_preset_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    test::RandomLlama m;
    m.rope_base = 500000;
    test::write_bytes(dir / "f32.gguf", test::random_llama_gguf(m));
    const std::string f32 = tools::preset_from_file(gguf::GgufFile::open((dir / "f32.gguf").string()));
    INFO(f32);
    CHECK(f32.find("kVocab = 320, kDim = 256, kLayers = 2, kHeads = 4, kKvHeads = 2") != std::string::npos);
    CHECK(f32.find("kFfn = 512, kContext = 128") != std::string::npos);
    CHECK(f32.find("kRopeBase = 500000;") != std::string::npos);
    CHECK(f32.find("kNormEps = 9.99999975e-06f;") != std::string::npos);
    CHECK(f32.find("kTiedOutput = false;") != std::string::npos);
    CHECK(f32.find("using AttentionFormat = ulk::quant::F32;") != std::string::npos);

    tools::QuantizeOptions o{(dir / "f32.gguf").string(), (dir / "q4.gguf").string(), "Q4_0", {{"blk.*.attn_v.weight", "Q8_0"}}, 1};
    o.sparse.density = 0.5;
    o.sparse.block_rows = 16;
    o.sparse.block_cols = 64;
    o.sparse.tensors = "blk.*.ffn_*";
    tools::quantize_model(o);
    const std::string q4 = tools::preset_from_file(gguf::GgufFile::open((dir / "q4.gguf").string()));
    INFO(q4);
    CHECK(q4.find("using EmbeddingFormat = ulk::quant::Q4_0;") != std::string::npos);
    CHECK(q4.find("using OutputFormat = ulk::quant::Q6_K;") != std::string::npos);
    CHECK(q4.find("using AttnVFormat = ulk::quant::Q8_0;") != std::string::npos);
    CHECK(q4.find("kFfnSparsity{16, 64, 0.5}") != std::string::npos);
    CHECK(q4.find("kAttentionSparsity") == std::string::npos);

    // llama.cpp's Q4_K_M mix gives attn_v and ffn_down Q6_K in some layers only: no preset fits.
    tools::quantize_model({(dir / "f32.gguf").string(), (dir / "q4km.gguf").string(), "Q4_K_M", {}, 1});
    const std::string km = tools::preset_from_file(gguf::GgufFile::open((dir / "q4km.gguf").string()));
    INFO(km);
    CHECK(km.find("varies by layer") != std::string::npos);
    fs::remove_all(dir);
}
