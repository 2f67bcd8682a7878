#pragma once
// Every packed format, and type lists of them for tests and benchmarks.
#include <tuple>

#include "ulk/quant/bf16.hpp"
#include "ulk/quant/f16.hpp"
#include "ulk/quant/f32.hpp"
#include "ulk/quant/q4_0.hpp"
#include "ulk/quant/q8_0.hpp"

namespace ulk::quant {

// ggml-compatible weight formats (bit-exact with ggml's reference quantizers).
using GgmlFormats = std::tuple<F32, F16, BF16, Q8_0, Q4_0>;

}  // namespace ulk::quant
