#pragma once
// Pre-tokenizers of byte-level BPE vocabularies: the regular expressions Hugging Face's
// tokenizer.json files give (and llama.cpp selects by tokenizer.ggml.pre), written as one scan
// over code points instead of a regex engine. BPE merges never cross the words they produce.
//
// llama-bpe (Llama 3, Midm 2.0) and qwen2 (Qwen 2/2.5/3):
//   (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,3} (qwen2: \p{N}) |
//    ?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
// gpt-2 (GPT-2, EXAONE 4.0, A.X 4.0):
//   's|'t|'re|'ve|'m|'ll|'d | ?\p{L}+ | ?\p{N}+ | ?[^\s\p{L}\p{N}]+ | \s+(?!\S) | \s+
// The alternatives are tried in order at each position, as the regex does. (?i) is ASCII case
// only, as llama.cpp has it.
#include <cstddef>
#include <string_view>
#include <vector>

#include "ulk/base/error.hpp"
#include "ulk/text/unicode_classes.hpp"
#include "ulk/text/utf8.hpp"

namespace ulk::text {

enum class PreTokenizer { llama3, qwen2, gpt2 };

// tokenizer.ggml.pre names llama.cpp writes, with the rules each uses here.
struct PreTokenizerName {
    std::string_view name;
    PreTokenizer rules;
};
inline constexpr PreTokenizerName kPreTokenizerNames[] = {
    {"llama-bpe", PreTokenizer::llama3}, {"llama3", PreTokenizer::llama3}, {"midm-2.0", PreTokenizer::llama3},
    {"qwen2", PreTokenizer::qwen2},      {"gpt-2", PreTokenizer::gpt2},    {"exaone4", PreTokenizer::gpt2},
    {"a.x-4.0", PreTokenizer::gpt2},
};

inline PreTokenizer pre_tokenizer_from_name(std::string_view name, const std::string& where) {
    for (const auto& n : kPreTokenizerNames)
        if (n.name == name) return n.rules;
    std::string known;
    for (const auto& n : kPreTokenizerNames) known += (known.empty() ? "" : ", ") + std::string(n.name);
    throw Error(ErrorInfo{"unknown byte-level BPE pre-tokenizer", where, known, "\"" + std::string(name) + "\"",
                          "this vocabulary splits words by rules ulk does not implement yet"});
}

// Splits valid UTF-8 into words, calling word(std::string_view) for each, in order; the words
// concatenate to the input. Linear in the input.
template <class OnWord>
void pre_tokenize(PreTokenizer rules, std::string_view text, OnWord&& word) {
    using unicode::is_letter, unicode::is_number, unicode::is_whitespace;
    // Code points with their byte offsets; offsets has one entry more (the end).
    std::vector<char32_t> cps;
    std::vector<std::size_t> at;
    cps.reserve(text.size());
    at.reserve(text.size() + 1);
    for (std::size_t pos = 0; pos < text.size();) {
        const Utf8Decoded d = decode_utf8(text, pos);
        cps.push_back(d.valid ? d.code_point : kReplacementCharacter);
        at.push_back(pos);
        pos += d.length;
    }
    at.push_back(text.size());
    const std::size_t n = cps.size();
    auto cp = [&](std::size_t i) -> char32_t { return i < n ? cps[i] : 0; };
    auto emit = [&](std::size_t from, std::size_t to) { word(text.substr(at[from], at[to] - at[from])); };
    auto is_newline = [](char32_t c) { return c == '\r' || c == '\n'; };
    auto lower = [](char32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; };
    const bool ignore_case = rules != PreTokenizer::gpt2;
    const std::size_t max_digits = rules == PreTokenizer::llama3 ? 3 : rules == PreTokenizer::qwen2 ? 1 : n;

    std::size_t i = 0;
    while (i < n) {
        const char32_t c = cps[i];
        // 's 't 're 've 'm 'll 'd
        if (c == '\'' && i + 1 < n) {
            auto fold = [&](char32_t x) { return ignore_case ? lower(x) : x; };
            const char32_t a = fold(cp(i + 1)), b = fold(cp(i + 2));
            if (a == 's' || a == 't' || a == 'm' || a == 'd') {
                emit(i, i + 2);
                i += 2;
                continue;
            }
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
                emit(i, i + 3);
                i += 3;
                continue;
            }
        }
        if (rules == PreTokenizer::gpt2) {
            // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+'
            const std::size_t s = c == ' ' && i + 1 < n ? i + 1 : i;
            const char32_t f = cps[s];
            auto take_run = [&](auto&& in_class) {
                std::size_t j = s;
                while (j < n && in_class(cps[j])) ++j;
                emit(i, j);
                i = j;
            };
            if (is_letter(f)) { take_run(is_letter); continue; }
            if (is_number(f)) { take_run(is_number); continue; }
            if (!is_whitespace(f)) {
                take_run([&](char32_t x) { return !is_whitespace(x) && !is_letter(x) && !is_number(x); });
                continue;
            }
        } else {
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if (is_letter(c) || (!is_newline(c) && !is_number(c) && is_letter(cp(i + 1)) && i + 1 < n)) {
                std::size_t j = i + 1;
                while (j < n && is_letter(cps[j])) ++j;
                emit(i, j);
                i = j;
                continue;
            }
            // \p{N}{1,max_digits}
            if (is_number(c)) {
                std::size_t j = i + 1;
                while (j < n && j - i < max_digits && is_number(cps[j])) ++j;
                emit(i, j);
                i = j;
                continue;
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            const std::size_t s = c == ' ' && i + 1 < n ? i + 1 : i;
            auto other = [&](char32_t x) { return !is_whitespace(x) && !is_letter(x) && !is_number(x); };
            if (s < n && other(cps[s])) {
                std::size_t j = s + 1;
                while (j < n && other(cps[j])) ++j;
                while (j < n && is_newline(cps[j])) ++j;
                emit(i, j);
                i = j;
                continue;
            }
        }
        // What is left starts with whitespace.
        std::size_t end = i;
        while (end < n && is_whitespace(cps[end])) ++end;
        if (rules != PreTokenizer::gpt2) {
            // \s*[\r\n]+: up to the last newline of the run.
            std::size_t last_newline = n;
            for (std::size_t j = i; j < end; ++j)
                if (is_newline(cps[j])) last_newline = j;
            if (last_newline != n) {
                emit(i, last_newline + 1);
                i = last_newline + 1;
                continue;
            }
        }
        // \s+(?!\S): the run but its last space when a non-space follows; \s+ otherwise.
        if (end < n && end - i > 1) --end;
        emit(i, end);
        i = end;
    }
}

}  // namespace ulk::text
