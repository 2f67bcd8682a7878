// ulk-chat: the demo chatbot. With no arguments it loads the shipped default model
// (models/ko-chat-tiny-Q8_0.gguf, found next to the executable's install prefix or in the source
// tree it was built from) and starts an interactive chat; `-p TEXT` answers once; a pipe on
// standard input is read as one user message per line.
#include <signal.h>
#include <unistd.h>

#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <cxxopts.hpp>

#include "chat_repl.hpp"
#include "common/cli.hpp"
#include "default_model.hpp"
#include "ulk/model/preset_select.hpp"
#include "ulk/presets/lists.hpp"
#include "ulk/text/gguf_tokenizer.hpp"
#include "ulk/ulk.hpp"

namespace {

namespace fs = std::filesystem;
using Presets = ulk::presets::ChatPresets;
using ulk::chat::kDefaultModel;

void on_sigint(int) {
    // A second Ctrl-C while a reply is still stopping: leave at once.
    if (ulk::chat::g_generating.load() && ulk::chat::g_cancel.exchange(true)) {
        constexpr char msg[] = "\n(interrupted twice: quitting)\n";
        (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
        _exit(130);
    }
    ulk::chat::g_cancel = true;
}

void install_sigint() {
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a Ctrl-C interrupts the prompt's read
    sigaction(SIGINT, &sa, nullptr);
}

int usage_error(const std::string& msg) { return ulk::tools::usage_error("ulk-chat", msg); }

// libedit reads multibyte text only under a UTF-8 locale: take the user's, else C.UTF-8.
void use_utf8_locale() {
    const char* l = std::setlocale(LC_CTYPE, "");
    const std::string name = l ? l : "";
    if (name.find("UTF-8") == std::string::npos && name.find("utf8") == std::string::npos) std::setlocale(LC_CTYPE, "C.UTF-8");
}

}  // namespace

int main(int argc, char** argv) {
    use_utf8_locale();
    cxxopts::Options opts("ulk-chat", "Chat in Korean with a small model, on the CPU.");
    opts.custom_help("[options]");
    opts.add_options()
        ("m,model", "model file (GGUF); default: the shipped " + std::string(kDefaultModel), cxxopts::value<std::string>())
        ("style", "speech style of the replies: polite (존댓말) or casual (반말)", cxxopts::value<std::string>()->default_value("polite"))
        ("system", "system prompt", cxxopts::value<std::string>()->default_value(""))
        ("p,prompt", "answer TEXT once, print the reply and exit", cxxopts::value<std::string>())
        ("temperature", "sampling temperature; 0 is greedy", cxxopts::value<float>()->default_value("0.7"))
        ("top-k", "keep the K most likely tokens (0: off)", cxxopts::value<int>()->default_value("40"))
        ("top-p", "keep the most likely tokens up to this probability mass (1: off)", cxxopts::value<float>()->default_value("0.95"))
        ("min-p", "drop tokens less likely than this fraction of the best (0: off)", cxxopts::value<float>()->default_value("0.05"))
        ("repeat-penalty", "penalty on the last 64 tokens (1: off)", cxxopts::value<float>()->default_value("1.1"))
        ("seed", "random seed (default: a fresh one, printed by /stats and --verbose)", cxxopts::value<std::uint64_t>())
        ("max-tokens", "most tokens per reply", cxxopts::value<std::size_t>()->default_value("256"))
        ("t,threads", "threads (default: all cores)", cxxopts::value<unsigned>()->default_value("0"))
        ("v,verbose", "print timings after every reply (to standard error)")
        ("ignore-eos", "never end a reply by itself, only at --max-tokens or Ctrl-C (for measuring speed)")
        ("list-presets", "print the model shapes this binary was built for")
        ("version", "print the version")
        ("h,help", "print this help");
    cxxopts::ParseResult args;
    if (!ulk::tools::parse_command_line("ulk-chat", opts, argc, argv, args)) return ulk::tools::kExitUsage;
    if (args.count("help")) {
        std::printf("%s\nCommands in a chat: /help /reset /style polite|casual /system TEXT /stats /save FILE /load FILE /quit\n"
                    "Example: ulk-chat --style casual -p \"오늘 날씨 어때?\"\n",
                    opts.help().c_str());
        return 0;
    }
    if (args.count("version")) {
        std::printf("ulk-chat %s (kernels: %.*s)\n", ulk::kVersion, int(ulk::simd::native::name.size()), ulk::simd::native::name.data());
        return 0;
    }
    if (args.count("list-presets")) {
        std::printf("%s\n", Presets::names().c_str());
        return 0;
    }

    ulk::chat::ChatOptions o;
    const auto style = ulk::generate::parse_style(args["style"].as<std::string>());
    if (!style) return usage_error("--style takes polite or casual, not '" + args["style"].as<std::string>() + "'");
    o.style = *style;
    o.system = ulk::text::repair_utf8(args["system"].as<std::string>());
    o.sampler.temperature = args["temperature"].as<float>();
    o.sampler.top_k = args["top-k"].as<int>();
    o.sampler.top_p = args["top-p"].as<float>();
    o.sampler.min_p = args["min-p"].as<float>();
    o.sampler.repeat_penalty = args["repeat-penalty"].as<float>();
    o.sampler.seed = args.count("seed") ? args["seed"].as<std::uint64_t>() : std::random_device{}();
    try {
        ulk::generate::check(o.sampler);
    } catch (const ulk::Error& e) {
        return usage_error(e.what());
    }
    o.max_tokens = args["max-tokens"].as<std::size_t>();
    if (o.max_tokens == 0) return usage_error("--max-tokens must be at least 1");
    o.verbose = args.count("verbose") > 0;
    o.ignore_eos = args.count("ignore-eos") > 0;
    if (args.count("prompt")) {
        o.has_one_shot = true;
        o.one_shot = args["prompt"].as<std::string>();
    }
    o.interactive = !o.has_one_shot && isatty(STDIN_FILENO);
    if (const char* home = std::getenv("HOME")) o.history_path = std::string(home) + "/.ulk_chat_history";

    if (args.count("model")) {
        o.model_path = args["model"].as<std::string>();
    } else {
        try {
            o.model_path = ulk::chat::find_default_model();
        } catch (const ulk::Error& e) {
            std::fprintf(stderr, "error: %s\n", e.what());
            return 1;
        }
    }

    install_sigint();
    int status = 0;
    try {
        Presets::load(o.model_path, {.threads = args["threads"].as<unsigned>()}, [&](auto& model) {
            using Model = std::remove_reference_t<decltype(model)>;
            const ulk::text::Tokenizer tokenizer = ulk::text::tokenizer_from_gguf(model.file());
            o.model_description = std::string(Model::Config::kName) + " (" + fs::path(o.model_path).filename().string() + ")";
            if (o.verbose)
                std::fprintf(stderr, "[%s from %s; %u threads; seed %" PRIu64 "]\n",
                             ulk::model::describe<typename Model::Config>().c_str(), o.model_path.c_str(), model.threads(),
                             o.sampler.seed);
            ulk::chat::ChatRepl<Model> repl(model, tokenizer, o);
            status = repl.run();
        });
    } catch (const ulk::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "error: out of memory loading %s\n", o.model_path.c_str());
        return 1;
    }
    return status;
}
