#pragma once
// Everything in ultralight-ko, layer by layer (each layer only includes the ones above it):
//   base -> simd -> quant -> sparse -> ops -> attention -> model -> gguf -> text -> generate
#include "ulk/base/aligned_buffer.hpp"
#include "ulk/base/error.hpp"
#include "ulk/base/fp16.hpp"
#include "ulk/base/thread_pool.hpp"
#include "ulk/base/version.hpp"
#include "ulk/simd/arch.hpp"
#include "ulk/simd/reduce.hpp"
#include "ulk/quant/all_formats.hpp"
#include "ulk/quant/format.hpp"
#include "ulk/quant/packed_matrix.hpp"
#include "ulk/ops/gemm.hpp"
#include "ulk/ops/gemv.hpp"
#include "ulk/gguf/file.hpp"
#include "ulk/gguf/writer.hpp"
