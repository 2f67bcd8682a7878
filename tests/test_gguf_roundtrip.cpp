// GGUF writer -> reader round trips: every metadata type (nested arrays too), every tensor type,
// alignment, zero-copy matrix views, and atomic writes.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "gguf_samples.hpp"
#include "test_util.hpp"
#include "ulk/gguf/file.hpp"
#include "ulk/gguf/writer.hpp"
#include "ulk/quant/all_formats.hpp"

using namespace ulk::gguf;
namespace fs = std::filesystem;

namespace {
using ulk::test::error_of;
fs::path scratch_dir() {
    const fs::path d = fs::temp_directory_path() / ("ulk_gguf_test_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
}
}  // namespace

TEST_CASE("every metadata value type survives a round trip") {
    GgufWriter w;
    w.set("u8", std::uint8_t(200));
    w.set("i8", std::int8_t(-100));
    w.set("u16", std::uint16_t(60000));
    w.set("i16", std::int16_t(-30000));
    w.set("u32", std::uint32_t(4000000000u));
    w.set("i32", std::int32_t(-2000000000));
    w.set("f32", 1.5f);
    w.set("bool", true);
    w.set("string", "안녕하세요 ㅋㅋ");
    w.set("empty", "");
    w.set("u64", std::numeric_limits<std::uint64_t>::max());
    w.set("i64", std::numeric_limits<std::int64_t>::min());
    w.set("f64", 2.25);
    w.set("a_u8", Value::array(std::vector<std::uint8_t>{1, 2, 255}));
    w.set("a_i8", Value::array(std::vector<std::int8_t>{-1, 0, 1}));
    w.set("a_u16", Value::array(std::vector<std::uint16_t>{1, 65535}));
    w.set("a_i16", Value::array(std::vector<std::int16_t>{-32768, 32767}));
    w.set("a_u32", Value::array(std::vector<std::uint32_t>{7}));
    w.set("a_i32", Value::array(std::vector<std::int32_t>{-7, 7}));
    w.set("a_f32", Value::array(std::vector<float>{0.5f, -0.25f}));
    w.set("a_bool", Value::array(std::vector<bool>{true, false, true}));
    w.set("a_u64", Value::array(std::vector<std::uint64_t>{1ull << 40}));
    w.set("a_i64", Value::array(std::vector<std::int64_t>{-(1ll << 40)}));
    w.set("a_f64", Value::array(std::vector<double>{1e300}));
    w.set("a_str", Value::array(std::vector<std::string>{"▁가", "", "ㅠㅠ"}));
    w.set("a_empty", Value::array(std::vector<std::uint32_t>{}));
    w.set("a_nested", Value::array(std::vector<Value>{
                          Value::array(std::vector<std::uint8_t>{1, 2}),
                          Value::array(std::vector<Value>{Value::array(std::vector<std::string>{"깊이"})}),
                          Value::array(std::vector<float>{}),
                      }));
    const auto bytes = w.to_bytes();
    const auto f = GgufFile::from_bytes(bytes, "meta.gguf");
    CHECK(f.version() == 3);
    REQUIRE(f.metadata().size() == 27);
    CHECK(f.tensors().empty());

    CHECK(f.get_as<std::uint8_t>("u8") == 200);
    CHECK(f.get_as<int>("i8") == -100);
    CHECK(f.get_as<std::uint16_t>("u16") == 60000);
    CHECK(f.get_as<std::int16_t>("i16") == -30000);
    CHECK(f.get_as<std::uint32_t>("u32") == 4000000000u);
    CHECK(f.get_as<std::int32_t>("i32") == -2000000000);
    CHECK(f.get_as<float>("f32") == 1.5f);
    CHECK(f.get_as<bool>("bool"));
    CHECK(f.get_string("string") == "안녕하세요 ㅋㅋ");
    CHECK(f.get_string("empty").empty());
    CHECK(f.get_as<std::uint64_t>("u64") == std::numeric_limits<std::uint64_t>::max());
    CHECK(f.get_as<std::int64_t>("i64") == std::numeric_limits<std::int64_t>::min());
    CHECK(f.get_as<double>("f64") == 2.25);
    CHECK(f.get("a_u8").as_vector<int>("a_u8") == std::vector<int>{1, 2, 255});
    CHECK(f.get("a_i16").as_vector<int>("a_i16") == std::vector<int>{-32768, 32767});
    CHECK(f.get("a_f32").as_vector<float>("a_f32") == std::vector<float>{0.5f, -0.25f});
    CHECK(f.get("a_bool").as_vector<bool>("a_bool") == std::vector<bool>{true, false, true});
    CHECK(f.get("a_u64").as_vector<std::uint64_t>("a_u64") == std::vector<std::uint64_t>{1ull << 40});
    CHECK(f.get("a_str").as_strings("a_str") == std::vector<std::string>{"▁가", "", "ㅠㅠ"});
    CHECK(f.get("a_empty").size() == 0);
    const auto& nested = f.get("a_nested").as_arrays("a_nested");
    REQUIRE(nested.size() == 3);
    CHECK(nested[0].as_vector<int>("") == std::vector<int>{1, 2});
    CHECK(nested[1].as_arrays("")[0].as_strings("") == std::vector<std::string>{"깊이"});
    CHECK(nested[2].element_type() == ValueType::F32);
    // Every value compares equal to what was written, in the order written.
    GgufWriter again;
    for (const auto& [k, v] : f.metadata()) again.set(k, v);
    CHECK(again.to_bytes() == bytes);
}

TEST_CASE("metadata conversions refuse values that do not fit, naming the key") {
    GgufWriter w;
    w.set("big", std::uint32_t(70000));
    w.set("neg", std::int32_t(-1));
    w.set("name", "llama");
    const auto f = GgufFile::from_bytes(w.to_bytes(), "conv.gguf");
    CHECK(f.get_as<std::uint64_t>("big") == 70000);
    const std::string e1 = error_of([&] { (void)f.get_as<std::uint16_t>("big"); });
    CHECK(e1.find("'big'") != std::string::npos);
    CHECK(e1.find("u32") != std::string::npos);
    CHECK_FALSE(error_of([&] { (void)f.get_as<std::uint32_t>("neg"); }).empty());
    CHECK_FALSE(error_of([&] { (void)f.get_as<std::uint32_t>("name"); }).empty());
    const std::string e2 = error_of([&] { (void)f.get("missing.key"); });
    CHECK(e2.find("missing") != std::string::npos);
    CHECK(e2.find("conv.gguf") != std::string::npos);
}

TEST_CASE("every tensor type survives a round trip, aligned, with exact bytes") {
    for (std::size_t alignment : {32u, 64u, 4096u}) {
        GgufWriter w(alignment);
        std::vector<std::vector<std::byte>> data;
        for (const TensorType& t : kTensorTypes) {
            data.push_back(ulk::test::random_bytes(std::size_t(t.block_bytes) * 2 * 3, t.id));
            w.add_tensor("t." + std::string(t.name), t.id, {std::uint64_t(t.block_weights) * 2, 3}, data.back());
        }
        const auto bytes = w.to_bytes();
        CHECK(bytes.size() == w.file_size());
        const auto f = GgufFile::from_bytes(bytes, "types.gguf");
        CHECK(f.alignment() == alignment);
        REQUIRE(f.tensors().size() == kTensorTypes.size());
        for (std::size_t i = 0; i < kTensorTypes.size(); ++i) {
            const TensorInfo& t = f.tensors()[i];
            CAPTURE(t.name);
            CHECK(t.type.id == kTensorTypes[i].id);
            CHECK(t.dims == std::vector<std::uint64_t>{std::uint64_t(kTensorTypes[i].block_weights) * 2, 3});
            CHECK(t.rows() == 3);
            CHECK((t.file_offset % alignment) == 0);
            REQUIRE(t.data.size() == data[i].size());
            CHECK(std::equal(t.data.begin(), t.data.end(), data[i].begin()));
        }
    }
}

TEST_CASE("matrix views bind tensors to formats without copying, and check type and shape") {
    ulk::test::SampleFile sample;
    const auto f = GgufFile::from_bytes(sample.bytes(), "sample.gguf");
    const auto q8 = f.matrix<ulk::quant::Q8_0>("blk.0.attn_q.weight");
    CHECK(q8.rows == 4);
    CHECK(q8.cols == 64);
    CHECK(static_cast<const void*>(q8.data) == f.tensor("blk.0.attn_q.weight").data.data());
    CHECK(std::memcmp(q8.data, sample.q8.data(), sample.q8.size()) == 0);

    using Q4 = ulk::quant::PackedMatrix<ulk::quant::Q4_0, 2, 64>;
    const Q4 q4 = f.packed<Q4>("blk.0.ffn_up.weight");
    CHECK(std::memcmp(q4.data(), sample.q4.data(), sample.q4.size()) == 0);

    const std::string wrong_type = error_of([&] { (void)f.matrix<ulk::quant::Q4_0>("blk.0.attn_q.weight"); });
    CHECK(wrong_type.find("different type") != std::string::npos);
    CHECK(wrong_type.find("expected Q4_0, found Q8_0") != std::string::npos);
    CHECK(wrong_type.find("blk.0.attn_q.weight") != std::string::npos);

    using Q4Wrong = ulk::quant::PackedMatrix<ulk::quant::Q4_0, 4, 64>;
    const std::string wrong_shape = error_of([&] { (void)f.packed<Q4Wrong>("blk.0.ffn_up.weight"); });
    CHECK(wrong_shape.find("expected 4 rows x 64 columns, found 2 rows x 64 columns") != std::string::npos);
    CHECK(error_of([&] { (void)f.tensor("blk.9.attn_q.weight"); }).find("tensor is missing") != std::string::npos);
}

TEST_CASE("the library's own formats are stored as I8 rows plus a format key") {
    using ulk::quant::Q2Planar;
    const auto dense = ulk::test::normal_vector(3 * 256, 9);
    std::vector<std::byte> packed(ulk::quant::row_bytes<Q2Planar>(256) * 3);
    for (int r = 0; r < 3; ++r)
        Q2Planar::quantize_ref(dense.data() + r * 256, reinterpret_cast<Q2Planar::Block*>(packed.data()) + r, 256);
    GgufWriter w;
    w.set(own_format_key("w"), std::string(Q2Planar::kName));
    w.add_tensor("w", 24, {ulk::quant::row_bytes<Q2Planar>(256), 3}, packed);
    w.add_tensor("plain", 24, {ulk::quant::row_bytes<Q2Planar>(256), 3}, packed);
    const auto f = GgufFile::from_bytes(w.to_bytes(), "own.gguf");
    const auto v = f.matrix<Q2Planar>("w");
    CHECK(v.rows == 3);
    CHECK(v.cols == 256);
    CHECK(error_of([&] { (void)f.matrix<Q2Planar>("plain"); }).find("format none") != std::string::npos);
}

TEST_CASE("writer rejects what llama.cpp could not read") {
    GgufWriter w;
    const std::vector<std::byte> ten(10);
    CHECK(error_of([&] { w.add_tensor(std::string(64, 'x'), 0, {1}, std::span(ten).first(4)); }).find("1..63") != std::string::npos);
    CHECK(error_of([&] { w.add_tensor("a", 0, {3}, std::span(ten).first(4)); }).find("expected 12 bytes") != std::string::npos);
    CHECK(error_of([&] { w.add_tensor("a", 2, {16}, std::span(ten)); }).find("multiple of 32") != std::string::npos);
    CHECK(error_of([&] { w.add_tensor("a", 99, {1}, std::span(ten)); }).find("unknown tensor type") != std::string::npos);
    CHECK(error_of([&] { w.add_tensor("a", 0, {1, 1, 1, 1, 1}, std::span(ten).first(4)); }).find("dimensions") != std::string::npos);
    w.add_tensor("a", 0, {1}, std::span(ten).first(4));
    CHECK(error_of([&] { w.add_tensor("a", 0, {1}, std::span(ten).first(4)); }).find("duplicate") != std::string::npos);
    CHECK(error_of([] { GgufWriter bad(48); }).find("power of two") != std::string::npos);
}

TEST_CASE("files are written atomically and mapped back unchanged") {
    const fs::path dir = scratch_dir();
    const fs::path path = dir / "model.gguf";
    ulk::test::SampleFile sample;
    sample.writer.write(path.string());
    const auto expected = sample.bytes();
    {
        const auto f = GgufFile::open(path.string());
        CHECK(f.tensors().size() == 3);
        CHECK(fs::file_size(path) == expected.size());
        const auto& t = f.tensor("output_norm.weight");
        CHECK(std::equal(t.data.begin(), t.data.end(), sample.norm.begin()));
        CHECK(reinterpret_cast<std::uintptr_t>(t.data.data()) % 32 == 0);
    }
    // A failure while writing (here: the producer of a tensor throws) leaves the old file whole
    // and no temporary file behind.
    GgufWriter failing;
    failing.set("general.architecture", "llama");
    failing.add_tensor("x", 0, {4}, GgufWriter::Producer([](std::span<std::byte>) {
                           throw ulk::Error("disk full (simulated)");
                       }));
    CHECK(error_of([&] { failing.write(path.string()); }).find("simulated") != std::string::npos);
    CHECK(fs::file_size(path) == expected.size());
    CHECK(GgufFile::open(path.string()).tensors().size() == 3);
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
    CHECK(entries == 1);

    const std::string no_dir = error_of([&] { sample.writer.write((dir / "missing" / "m.gguf").string()); });
    CHECK(no_dir.find("cannot create output file") != std::string::npos);
    const std::string no_file = error_of([&] { (void)GgufFile::open((dir / "nope.gguf").string()); });
    CHECK(no_file.find("cannot open file") != std::string::npos);
    CHECK(no_file.find("nope.gguf") != std::string::npos);
    const std::string a_dir = error_of([&] { (void)GgufFile::open(dir.string()); });
    CHECK(a_dir.find("not a regular file") != std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("GGUF v2 files (the same layout with version 2) are read") {
    auto bytes = ulk::test::SampleFile().bytes();
    const std::uint32_t v2 = 2;
    std::memcpy(bytes.data() + 4, &v2, 4);
    const auto f = GgufFile::from_bytes(bytes, "v2.gguf");
    CHECK(f.version() == 2);
    CHECK(f.tensors().size() == 3);
    CHECK(f.get_string("general.architecture") == "llama");
}
