#pragma once
// GgufFile: a checked, memory-mapped GGUF v2/v3 file.
//
// File layout (little-endian):
//   "GGUF" | u32 version | u64 n_tensors | u64 n_kv
//   n_kv x      { string key | u32 value_type | value }
//   n_tensors x { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
//   padding to `general.alignment` (default 32)
//   data section: tensor bytes at their offsets (each a multiple of the alignment)
// A string is u64 length + bytes; an array is u32 element type + u64 count + elements.
//
// Nothing in the file is trusted: every count, length, offset and size is checked against the
// bytes that are there before anything is allocated or read, with overflow-safe arithmetic. Tensor
// data must be aligned, inside the file, and must not overlap another tensor. Every rejection is
// a ulk::Error naming the file, the byte offset, the field, and what was expected and found.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ulk/base/error.hpp"
#include "ulk/gguf/checked_cursor.hpp"
#include "ulk/gguf/mapped_file.hpp"
#include "ulk/gguf/tensor_types.hpp"
#include "ulk/gguf/value.hpp"
#include "ulk/quant/format.hpp"
#include "ulk/quant/packed_matrix.hpp"

namespace ulk::gguf {

inline constexpr std::uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
inline constexpr std::size_t kDefaultAlignment = 32;
inline constexpr std::size_t kMaxDims = 4;  // GGML_MAX_DIMS
// Key under which a tensor in one of the library's own formats names that format (its type in
// the file is I8, its shape (row bytes, rows)); see docs/formats.md.
inline std::string own_format_key(std::string_view tensor) { return "ulk.format." + std::string(tensor); }

// Bounds on what a file may ask the reader to allocate. Far above any real model (llama.cpp's
// largest vocabularies have ~256k tokens); a file beyond them is rejected as absurd.
struct Limits {
    std::uint64_t max_string_bytes = 256u << 20;     // one metadata string (a SentencePiece model is ~1 MB)
    std::uint64_t max_name_bytes = 64u << 10;        // a key or a tensor name
    std::uint64_t max_array_elements = 64u << 20;    // elements in one metadata array
    std::uint32_t max_array_depth = 8;               // arrays of arrays of ...
    std::uint64_t max_tensors = 1u << 20;
    std::uint64_t max_kv = 1u << 20;
};

struct TensorInfo {
    std::string name;
    TensorType type;
    std::vector<std::uint64_t> dims;  // ggml order: dims[0] is the row length (contiguous)
    std::uint64_t elements = 0;
    std::uint64_t nbytes = 0;
    std::uint64_t file_offset = 0;   // absolute byte offset of the data in the file
    std::uint64_t info_offset = 0;   // byte offset of this tensor's info record (for messages)
    std::span<const std::byte> data;

    std::uint64_t rows() const noexcept { return dims.empty() ? 0 : elements / dims[0]; }
    std::uint64_t cols() const noexcept { return dims.empty() ? 0 : dims[0]; }
    std::string shape() const {
        std::string s = "[";
        for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
        return s + "]";
    }
};

class GgufFile {
public:
    // Maps and checks a file.
    static GgufFile open(const std::string& path, const Limits& limits = {}) {
        GgufFile f;
        f.mapped_ = MappedFile(path);
        f.name_ = path;
        f.parse(f.mapped_.bytes(), limits);
        return f;
    }
    // Checks bytes held in memory (tests, fuzzing); they are copied.
    static GgufFile from_bytes(std::span<const std::byte> bytes, std::string name = "<memory>",
                               const Limits& limits = {}) {
        GgufFile f;
        f.owned_.assign(bytes.begin(), bytes.end());
        f.name_ = std::move(name);
        f.parse(f.owned_, limits);
        return f;
    }

    const std::string& name() const noexcept { return name_; }
    std::uint32_t version() const noexcept { return version_; }
    std::size_t alignment() const noexcept { return alignment_; }
    std::uint64_t data_offset() const noexcept { return data_offset_; }

    // Metadata in file order.
    const std::vector<std::pair<std::string, Value>>& metadata() const noexcept { return kv_; }
    const Value* find(std::string_view key) const {
        auto it = kv_index_.find(std::string(key));
        return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
    }
    const Value& get(std::string_view key) const {
        const Value* v = find(key);
        require(v != nullptr, {"metadata key is missing", name_ + ", key '" + std::string(key) + "'", "", "",
                               "the file was not written for this program, or is damaged"});
        return *v;
    }
    template <class T>
    T get_as(std::string_view key) const {
        try {
            return get(key).as<T>(key);
        } catch (const Error& e) {
            throw located(e);
        }
    }
    std::string get_string(std::string_view key) const {
        try {
            return get(key).as_string(key);
        } catch (const Error& e) {
            throw located(e);
        }
    }

    const std::vector<TensorInfo>& tensors() const noexcept { return tensors_; }
    const TensorInfo* find_tensor(std::string_view name) const {
        auto it = tensor_index_.find(std::string(name));
        return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
    }
    const TensorInfo& tensor(std::string_view name) const {
        const TensorInfo* t = find_tensor(name);
        require(t != nullptr, {"tensor is missing", name_ + ", tensor '" + std::string(name) + "'", "", "",
                               "the file does not hold the model this program expects"});
        return *t;
    }

    // A zero-copy view of a 2-D (or higher, rows flattened) tensor in format F. ggml formats must
    // match the tensor's type; the library's own formats are stored as I8 (row bytes, rows) with
    // their name under own_format_key(tensor).
    template <quant::BlockFormat F>
    quant::MatrixView<F> matrix(std::string_view tensor_name) const {
        const TensorInfo& t = tensor(tensor_name);
        const std::string where = name_ + ", tensor '" + t.name + "' " + t.shape();
        std::uint64_t rows = t.rows(), cols = t.cols();
        if constexpr (F::kGgmlType != quant::kNotGgml) {
            require(t.type.id == std::uint32_t(F::kGgmlType),
                    {"tensor has a different type", where, std::string(F::kName), std::string(t.type.name),
                     "quantize the model to the type this program was built for, or rebuild it"});
        } else {
            const Value* fmt = find(own_format_key(t.name));
            const std::string found = fmt && fmt->type() == ValueType::String ? fmt->as_string("") : "none";
            require(t.type.id == 24 && found == F::kName,
                    {"tensor has a different type", where, std::string(F::kName) + " (I8 + " + own_format_key(t.name) + ")",
                     std::string(t.type.name) + ", format " + found, "quantize the model to the type this program was built for"});
            require(t.dims[0] % sizeof(typename F::Block) == 0,
                    {"tensor row is not a whole number of blocks", where,
                     "a multiple of " + std::to_string(sizeof(typename F::Block)) + " bytes", std::to_string(t.dims[0]), ""});
            cols = t.dims[0] / sizeof(typename F::Block) * F::kBlockWeights;
        }
        return quant::MatrixView<F>::checked(t.data.data(), t.data.size(), rows, cols, where);
    }

    // A view with the shape fixed at compile time: the file must match it exactly.
    template <class Packed>
    Packed packed(std::string_view tensor_name) const {
        using F = typename Packed::Format;
        const quant::MatrixView<F> v = matrix<F>(tensor_name);
        require(v.rows == Packed::kRows && v.cols == Packed::kCols,
                {"tensor shape does not match the model configuration", name_ + ", tensor '" + std::string(tensor_name) + "'",
                 std::to_string(Packed::kRows) + " rows x " + std::to_string(Packed::kCols) + " columns",
                 std::to_string(v.rows) + " rows x " + std::to_string(v.cols) + " columns",
                 "use the configuration the file was made for, or convert the model again"});
        return Packed::view(v.data, v.bytes(), tensor_name);
    }

private:
    GgufFile() = default;

    Error located(const Error& e) const {
        ErrorInfo i = e.info();
        i.where = name_ + ", " + i.where;
        return Error(std::move(i));
    }

    void parse(std::span<const std::byte> bytes, const Limits& lim);
    Value read_value(CheckedCursor& c, ValueType type, const std::string& field, const Limits& lim, std::uint32_t depth);

    std::string name_;
    MappedFile mapped_;
    std::vector<std::byte> owned_;
    std::uint32_t version_ = 0;
    std::size_t alignment_ = kDefaultAlignment;
    std::uint64_t data_offset_ = 0;
    std::vector<std::pair<std::string, Value>> kv_;
    std::unordered_map<std::string, std::size_t> kv_index_;
    std::vector<TensorInfo> tensors_;
    std::unordered_map<std::string, std::size_t> tensor_index_;
};

namespace detail {
// a * b, or false when it would not fit in 64 bits.
inline bool mul_fits(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
    return !__builtin_mul_overflow(a, b, &out);
}
inline std::string hex4(std::span<const std::byte> b) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < b.size() && i < 4; ++i) {
        const auto v = std::to_integer<unsigned>(b[i]);
        s += digits[v >> 4];
        s += digits[v & 15];
        s += ' ';
    }
    return s.empty() ? "nothing" : "bytes " + s.substr(0, s.size() - 1);
}
}  // namespace detail

inline Value GgufFile::read_value(CheckedCursor& c, ValueType type, const std::string& field, const Limits& lim,
                                  std::uint32_t depth) {
    const std::size_t at = c.offset();
    switch (type) {
        case ValueType::U8: return Value::scalar(c.read<std::uint8_t>(field));
        case ValueType::I8: return Value::scalar(c.read<std::int8_t>(field));
        case ValueType::U16: return Value::scalar(c.read<std::uint16_t>(field));
        case ValueType::I16: return Value::scalar(c.read<std::int16_t>(field));
        case ValueType::U32: return Value::scalar(c.read<std::uint32_t>(field));
        case ValueType::I32: return Value::scalar(c.read<std::int32_t>(field));
        case ValueType::F32: return Value::scalar(c.read<float>(field));
        case ValueType::U64: return Value::scalar(c.read<std::uint64_t>(field));
        case ValueType::I64: return Value::scalar(c.read<std::int64_t>(field));
        case ValueType::F64: return Value::scalar(c.read<double>(field));
        case ValueType::Bool: {
            const auto b = c.read<std::uint8_t>(field);
            if (b > 1) c.fail_at(at, "invalid bool", field, "0 or 1", std::to_string(b));
            return Value::scalar(b != 0);
        }
        case ValueType::String: return Value::string(c.read_string(field, lim.max_string_bytes));
        case ValueType::Array: {
            if (depth >= lim.max_array_depth)
                c.fail_at(at, "arrays are nested too deeply", field,
                          "at most " + std::to_string(lim.max_array_depth) + " levels", "more");
            const auto elem_raw = c.read<std::uint32_t>(field + " (array element type)");
            if (elem_raw >= kValueTypeCount)
                c.fail_at(at, "unknown array element type", field, "a value type 0..12", std::to_string(elem_raw));
            const auto elem = ValueType(elem_raw);
            const std::size_t count_at = c.offset();
            const auto count = c.read<std::uint64_t>(field + " (array length)");
            // Every element takes at least min_bytes in the file: check the count against what is left
            // before allocating anything.
            const std::size_t min_bytes = elem == ValueType::String ? 8 : elem == ValueType::Array ? 12 : scalar_size(elem);
            if (count > lim.max_array_elements)
                c.fail_at(count_at, "array is absurdly long", field,
                          "at most " + std::to_string(lim.max_array_elements) + " elements", std::to_string(count));
            if (count > c.left() / min_bytes)
                c.fail_at(count_at, "array runs past the end of the file", field,
                          "at most " + std::to_string(c.left() / min_bytes) + " elements",
                          std::to_string(count) + " elements");
            if (scalar_size(elem)) {
                auto raw = c.read_bytes(std::size_t(count) * scalar_size(elem), field);
                if (elem == ValueType::Bool)
                    for (std::size_t i = 0; i < raw.size(); ++i)
                        if (std::to_integer<unsigned>(raw[i]) > 1)
                            c.fail_at(count_at + 8 + i, "invalid bool", field + "[" + std::to_string(i) + "]", "0 or 1",
                                      std::to_string(std::to_integer<unsigned>(raw[i])));
                return Value::scalar_array(elem, std::string(reinterpret_cast<const char*>(raw.data()), raw.size()));
            }
            if (elem == ValueType::String) {
                std::vector<std::string> v;
                v.reserve(std::size_t(count));
                for (std::uint64_t i = 0; i < count; ++i)
                    v.push_back(c.read_string(field + "[" + std::to_string(i) + "]", lim.max_string_bytes));
                return Value::array(std::move(v));
            }
            std::vector<Value> v;
            v.reserve(std::size_t(count));
            // Each element of an array of arrays is itself {u32 element type, u64 count, elements}.
            for (std::uint64_t i = 0; i < count; ++i)
                v.push_back(read_value(c, ValueType::Array, field + "[" + std::to_string(i) + "]", lim, depth + 1));
            return Value::array(std::move(v));
        }
    }
    c.fail_at(at, "unknown value type", field, "a value type 0..12", std::to_string(std::uint32_t(type)));
}

inline void GgufFile::parse(std::span<const std::byte> bytes, const Limits& lim) {
    CheckedCursor c(bytes, name_);
    if (bytes.size() < 4 || c.read<std::uint32_t>("magic") != kMagic)
        c.fail_at(0, "not a GGUF file", "magic", "\"GGUF\"", detail::hex4(bytes.first(std::min<std::size_t>(4, bytes.size()))),
                  "pass a .gguf model file");
    version_ = c.read<std::uint32_t>("version");
    if (version_ == 0x02000000u || version_ == 0x03000000u)
        c.fail_at(4, "big-endian GGUF files are not supported", "version", "a little-endian file", "a big-endian one",
                  "convert the model again on a little-endian machine");
    if (version_ != 2 && version_ != 3)
        c.fail_at(4, "unsupported GGUF version", "version", "2 or 3", std::to_string(version_),
                  version_ == 1 ? "GGUF v1 is obsolete: convert the model again with a current converter" : "");
    const auto n_tensors = c.read<std::uint64_t>("tensor count");
    const auto n_kv = c.read<std::uint64_t>("metadata count");
    // The smallest record: a key-value is 8 (key length) + 4 (type) + 1 (a u8); a tensor info is
    // 8 (name length) + 4 (n_dims) + 8 (one dim) + 4 (type) + 8 (offset).
    if (n_kv > lim.max_kv || n_kv > c.left() / 13)
        c.fail_at(16, "metadata count is impossible for the file size", "metadata count",
                  "at most " + std::to_string(std::min<std::uint64_t>(lim.max_kv, c.left() / 13)), std::to_string(n_kv),
                  "the file is damaged");
    if (n_tensors > lim.max_tensors || n_tensors > c.left() / 32)
        c.fail_at(8, "tensor count is impossible for the file size", "tensor count",
                  "at most " + std::to_string(std::min<std::uint64_t>(lim.max_tensors, c.left() / 32)),
                  std::to_string(n_tensors), "the file is damaged");

    kv_.reserve(std::size_t(n_kv));
    for (std::uint64_t i = 0; i < n_kv; ++i) {
        const std::size_t at = c.offset();
        const std::string field = "metadata[" + std::to_string(i) + "]";
        std::string key = c.read_string(field + " key", lim.max_name_bytes);
        if (key.empty()) c.fail_at(at, "empty metadata key", field + " key", "a name", "\"\"");
        const std::string kfield = "metadata key '" + key + "'";
        if (kv_index_.count(key)) c.fail_at(at, "duplicate metadata key", kfield, "each key once", "a second copy");
        const std::size_t type_at = c.offset();
        const auto type = c.read<std::uint32_t>(kfield + " (value type)");
        if (type >= kValueTypeCount)
            c.fail_at(type_at, "unknown metadata value type", kfield, "a value type 0..12", std::to_string(type));
        Value v = read_value(c, ValueType(type), kfield, lim, 0);
        kv_index_.emplace(key, kv_.size());
        kv_.emplace_back(std::move(key), std::move(v));
    }

    if (const Value* a = find("general.alignment")) {
        const std::size_t at = c.offset();
        if (a->type() != ValueType::U32)
            c.fail_at(at, "general.alignment has the wrong type", "metadata key 'general.alignment'", "u32",
                      a->type_description());
        const auto align = a->as<std::uint32_t>("general.alignment");
        if (align == 0 || (align & (align - 1)) != 0)
            c.fail_at(at, "general.alignment is not a power of two", "metadata key 'general.alignment'",
                      "a power of two", std::to_string(align));
        alignment_ = align;
    }

    tensors_.reserve(std::size_t(n_tensors));
    for (std::uint64_t i = 0; i < n_tensors; ++i) {
        TensorInfo t;
        t.info_offset = c.offset();
        const std::string field = "tensor_info[" + std::to_string(i) + "]";
        t.name = c.read_string(field + " name", lim.max_name_bytes);
        if (t.name.empty()) c.fail_at(t.info_offset, "empty tensor name", field + " name", "a name", "\"\"");
        const std::string tfield = "tensor '" + t.name + "'";
        if (tensor_index_.count(t.name))
            c.fail_at(t.info_offset, "duplicate tensor name", tfield, "each name once", "a second tensor");
        const std::size_t dims_at = c.offset();
        const auto n_dims = c.read<std::uint32_t>(tfield + " n_dims");
        if (n_dims == 0 || n_dims > kMaxDims)
            c.fail_at(dims_at, "tensor has an impossible number of dimensions", tfield + " n_dims",
                      "1.." + std::to_string(kMaxDims), std::to_string(n_dims));
        t.elements = 1;
        for (std::uint32_t d = 0; d < n_dims; ++d) {
            const std::size_t at = c.offset();
            const auto ne = c.read<std::uint64_t>(tfield + " ne[" + std::to_string(d) + "]");
            if (ne == 0 || ne > std::uint64_t(std::numeric_limits<std::int64_t>::max()) ||
                !detail::mul_fits(t.elements, ne, t.elements) ||
                t.elements > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
                c.fail_at(at, "tensor dimension is absurd", tfield + " ne[" + std::to_string(d) + "]",
                          "a positive size whose product with the others fits in 63 bits", std::to_string(ne));
            t.dims.push_back(ne);
        }
        const std::size_t type_at = c.offset();
        const auto type_id = c.read<std::uint32_t>(tfield + " type");
        const auto type = find_tensor_type(type_id);
        if (!type)
            c.fail_at(type_at, "unknown tensor type", tfield + " type", "a ggml type this reader knows",
                      std::to_string(type_id), "the file may need a newer ulk");
        t.type = *type;
        if (t.dims[0] % t.type.block_weights != 0)
            c.fail_at(dims_at, "tensor row is not a whole number of blocks", tfield + " ne[0]",
                      "a multiple of " + std::to_string(t.type.block_weights) + " for " + std::string(t.type.name),
                      std::to_string(t.dims[0]));
        if (!detail::mul_fits(t.elements / t.type.block_weights, t.type.block_bytes, t.nbytes))
            c.fail_at(dims_at, "tensor size overflows", tfield, "", "");
        const std::size_t off_at = c.offset();
        const auto offset = c.read<std::uint64_t>(tfield + " offset");
        if (offset % alignment_ != 0)
            c.fail_at(off_at, "tensor data is misaligned", tfield + " offset",
                      "a multiple of " + std::to_string(alignment_), std::to_string(offset));
        t.file_offset = offset;  // relative for now; made absolute below
        tensor_index_.emplace(t.name, tensors_.size());
        tensors_.push_back(std::move(t));
    }

    // The data section starts at the next multiple of the alignment.
    const std::uint64_t end_of_infos = c.offset();
    data_offset_ = (end_of_infos + alignment_ - 1) / alignment_ * alignment_;
    if (tensors_.empty()) return;
    if (data_offset_ > bytes.size())
        c.fail_at(end_of_infos, "file ends before its data section", "data section",
                  std::to_string(data_offset_) + " bytes or more", std::to_string(bytes.size()) + " bytes",
                  "the file is truncated");
    const std::uint64_t data_size = bytes.size() - data_offset_;
    for (TensorInfo& t : tensors_) {
        if (t.file_offset > data_size || t.nbytes > data_size - t.file_offset)
            c.fail_at(t.info_offset, "tensor data lies outside the file", "tensor '" + t.name + "' offset",
                      "offset + " + std::to_string(t.nbytes) + " bytes <= " + std::to_string(data_size) +
                          " (data section size)",
                      "offset " + std::to_string(t.file_offset),
                      "the file is truncated or damaged");
        t.file_offset += data_offset_;
        t.data = bytes.subspan(std::size_t(t.file_offset), std::size_t(t.nbytes));
    }
    std::vector<const TensorInfo*> by_offset;
    for (const TensorInfo& t : tensors_) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const TensorInfo* a, const TensorInfo* b) { return a->file_offset < b->file_offset; });
    for (std::size_t i = 1; i < by_offset.size(); ++i) {
        const TensorInfo& a = *by_offset[i - 1];
        const TensorInfo& b = *by_offset[i];
        if (a.file_offset + a.nbytes > b.file_offset)
            c.fail_at(b.info_offset, "tensor data overlaps another tensor", "tensor '" + b.name + "' offset",
                      "data after the end of tensor '" + a.name + "' (byte " + std::to_string(a.file_offset + a.nbytes) + ")",
                      "byte " + std::to_string(b.file_offset), "the file is damaged");
    }
}

}  // namespace ulk::gguf
