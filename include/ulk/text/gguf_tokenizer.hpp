#pragma once
// The tokenizer stored in a GGUF model file. Files that ulk-convert writes embed the SentencePiece
// model itself (ulk.tokenizer.sentencepiece_model): it is loaded as it is, normalization rules and
// all. Any other llama.cpp SPM-style file gives its tokenizer.ggml.{tokens,scores,token_type}
// arrays, from which a SentencePiece model is written (text/spm_model_proto.hpp).
#include <cstdint>
#include <string>
#include <vector>

#include "ulk/base/error.hpp"
#include "ulk/gguf/file.hpp"
#include "ulk/gguf/llama_names.hpp"
#include "ulk/text/tokenizer.hpp"

namespace ulk::text {

inline Tokenizer tokenizer_from_gguf(const gguf::GgufFile& f, TokenizerOptions options = {}) {
    namespace key = gguf::llama::key;
    if (const gguf::Value* spm = f.find(key::sentencepiece_model)) {
        require(spm->is_array() && spm->element_type() == gguf::ValueType::U8,
                {"embedded SentencePiece model has the wrong type", f.name() + ", key '" + std::string(key::sentencepiece_model) + "'",
                 "array of u8", spm->type_description(), ""});
        return Tokenizer::from_model_bytes(spm->raw_bytes(), options, f.name() + ", key '" + std::string(key::sentencepiece_model) + "'");
    }
    const gguf::Value* model = f.find(key::tokenizer_model);
    require(model != nullptr && model->type() == gguf::ValueType::String && model->as_string("") == "llama",
            {"file has no SentencePiece-style vocabulary", f.name() + ", key '" + std::string(key::tokenizer_model) + "'",
             "\"llama\" (SPM)", model ? (model->type() == gguf::ValueType::String ? model->as_string("") : model->type_description()) : "none",
             "ulk's tokenizer reads SentencePiece vocabularies only"});
    auto get_id = [&](std::string_view k) -> std::int32_t {
        return f.find(k) ? f.get_as<std::int32_t>(k) : -1;
    };
    SpmVocabSpec spec;
    spec.bos_id = get_id(key::bos_id);
    spec.eos_id = get_id(key::eos_id);
    spec.pad_id = get_id(key::pad_id);
    if (f.find("tokenizer.ggml.add_space_prefix")) spec.add_dummy_prefix = f.get_as<bool>("tokenizer.ggml.add_space_prefix");
    try {
        const auto& tokens = f.get(key::tokens).as_strings(key::tokens);
        const auto scores = f.get(key::scores).as_vector<float>(key::scores);
        const auto types = f.get(key::token_type).as_vector<std::int32_t>(key::token_type);
        return Tokenizer::from_vocab(tokens, scores, types, spec, options);
    } catch (const Error& e) {
        ErrorInfo i = e.info();
        if (i.where.rfind(f.name(), 0) != 0) i.where = f.name() + ", " + i.where;
        throw Error(std::move(i));
    }
}

}  // namespace ulk::text
