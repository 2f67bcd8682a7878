// ulk-tokenize: text or chat conversations to token shards for tools/train/, with the project's
// C++ tokenizer and chat template (tools/common/tokenize_corpus.hpp has the shard layout).
#include <cstdio>
#include <string>
#include <vector>

#include <cxxopts.hpp>

#include "common/cli.hpp"
#include "common/tokenize_corpus.hpp"

int main(int argc, char** argv) {
    return ulk::tools::run_tool("ulk-tokenize", [&] {
        cxxopts::Options opts("ulk-tokenize",
                              "Tokenizes text into shards for training (tools/train/) with the same tokenizer\n"
                              "and chat template that inference uses. Writes PREFIX.bin (uint16 ids, uint32\n"
                              "above 65536 pieces), PREFIX.idx (uint64 document starts), PREFIX.json (counts,\n"
                              "characters of the normalized text) and, with --chat, PREFIX.mask (1 = loss on\n"
                              "this token: assistant replies and their <|end|>).\n"
                              "Plain text: every line a document (--docs lines) or documents separated by blank\n"
                              "lines (--docs blank), each as <s> TEXT </s>; --split keeps the training part or\n"
                              "the held-out part (the last 1% of the lines of each input, as ko_corpus.hpp).\n"
                              "Chat: JSONL conversations {\"system\", \"turns\": [{\"role\", \"text\", \"style\"}]}\n"
                              "(tools/train/prepare_chat.py writes them). Inputs ending in .xz are read through\n"
                              "xz -dc; '-' is stdin.\n\n"
                              "Examples:\n"
                              "  ulk-tokenize --model models/ulk-ko-16k.model --split train --out /tmp/shards/nsmc \\\n"
                              "      ../shared/data/ko/pretrain/nsmc.txt.xz\n"
                              "  ulk-tokenize --model models/ulk-ko-16k.model --chat --out /tmp/shards/chat chat.jsonl\n\n"
                              "Exit codes: 0 success, 1 unusable input (the message says what and where),\n"
                              "2 wrong command line.");
        opts.add_options()
            ("model", "SentencePiece .model file", cxxopts::value<std::string>()->default_value("models/ulk-ko-16k.model"))
            ("out", "output prefix (PREFIX.bin, .idx, .json, .mask)", cxxopts::value<std::string>())
            ("split", "plain text: all, train (first 99% of the lines) or held_out (last 1%)",
             cxxopts::value<std::string>()->default_value("all"))
            ("docs", "plain text: lines (one document per line) or blank (blank-line separated)",
             cxxopts::value<std::string>()->default_value("lines"))
            ("chat", "inputs are JSONL conversations, rendered with the chat template")
            ("q,quiet", "no progress lines")
            ("h,help", "this text")
            ("inputs", "input files", cxxopts::value<std::vector<std::string>>());
        opts.parse_positional({"inputs"});
        opts.positional_help("INPUT...");
        const auto args = opts.parse(argc, argv);
        if (args.count("help")) {
            std::puts(opts.help().c_str());
            return ulk::tools::kExitOk;
        }
        if (!args.count("out")) throw cxxopts::exceptions::missing_argument("out");
        if (!args.count("inputs")) throw cxxopts::exceptions::missing_argument("INPUT...");
        const std::string split = args["split"].as<std::string>(), docs = args["docs"].as<std::string>();
        if (split != "all" && split != "train" && split != "held_out")
            throw cxxopts::exceptions::incorrect_argument_type("--split " + split + " (all, train or held_out)");
        if (docs != "lines" && docs != "blank")
            throw cxxopts::exceptions::incorrect_argument_type("--docs " + docs + " (lines or blank)");
        const auto tok = ulk::text::Tokenizer::from_file(args["model"].as<std::string>());
        const auto inputs = args["inputs"].as<std::vector<std::string>>();
        const std::string out = args["out"].as<std::string>();
        const bool quiet = args.count("quiet") > 0;
        auto progress = [&](const std::string& f) {
            if (!quiet) std::fprintf(stderr, "ulk-tokenize: reading %s\n", f.c_str());
        };
        using namespace ulk::tools;
        const ShardStats s =
            args.count("chat")
                ? tokenize_chat(tok, inputs, out, progress)
                : tokenize_text(tok, inputs, out,
                                split == "train" ? CorpusSplit::train : split == "held_out" ? CorpusSplit::held_out : CorpusSplit::all,
                                docs == "lines" ? DocumentSplit::lines : DocumentSplit::blank_lines, progress);
        std::printf("wrote %s.bin: %zu tokens, %zu documents from %zu lines, %zu characters", out.c_str(), s.tokens,
                    s.documents, s.lines, s.chars);
        if (args.count("chat")) std::printf(", %zu loss tokens", s.loss_tokens);
        std::printf("\n");
        return kExitOk;
    });
}
