#pragma once
// Every packed format, and type lists of them for tests and benchmarks.
#include <tuple>

#include "ulk/quant/bf16.hpp"
#include "ulk/quant/f16.hpp"
#include "ulk/quant/f32.hpp"
#include "ulk/quant/grouped.hpp"
#include "ulk/quant/q2_k.hpp"
#include "ulk/quant/q2_planar.hpp"
#include "ulk/quant/q3_k.hpp"
#include "ulk/quant/q4_0.hpp"
#include "ulk/quant/q4_k.hpp"
#include "ulk/quant/q6_k.hpp"
#include "ulk/quant/q8_0.hpp"
#include "ulk/quant/q8_k.hpp"

namespace ulk::quant {

// ggml-compatible weight formats (bit-exact with ggml's reference quantizers).
using GgmlFormats = std::tuple<F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K, Q3_K, Q2_K>;

// The library's own formats.
using OwnFormats = std::tuple<Q2Planar, Grouped<2, 64>, Grouped<3, 64>, Grouped<4, 64>, Grouped<8, 64>>;

}  // namespace ulk::quant
