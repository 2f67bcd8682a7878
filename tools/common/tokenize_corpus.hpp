#pragma once
// Token shards for training (tools/train/), written with the same C++ tokenizer and chat template
// that inference uses, so that training and inference see identical ids.
//
// A shard PREFIX is four files:
//   PREFIX.bin   token ids, little-endian uint16 (vocabulary <= 65536 pieces) or uint32
//   PREFIX.idx   uint64 offsets (in tokens) where each document or conversation starts
//   PREFIX.chars uint32 per document: code points of its normalized text (bits per character)
//   PREFIX.mask  (chat only) one uint8 per token: 1 where the loss is taken (assistant replies
//                and their <|end|>), 0 elsewhere
//   PREFIX.json  {"dtype","tokens","documents","lines","chars","bytes","split","vocab",...}
//                chars = Unicode code points of the normalized text (for bits per character)
//
// Plain text: one document per line, or (--docs blank) documents separated by blank lines;
// each document is <s> TEXT </s>. The held-out split is the one of ko_corpus.hpp: the last 1% of
// the lines of each input (at least one line).
//
// Chat: JSONL, one conversation per line, in the project's generic form
//   {"system": "...", "turns": [{"role": "user", "text": "..."},
//                               {"role": "assistant", "style": "polite", "text": "..."}, ...]}
// rendered with generate::ChatTemplate: <s> [<|system|> S <|end|>\n] {<|user|> U <|end|>\n
// <|assistant|> STYLE R <|end|>\n}. tools/train/prepare_chat.py writes this form from the source
// sets (its split already applied), so the chat tool takes every line.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <span>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ko_corpus.hpp"
#include "ulk/base/error.hpp"
#include "ulk/generate/chat_template.hpp"
#include "ulk/text/tokenizer.hpp"
#include "ulk/text/utf8.hpp"

namespace ulk::tools {

enum class CorpusSplit : std::uint8_t { all, train, held_out };
enum class DocumentSplit : std::uint8_t { lines, blank_lines };

// Every line of FILE: .xz through xz -dc, "-" from stdin, anything else as plain text.
inline std::vector<std::string> read_lines(const std::string& file) {
    std::vector<std::string> lines;
    if (file.ends_with(".xz")) {
        for_each_xz_line(file, [&](const std::string& s, std::size_t) { lines.push_back(s); });
        return lines;
    }
    std::ifstream f;
    if (file != "-") {
        f.open(file, std::ios::binary);
        require(bool(f), {"cannot open input", file, "a readable text file", "", "check the path"});
    }
    std::istream& in = file == "-" ? std::cin : f;
    for (std::string s; std::getline(in, s);) lines.push_back(std::move(s));
    return lines;
}

// Lines [first, last) of a file with `total` lines that belong to `split`.
inline std::pair<std::size_t, std::size_t> split_range(std::size_t total, CorpusSplit split) {
    if (total == 0 || split == CorpusSplit::all) return {0, total};
    const std::size_t cut = total - held_out_lines(total);
    return split == CorpusSplit::train ? std::pair{std::size_t(0), cut} : std::pair{cut, total};
}

inline std::size_t count_code_points(std::string_view s) {
    std::size_t n = 0;
    for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
}

struct ShardStats {
    std::size_t tokens = 0, documents = 0, lines = 0, chars = 0, bytes = 0, loss_tokens = 0;
};

class ShardWriter {
public:
    ShardWriter(const std::string& prefix, std::size_t vocab, bool with_mask)
        : prefix_(prefix), wide_(vocab > 65536), with_mask_(with_mask) {
        bin_.open(prefix + ".bin", std::ios::binary | std::ios::trunc);
        idx_.open(prefix + ".idx", std::ios::binary | std::ios::trunc);
        chars_.open(prefix + ".chars", std::ios::binary | std::ios::trunc);
        require(bool(bin_) && bool(idx_) && bool(chars_), {"cannot write shard", prefix + ".bin", "a writable path", "", "check the directory"});
        if (with_mask) {
            mask_.open(prefix + ".mask", std::ios::binary | std::ios::trunc);
            require(bool(mask_), {"cannot write shard", prefix + ".mask", "a writable path", "", ""});
        }
    }

    // One document or conversation; mask may be empty when the shard has none.
    void add(const std::vector<std::int32_t>& ids, const std::vector<std::uint8_t>& mask, std::size_t chars) {
        const std::uint64_t start = stats.tokens;
        idx_.write(reinterpret_cast<const char*>(&start), sizeof start);
        const auto c = static_cast<std::uint32_t>(chars);
        chars_.write(reinterpret_cast<const char*>(&c), sizeof c);
        stats.chars += chars;
        for (const std::int32_t id : ids) {
            if (wide_) {
                const auto v = static_cast<std::uint32_t>(id);
                bin_.write(reinterpret_cast<const char*>(&v), sizeof v);
            } else {
                const auto v = static_cast<std::uint16_t>(id);
                bin_.write(reinterpret_cast<const char*>(&v), sizeof v);
            }
        }
        if (with_mask_) {
            mask_.write(reinterpret_cast<const char*>(mask.data()), std::streamsize(mask.size()));
            for (const auto m : mask) stats.loss_tokens += m;
        }
        stats.tokens += ids.size();
        ++stats.documents;
    }

    void finish(nlohmann::json meta) {
        bin_.close();
        idx_.close();
        chars_.close();
        if (with_mask_) mask_.close();
        require(!bin_.fail() && !idx_.fail(), {"writing shard failed", prefix_ + ".bin", "", "", "disk full?"});
        meta["dtype"] = wide_? "uint32" : "uint16";
        meta["tokens"] = stats.tokens;
        meta["documents"] = stats.documents;
        meta["lines"] = stats.lines;
        meta["chars"] = stats.chars;
        meta["bytes"] = stats.bytes;
        if (with_mask_) meta["loss_tokens"] = stats.loss_tokens;
        std::ofstream j(prefix_ + ".json", std::ios::trunc);
        j << meta.dump(2) << "\n";
        require(bool(j), {"cannot write shard metadata", prefix_ + ".json", "", "", ""});
    }

    ShardStats stats;

private:
    std::string prefix_;
    bool wide_, with_mask_;
    std::ofstream bin_, idx_, chars_, mask_;
};

// Plain text lines of `inputs` (their `split` part) into one shard.
inline ShardStats tokenize_text(const text::Tokenizer& tok, const std::vector<std::string>& inputs,
                                const std::string& prefix, CorpusSplit split, DocumentSplit docs,
                                const std::function<void(const std::string&)>& progress = {}) {
    ShardWriter out(prefix, tok.size(), false);
    std::vector<std::int32_t> ids;
    std::string doc;
    auto flush = [&] {
        if (doc.empty()) return;
        ids.clear();
        ids.push_back(tok.bos_id());
        tok.encode_append(doc, ids);
        ids.push_back(tok.eos_id());
        out.stats.bytes += doc.size();
        out.add(ids, {}, count_code_points(tok.normalize(doc)));
        doc.clear();
    };
    for (const std::string& file : inputs) {
        if (progress) progress(file);
        const std::vector<std::string> lines = read_lines(file);
        const auto [first, last] = split_range(lines.size(), split);
        for (std::size_t i = first; i < last; ++i) {
            const std::string& line = lines[i];
            ++out.stats.lines;
            if (docs == DocumentSplit::lines) {
                doc = line;
                flush();
            } else if (line.find_first_not_of(" \t\r") == std::string::npos) {
                flush();
            } else {
                if (!doc.empty()) doc += '\n';
                doc += line;
            }
        }
        flush();
    }
    const char* split_name = split == CorpusSplit::all ? "all" : split == CorpusSplit::train ? "train" : "held_out";
    out.finish({{"split", split_name}, {"inputs", inputs}, {"vocab", tok.size()}, {"chat", false},
                {"documents_are", docs == DocumentSplit::lines ? "lines" : "blank-line separated"}});
    return out.stats;
}

// One conversation (generic JSONL form) as ids and loss mask.
inline void render_conversation(const generate::ChatTemplate& chat, const nlohmann::json& conv, const std::string& where,
                                std::vector<std::int32_t>& ids, std::vector<std::uint8_t>& mask, std::size_t& chars) {
    ids.clear();
    mask.clear();
    auto grow_mask = [&](std::uint8_t v) { mask.resize(ids.size(), v); };
    chat.append_begin(ids);
    if (conv.contains("system") && conv["system"].is_string() && !conv["system"].get<std::string>().empty()) {
        const std::string system = conv["system"].get<std::string>();
        chars += count_code_points(chat.tokenizer().normalize(system));
        chat.append_system(system, ids);
    }
    grow_mask(0);
    require(conv.contains("turns") && conv["turns"].is_array() && !conv["turns"].empty(),
            {"conversation has no turns", where, "\"turns\": [{\"role\", \"text\"}, ...]", conv.dump().substr(0, 80), ""});
    const std::string default_style = conv.value("style", std::string("polite"));
    for (const auto& t : conv["turns"]) {
        require(t.is_object() && t.contains("role") && t["role"].is_string() && t.contains("text") && t["text"].is_string(),
                {"malformed turn", where, "{\"role\": \"user\"|\"assistant\", \"text\": \"...\"}", t.dump().substr(0, 80), ""});
        const auto role = generate::parse_role(t["role"].get<std::string>());
        require(role.has_value() && *role != generate::Role::system,
                {"unknown turn role", where, "user or assistant", t["role"].get<std::string>(), ""});
        const std::string text = t["text"].get<std::string>();
        chars += count_code_points(chat.tokenizer().normalize(text));
        if (*role == generate::Role::user) {
            chat.append_user(text, ids);
            grow_mask(0);
            continue;
        }
        const std::string style_name = t.value("style", default_style);
        const auto style = generate::parse_style(style_name);
        require(style.has_value(), {"unknown speech style", where, "polite or casual", style_name, ""});
        chat.append_reply_header(*style, ids);
        grow_mask(0);
        chat.append_text(text, ids);
        ids.push_back(chat.end_of_turn());
        grow_mask(1);  // the reply and its <|end|>: what the model learns to say
        ids.push_back(chat.newline());
        grow_mask(0);
    }
}

inline ShardStats tokenize_chat(const text::Tokenizer& tok, const std::vector<std::string>& inputs, const std::string& prefix,
                                const std::function<void(const std::string&)>& progress = {}) {
    const generate::ChatTemplate chat(tok);
    ShardWriter out(prefix, tok.size(), true);
    std::vector<std::int32_t> ids;
    std::vector<std::uint8_t> mask;
    for (const std::string& file : inputs) {
        if (progress) progress(file);
        const std::vector<std::string> lines = read_lines(file);
        for (std::size_t i = 0; i < lines.size(); ++i) {
            if (lines[i].empty()) continue;
            const std::string where = file + ", line " + std::to_string(i + 1);
            nlohmann::json conv;
            try {
                conv = nlohmann::json::parse(lines[i]);
            } catch (const nlohmann::json::exception& e) {
                throw Error({"line is not valid JSON", where, "one JSON conversation per line", e.what(), ""});
            }
            ++out.stats.lines;
            out.stats.bytes += lines[i].size();
            std::size_t chars = 0;
            render_conversation(chat, conv, where, ids, mask, chars);
            out.add(ids, mask, chars);
        }
    }
    out.finish({{"split", "as given"}, {"inputs", inputs}, {"vocab", tok.size()}, {"chat", true}});
    return out.stats;
}

// A shard read back (tools that score held-out text: ulk-eval-bpc).
struct Shard {
    std::vector<std::int32_t> ids;
    std::vector<std::uint64_t> starts;  // document starts
    std::vector<std::uint32_t> chars;   // per document: code points of the normalized text
    nlohmann::json meta;

    std::span<const std::int32_t> document(std::size_t d) const {
        const std::size_t b = std::size_t(starts[d]), e = d + 1 < starts.size() ? std::size_t(starts[d + 1]) : ids.size();
        return {ids.data() + b, e - b};
    }
};

inline Shard read_shard(const std::string& prefix) {
    Shard s;
    {
        std::ifstream j(prefix + ".json");
        require(bool(j), {"cannot open shard metadata", prefix + ".json", "a shard written by ulk-tokenize", "", "check the prefix"});
        try {
            s.meta = nlohmann::json::parse(j);
        } catch (const nlohmann::json::exception& e) {
            throw Error({"shard metadata is not valid JSON", prefix + ".json", "", e.what(), ""});
        }
    }
    const bool wide = s.meta.value("dtype", std::string("uint16")) == "uint32";
    auto read_all = [&](const std::string& path) {
        std::ifstream f(path, std::ios::binary);
        require(bool(f), {"cannot open shard", path, "a shard written by ulk-tokenize", "", ""});
        return std::vector<char>(std::istreambuf_iterator<char>(f), {});
    };
    const std::vector<char> bin = read_all(prefix + ".bin"), idx = read_all(prefix + ".idx"), chars = read_all(prefix + ".chars");
    const std::size_t width = wide ? 4 : 2, n = bin.size() / width;
    require(bin.size() % width == 0 && n == s.meta.value("tokens", std::size_t(0)),
            {"shard size differs from its metadata", prefix + ".bin", std::to_string(s.meta.value("tokens", 0)) + " tokens",
             std::to_string(bin.size()) + " bytes", "write the shard again"});
    s.ids.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (wide) {
            std::uint32_t v;
            std::memcpy(&v, bin.data() + 4 * i, 4);
            s.ids[i] = std::int32_t(v);
        } else {
            std::uint16_t v;
            std::memcpy(&v, bin.data() + 2 * i, 2);
            s.ids[i] = v;
        }
    }
    s.starts.resize(idx.size() / 8);
    std::memcpy(s.starts.data(), idx.data(), s.starts.size() * 8);
    s.chars.resize(chars.size() / 4);
    std::memcpy(s.chars.data(), chars.data(), s.chars.size() * 4);
    require(s.chars.size() == s.starts.size(), {"shard files disagree", prefix + ".chars",
                                                std::to_string(s.starts.size()) + " documents (as .idx)",
                                                std::to_string(s.chars.size()), "write the shard again"});
    for (std::size_t d = 0; d < s.starts.size(); ++d)
        require(s.starts[d] <= n && (d == 0 || s.starts[d] >= s.starts[d - 1]),
                {"document offsets out of order", prefix + ".idx, entry " + std::to_string(d), "increasing offsets <= " + std::to_string(n),
                 std::to_string(s.starts[d]), "write the shard again"});
    return s;
}

}  // namespace ulk::tools
