#pragma once
// ulk::Error: the one error type of the library. Every message names what went wrong, where
// (file, tensor, byte offset, field), what was expected, what was found, and what to do.
#include <stdexcept>
#include <string>
#include <utility>

namespace ulk {

struct ErrorInfo {
    std::string what;      // "tensor data out of bounds"
    std::string where;     // "model.gguf, tensor 'blk.0.attn_q.weight', byte 1234"
    std::string expected;  // may be empty
    std::string found;     // may be empty
    std::string hint;      // what the user can do; may be empty
};

class Error : public std::runtime_error {
public:
    explicit Error(ErrorInfo info) : std::runtime_error(format(info)), info_(std::move(info)) {}
    explicit Error(std::string what) : Error(ErrorInfo{std::move(what), {}, {}, {}, {}}) {}
    const ErrorInfo& info() const noexcept { return info_; }

    static std::string format(const ErrorInfo& e) {
        std::string s = "ulk: " + e.what;
        if (!e.where.empty()) s += " (" + e.where + ")";
        if (!e.expected.empty() || !e.found.empty())
            s += ": expected " + (e.expected.empty() ? "?" : e.expected) + ", found " +
                 (e.found.empty() ? "?" : e.found);
        if (!e.hint.empty()) s += ". " + e.hint;
        return s;
    }

private:
    ErrorInfo info_;
};

// Checks a run-time condition that depends on input; throws ulk::Error with the given details.
// Not for hot paths: the ErrorInfo is built before the check.
inline void require(bool ok, ErrorInfo info) {
    if (!ok) throw Error(std::move(info));
}

}  // namespace ulk
