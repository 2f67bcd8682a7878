#pragma once
// A read position in untrusted bytes. Every read checks the bytes left first, with arithmetic
// that cannot overflow, and every failure is a ulk::Error naming the file, the byte offset and
// the field being read.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "ulk/base/error.hpp"

namespace ulk::gguf {

class CheckedCursor {
public:
    CheckedCursor(std::span<const std::byte> bytes, std::string file) : bytes_(bytes), file_(std::move(file)) {}

    std::size_t offset() const noexcept { return pos_; }
    std::size_t left() const noexcept { return bytes_.size() - pos_; }
    std::size_t size() const noexcept { return bytes_.size(); }
    const std::string& file() const noexcept { return file_; }

    template <class T>
    T read(std::string_view field) {
        need(sizeof(T), field);
        T v;
        std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }

    // A GGUF string: u64 length, then that many bytes (not NUL-terminated).
    std::string read_string(std::string_view field, std::uint64_t max_length) {
        const std::size_t at = pos_;
        const auto n = read<std::uint64_t>(field);
        if (n > max_length)
            fail_at(at, "string is too long", field, "at most " + std::to_string(max_length) + " bytes",
                    std::to_string(n) + " bytes");
        if (n > left())
            fail_at(at, "string runs past the end of the file", field,
                    "at most " + std::to_string(left()) + " bytes", std::to_string(n) + " bytes");
        std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), std::size_t(n));
        pos_ += std::size_t(n);
        return s;
    }

    std::span<const std::byte> read_bytes(std::size_t n, std::string_view field) {
        need(n, field);
        auto s = bytes_.subspan(pos_, n);
        pos_ += n;
        return s;
    }

    void need(std::size_t n, std::string_view field) const {
        if (n > left())
            fail_at(pos_, "file is truncated", field, std::to_string(n) + " more bytes",
                    std::to_string(left()) + " bytes left",
                    "the file is incomplete: download or convert it again");
    }

    [[noreturn]] void fail_at(std::size_t at, std::string what, std::string_view field, std::string expected,
                              std::string found, std::string hint = "") const {
        throw Error({std::move(what), where(at, field), std::move(expected), std::move(found), std::move(hint)});
    }

    std::string where(std::size_t at, std::string_view field) const {
        return file_ + ", byte " + std::to_string(at) + ", " + std::string(field);
    }

private:
    std::span<const std::byte> bytes_;
    std::string file_;
    std::size_t pos_ = 0;
};

}  // namespace ulk::gguf
