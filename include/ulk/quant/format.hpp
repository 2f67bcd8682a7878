#pragma once
// What a packed weight format is. Every format is a stateless struct type:
//
//   struct Fmt {
//     static constexpr std::string_view kName;     // "Q4_0"
//     static constexpr int kGgmlType;               // ggml type id, or kNotGgml for our own formats
//     static constexpr std::size_t kBlockWeights;   // weights per block (1 for F32/F16/BF16)
//     using Block = ...;                            // POD, sizeof checked by static_assert
//     using Activation = ...;                       // format the dot product's other operand uses
//     static void quantize_ref(const float* x, Block* y, std::size_t n);    // n % kBlockWeights == 0
//     static void dequantize_ref(const Block* x, float* y, std::size_t n);
//     static float dot_ref(const Block* w, const typename Activation::Block* a, std::size_t n);
//     static float dot(simd::portable, const Block* w, const typename Activation::Block* a, std::size_t n);
//     // ...plus dot overloads for stronger tags (simd::avx2, simd::avx512vnni) where they pay.
//   };
//
// `*_ref` functions are the slow scalar references that define the format; the fast kernels are
// tested against them. For ggml formats, quantize_ref is bit-exact with ggml's quantize_row_*_ref.
// An Activation format additionally has quantize(Arch, x, y, n): the fast on-the-fly quantizer.
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "ulk/simd/arch.hpp"

namespace ulk::quant {

inline constexpr int kNotGgml = -1;

// ggml's type ids (ggml.h, enum ggml_type), as stored in GGUF tensor infos.
enum class GgmlType : std::uint32_t {
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, BF16 = 30,
};

template <class F>
concept BlockFormat =
    requires {
        typename F::Block;
        { F::kName } -> std::convertible_to<std::string_view>;
        { F::kGgmlType } -> std::convertible_to<int>;
        { F::kBlockWeights } -> std::convertible_to<std::size_t>;
    } &&
    std::is_trivially_copyable_v<typename F::Block> && std::is_standard_layout_v<typename F::Block> &&
    (F::kBlockWeights > 0) &&
    requires(const float* x, float* y, typename F::Block* b, const typename F::Block* cb, std::size_t n) {
        F::quantize_ref(x, b, n);
        F::dequantize_ref(cb, y, n);
    };

// A weight format whose dot product runs against an activation format (quantized or float).
template <class F>
concept DotFormat =
    BlockFormat<F> && BlockFormat<typename F::Activation> &&
    requires(const typename F::Block* w, const typename F::Activation::Block* a, std::size_t n) {
        { F::dot_ref(w, a, n) } -> std::convertible_to<float>;
        { F::dot(simd::native{}, w, a, n) } -> std::convertible_to<float>;
    };

template <BlockFormat F>
constexpr std::size_t block_count(std::size_t n) noexcept { return n / F::kBlockWeights; }

template <BlockFormat F>
constexpr std::size_t row_bytes(std::size_t n) noexcept { return block_count<F>(n) * sizeof(typename F::Block); }

// Bits per weight, including scales: what a format costs in memory traffic.
template <BlockFormat F>
constexpr double bits_per_weight() noexcept { return 8.0 * sizeof(typename F::Block) / double(F::kBlockWeights); }

// The activation formats' fast quantizer defaults to the reference one.
template <class F, class Arch>
concept HasFastQuantize = requires(const float* x, typename F::Block* y, std::size_t n) { F::quantize(Arch{}, x, y, n); };

template <BlockFormat F, class Arch>
inline void quantize_activation(Arch arch, const float* x, typename F::Block* y, std::size_t n) {
    if constexpr (HasFastQuantize<F, Arch>) F::quantize(arch, x, y, n);
    else F::quantize_ref(x, y, n);
}

}  // namespace ulk::quant
