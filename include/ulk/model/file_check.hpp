#pragma once
// Checking a model file against a compile-time configuration: every difference is collected (not
// just the first), so that one error message lists all of them.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ulk/base/error.hpp"
#include "ulk/gguf/block_sparse_io.hpp"
#include "ulk/gguf/file.hpp"

namespace ulk::model {

struct Mismatch {
    std::string field;     // "llama.block_count", "blk.3.attn_q.weight"
    std::string expected;  // what the configuration says
    std::string found;     // what the file has
};

class FileCheck {
public:
    explicit FileCheck(const gguf::GgufFile& f) : f_(f) {}

    const std::vector<Mismatch>& mismatches() const noexcept { return m_; }
    bool ok() const noexcept { return m_.empty(); }
    void add(std::string field, std::string expected, std::string found) {
        m_.push_back({std::move(field), std::move(expected), std::move(found)});
    }

    // An unsigned hyper-parameter; `fallback` when the key is absent (0: the key is required).
    void count(std::string_view key, std::uint64_t expected, std::uint64_t fallback = 0) {
        const gguf::Value* v = f_.find(key);
        if (!v) {
            if (fallback == 0) add(std::string(key), std::to_string(expected), "missing");
            else if (fallback != expected) add(std::string(key), std::to_string(expected), "missing (default " + std::to_string(fallback) + ")");
            return;
        }
        try {
            const auto got = v->as<std::uint64_t>(key);
            if (got != expected) add(std::string(key), std::to_string(expected), std::to_string(got));
        } catch (const Error&) {
            add(std::string(key), std::to_string(expected), v->type_description());
        }
    }
    // A real hyper-parameter, equal within a relative 1e-6 (files store f32).
    void real(std::string_view key, double expected, double fallback) {
        const gguf::Value* v = f_.find(key);
        double got = fallback;
        if (v) {
            try {
                got = v->as<double>(key);
            } catch (const Error&) {
                add(std::string(key), number(expected), v->type_description());
                return;
            }
        }
        if (std::fabs(got - expected) > 1e-6 * std::fabs(expected))
            add(std::string(key), number(expected), number(got) + (v ? "" : " (default)"));
    }
    void string(std::string_view key, std::string_view expected) {
        const gguf::Value* v = f_.find(key);
        const std::string got = !v ? "missing" : v->type() == gguf::ValueType::String ? v->as_string(key) : v->type_description();
        if (got != expected) add(std::string(key), std::string(expected), got);
    }

    // A dense tensor of format F with ggml dims {cols, rows} (rows = 0: a vector of cols values).
    // Returns the tensor when it matches.
    template <quant::BlockFormat F>
    const gguf::TensorInfo* tensor(std::string_view name, std::uint64_t cols, std::uint64_t rows) {
        const std::string want = type_shape(F::kName, cols, rows);
        const gguf::TensorInfo* t = f_.find_tensor(name);
        if (!t) {
            add(std::string(name), want, f_.find_tensor(std::string(name) + ".bsr_row_ptr") ? "block-sparse" : "missing");
            return nullptr;
        }
        std::uint64_t file_cols = t->cols();
        std::string type(t->type.name);
        if (t->type.id == 24) {  // I8 rows: one of our own formats, named by a key
            const gguf::Value* fmt = f_.find(gguf::own_format_key(t->name));
            if (fmt && fmt->type() == gguf::ValueType::String) type = fmt->as_string("");
            if constexpr (F::kGgmlType == quant::kNotGgml)
                if (type == F::kName) file_cols = t->dims[0] / sizeof(typename F::Block) * F::kBlockWeights;
        }
        const bool shape_ok = file_cols == cols && (rows == 0 ? t->dims.size() == 1 : t->dims.size() == 2 && t->rows() == rows);
        if (type != F::kName || !shape_ok) {
            add(std::string(name), want, type_shape(type, file_cols, t->dims.size() == 1 ? 0 : t->rows()));
            return nullptr;
        }
        return t;
    }

    // A block-sparse matrix (gguf/block_sparse_io.hpp) of format F, shape and block as configured,
    // density at most max_density. Returns its checked view when it matches.
    template <quant::BlockFormat F>
    bool block_sparse(const std::string& name, std::size_t rows, std::size_t cols, std::size_t br, std::size_t bc,
                      double max_density, sparse::BsrView<F>* out) {
        const std::string want = std::string(F::kName) + " block-sparse " + std::to_string(rows) + " x " + std::to_string(cols) +
                                 " in " + std::to_string(br) + " x " + std::to_string(bc) + " blocks, density <= " + number(max_density);
        if (!f_.find(gguf::bsr_key(name))) {
            add(name, want, f_.find_tensor(name) ? "dense " + std::string(f_.find_tensor(name)->type.name) : "missing");
            return false;
        }
        try {
            *out = gguf::block_sparse<F>(f_, name);
        } catch (const Error& e) {
            add(name, want, e.what());
            return false;
        }
        const auto& v = *out;
        if (v.rows != rows || v.cols != cols || v.block_rows != br || v.block_cols != bc || v.density() > max_density + 1e-9) {
            add(name, want, std::to_string(v.rows) + " x " + std::to_string(v.cols) + " in " + std::to_string(v.block_rows) + " x " +
                                std::to_string(v.block_cols) + " blocks, density " + number(v.density()));
            return false;
        }
        return true;
    }

    // The error that lists every difference.
    Error error(std::string_view config_name) const {
        std::string list;
        for (const auto& m : m_) list += "\n  " + m.field + ": expected " + m.expected + ", found " + m.found;
        return Error({"model file does not match the compiled configuration '" + std::string(config_name) + "' (" +
                          std::to_string(m_.size()) + (m_.size() == 1 ? " difference)" : " differences)") + list + "\n",
                      f_.name(), "", "",
                      "Build for this file: `ulk-inspect --preset FILE` prints a preset with its values; add it to "
                      "configs/ulk/presets/ (see configs/README.md) and rebuild"});
    }

private:
    static std::string number(double v) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.9g", v);
        return buf;
    }
    static std::string type_shape(std::string_view type, std::uint64_t cols, std::uint64_t rows) {
        return std::string(type) + " [" + std::to_string(cols) + (rows ? ", " + std::to_string(rows) : "") + "]";
    }

    const gguf::GgufFile& f_;
    std::vector<Mismatch> m_;
};

}  // namespace ulk::model
