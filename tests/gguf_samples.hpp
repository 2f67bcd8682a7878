#pragma once
// Small GGUF files for the reader tests, built with the writer: a Llama-style file with a
// vocabulary, hyper-parameters and a few quantized tensors.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "ulk/gguf/writer.hpp"
#include "ulk/quant/q4_0.hpp"
#include "ulk/quant/q8_0.hpp"

namespace ulk::test {

inline std::vector<std::byte> random_bytes(std::size_t n, std::uint64_t seed) {
    Rng r(seed);
    std::vector<std::byte> v(n);
    for (auto& b : v) b = std::byte(r.next() & 0xff);
    return v;
}

// A vocabulary in llama.cpp's SPM layout: <unk>, <s>, </s>, 256 byte tokens, then pieces.
inline void add_sample_vocab(gguf::GgufWriter& w, std::size_t pieces = 40) {
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
    std::vector<float> scores = {0.f, 0.f, 0.f};
    std::vector<std::int32_t> types = {2, 3, 3};
    for (int b = 0; b < 256; ++b) {
        static const char* hex = "0123456789ABCDEF";
        tokens.push_back(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">");
        scores.push_back(0.f);
        types.push_back(6);
    }
    const char* korean[] = {"▁안녕", "하세요", "▁한국", "어", "▁모델", "입니다", "ㅋㅋ", "▁"};
    for (std::size_t i = 0; i < pieces; ++i) {
        tokens.push_back(i < 8 ? korean[i] : "▁piece" + std::to_string(i));
        scores.push_back(-float(i));
        types.push_back(1);
    }
    w.set("tokenizer.ggml.model", "llama");
    w.set("tokenizer.ggml.tokens", gguf::Value::array(tokens));
    w.set("tokenizer.ggml.scores", gguf::Value::array(scores));
    w.set("tokenizer.ggml.token_type", gguf::Value::array(types));
    w.set("tokenizer.ggml.bos_token_id", std::uint32_t(1));
    w.set("tokenizer.ggml.eos_token_id", std::uint32_t(2));
}

// A small model-shaped file: metadata, a vocabulary and three tensors of different types.
struct SampleFile {
    std::vector<std::byte> q8, q4, norm;
    gguf::GgufWriter writer;
    SampleFile() {
        auto w8 = normal_vector(64 * 4, 1);
        auto w4 = normal_vector(64 * 2, 2);
        q8.resize(quant::row_bytes<quant::Q8_0>(64) * 4);
        q4.resize(quant::row_bytes<quant::Q4_0>(64) * 2);
        for (int r = 0; r < 4; ++r)
            quant::Q8_0::quantize_ref(w8.data() + r * 64,
                                      reinterpret_cast<quant::Q8_0::Block*>(q8.data()) + r * 2, 64);
        for (int r = 0; r < 2; ++r)
            quant::Q4_0::quantize_ref(w4.data() + r * 64,
                                      reinterpret_cast<quant::Q4_0::Block*>(q4.data()) + r * 2, 64);
        norm = random_bytes(64 * 4, 3);
        writer.set("general.architecture", "llama");
        writer.set("general.name", "sample");
        writer.set("llama.embedding_length", std::uint32_t(64));
        writer.set("llama.rope.freq_base", 10000.f);
        add_sample_vocab(writer);
        writer.add_tensor("blk.0.attn_q.weight", 8, {64, 4}, q8);
        writer.add_tensor("blk.0.ffn_up.weight", 2, {64, 2}, q4);
        writer.add_tensor("output_norm.weight", 0, {64}, norm);
    }
    std::vector<std::byte> bytes() const { return writer.to_bytes(); }
};

}  // namespace ulk::test
