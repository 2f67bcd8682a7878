// libFuzzer target for the GGUF reader: any bytes must either parse or raise ulk::Error. A parsed
// file is then walked completely (every value read, every tensor byte touched) so that
// AddressSanitizer sees any view that points outside the input. Build and run: tests/fuzz/run_fuzz.sh
#include <cstddef>
#include <cstdint>
#include <span>

#include "ulk/gguf/file.hpp"

namespace {
unsigned walk(const ulk::gguf::Value& v) {
    using ulk::gguf::ValueType;
    unsigned h = unsigned(v.type());
    if (v.type() == ValueType::String) return h + unsigned(v.as_string("").size());
    if (!v.is_array()) return h + unsigned(v.raw_bytes().size());
    if (v.element_type() == ValueType::String)
        for (const auto& s : v.as_strings("")) h += unsigned(s.size());
    else if (v.element_type() == ValueType::Array)
        for (const auto& e : v.as_arrays("")) h += walk(e);
    else
        for (char c : v.raw_bytes()) h += unsigned(c);
    return h;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const auto f = ulk::gguf::GgufFile::from_bytes({reinterpret_cast<const std::byte*>(data), size}, "fuzz.gguf");
        volatile unsigned sink = 0;
        for (const auto& [key, value] : f.metadata()) sink = sink + walk(value) + unsigned(key.size());
        for (const auto& t : f.tensors()) {
            if (!t.data.empty()) sink = sink + unsigned(t.data.front()) + unsigned(t.data.back());
            try {
                (void)f.get_as<std::uint32_t>("general.alignment");
            } catch (const ulk::Error&) {
            }
        }
    } catch (const ulk::Error&) {
    }
    return 0;
}
