#pragma once
// A checked reader of .safetensors files (Hugging Face): u64 header length N, N bytes of JSON
//   {"name": {"dtype": "BF16", "shape": [rows, cols], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {...}}
// then the data section; offsets are relative to it, little-endian, row-major (last dim contiguous).
// Debian packages no safetensors reader for C++; the header is JSON, read with nlohmann-json.
// Like the GGUF reader, nothing is trusted: lengths, shapes and offsets are checked against the
// file, and every rejection names the file, the tensor and what was expected and found.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ulk/base/error.hpp"
#include "ulk/base/fp16.hpp"
#include "ulk/gguf/mapped_file.hpp"

namespace ulk::tools {

struct SafeTensor {
    std::string name;
    std::string dtype;                 // "F32", "F16" or "BF16"
    std::vector<std::uint64_t> shape;  // row-major, last dimension contiguous
    std::span<const std::byte> data;
    std::string file;

    std::uint64_t elements() const {
        std::uint64_t n = 1;
        for (auto d : shape) n *= d;
        return n;
    }
    // The values as float32 (F16 and BF16 widened exactly).
    std::vector<float> to_float() const {
        std::vector<float> out(elements());
        const std::byte* p = data.data();
        for (std::size_t i = 0; i < out.size(); ++i) {
            if (dtype == "F32") {
                std::memcpy(&out[i], p + 4 * i, 4);
            } else {
                std::uint16_t h;
                std::memcpy(&h, p + 2 * i, 2);
                out[i] = dtype == "F16" ? f16_to_f32(h) : bf16_to_f32(h);
            }
        }
        return out;
    }
};

class SafetensorsFile {
public:
    explicit SafetensorsFile(const std::string& path) : map_(path) {
        const auto bytes = map_.bytes();
        auto fail = [&](std::string what, std::string where, std::string expected, std::string found) {
            throw Error({std::move(what), path + (where.empty() ? "" : ", " + where), std::move(expected),
                         std::move(found), "the checkpoint is damaged or not a safetensors file: download it again"});
        };
        if (bytes.size() < 8) fail("file is too short for a safetensors header", "byte 0", "at least 8 bytes", std::to_string(bytes.size()) + " bytes");
        std::uint64_t n = 0;
        std::memcpy(&n, bytes.data(), 8);
        if (n > bytes.size() - 8 || n > (100u << 20))
            fail("header length is impossible", "byte 0", "at most " + std::to_string(std::min<std::uint64_t>(bytes.size() - 8, 100u << 20)),
                 std::to_string(n));
        nlohmann::json header;
        try {
            header = nlohmann::json::parse(reinterpret_cast<const char*>(bytes.data()) + 8,
                                           reinterpret_cast<const char*>(bytes.data()) + 8 + n);
        } catch (const nlohmann::json::exception& e) {
            fail("header is not valid JSON", "bytes 8.." + std::to_string(8 + n), "JSON", e.what());
        }
        if (!header.is_object()) fail("header is not a JSON object", "byte 8", "an object", header.type_name());
        const std::span<const std::byte> data = bytes.subspan(8 + n);
        std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
        for (const auto& [name, info] : header.items()) {
            if (name == "__metadata__") continue;
            const std::string where = "tensor '" + name + "'";
            if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets") ||
                !info["dtype"].is_string() || !info["shape"].is_array() || !info["data_offsets"].is_array() ||
                info["data_offsets"].size() != 2)
                fail("tensor entry is malformed", where, "{dtype, shape, data_offsets: [begin, end]}", info.dump().substr(0, 200));
            SafeTensor t{name, info["dtype"].get<std::string>(), {}, {}, path};
            std::uint64_t elems = 1;
            for (const auto& d : info["shape"]) {
                if (!d.is_number_unsigned() || d.get<std::uint64_t>() > (1ull << 40))
                    fail("tensor dimension is absurd", where, "a non-negative size", d.dump());
                t.shape.push_back(d.get<std::uint64_t>());
                if (__builtin_mul_overflow(elems, t.shape.back(), &elems)) fail("tensor size overflows", where, "", "");
            }
            const std::uint64_t esize = t.dtype == "F32" ? 4 : (t.dtype == "F16" || t.dtype == "BF16") ? 2 : 0;
            if (esize == 0) fail("unsupported tensor dtype", where, "F32, F16 or BF16", t.dtype);
            const auto& off = info["data_offsets"];
            if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
                fail("data offsets are not numbers", where, "[begin, end]", off.dump());
            const auto begin = off[0].get<std::uint64_t>(), end = off[1].get<std::uint64_t>();
            if (begin > end || end > data.size())
                fail("tensor data lies outside the file", where, "0 <= begin <= end <= " + std::to_string(data.size()),
                     "[" + std::to_string(begin) + ", " + std::to_string(end) + "]");
            if (elems > (end - begin) / esize || end - begin != elems * esize)
                fail("tensor data size does not match its shape", where, std::to_string(elems * esize) + " bytes",
                     std::to_string(end - begin) + " bytes");
            t.data = data.subspan(begin, end - begin);
            ranges.emplace_back(begin, end);
            tensors_.emplace(name, std::move(t));
        }
        std::sort(ranges.begin(), ranges.end());
        for (std::size_t i = 1; i < ranges.size(); ++i)
            if (ranges[i].first < ranges[i - 1].second)
                fail("two tensors share data", "data section", "disjoint ranges",
                     "overlap at byte " + std::to_string(ranges[i].first));
    }

    const std::map<std::string, SafeTensor>& tensors() const noexcept { return tensors_; }

private:
    gguf::MappedFile map_;
    std::map<std::string, SafeTensor> tensors_;
};

}  // namespace ulk::tools
