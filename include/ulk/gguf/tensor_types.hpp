#pragma once
// Every ggml tensor type a GGUF file may hold: its name and block geometry. The reader needs the
// geometry of all of them, also the ones the library cannot compute with, to check each tensor's
// byte size against its shape; binding a tensor to a format (gguf/file.hpp) then checks the type.
// Sizes are those of ggml's block structs (ggml-common.h).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ulk::gguf {

struct TensorType {
    std::uint32_t id;           // ggml_type
    std::string_view name;      // "Q4_K", as llama.cpp prints it
    std::uint32_t block_weights;
    std::uint32_t block_bytes;
};

inline constexpr std::array kTensorTypes = {
    TensorType{0, "F32", 1, 4},          TensorType{1, "F16", 1, 2},
    TensorType{2, "Q4_0", 32, 18},       TensorType{3, "Q4_1", 32, 20},
    TensorType{6, "Q5_0", 32, 22},       TensorType{7, "Q5_1", 32, 24},
    TensorType{8, "Q8_0", 32, 34},       TensorType{9, "Q8_1", 32, 36},
    TensorType{10, "Q2_K", 256, 84},     TensorType{11, "Q3_K", 256, 110},
    TensorType{12, "Q4_K", 256, 144},    TensorType{13, "Q5_K", 256, 176},
    TensorType{14, "Q6_K", 256, 210},    TensorType{15, "Q8_K", 256, 292},
    TensorType{16, "IQ2_XXS", 256, 66},  TensorType{17, "IQ2_XS", 256, 74},
    TensorType{18, "IQ3_XXS", 256, 98},  TensorType{19, "IQ1_S", 256, 50},
    TensorType{20, "IQ4_NL", 32, 18},    TensorType{21, "IQ3_S", 256, 110},
    TensorType{22, "IQ2_S", 256, 82},    TensorType{23, "IQ4_XS", 256, 136},
    TensorType{24, "I8", 1, 1},          TensorType{25, "I16", 1, 2},
    TensorType{26, "I32", 1, 4},         TensorType{27, "I64", 1, 8},
    TensorType{28, "F64", 1, 8},         TensorType{29, "IQ1_M", 256, 56},
    TensorType{30, "BF16", 1, 2},        TensorType{34, "TQ1_0", 256, 54},
    TensorType{35, "TQ2_0", 256, 66},    TensorType{39, "MXFP4", 32, 17},
};

inline std::optional<TensorType> find_tensor_type(std::uint32_t id) {
    for (const TensorType& t : kTensorTypes)
        if (t.id == id) return t;
    return std::nullopt;
}

inline std::optional<TensorType> find_tensor_type(std::string_view name) {
    for (const TensorType& t : kTensorTypes)
        if (t.name == name) return t;
    return std::nullopt;
}

inline std::string tensor_type_name(std::uint32_t id) {
    const auto t = find_tensor_type(id);
    return t ? std::string(t->name) : "type " + std::to_string(id);
}

}  // namespace ulk::gguf
