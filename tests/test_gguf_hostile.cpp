// Hostile GGUF input: truncated at every offset, every byte flipped, counts, lengths, dimensions
// and offsets set to huge values, and each structural rule broken on purpose. Every case must be
// a ulk::Error (never a crash, a hang or a huge allocation; the sanitizer build runs these too),
// and the targeted ones must say what and where.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "gguf_samples.hpp"
#include "ulk/gguf/file.hpp"
#include "ulk/gguf/writer.hpp"

using namespace ulk::gguf;

namespace {

// The parse outcome: "" when the bytes were accepted, else the error message.
std::string parse_error(const std::vector<std::byte>& bytes) {
    try {
        (void)GgufFile::from_bytes(bytes, "hostile.gguf");
    } catch (const ulk::Error& e) {
        return e.what();
    }
    return "";
}

void put_u64(std::vector<std::byte>& b, std::size_t at, std::uint64_t v) { std::memcpy(b.data() + at, &v, 8); }
void put_u32(std::vector<std::byte>& b, std::size_t at, std::uint32_t v) { std::memcpy(b.data() + at, &v, 4); }
std::uint64_t get_u64(const std::vector<std::byte>& b, std::size_t at) {
    std::uint64_t v;
    std::memcpy(&v, b.data() + at, 8);
    return v;
}

// Byte offsets of the fields of a file, found by walking it (the walk trusts the file: only
// used on the writer's own, valid output).
struct FieldMap {
    std::vector<std::size_t> string_lengths, array_counts, dims, tensor_types, tensor_offsets, n_dims;
};
FieldMap map_fields(const std::vector<std::byte>& b) {
    FieldMap m;
    std::size_t p = 24;
    auto skip_value = [&](auto& self, std::uint32_t type) -> void {
        if (type == 8) {
            m.string_lengths.push_back(p);
            p += 8 + get_u64(b, p);
        } else if (type == 9) {
            std::uint32_t et;
            std::memcpy(&et, b.data() + p, 4);
            m.array_counts.push_back(p + 4);
            const std::uint64_t n = get_u64(b, p + 4);
            p += 12;
            for (std::uint64_t i = 0; i < n; ++i) self(self, et);
        } else {
            p += scalar_size(ValueType(type));
        }
    };
    const std::uint64_t n_tensors = get_u64(b, 8), n_kv = get_u64(b, 16);
    for (std::uint64_t i = 0; i < n_kv; ++i) {
        m.string_lengths.push_back(p);
        p += 8 + get_u64(b, p);
        std::uint32_t t;
        std::memcpy(&t, b.data() + p, 4);
        p += 4;
        skip_value(skip_value, t);
    }
    for (std::uint64_t i = 0; i < n_tensors; ++i) {
        m.string_lengths.push_back(p);
        p += 8 + get_u64(b, p);
        std::uint32_t nd;
        std::memcpy(&nd, b.data() + p, 4);
        m.n_dims.push_back(p);
        p += 4;
        for (std::uint32_t d = 0; d < nd; ++d, p += 8) m.dims.push_back(p);
        m.tensor_types.push_back(p);
        p += 4;
        m.tensor_offsets.push_back(p);
        p += 8;
    }
    return m;
}

}  // namespace

TEST_CASE("a file truncated at any offset is rejected with a clear error") {
    const auto good = ulk::test::SampleFile().bytes();
    REQUIRE(parse_error(good).empty());
    for (std::size_t n = 0; n < good.size(); ++n) {
        const std::vector<std::byte> cut(good.begin(), good.begin() + std::ptrdiff_t(n));
        const std::string e = parse_error(cut);
        CAPTURE(n);
        REQUIRE_FALSE(e.empty());
        CHECK(e.find("hostile.gguf") != std::string::npos);
    }
}

TEST_CASE("flipping any byte gives either a valid file or a clean error") {
    const auto good = ulk::test::SampleFile().bytes();
    const FieldMap m = map_fields(good);
    const std::size_t header_end = m.tensor_offsets.back() + 8;
    std::size_t rejected = 0;
    for (std::size_t i = 0; i < header_end; ++i)
        for (std::uint8_t mask : {0x01, 0x80, 0xff}) {
            auto bad = good;
            bad[i] ^= std::byte(mask);
            rejected += !parse_error(bad).empty();
        }
    // Flips inside string bytes and float values are legal files; flips of counts and types not.
    CHECK(rejected > 100);
    MESSAGE("byte flips in the header: " << 3 * header_end << " files, " << rejected << " rejected");
}

TEST_CASE("huge counts, lengths, dimensions and offsets are rejected before any allocation") {
    const auto good = ulk::test::SampleFile().bytes();
    const FieldMap m = map_fields(good);
    const std::uint64_t huge[] = {std::numeric_limits<std::uint64_t>::max(), 1ull << 63, 1ull << 40, good.size()};
    auto expect = [&](std::size_t at, std::uint64_t v, const char* what) {
        auto bad = good;
        put_u64(bad, at, v);
        const std::string e = parse_error(bad);
        CAPTURE(at);
        CAPTURE(v);
        CHECK(e.find(what) != std::string::npos);
        CHECK(e.find("byte ") != std::string::npos);
    };
    for (std::uint64_t v : huge) {
        expect(8, v, "tensor count is impossible");
        expect(16, v, "metadata count is impossible");
        for (std::size_t at : m.string_lengths) {
            auto bad = good;
            put_u64(bad, at, v);
            CHECK_FALSE(parse_error(bad).empty());
        }
        for (std::size_t at : m.array_counts) {
            auto bad = good;
            put_u64(bad, at, v);
            const std::string e = parse_error(bad);
            CHECK((e.find("array") != std::string::npos || e.find("past the end") != std::string::npos));
        }
        for (std::size_t at : m.dims) {
            auto bad = good;
            put_u64(bad, at, v);
            CHECK_FALSE(parse_error(bad).empty());
        }
        for (std::size_t at : m.tensor_offsets) expect(at, v & ~std::uint64_t(31), "outside the file");
    }
    for (std::size_t at : m.dims) expect(at, 0, "dimension is absurd");
    for (std::size_t at : m.n_dims) {
        auto bad = good;
        put_u32(bad, at, 5);
        CHECK(parse_error(bad).find("number of dimensions") != std::string::npos);
    }
    for (std::size_t at : m.tensor_types) {
        auto bad = good;
        put_u32(bad, at, 1000);
        const std::string e = parse_error(bad);
        CHECK(e.find("unknown tensor type") != std::string::npos);
        CHECK(e.find("found 1000") != std::string::npos);
    }
}

TEST_CASE("structural rules: magic, version, alignment, duplicates, overlap, nesting") {
    const auto good = ulk::test::SampleFile().bytes();
    const FieldMap m = map_fields(good);
    {
        auto bad = good;
        bad[0] = std::byte('X');
        const std::string e = parse_error(bad);
        CHECK(e.find("not a GGUF file") != std::string::npos);
        CHECK(e.find("bytes 58 47 55 46") != std::string::npos);
    }
    for (std::uint32_t v : {1u, 4u, 0x03000000u}) {
        auto bad = good;
        put_u32(bad, 4, v);
        const std::string e = parse_error(bad);
        CHECK(e.find(v == 0x03000000u ? "big-endian" : "unsupported GGUF version") != std::string::npos);
    }
    {  // misaligned tensor offset
        auto bad = good;
        put_u64(bad, m.tensor_offsets[1], get_u64(good, m.tensor_offsets[1]) + 4);
        CHECK(parse_error(bad).find("misaligned") != std::string::npos);
    }
    {  // second tensor placed over the first
        auto bad = good;
        put_u64(bad, m.tensor_offsets[1], 32);
        const std::string e = parse_error(bad);
        CHECK(e.find("overlaps") != std::string::npos);
        CHECK(e.find("blk.0.attn_q.weight") != std::string::npos);
    }
    {  // the writer never writes duplicates; rename a tensor to collide ("ffn_up" -> "attn_q" needs
       // equal lengths: make both names "output_norm.weight"-length by writing a fresh file)
        GgufWriter w;
        const std::vector<std::byte> four(4);
        w.add_tensor("aaaa", 0, {1}, four);
        w.add_tensor("aaab", 0, {1}, four);
        auto bytes = w.to_bytes();
        const std::size_t second_name = 24 + 8 + 4 + 4 + 8 + 4 + 8 + 8 + 3;
        REQUIRE(bytes[second_name] == std::byte('b'));
        bytes[second_name] = std::byte('a');
        CHECK(parse_error(bytes).find("duplicate tensor name") != std::string::npos);
    }
    {
        GgufWriter w;
        w.set("key1", std::uint8_t(1));
        w.set("key2", std::uint8_t(2));
        auto bytes = w.to_bytes();
        const std::size_t second_key_last = 24 + 8 + 4 + 4 + 1 + 8 + 3;
        REQUIRE(bytes[second_key_last] == std::byte('2'));
        bytes[second_key_last] = std::byte('1');
        CHECK(parse_error(bytes).find("duplicate metadata key") != std::string::npos);
    }
    for (std::uint32_t align : {0u, 48u}) {
        GgufWriter w;
        w.set("general.alignment", align);
        CHECK(parse_error(w.to_bytes()).find("not a power of two") != std::string::npos);
    }
    {
        GgufWriter w;
        w.set("general.alignment", std::uint64_t(64));
        CHECK(parse_error(w.to_bytes()).find("general.alignment has the wrong type") != std::string::npos);
    }
    {  // arrays nested deeper than the limit
        Value v = Value::array(std::vector<std::uint8_t>{1});
        for (int i = 0; i < 12; ++i) v = Value::array(std::vector<Value>{v});
        GgufWriter w;
        w.set("deep", v);
        CHECK(parse_error(w.to_bytes()).find("nested too deeply") != std::string::npos);
    }
    {  // bools must be 0 or 1
        GgufWriter w;
        w.set("flag", true);
        auto bytes = w.to_bytes();
        bytes[24 + 8 + 4 + 4] = std::byte(7);
        CHECK(parse_error(bytes).find("invalid bool") != std::string::npos);
    }
    {  // unknown metadata value type
        GgufWriter w;
        w.set("k", std::uint8_t(1));
        auto bytes = w.to_bytes();
        put_u32(bytes, 24 + 8 + 1, 13);
        CHECK(parse_error(bytes).find("unknown metadata value type") != std::string::npos);
    }
}

TEST_CASE("an error names the file, the byte offset, the field, and what was expected and found") {
    auto bytes = ulk::test::SampleFile().bytes();
    bytes.resize(bytes.size() - 1);
    const std::string e = parse_error(bytes);
    CHECK(e.find("ulk: tensor data lies outside the file (hostile.gguf, byte ") != std::string::npos);
    CHECK(e.find("tensor 'output_norm.weight' offset") != std::string::npos);
    CHECK(e.find("expected ") != std::string::npos);
    CHECK(e.find("found offset ") != std::string::npos);
    CHECK(e.find("truncated") != std::string::npos);
}
