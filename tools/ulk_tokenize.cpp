// ulk-tokenize: text or chat conversations to token shards for tools/train/, with the project's
// C++ tokenizer and chat template (tools/common/tokenize_corpus.hpp has the shard layout).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

// Text arguments may contain commas: no splitting of list values.
#define CXXOPTS_VECTOR_DELIMITER '\0'
#include <cxxopts.hpp>

#include "common/cli.hpp"
#include "common/hf_tokenizer_json.hpp"
#include "common/tokenize_corpus.hpp"
#include "ulk/generate/chat_format.hpp"
#include "ulk/gguf/file.hpp"
#include "ulk/text/gguf_tokenizer.hpp"

namespace {

// A .gguf file's vocabulary (either family), or a SentencePiece .model file.
ulk::text::Tokenizer load_tokenizer(const std::string& path) {
    if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".gguf") == 0)
        return ulk::text::tokenizer_from_gguf(ulk::gguf::GgufFile::open(path));
    return ulk::text::Tokenizer::from_file(path);
}

// Each TEXT argument, or each line of stdin when there are none.
template <class Body>
void for_each_input(const std::vector<std::string>& args, Body&& body) {
    if (!args.empty()) {
        for (const std::string& a : args) body(a);
        return;
    }
    std::string line;
    while (std::getline(std::cin, line)) body(line);
}

std::vector<std::int32_t> parse_ids(const std::string& s) {
    std::vector<std::int32_t> ids;
    std::size_t pos = 0;
    while (pos < s.size()) {
        while (pos < s.size() && (s[pos] == ' ' || s[pos] == ',' || s[pos] == '\t' || s[pos] == '\r')) ++pos;
        if (pos == s.size()) break;
        std::size_t used = 0;
        long long v = 0;
        try {
            v = std::stoll(s.substr(pos, 12), &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || v < 0 || v > 0x7FFFFFFF)
            throw ulk::Error(ulk::ErrorInfo{"not a token id", "input \"" + s.substr(0, 80) + "\", byte " + std::to_string(pos),
                                            "non-negative integers separated by spaces or commas", s.substr(pos, 12), {}});
        ids.push_back(std::int32_t(v));
        pos += used;
    }
    return ids;
}

}  // namespace

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
                              "Inspecting a vocabulary (--model: a .gguf file, SentencePiece or byte-level BPE, or\n"
                              "a .model file): --ids prints the ids of each TEXT (or of each line of stdin), without\n"
                              "BOS; --pieces the pieces, as the vocabulary spells them; --decode turns ids (arguments,\n"
                              "or one line of space-separated ids per stdin line) back into text.\n"
                              "  ulk-tokenize --model models/ko-chat-tiny-Q8_0.gguf --ids '안녕하세요'\n"
                              "  ulk-tokenize --model qwen3.gguf --decode 126246 144370\n"
                              "--vocab-from-hf DIR --out OUT.gguf writes a vocabulary-only GGUF file from a Hugging\n"
                              "Face byte-level BPE tokenizer (DIR/tokenizer.json, DIR/tokenizer_config.json), with\n"
                              "the keys llama.cpp's converter writes.\n\n"
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
            ("ids", "print the ids of each TEXT (or stdin line)")
            ("pieces", "print the pieces of each TEXT (or stdin line)")
            ("decode", "print the text of the ids given (or of each stdin line of ids)")
            ("render-chat", "print, as a JSON array, the conversations of FILE (JSON: [{\"messages\": [{\"role\", "
             "\"content\"}], \"add_generation_prompt\": true}]) rendered in the chat format of --model's "
             "tokenizer.chat_template", cxxopts::value<std::string>())
            ("chat-template", "with --render-chat: the family (chatml, qwen3, llama3, gemma) instead of --model's",
             cxxopts::value<std::string>())
            ("bos", "with --render-chat: the BOS text (default: --model's BOS piece; none with --chat-template)",
             cxxopts::value<std::string>()->default_value(""))
            ("vocab-from-hf", "write --out as a vocabulary-only GGUF from DIR/tokenizer.json", cxxopts::value<std::string>())
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
        const std::vector<std::string> positional =
            args.count("inputs") ? args["inputs"].as<std::vector<std::string>>() : std::vector<std::string>{};
        if (args.count("vocab-from-hf")) {
            if (!args.count("out")) throw cxxopts::exceptions::missing_argument("out");
            const std::string dir = args["vocab-from-hf"].as<std::string>(), out = args["out"].as<std::string>();
            const auto tok = ulk::tools::read_json_file(dir + "/tokenizer.json");
            const auto config = std::filesystem::exists(dir + "/tokenizer_config.json")
                                    ? ulk::tools::read_json_file(dir + "/tokenizer_config.json")
                                    : nlohmann::json::object();
            const auto v = ulk::tools::hf_byte_level_vocab(tok, config, dir + "/tokenizer.json");
            ulk::tools::write_byte_level_vocab_gguf(v, std::filesystem::path(dir).filename().string(), out);
            std::printf("wrote %s: %zu tokens, %zu merges, pre-tokenizer %s\n", out.c_str(), v.tokens.size(),
                        v.merges.size(), v.pre.c_str());
            return ulk::tools::kExitOk;
        }
        if (args.count("render-chat")) {
            std::optional<ulk::generate::ChatFamily> family;
            std::string bos = args["bos"].as<std::string>();
            if (args.count("chat-template")) {
                family = ulk::generate::chat_family_from_name(args["chat-template"].as<std::string>());
                if (!family) throw cxxopts::exceptions::incorrect_argument_type("--chat-template (chatml, qwen3, llama3, gemma)");
            } else {
                const std::string model = args["model"].as<std::string>();
                const auto file = ulk::gguf::GgufFile::open(model);
                std::string source;
                const ulk::gguf::Value* t = file.find("tokenizer.chat_template");
                source = model + ", key 'tokenizer.chat_template'";
                if (t && t->type() == ulk::gguf::ValueType::String) family = ulk::generate::detect_chat_family(t->as_string(""));
                ulk::require(family.has_value(), {"chat template of an unknown family", source,
                                                  "a template of chatml, qwen3, llama3 or gemma", t ? "another template" : "none",
                                                  "name the family with --chat-template"});
                const auto tok = ulk::text::tokenizer_from_gguf(file);
                if (!args.count("bos") && tok.bos_id() >= 0) bos = std::string(tok.piece(tok.bos_id()));
            }
            const auto conversations = ulk::tools::read_json_file(args["render-chat"].as<std::string>());
            nlohmann::json out = nlohmann::json::array();
            try {
                for (const auto& c : conversations) {
                    std::vector<ulk::generate::ChatMessage> messages;
                    for (const auto& m : c.at("messages"))
                        messages.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
                    out.push_back(ulk::generate::render_chat(*family, messages, c.value("add_generation_prompt", true), bos));
                }
            } catch (const nlohmann::json::exception& e) {
                throw ulk::Error(ulk::ErrorInfo{"bad conversation file", args["render-chat"].as<std::string>(),
                                                "[{\"messages\": [{\"role\": ..., \"content\": ...}]}]", e.what(), {}});
            }
            std::printf("%s\n", out.dump().c_str());
            return ulk::tools::kExitOk;
        }
        const int modes = int(args.count("ids") > 0) + int(args.count("pieces") > 0) + int(args.count("decode") > 0);
        if (modes > 1) throw cxxopts::exceptions::incorrect_argument_type("only one of --ids, --pieces, --decode");
        if (modes == 1) {
            const auto tok = load_tokenizer(args["model"].as<std::string>());
            std::string out;
            for_each_input(positional, [&](const std::string& input) {
                out.clear();
                if (args.count("decode")) {
                    out = tok.decode(parse_ids(input));
                } else {
                    for (const std::int32_t id : tok.encode(input)) {
                        if (!out.empty()) out += ' ';
                        out += args.count("ids") ? std::to_string(id) : std::string(tok.piece(id));
                    }
                }
                out += '\n';
                std::fwrite(out.data(), 1, out.size(), stdout);
            });
            return ulk::tools::kExitOk;
        }
        if (!args.count("out")) throw cxxopts::exceptions::missing_argument("out");
        if (!args.count("inputs")) throw cxxopts::exceptions::missing_argument("INPUT...");
        const std::string split = args["split"].as<std::string>(), docs = args["docs"].as<std::string>();
        if (split != "all" && split != "train" && split != "held_out")
            throw cxxopts::exceptions::incorrect_argument_type("--split " + split + " (all, train or held_out)");
        if (docs != "lines" && docs != "blank")
            throw cxxopts::exceptions::incorrect_argument_type("--docs " + docs + " (lines or blank)");
        const auto tok = load_tokenizer(args["model"].as<std::string>());
        const auto inputs = positional;
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
