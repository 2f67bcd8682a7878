#pragma once
// Block-sparse matrices in GGUF files, with standard tensor types only, so every GGUF reader can
// parse the file. A matrix named W is stored as
//   W.bsr_values    its panels (sparse/block_sparse_matrix.hpp): type F, shape [kBlockWeights,
//                   block_rows * nnz * block_cols / kBlockWeights] (one GGUF row per F-block); the
//                   library's own formats as I8 [block bytes, same count] plus
//                   ulk.format.W.bsr_values. Absent when nothing is kept.
//   W.bsr_row_ptr   I32 [rows / block_rows + 1]
//   W.bsr_col_idx   I32 [nnz] (absent when nnz is 0)
//   ulk.bsr.W       u32 array [rows, cols, block_rows, block_cols, layout]; layout 2 is the panel
//                   layout with the rows' F-blocks interleaved. Files without it (4 values) hold
//                   the row-after-row panels of earlier versions and are refused.
// Reading checks all of it (sizes, prefix counts, column order and range) before any kernel sees it.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ulk/base/error.hpp"
#include "ulk/gguf/file.hpp"
#include "ulk/gguf/writer.hpp"
#include "ulk/sparse/block_sparse_matrix.hpp"

namespace ulk::gguf {

inline std::string bsr_key(std::string_view matrix) { return "ulk.bsr." + std::string(matrix); }

// The panel layout this version reads and writes (the last value of the ulk.bsr key).
inline constexpr std::uint32_t kBsrLayout = 2;

// Adds the three tensors and the shape key; `s` must outlive writer.write().
template <quant::BlockFormat F>
void add_block_sparse(GgufWriter& w, const std::string& name, const sparse::BsrStorage<F>& s) {
    w.set(bsr_key(name), Value::array(std::vector<std::uint32_t>{std::uint32_t(s.rows), std::uint32_t(s.cols),
                                                                 std::uint32_t(s.block_rows), std::uint32_t(s.block_cols),
                                                                 kBsrLayout}));
    const std::uint64_t segments = s.block_rows * s.col_idx.size() * (s.block_cols / F::kBlockWeights);  // F-blocks
    const std::span<const std::byte> values{reinterpret_cast<const std::byte*>(s.values.data()),
                                            s.values.size() * sizeof(typename F::Block)};
    if (segments > 0) {
        if constexpr (F::kGgmlType != quant::kNotGgml) {
            w.add_tensor(name + ".bsr_values", std::uint32_t(F::kGgmlType), {F::kBlockWeights, segments}, values);
        } else {
            w.set(own_format_key(name + ".bsr_values"), std::string(F::kName));
            w.add_tensor(name + ".bsr_values", 24, {sizeof(typename F::Block), segments}, values);
        }
    }
    w.add_tensor(name + ".bsr_row_ptr", 26, {s.row_ptr.size()}, std::as_bytes(std::span(s.row_ptr)));
    if (!s.col_idx.empty()) w.add_tensor(name + ".bsr_col_idx", 26, {s.col_idx.size()}, std::as_bytes(std::span(s.col_idx)));
}

// A checked zero-copy view of block-sparse matrix `name` in format F.
template <quant::BlockFormat F>
sparse::BsrView<F> block_sparse(const GgufFile& f, const std::string& name) {
    const std::string where = f.name() + ", block-sparse matrix '" + name + "'";
    const Value* shape_value = f.find(bsr_key(name));
    require(shape_value != nullptr, {"block-sparse matrix is missing", where, "key " + bsr_key(name), "none",
                                     "the file does not hold the sparse model this program expects"});
    std::vector<std::uint64_t> shape;
    try {
        shape = shape_value->as_vector<std::uint64_t>(bsr_key(name));
    } catch (const Error& e) {
        throw Error({"block-sparse shape key is malformed", where, "4 unsigned integers", shape_value->type_description(), ""});
    }
    require(shape.size() != 4, {"block-sparse matrix is in the panel layout of an earlier version (rows one after another)", where,
                                "panel layout " + std::to_string(kBsrLayout), "no layout value",
                                "quantize the model again from its float weights with this version's ulk-quantize --sparse"});
    require(shape.size() == 5, {"block-sparse shape key is malformed", where,
                                "5 unsigned integers (rows, cols, block rows, block cols, layout)",
                                std::to_string(shape.size()) + " values", ""});
    require(shape[4] == kBsrLayout, {"block-sparse panel layout is unknown", where, std::to_string(kBsrLayout),
                                     std::to_string(shape[4]), "use the version of ulk that wrote the file, or quantize again"});
    auto index = [&](const std::string& tensor, bool optional) -> std::span<const std::uint32_t> {
        const TensorInfo* t = f.find_tensor(tensor);
        if (!t && optional) return {};
        require(t != nullptr, {"block-sparse index tensor is missing", where, tensor, "none", ""});
        require(t->type.id == 26 && t->dims.size() == 1,
                {"block-sparse index tensor has the wrong type", f.name() + ", tensor '" + tensor + "'", "1-D I32",
                 std::string(t->type.name) + " " + t->shape(), ""});
        return {reinterpret_cast<const std::uint32_t*>(t->data.data()), t->elements};
    };
    const auto row_ptr = index(name + ".bsr_row_ptr", false);
    const auto col_idx = index(name + ".bsr_col_idx", true);
    const void* values = nullptr;
    std::size_t value_bytes = 0;
    if (const TensorInfo* v = f.find_tensor(name + ".bsr_values")) {
        const std::string vwhere = f.name() + ", tensor '" + v->name + "'";
        if constexpr (F::kGgmlType != quant::kNotGgml) {
            require(v->type.id == std::uint32_t(F::kGgmlType),
                    {"tensor has a different type", vwhere, std::string(F::kName), std::string(v->type.name),
                     "quantize the model to the type this program was built for"});
        } else {
            const Value* fmt = f.find(own_format_key(v->name));
            require(v->type.id == 24 && fmt && fmt->type() == ValueType::String && fmt->as_string("") == F::kName,
                    {"tensor has a different type", vwhere, std::string(F::kName), std::string(v->type.name), ""});
        }
        values = v->data.data();
        value_bytes = v->data.size();
    }
    require(reinterpret_cast<std::uintptr_t>(values) % alignof(typename F::Block) == 0,
            {"block-sparse values are misaligned", where, "", "", ""});
    return sparse::BsrView<F>::checked(shape[0], shape[1], shape[2], shape[3], row_ptr, col_idx, values, value_bytes, where);
}

}  // namespace ulk::gguf
