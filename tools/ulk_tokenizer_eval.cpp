// ulk-tokenizer-eval: fertility of SentencePiece vocabularies on the held-out split (the last 1%
// of each file, never trained on) of ../shared/data/ko/pretrain: tokens per Hangul syllable, per
// eojeol (space-separated word), byte- and jamo-fallback rates, and KS X 1001 coverage. Prints
// markdown rows for docs/tokenizer.md.
//
//   ulk-tokenizer-eval [--data DIR] [--sources klue_kornlu,petitions] NAME=FILE...
// FILE is a .model file, or a .tsv of "score<TAB>type<TAB>piece" lines (llama.cpp's
// tokenizer.ggml.scores / token_type / tokens, one token per line, in id order), which is built
// with Tokenizer::from_vocab as a BPE vocabulary with <s> = 1 and </s> = 2.
// --reference FILE checks "text<TAB>ids" lines against the first model's encoding.
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ko_corpus.hpp"
#include "ulk/text/ks_x_1001.hpp"
#include "ulk/text/tokenizer.hpp"

namespace fs = std::filesystem;
using namespace ulk;
using text::Tokenizer;

namespace {

Tokenizer load(const std::string& file) {
    if (!file.ends_with(".tsv")) return Tokenizer::from_file(file);
    std::ifstream in(file, std::ios::binary);
    require(bool(in), {"cannot read vocabulary", file, {}, {}, {}});
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<std::int32_t> types;
    std::string line;
    while (std::getline(in, line)) {
        const auto a = line.find('\t'), b = line.find('\t', a + 1);
        require(a != std::string::npos && b != std::string::npos,
                {"malformed vocabulary line", file + ", token " + std::to_string(tokens.size()),
                 "score<TAB>type<TAB>piece", line, {}});
        scores.push_back(std::stof(line.substr(0, a)));
        types.push_back(std::stoi(line.substr(a + 1, b - a - 1)));
        tokens.push_back(line.substr(b + 1));
    }
    text::SpmVocabSpec spec;
    spec.bos_id = 1;
    spec.eos_id = 2;
    return Tokenizer::from_vocab(tokens, scores, types, spec);
}

struct Counts {
    std::size_t lines = 0, bytes = 0, syllables = 0, eojeols = 0;
    text::EncodeStats stats;
};

void count_text(const std::string& normalized, Counts& c) {
    bool in_word = false;
    for (std::size_t i = 0; i < normalized.size();) {
        const text::Utf8Decoded d = text::decode_utf8(normalized, i);
        c.syllables += text::hangul::is_syllable(d.code_point);
        const bool space = d.code_point == U' ' || d.code_point == U'\t';
        c.eojeols += !space && !in_word;
        in_word = !space;
        i += d.length;
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string data = "../shared/data/ko", sources = "klue_kornlu,petitions", reference;
    std::vector<std::pair<std::string, std::string>> models;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--data" && i + 1 < argc) data = argv[++i];
        else if (a == "--sources" && i + 1 < argc) sources = argv[++i];
        else if (a == "--reference" && i + 1 < argc) reference = argv[++i];
        else if (const auto eq = a.find('='); eq != std::string::npos) models.emplace_back(a.substr(0, eq), a.substr(eq + 1));
        else {
            std::fprintf(stderr, "usage: ulk-tokenizer-eval [--data DIR] [--sources a,b] [--reference FILE] NAME=FILE...\n");
            return 2;
        }
    }
    try {
        std::map<std::string, std::vector<std::string>> held_out;
        std::stringstream list(sources);
        for (std::string s; std::getline(list, s, ',');) {
            const fs::path f = fs::path(data) / "pretrain" / (s + ".txt.xz");
            held_out[s] = tools::held_out_sample(f, std::size_t(-1));
        }
        std::printf("| vocabulary | pieces | text | lines | tokens/syllable | tokens/eojeol | byte-fallback tokens | "
                    "jamo-fallback syllables | KS X 1001 syllables not single pieces | byte tokens for them |\n"
                    "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (const auto& [name, file] : models) {
            const Tokenizer t = load(file);
            std::size_t ks_missing = 0;
            text::EncodeStats ks;
            for (const char32_t c : text::ks_x_1001_syllables()) {
                const std::string s = text::utf8_encode(c);
                ks_missing += t.id_of(s) < 0;
                (void)t.encode(s, &ks);
            }
            for (const auto& [source, lines] : held_out) {
                Counts c;
                for (const std::string& line : lines) {
                    if (line.empty()) continue;
                    ++c.lines;
                    c.bytes += line.size();
                    count_text(t.normalize(line), c);
                    (void)t.encode(line, &c.stats);
                }
                std::printf("| %s | %d | %s | %zu | %.3f | %.3f | %.2f%% | %.3f%% | %zu | %zu |\n", name.c_str(), t.size(),
                            source.c_str(), c.lines, double(c.stats.tokens) / double(c.syllables),
                            double(c.stats.tokens) / double(c.eojeols),
                            100.0 * double(c.stats.byte_fallback_tokens) / double(c.stats.tokens),
                            100.0 * double(c.stats.jamo_fallback_syllables) / double(c.syllables), ks_missing,
                            ks.byte_fallback_tokens);
            }
            std::fflush(stdout);
        }
        if (!reference.empty() && !models.empty()) {
            const Tokenizer t = load(models.front().second);
            std::ifstream in(reference);
            std::size_t same = 0, total = 0;
            for (std::string line; std::getline(in, line); ++total) {
                const auto tab = line.find('\t');
                std::vector<std::int32_t> want;
                std::stringstream ids(line.substr(tab + 1));
                for (std::int32_t id; ids >> id;) want.push_back(id);
                same += t.encode(line.substr(0, tab)) == want;
            }
            std::printf("\nreference encodings matched: %zu of %zu\n", same, total);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    return 0;
}
