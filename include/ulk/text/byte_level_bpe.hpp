#pragma once
// ByteLevelBpe: the tokenizer of GPT-2-style vocabularies (tokenizer.ggml.model = "gpt2": Llama 3,
// Qwen, EXAONE, Kanana, Midm, A.X, HyperCLOVA X). Encoding: added tokens are split out first,
// the rest is cut into words by the pre-tokenizer (text/pretokenizer.hpp), and each word's UTF-8
// bytes are merged pairwise, lowest merge rank first (leftmost on ties), as Hugging Face
// tokenizers and llama.cpp do.
//
// Vocabulary strings are stored byte-mapped (GPT-2's bytes_to_unicode: printable Latin-1 bytes
// stand for themselves, the other 68 bytes for U+0100..U+0143), so every token is printable.
// They are mapped back to raw bytes once, at load: merging and decoding then work on bytes.
// Added tokens (control and user-defined) are stored as plain text.
#include <algorithm>
#include <array>
#include <cstdint>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ulk/base/error.hpp"
#include "ulk/text/piece_table.hpp"
#include "ulk/text/pretokenizer.hpp"
#include "ulk/text/utf8.hpp"

namespace ulk::text {

// GPT-2's byte <-> code point map.
struct ByteLevelAlphabet {
    std::array<char32_t, 256> code_of_byte{};

    constexpr ByteLevelAlphabet() {
        char32_t next = 0x100;
        for (unsigned b = 0; b < 256; ++b) {
            const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            code_of_byte[b] = printable ? char32_t(b) : next++;
        }
    }

    // The byte a code point stands for; -1 when it is not in the alphabet.
    constexpr int byte_of(char32_t c) const noexcept {
        if (c < 0x100) return code_of_byte[c] == c ? int(c) : -1;
        if (c >= 0x100 && c < 0x144) {
            for (unsigned b = 0; b < 256; ++b)
                if (code_of_byte[b] == c) return int(b);
        }
        return -1;
    }

    // The raw bytes a byte-mapped token stands for; false when a code point is not in the alphabet.
    bool unmap(std::string_view token, std::string& bytes) const {
        bytes.clear();
        for (std::size_t pos = 0; pos < token.size();) {
            const Utf8Decoded d = decode_utf8(token, pos);
            const int b = d.valid ? byte_of(d.code_point) : -1;
            if (b < 0) return false;
            bytes.push_back(char(b));
            pos += d.length;
        }
        return true;
    }

    std::string map(std::string_view bytes) const {
        std::string s;
        for (const char b : bytes) append_utf8(s, code_of_byte[static_cast<unsigned char>(b)]);
        return s;
    }
};

inline constexpr ByteLevelAlphabet kByteLevelAlphabet{};

struct ByteLevelBpeSpec {
    PreTokenizer pre = PreTokenizer::llama3;
    // A word that is itself a token is emitted whole, without merging (Llama 3's ignore_merges).
    bool ignore_merges = false;
    std::string where = "byte-level BPE vocabulary";
};

class ByteLevelBpe {
public:
    // tokens and types: llama.cpp's tokenizer.ggml.tokens / token_type; merges: "left right",
    // in rank order (tokenizer.ggml.merges).
    ByteLevelBpe(const std::vector<std::string>& tokens, const std::vector<std::int32_t>& types,
                 const std::vector<std::string>& merges, ByteLevelBpeSpec spec)
        : spec_(std::move(spec)), tokens_(tokens) {
        const std::string& where = spec_.where;
        require(!tokens.empty() && tokens.size() < (std::size_t(1) << 31),
                {"byte-level BPE vocabulary has a wrong size", where, "1 .. 2^31-1 tokens", std::to_string(tokens.size()), {}});
        require(types.size() == tokens.size(),
                {"token types and tokens differ in number", where, std::to_string(tokens.size()), std::to_string(types.size()),
                 "the file's tokenizer.ggml.token_type must have one entry per token"});
        byte_token_.fill(-1);
        table_.strip_leading_space = false;
        table_.compose_jamo = false;
        table_.entries.reserve(tokens.size());
        std::string bytes;
        for (std::size_t id = 0; id < tokens.size(); ++id) {
            const std::int32_t t = types[id];
            require(t >= 1 && t <= 6, {"token type out of range", where + ", token " + std::to_string(id), "1..6",
                                       std::to_string(t), {}});
            const auto kind = PieceKind(t);
            const std::string& token = tokens[id];
            control_.push_back(kind == PieceKind::control);
            if (kind == PieceKind::control || kind == PieceKind::user_defined) {
                require(!token.empty(), {"empty added token", where + ", token " + std::to_string(id), "its text", "\"\"", {}});
                added_.push_back(std::int32_t(id));
                bytes = token;
            } else if (!kByteLevelAlphabet.unmap(token, bytes)) {
                bytes = token;  // not byte-mapped (seen in some converted files): its text as it is
            }
            // Control and unused tokens decode to nothing; user-defined ones to their text.
            PieceTable::Entry e;
            e.kind = kind == PieceKind::control || kind == PieceKind::unused || kind == PieceKind::user_defined
                         ? kind
                         : PieceKind::normal;
            if (e.kind == PieceKind::normal || e.kind == PieceKind::user_defined) e.surface = bytes;
            e.plain = PieceTable::is_plain(e.surface);
            table_.entries.push_back(std::move(e));
            if (kind == PieceKind::normal || kind == PieceKind::byte) {
                if (bytes.size() == 1 && byte_token_[static_cast<unsigned char>(bytes[0])] < 0)
                    byte_token_[static_cast<unsigned char>(bytes[0])] = std::int32_t(id);
                id_by_bytes_.emplace(bytes, std::int32_t(id));  // the first id wins, as in llama.cpp
            }
        }
        for (unsigned b = 0; b < 256; ++b)
            require(byte_token_[b] >= 0,
                    {"byte-level BPE vocabulary lacks a byte", where, "a token for each of the 256 bytes",
                     "none for byte 0x" + hex(b) + " (\"" + kByteLevelAlphabet.map(std::string(1, char(b))) + "\")",
                     "the file is not a byte-level vocabulary, or it is damaged"});
        merge_.reserve(merges.size());
        std::string left, right;
        for (std::size_t r = 0; r < merges.size(); ++r) {
            const std::string& m = merges[r];
            const std::size_t space = m.find(' ', 1);
            auto bad = [&](const std::string& found) {
                return Error(ErrorInfo{"bad BPE merge", where + ", merge " + std::to_string(r),
                                       "\"LEFT RIGHT\": two tokens whose concatenation is a token", found,
                                       "the file's tokenizer.ggml.merges is damaged"});
            };
            if (space == std::string::npos || space + 1 >= m.size()) throw bad("\"" + m + "\"");
            if (!kByteLevelAlphabet.unmap(std::string_view(m).substr(0, space), left) ||
                !kByteLevelAlphabet.unmap(std::string_view(m).substr(space + 1), right))
                throw bad("\"" + m + "\" (not byte-mapped text)");
            const std::int32_t a = find_bytes(left), b = find_bytes(right), ab = find_bytes(left + right);
            if (a < 0 || b < 0 || ab < 0) throw bad("\"" + m + "\" (" + (a < 0 ? "left" : b < 0 ? "right" : "their concatenation") +
                                                    " is not a token)");
            merge_.emplace(pair_key(a, b), Merge{std::int32_t(r), ab});  // the first rank wins
        }
        // Longest first, so that an added token containing another is matched whole.
        std::sort(added_.begin(), added_.end(), [&](std::int32_t x, std::int32_t y) {
            return added_text(x).size() != added_text(y).size() ? added_text(x).size() > added_text(y).size() : x < y;
        });
        for (const std::int32_t id : added_) added_first_bytes_[static_cast<unsigned char>(added_text(id)[0])] = true;
        token_index_.reserve(tokens_.size());
        for (std::size_t id = 0; id < tokens_.size(); ++id) token_index_.emplace(tokens_[id], std::int32_t(id));
    }

    // Appends the ids of text (valid UTF-8). Control tokens are matched only with parse_control
    // (text from a template); user-defined ones always, as llama.cpp does.
    void encode_append(std::string_view text, std::vector<std::int32_t>& ids, bool parse_control = false) const {
        std::size_t plain_from = 0;
        for (std::size_t pos = 0; pos < text.size();) {
            const std::int32_t id = added_first_bytes_[static_cast<unsigned char>(text[pos])]
                                        ? match_added(text.substr(pos), parse_control)
                                        : -1;
            if (id < 0) {
                ++pos;
                continue;
            }
            encode_plain(text.substr(plain_from, pos - plain_from), ids);
            ids.push_back(id);
            pos += added_text(id).size();
            plain_from = pos;
        }
        encode_plain(text.substr(plain_from), ids);
    }

    // What decoding needs (moved out: the encoder does not use it).
    PieceTable release_piece_table() { return std::move(table_); }
    const std::string& token(std::int32_t id) const { return tokens_[std::size_t(id)]; }
    std::int32_t size() const noexcept { return std::int32_t(tokens_.size()); }
    const ByteLevelBpeSpec& spec() const noexcept { return spec_; }
    // The id of a token as the vocabulary spells it (byte-mapped); -1 when there is none.
    std::int32_t id_of_token(std::string_view token) const {
        const auto it = token_index_.find(std::string(token));
        return it == token_index_.end() ? -1 : it->second;
    }

private:
    struct Merge {
        std::int32_t rank, merged;
    };
    static std::uint64_t pair_key(std::int32_t a, std::int32_t b) {
        return std::uint64_t(std::uint32_t(a)) << 32 | std::uint32_t(b);
    }
    static std::string hex(unsigned b) {
        const char* digits = "0123456789ABCDEF";
        return {digits[b >> 4], digits[b & 15]};
    }
    std::int32_t find_bytes(const std::string& bytes) const {
        const auto it = id_by_bytes_.find(bytes);
        return it == id_by_bytes_.end() ? -1 : it->second;
    }
    const std::string& added_text(std::int32_t id) const { return tokens_[std::size_t(id)]; }  // plain text

    std::int32_t match_added(std::string_view rest, bool parse_control) const {
        for (const std::int32_t id : added_) {
            if (!parse_control && control_[std::size_t(id)]) continue;
            if (rest.substr(0, added_text(id).size()) == added_text(id)) return id;
        }
        return -1;
    }

    void encode_plain(std::string_view text, std::vector<std::int32_t>& ids) const {
        if (text.empty()) return;
        pre_tokenize(spec_.pre, text, [&](std::string_view word) { encode_word(word, ids); });
    }

    // BPE over one word's bytes: symbols in a linked list, candidate pairs in a min-heap of
    // (rank, left position); a popped pair is used only if both symbols are still as they were.
    void encode_word(std::string_view word, std::vector<std::int32_t>& ids) const {
        if (word.size() == 1) {
            ids.push_back(byte_token_[static_cast<unsigned char>(word[0])]);
            return;
        }
        if (spec_.ignore_merges) {
            const auto it = id_by_bytes_.find(std::string(word));
            if (it != id_by_bytes_.end()) {
                ids.push_back(it->second);
                return;
            }
        }
        const std::size_t n = word.size();
        struct Symbol {
            std::int32_t id;
            std::int32_t prev, next;  // -1: none
        };
        std::vector<Symbol> sym(n);
        for (std::size_t i = 0; i < n; ++i)
            sym[i] = {byte_token_[static_cast<unsigned char>(word[i])], std::int32_t(i) - 1,
                      i + 1 < n ? std::int32_t(i + 1) : -1};
        struct Candidate {
            std::int32_t rank, left, left_id, right_id;
            bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
        };
        std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
        auto consider = [&](std::int32_t left) {
            if (left < 0 || sym[std::size_t(left)].next < 0) return;
            const Symbol& l = sym[std::size_t(left)];
            const Symbol& r = sym[std::size_t(l.next)];
            const auto it = merge_.find(pair_key(l.id, r.id));
            if (it != merge_.end()) heap.push({it->second.rank, left, l.id, r.id});
        };
        for (std::size_t i = 0; i + 1 < n; ++i) consider(std::int32_t(i));
        while (!heap.empty()) {
            const Candidate c = heap.top();
            heap.pop();
            Symbol& l = sym[std::size_t(c.left)];
            if (l.id != c.left_id || l.next < 0 || sym[std::size_t(l.next)].id != c.right_id) continue;  // stale
            Symbol& r = sym[std::size_t(l.next)];
            l.id = merge_.at(pair_key(c.left_id, c.right_id)).merged;
            r.id = -1;  // gone
            l.next = r.next;
            if (r.next >= 0) sym[std::size_t(r.next)].prev = c.left;
            consider(l.prev);
            consider(c.left);
        }
        for (std::int32_t i = 0; i >= 0; i = sym[std::size_t(i)].next) ids.push_back(sym[std::size_t(i)].id);
    }

    ByteLevelBpeSpec spec_;
    std::vector<std::string> tokens_;                        // (vocab) as the file spells them
    PieceTable table_;                                       // (vocab) raw bytes for decoding
    std::array<std::int32_t, 256> byte_token_{};             // the token of each single byte
    std::unordered_map<std::string, std::int32_t> id_by_bytes_;  // raw bytes -> id (normal tokens)
    std::unordered_map<std::uint64_t, Merge> merge_;         // (left id, right id) -> rank, result
    std::vector<bool> control_;                              // (vocab) control token?
    std::vector<std::int32_t> added_;                        // control and user-defined ids, longest first
    std::array<bool, 256> added_first_bytes_{};              // first bytes of added tokens
    std::unordered_map<std::string, std::int32_t> token_index_;        // spelling -> id (first wins)
};

}  // namespace ulk::text
