#pragma once
// Held-out bits per character: the model's negative log-likelihood of a text, in bits, over the
// number of characters (Unicode code points) of the normalized text. It compares models with
// different tokenizers fairly. tools/train/eval_bpc.py applies the same rule to a PyTorch
// checkpoint, so F32 figures from both sides can be compared.
//
// Rule: whole documents of a shard in order (<s> TEXT </s>) until at least max_tokens tokens are
// scored. A document longer than `window` tokens is scored in windows of `window` tokens that
// overlap by one token, each from an empty context, so that every token after <s> (</s> included)
// is predicted exactly once. Characters: the code points of the documents' normalized text
// (PREFIX.chars, written by ulk-tokenize).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tokenize_corpus.hpp"

namespace ulk::tools {

struct BitsPerChar {
    double nll_bits = 0;
    std::size_t tokens = 0, chars = 0, documents = 0;
    double value() const { return chars ? nll_bits / double(chars) : 0.0; }
};

// -log2 softmax(logits)[target]
inline double nll_bits(std::span<const float> logits, std::int32_t target) {
    double mx = -INFINITY;
    for (const float v : logits) mx = std::max(mx, double(v));
    double sum = 0;
    for (const float v : logits) sum += std::exp(double(v) - mx);
    return (std::log(sum) + mx - double(logits[std::size_t(target)])) / std::log(2.0);
}

// Model: ulk::Llama<...> (reset, prefill_all).
template <class Model>
BitsPerChar bits_per_char(Model& model, const Shard& shard, std::size_t max_tokens, std::size_t window) {
    BitsPerChar r;
    window = std::max<std::size_t>(window, 2);
    for (std::size_t d = 0; d < shard.starts.size() && r.tokens < max_tokens; ++d) {
        const std::span<const std::int32_t> doc = shard.document(d);
        if (doc.size() < 2) continue;
        for (std::size_t begin = 0; begin + 1 < doc.size(); begin += window - 1) {
            const auto w = doc.subspan(begin, std::min(window, doc.size() - begin));
            model.reset();
            model.prefill_all(w, [&](std::size_t i, std::span<const float> logits) {
                if (i + 1 < w.size()) r.nll_bits += nll_bits(logits, w[i + 1]);
            });
            r.tokens += w.size() - 1;
        }
        r.chars += shard.chars[d];
        ++r.documents;
    }
    return r;
}

}  // namespace ulk::tools
