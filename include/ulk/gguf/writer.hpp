#pragma once
// GgufWriter: builds a GGUF v3 file (layout in gguf/file.hpp) that llama.cpp reads.
//
// The file is written atomically: into "<path>.tmp-<pid>" in the same directory, flushed to disk,
// then renamed over <path>. A crash or a full disk leaves either the old file or the new one,
// never half a model.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ulk/base/error.hpp"
#include "ulk/gguf/file.hpp"
#include "ulk/gguf/tensor_types.hpp"
#include "ulk/gguf/value.hpp"

namespace ulk::gguf {

class GgufWriter {
public:
    // Fills exactly `out.size()` bytes of a tensor's data, when the file is written.
    using Producer = std::function<void(std::span<std::byte> out)>;

    explicit GgufWriter(std::size_t alignment = kDefaultAlignment) : alignment_(alignment) {
        require(alignment > 0 && (alignment & (alignment - 1)) == 0,
                {"alignment must be a power of two", "GgufWriter", "a power of two", std::to_string(alignment), ""});
        if (alignment != kDefaultAlignment) set("general.alignment", Value::scalar(std::uint32_t(alignment)));
    }

    // Sets a metadata key; a key set twice keeps its first position and its last value.
    void set(std::string key, Value v) {
        require(!key.empty(), {"empty metadata key", "GgufWriter::set", "a name", "\"\"", ""});
        auto it = kv_index_.find(key);
        if (it != kv_index_.end()) {
            kv_[it->second].second = std::move(v);
            return;
        }
        kv_index_.emplace(key, kv_.size());
        kv_.emplace_back(std::move(key), std::move(v));
    }
    void set(std::string key, std::string_view s) { set(std::move(key), Value::string(std::string(s))); }
    void set(std::string key, const char* s) { set(std::move(key), Value::string(s)); }
    template <GgufScalar T>
    void set(std::string key, T v) { set(std::move(key), Value::scalar(v)); }

    // Adds a tensor whose bytes live elsewhere until write() returns.
    void add_tensor(std::string name, std::uint32_t type, std::vector<std::uint64_t> dims, std::span<const std::byte> data) {
        const std::uint64_t n = check_tensor(name, type, dims);
        require(data.size() == n, {"tensor data size does not match its type and shape", "tensor '" + name + "'",
                                   std::to_string(n) + " bytes", std::to_string(data.size()) + " bytes", ""});
        add(std::move(name), type, std::move(dims), n, [data](std::span<std::byte> out) {
            std::memcpy(out.data(), data.data(), out.size());
        });
    }
    // Adds a tensor whose bytes are produced when the file is written (quantize while writing).
    void add_tensor(std::string name, std::uint32_t type, std::vector<std::uint64_t> dims, Producer produce) {
        const std::uint64_t n = check_tensor(name, type, dims);
        add(std::move(name), type, std::move(dims), n, std::move(produce));
    }

    std::size_t tensor_count() const noexcept { return tensors_.size(); }
    // Bytes the file will have.
    std::uint64_t file_size() const {
        CountingSink s;
        emit_header(s);
        std::uint64_t size = align_up(s.n);
        for (const auto& t : tensors_) size = align_up(size) + t.nbytes;
        return size;
    }

    // The whole file in memory (tests).
    std::vector<std::byte> to_bytes() const {
        VectorSink s;
        emit(s, {});
        return std::move(s.v);
    }

    // Writes the file atomically; `progress(done, total)` is called after each tensor.
    void write(const std::string& path, const std::function<void(std::size_t, std::size_t)>& progress = {}) const {
        const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
        std::FILE* f = std::fopen(tmp.c_str(), "wb");
        if (!f) {
            const int err = errno;
            throw Error({"cannot create output file", tmp, "", std::strerror(err),
                         "check that the directory exists and is writable"});
        }
        FileSink s{f, tmp};
        try {
            emit(s, progress);
            if (std::fflush(f) != 0 || ::fsync(::fileno(f)) != 0) s.fail();
        } catch (...) {
            std::fclose(f);
            std::remove(tmp.c_str());
            throw;
        }
        if (std::fclose(f) != 0) {
            std::remove(tmp.c_str());
            throw Error({"cannot finish writing output file", tmp, "", std::strerror(errno), "check free disk space"});
        }
        if (std::rename(tmp.c_str(), path.c_str()) != 0) {
            const int err = errno;
            std::remove(tmp.c_str());
            throw Error({"cannot move output file into place", tmp + " -> " + path, "", std::strerror(err), ""});
        }
    }

private:
    struct PendingTensor {
        std::string name;
        std::uint32_t type;
        std::vector<std::uint64_t> dims;
        std::uint64_t nbytes;
        Producer produce;
    };
    struct CountingSink {
        std::uint64_t n = 0;
        void put(const void*, std::size_t k) { n += k; }
    };
    struct VectorSink {
        std::vector<std::byte> v;
        void put(const void* p, std::size_t k) {
            const auto* b = static_cast<const std::byte*>(p);
            v.insert(v.end(), b, b + k);
        }
    };
    struct FileSink {
        std::FILE* f;
        std::string path;
        void put(const void* p, std::size_t k) {
            if (k && std::fwrite(p, 1, k, f) != k) fail();
        }
        [[noreturn]] void fail() const {
            throw Error({"cannot write output file", path, "", std::strerror(errno), "check free disk space"});
        }
    };

    std::uint64_t align_up(std::uint64_t n) const { return (n + alignment_ - 1) / alignment_ * alignment_; }

    std::uint64_t check_tensor(const std::string& name, std::uint32_t type, const std::vector<std::uint64_t>& dims) const {
        const std::string where = "tensor '" + name + "'";
        // ggml keeps names in char[64] (GGML_MAX_NAME), NUL included.
        require(!name.empty() && name.size() < 64,
                {"tensor name length is not what llama.cpp accepts", where, "1..63 bytes", std::to_string(name.size()), ""});
        require(!tensor_index_.count(name), {"duplicate tensor name", where, "each name once", "a second tensor", ""});
        const auto t = find_tensor_type(type);
        require(t.has_value(), {"unknown tensor type", where, "a ggml type", std::to_string(type), ""});
        require(!dims.empty() && dims.size() <= kMaxDims,
                {"tensor has an impossible number of dimensions", where, "1..4", std::to_string(dims.size()), ""});
        std::uint64_t elements = 1;
        for (std::uint64_t d : dims)
            require(d > 0 && detail::mul_fits(elements, d, elements),
                    {"tensor dimension is absurd", where, "positive sizes whose product fits", std::to_string(d), ""});
        require(dims[0] % t->block_weights == 0,
                {"tensor row is not a whole number of blocks", where, "a multiple of " + std::to_string(t->block_weights),
                 std::to_string(dims[0]), ""});
        return elements / t->block_weights * t->block_bytes;
    }

    void add(std::string name, std::uint32_t type, std::vector<std::uint64_t> dims, std::uint64_t nbytes, Producer p) {
        tensor_index_.emplace(name, tensors_.size());
        tensors_.push_back({std::move(name), type, std::move(dims), nbytes, std::move(p)});
    }

    template <class Sink>
    static void put_u32(Sink& s, std::uint32_t v) { s.put(&v, 4); }
    template <class Sink>
    static void put_u64(Sink& s, std::uint64_t v) { s.put(&v, 8); }
    template <class Sink>
    static void put_string(Sink& s, std::string_view v) {
        put_u64(s, v.size());
        s.put(v.data(), v.size());
    }
    template <class Sink>
    static void put_value_body(Sink& s, const Value& v) {
        switch (v.type()) {
            case ValueType::String: put_string(s, v.as_string("")); return;
            case ValueType::Array:
                put_u32(s, std::uint32_t(v.element_type()));
                put_u64(s, v.size());
                if (v.element_type() == ValueType::String)
                    for (const std::string& e : v.as_strings("")) put_string(s, e);
                else if (v.element_type() == ValueType::Array)
                    for (const Value& e : v.as_arrays("")) put_value_body(s, e);
                else
                    s.put(v.raw_bytes().data(), v.raw_bytes().size());
                return;
            default: s.put(v.raw_bytes().data(), v.raw_bytes().size()); return;
        }
    }

    template <class Sink>
    void emit_header(Sink& s) const {
        put_u32(s, kMagic);
        put_u32(s, 3);
        put_u64(s, tensors_.size());
        put_u64(s, kv_.size());
        for (const auto& [key, value] : kv_) {
            put_string(s, key);
            put_u32(s, std::uint32_t(value.type()));
            put_value_body(s, value);
        }
        std::uint64_t offset = 0;
        for (const auto& t : tensors_) {
            put_string(s, t.name);
            put_u32(s, std::uint32_t(t.dims.size()));
            for (std::uint64_t d : t.dims) put_u64(s, d);
            put_u32(s, t.type);
            offset = align_up(offset);
            put_u64(s, offset);
            offset += t.nbytes;
        }
    }

    template <class Sink>
    void emit(Sink& s, const std::function<void(std::size_t, std::size_t)>& progress) const {
        CountingSink counter;
        emit_header(counter);
        emit_header(s);
        static constexpr std::byte kZeros[256] = {};
        auto pad_to = [&](std::uint64_t from) {
            for (std::uint64_t k = align_up(from) - from; k > 0;) {
                const std::size_t n = std::size_t(std::min<std::uint64_t>(k, sizeof kZeros));
                s.put(kZeros, n);
                k -= n;
            }
            return align_up(from);
        };
        std::uint64_t pos = pad_to(counter.n);
        std::vector<std::byte> buffer;
        for (std::size_t i = 0; i < tensors_.size(); ++i) {
            const auto& t = tensors_[i];
            pos = pad_to(pos);
            buffer.assign(std::size_t(t.nbytes), std::byte{0});
            t.produce(buffer);
            s.put(buffer.data(), buffer.size());
            pos += t.nbytes;
            if (progress) progress(i + 1, tensors_.size());
        }
    }

    std::size_t alignment_;
    std::vector<std::pair<std::string, Value>> kv_;
    std::unordered_map<std::string, std::size_t> kv_index_;
    std::vector<PendingTensor> tensors_;
    std::unordered_map<std::string, std::size_t> tensor_index_;
};

}  // namespace ulk::gguf
