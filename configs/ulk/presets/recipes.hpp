#pragma once
// Weight-format recipes: which format each tensor family of a preset uses. Each matches a preset
// of `ulk-quantize` (tools/common/quantize_model.hpp), so that the file it writes loads here.
#include "ulk/quant/all_formats.hpp"

namespace ulk::presets {

// Every matrix in one format (`ulk-quantize --preset F` plus `--type 'output.weight=F'` for
// untied models, or a converted F32/F16 file).
template <class F>
struct AllOf {
    using EmbeddingFormat = F;
    using AttentionFormat = F;
    using FfnFormat = F;
    using OutputFormat = F;
};

// `ulk-quantize --preset Q4_0`: as llama.cpp's Q4_0 mix, the output projection in Q6_K.
struct Q4_0Mix : AllOf<quant::Q4_0> {
    using OutputFormat = quant::Q6_K;
};

// `ulk-quantize --preset Q2P`: ulk's fast 2-bit format for attention and FFN; embeddings and
// output, a small share of the bytes but sensitive, in Q8_0.
struct Q2PMix {
    using EmbeddingFormat = quant::Q8_0;
    using AttentionFormat = quant::Q2Planar;
    using FfnFormat = quant::Q2Planar;
    using OutputFormat = quant::Q8_0;
};

// A tied model has no output matrix: the recipe's output format becomes the embedding's.
template <class Recipe>
struct Tied : Recipe {
    using OutputFormat = typename Recipe::EmbeddingFormat;
};

}  // namespace ulk::presets
