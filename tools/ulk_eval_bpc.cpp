// ulk-eval-bpc: held-out bits per character of a GGUF model with the C++ engine, per source
// (tools/common/bits_per_char.hpp has the rule). The shards come from ulk-tokenize --split held_out.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <cxxopts.hpp>

#include "common/bits_per_char.hpp"
#include "common/cli.hpp"
#include "ulk/model/llama.hpp"
#include "ulk/presets/lists.hpp"

int main(int argc, char** argv) {
    return ulk::tools::run_tool("ulk-eval-bpc", [&] {
        cxxopts::Options opts("ulk-eval-bpc",
                              "Held-out bits per character of a model (one of the shipped presets: "
                              "--list-presets) on token\nshards written by ulk-tokenize --split held_out. "
                              "Bits per character = negative log-likelihood\nin bits / code points of the "
                              "normalized text; long documents are scored in windows of\n--window tokens "
                              "(overlapping by one), each from an empty context.\n\n"
                              "Example:\n  ulk-eval-bpc models/ko-chat-tiny-Q8_0.gguf \\\n"
                              "      /tmp/ulk-shards/nsmc.held_out /tmp/ulk-shards/petitions.held_out\n\n"
                              "Exit codes: 0 success, 1 unusable input (the message says what and where),\n"
                              "2 wrong command line.");
        opts.add_options()
            ("max-tokens", "score whole documents until this many tokens of a shard are scored", cxxopts::value<std::size_t>()->default_value("20000"))
            ("window", "tokens per scoring window", cxxopts::value<std::size_t>()->default_value("256"))
            ("threads", "threads", cxxopts::value<unsigned>()->default_value("2"))
            ("json", "one JSON object per shard")
            ("list-presets", "the presets this program is built with")
            ("h,help", "this text")
            ("model", "GGUF model file", cxxopts::value<std::string>())
            ("shards", "shard prefixes (PREFIX.bin, .idx, .json)", cxxopts::value<std::vector<std::string>>());
        opts.parse_positional({"model", "shards"});
        opts.positional_help("MODEL.gguf SHARD_PREFIX...");
        const auto args = opts.parse(argc, argv);
        if (args.count("help")) {
            std::puts(opts.help().c_str());
            return ulk::tools::kExitOk;
        }
        if (args.count("list-presets")) {
            std::puts(ulk::presets::ChatPresets::names().c_str());
            return ulk::tools::kExitOk;
        }
        if (!args.count("model") || !args.count("shards")) throw cxxopts::exceptions::missing_argument("MODEL.gguf SHARD_PREFIX...");
        const std::string path = args["model"].as<std::string>();
        ulk::tools::BitsPerChar total;
        ulk::presets::ChatPresets::load(path, {.threads = args["threads"].as<unsigned>()}, [&](auto& model) {
            for (const std::string& prefix : args["shards"].as<std::vector<std::string>>()) {
                const auto shard = ulk::tools::read_shard(prefix);
                const auto r = ulk::tools::bits_per_char(model, shard, args["max-tokens"].as<std::size_t>(),
                                                          args["window"].as<std::size_t>());
                const std::string name = std::filesystem::path(prefix).filename().string();
                if (args.count("json"))
                    std::printf("{\"model\": \"%s\", \"shard\": \"%s\", \"documents\": %zu, \"tokens\": %zu, \"chars\": %zu, "
                                "\"bits_per_char\": %.4f}\n", path.c_str(), name.c_str(), r.documents, r.tokens, r.chars, r.value());
                else
                    std::printf("%-28s %6zu docs %8zu tokens %8zu chars  %.4f bits/char\n", name.c_str(), r.documents, r.tokens,
                                r.chars, r.value());
                std::fflush(stdout);
                total.nll_bits += r.nll_bits;
                total.tokens += r.tokens;
                total.chars += r.chars;
                total.documents += r.documents;
            }
        });
        if (!args.count("json"))
            std::printf("%-28s %6zu docs %8zu tokens %8zu chars  %.4f bits/char\n", "all", total.documents, total.tokens, total.chars,
                        total.value());
        return ulk::tools::kExitOk;
    });
}
