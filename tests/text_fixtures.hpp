#pragma once
// Shared by the text tests: the committed tokenizer, loaded once, and the held-out lines of every
// shared Korean source (the last 1% of each file, which no vocabulary was trained on).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "../tools/ko_corpus.hpp"
#include "ulk/text/tokenizer.hpp"

namespace ulk::test {

inline constexpr const char* kTokenizerModel = ULK_MODELS_DIR "/ulk-ko-32k.model";

inline const text::Tokenizer& ko_tokenizer() {
    static const text::Tokenizer t = text::Tokenizer::from_file(kTokenizerModel);
    return t;
}

// Empty when ../shared/data/ko is missing (the tests that need it then skip with a message).
// CTest runs every test case in its own process: the samples are cached in the build folder
// (written whole, then renamed), so that the .xz files are decompressed once per build.
inline const std::map<std::string, std::vector<std::string>>& held_out_samples() {
    static const auto samples = [] {
        std::map<std::string, std::vector<std::string>> m;
        const std::filesystem::path dir = ULK_SHARED_KO_DATA;
        if (!std::filesystem::is_directory(dir)) return m;
        const std::filesystem::path cache = ULK_TEST_CACHE "/held_out_samples.txt";
        std::ifstream in(cache, std::ios::binary);
        std::string source, line;
        std::size_t n = 0;
        while (std::getline(in, source, '\t') && in >> n && in.ignore(1)) {
            auto& lines = m[source];
            for (std::size_t i = 0; i < n && std::getline(in, line); ++i) lines.push_back(line);
        }
        if (!m.empty()) return m;
        for (const auto& f : tools::xz_files(dir))
            m[std::filesystem::relative(f, dir).string()] = tools::held_out_sample(f, 120);
        const std::filesystem::path tmp = cache.string() + "." + std::to_string(::getpid());
        {
            std::ofstream out(tmp, std::ios::binary);
            for (const auto& [s, lines] : m) {
                out << s << '\t' << lines.size() << '\n';
                for (const auto& l : lines) out << l << '\n';
            }
        }
        std::filesystem::rename(tmp, cache);
        return m;
    }();
    return samples;
}

// NFD: every precomposed syllable as its conjoining jamo.
inline std::string to_nfd(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
        const text::Utf8Decoded d = text::decode_utf8(s, i);
        if (d.valid && text::hangul::is_syllable(d.code_point)) {
            const auto j = text::hangul::decompose(d.code_point);
            text::append_utf8(out, j.lead);
            text::append_utf8(out, j.vowel);
            if (j.trail) text::append_utf8(out, j.trail);
        } else {
            out.append(s.substr(i, d.length));
        }
        i += d.length;
    }
    return out;
}

}  // namespace ulk::test
