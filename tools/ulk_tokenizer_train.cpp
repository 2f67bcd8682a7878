// ulk-tokenizer-train: trains a Korean SentencePiece vocabulary on ../shared/data/ko/pretrain
// with our normalization (HangulNormalizer; SentencePiece's own is switched off), the chat
// special tokens, byte fallback, and required characters that make every KS X 1001 syllable,
// every conjoining jamo (for jamo fallback) and every compatibility jamo a piece of its own.
// The last 1% of every file is held out (tools/ko_corpus.hpp) and never trained on.
//
//   ulk-tokenizer-train --data ../shared/data/ko --corpus /tmp/ko-train.txt \
//       --model-prefix models/ulk-ko-16k --type unigram --vocab 16000
// --sentences N samples N lines of the corpus (0: all, the default; sampling may drop the
// required-character lines, which the BPE trainer needs).
#include <sentencepiece_trainer.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <unordered_map>

#include "ko_corpus.hpp"
#include "ulk/text/hangul.hpp"
#include "ulk/text/ks_x_1001.hpp"
#include "ulk/text/normalizer.hpp"
#include "ulk/text/special_tokens.hpp"
#include "ulk/text/utf8.hpp"

namespace fs = std::filesystem;
using namespace ulk;

namespace {

// Lines taken from each source at most, spread evenly over its first 99%. Legal text (precedents,
// statutes) is 73% of the bytes; capping it keeps everyday and conversational Korean in the
// vocabulary. Sources not listed are taken whole.
const std::map<std::string, std::size_t> kLinesPerSource = {
    {"nsmc.txt.xz", 150000}, {"precedents.txt.xz", 60000}, {"statutes.txt.xz", 30000}, {"techdocs.txt.xz", 60000}};

std::string required_chars() {
    std::string s;
    for (const char32_t c : text::ks_x_1001_syllables()) text::append_utf8(s, c);
    for (char32_t c = 0; c < char32_t(text::hangul::kLeadCount); ++c) text::append_utf8(s, text::hangul::kLeadBase + c);
    for (char32_t c = 0; c < char32_t(text::hangul::kVowelCount); ++c) text::append_utf8(s, text::hangul::kVowelBase + c);
    for (char32_t c = 1; c < char32_t(text::hangul::kTrailCount); ++c) text::append_utf8(s, text::hangul::kTrailBase + c);
    for (char32_t c = text::hangul::kCompatibilityJamoFirst; c <= text::hangul::kCompatibilityJamoLast; ++c)
        text::append_utf8(s, c);  // ㄱ..ㅣ and the old letters, ㆍ (U+318D) among them: a common list dot
    // Punctuation of Korean prose that falls below the coverage cut in a 16k vocabulary.
    s += "·‧․…‥–—‘’“”「」『』《》〈〉【】※○●□■◇◆△▲▽▼→←↑↓☆★♡♥";
    return s;
}

// SentencePiece's BPE trainer aborts on a required character that never occurs (freq > 0):
// the corpus starts with each required character once, 64 to a line, separated by spaces.
void write_required_lines(std::ofstream& out) {
    const std::string chars = required_chars();
    std::size_t on_line = 0;
    for (std::size_t i = 0; i < chars.size();) {
        const std::size_t n = text::decode_utf8(chars, i).length;
        out << (on_line ? " " : "") << chars.substr(i, n);
        i += n;
        if (++on_line == 64) {
            out << '\n';
            on_line = 0;
        }
    }
    out << '\n';
}

void build_corpus(const fs::path& data, const fs::path& corpus) {
    const text::HangulNormalizer normalizer;
    std::ofstream out(corpus, std::ios::binary);
    require(bool(out), {"cannot write the corpus", corpus.string(), {}, {}, {}});
    write_required_lines(out);
    for (const fs::path& file : tools::xz_files(data / "pretrain")) {
        const std::size_t total = tools::for_each_xz_line(file, [](const std::string&, std::size_t) {});
        const std::size_t usable = total - tools::held_out_lines(total);
        const auto cap = kLinesPerSource.find(file.filename().string());
        const std::size_t want = cap == kLinesPerSource.end() ? usable : std::min(usable, cap->second);
        const std::size_t stride = std::max<std::size_t>(1, usable / std::max<std::size_t>(1, want));
        std::size_t kept = 0;
        tools::for_each_xz_line(file, [&](const std::string& line, std::size_t i) {
            if (i >= usable || i % stride != 0 || kept >= want || line.empty()) return;
            out << normalizer.normalize(line) << '\n';
            ++kept;
        });
        std::printf("%-28s %9zu lines, %9zu held out, %9zu taken\n", file.filename().c_str(), total,
                    total - usable, kept);
    }
}

int usage() {
    std::fprintf(stderr,
                 "usage: ulk-tokenizer-train --model-prefix PREFIX [--data DIR] [--corpus FILE] [--type unigram|bpe]\n"
                 "       [--vocab N] [--threads N] [--sentences N]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::map<std::string, std::string> opt = {{"--data", "../shared/data/ko"},
                                              {"--corpus", "/tmp/ulk-ko-train.txt"},
                                              {"--type", "unigram"},
                                              {"--vocab", "16000"},
                                              {"--threads", "2"},
                                              {"--sentences", "0"},
                                              {"--model-prefix", ""}};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!opt.count(argv[i])) return usage();
        opt[argv[i]] = argv[i + 1];
    }
    if (argc % 2 == 0 || opt["--model-prefix"].empty()) return usage();
    try {
        const fs::path corpus = opt["--corpus"];
        if (!fs::exists(corpus)) {
            std::printf("building %s from %s\n", corpus.c_str(), opt["--data"].c_str());
            build_corpus(opt["--data"], corpus);
        } else {
            std::printf("reusing %s\n", corpus.c_str());
        }
        std::string specials;
        for (const auto piece : text::kChatTokenPieces) specials += std::string(specials.empty() ? "" : ",") += piece;
        const std::unordered_map<std::string, std::string> args = {
            {"input", corpus.string()},
            {"model_prefix", opt["--model-prefix"]},
            {"model_type", opt["--type"]},
            {"vocab_size", opt["--vocab"]},
            {"num_threads", opt["--threads"]},
            {"input_sentence_size", opt["--sentences"]},
            {"shuffle_input_sentence", "true"},
            {"character_coverage", "0.9995"},
            {"required_chars", required_chars()},
            {"user_defined_symbols", specials},
            {"byte_fallback", "true"},
            {"split_digits", "true"},
            {"allow_whitespace_only_pieces", "true"},
            {"normalization_rule_name", "identity"},
            {"add_dummy_prefix", "true"},
            {"remove_extra_whitespaces", "false"},
            {"max_sentence_length", "16384"},
            {"unk_id", "0"}, {"bos_id", "1"}, {"eos_id", "2"}, {"pad_id", "-1"},
            {"minloglevel", "1"},
        };
        const auto status = sentencepiece::SentencePieceTrainer::Train(args);
        if (!status.ok()) {
            std::fprintf(stderr, "ulk-tokenizer-train: %s\n", status.ToString().c_str());
            return 1;
        }
        std::printf("wrote %s.model and %s.vocab\n", opt["--model-prefix"].c_str(), opt["--model-prefix"].c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    return 0;
}
