#pragma once
// The tokenizer stored in a GGUF model file. Files that ulk-convert writes embed the SentencePiece
// model itself (ulk.tokenizer.sentencepiece_model): it is loaded as it is, normalization rules and
// all. Any other llama.cpp SPM-style file gives its tokenizer.ggml.{tokens,scores,token_type}
// arrays, from which a SentencePiece model is written (text/spm_model_proto.hpp). Byte-level BPE
// files (tokenizer.ggml.model = "gpt2") give tokens, token types, merges and the pre-tokenizer's name.
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
    const std::string model_name =
        model && model->type() == gguf::ValueType::String ? model->as_string(key::tokenizer_model) : "";
    require(model_name == "llama" || model_name == "gpt2",
            {"file has no vocabulary ulk can read", f.name() + ", key '" + std::string(key::tokenizer_model) + "'",
             "\"llama\" (SentencePiece) or \"gpt2\" (byte-level BPE)",
             model ? (model->type() == gguf::ValueType::String ? "\"" + model_name + "\"" : model->type_description()) : "none",
             "ulk reads SentencePiece and byte-level BPE vocabularies"});
    auto get_id = [&](std::string_view k) -> std::int32_t {
        return f.find(k) ? f.get_as<std::int32_t>(k) : -1;
    };
    if (model_name == "gpt2") {
        try {
            const gguf::Value* pre = f.find(key::pre);
            require(pre != nullptr && pre->type() == gguf::ValueType::String,
                    {"byte-level BPE vocabulary without a pre-tokenizer name", f.name() + ", key '" + std::string(key::pre) + "'",
                     "a string such as \"llama-bpe\" or \"qwen2\"", pre ? pre->type_description() : "none",
                     "convert the model again with a current llama.cpp (convert_hf_to_gguf.py writes it)"});
            const std::string pre_name = pre->as_string(key::pre);
            ByteLevelBpeSpec spec;
            spec.where = f.name() + ", tokenizer.ggml";
            spec.pre = pre_tokenizer_from_name(pre_name, f.name() + ", key '" + std::string(key::pre) + "'");
            spec.ignore_merges = pre_name == "llama-bpe" || pre_name == "llama3";  // as llama.cpp does
            const auto& tokens = f.get(key::tokens).as_strings(key::tokens);
            const auto types = f.find(key::token_type) ? f.get(key::token_type).as_vector<std::int32_t>(key::token_type)
                                                       : std::vector<std::int32_t>(tokens.size(), 1);
            const auto& merges = f.get(key::merges).as_strings(key::merges);
            Tokenizer::SpecialIds special{get_id(key::bos_id), get_id(key::eos_id), get_id(key::unk_id)};
            const bool compose_hangul = spec.pre == PreTokenizer::qwen2;  // Qwen's tokenizer applies NFC
            return Tokenizer::from_byte_level_bpe(tokens, types, merges, std::move(spec), special, compose_hangul);
        } catch (const Error& e) {
            ErrorInfo i = e.info();
            if (i.where.rfind(f.name(), 0) != 0) i.where = f.name() + ", " + i.where;
            throw Error(std::move(i));
        }
    }
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
