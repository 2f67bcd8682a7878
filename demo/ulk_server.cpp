// ulk-server: the chat model over HTTP, in the OpenAI chat-completions protocol, with a web chat
// page at /. Binds to 127.0.0.1 unless told otherwise; --api-key (or ULK_API_KEY) guards /v1/.
#include <pthread.h>
#include <signal.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <cxxopts.hpp>

#include "common/cli.hpp"
#include "default_model.hpp"
#include "server/chat_server.hpp"
#include "ulk/model/preset_select.hpp"
#include "ulk/presets/lists.hpp"
#include "ulk/text/gguf_tokenizer.hpp"
#include "ulk/ulk.hpp"

namespace {

using Presets = ulk::presets::ChatPresets;

int usage_error(const std::string& msg) { return ulk::tools::usage_error("ulk-server", msg); }

bool is_loopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0; }

}  // namespace

int main(int argc, char** argv) {
    cxxopts::Options opts("ulk-server", "Serve a Korean chat model over HTTP (OpenAI chat-completions protocol) with a web chat page.");
    opts.custom_help("[options]");
    opts.add_options()
        ("m,model", "model file (GGUF); default: the shipped " + std::string(ulk::chat::kDefaultModel), cxxopts::value<std::string>())
        ("host", "address to bind; anything but loopback should have an API key", cxxopts::value<std::string>()->default_value("127.0.0.1"))
        ("port", "port (0: any free one, printed)", cxxopts::value<int>()->default_value("8080"))
        ("api-key", "require 'Authorization: Bearer KEY' on /v1/ routes (default: $ULK_API_KEY)", cxxopts::value<std::string>())
        ("parallel", "replies generated at once (slots), each with its own KV cache", cxxopts::value<std::size_t>()->default_value("2"))
        ("t,threads", "threads per slot (default: cores / slots, at least 1)", cxxopts::value<unsigned>()->default_value("0"))
        ("queue", "requests that may wait for a slot before the server answers 503", cxxopts::value<std::size_t>()->default_value("64"))
        ("max-body", "largest request body in bytes", cxxopts::value<std::size_t>()->default_value("1048576"))
        ("max-tokens-limit", "largest max_tokens a request may ask for", cxxopts::value<std::size_t>()->default_value("1024"))
        ("max-tokens", "max_tokens when a request sets none", cxxopts::value<std::size_t>()->default_value("256"))
        ("h,help", "print this help");
    cxxopts::ParseResult args;
    if (!ulk::tools::parse_command_line("ulk-server", opts, argc, argv, args)) return ulk::tools::kExitUsage;
    if (args.count("help")) {
        std::printf("%s\nExample:\n  ulk-server --port 8080 &\n  curl -s localhost:8080/v1/chat/completions -H 'Content-Type: application/json' \\\n"
                    "    -d '{\"messages\": [{\"role\": \"user\", \"content\": \"안녕하세요\"}]}'\n",
                    opts.help().c_str());
        return 0;
    }
    ulk::server::ServerOptions o;
    o.host = args["host"].as<std::string>();
    o.port = args["port"].as<int>();
    if (o.port < 0 || o.port > 65535) return usage_error("--port must be 0..65535");
    if (args.count("api-key")) o.api_key = args["api-key"].as<std::string>();
    else if (const char* k = std::getenv("ULK_API_KEY")) o.api_key = k;
    o.max_queue = args["queue"].as<std::size_t>();
    o.max_body_bytes = args["max-body"].as<std::size_t>();
    o.limits.max_tokens = args["max-tokens-limit"].as<std::size_t>();
    o.limits.default_tokens = std::min(args["max-tokens"].as<std::size_t>(), o.limits.max_tokens);
    const std::size_t slots = args["parallel"].as<std::size_t>();
    if (slots < 1 || slots > 64) return usage_error("--parallel must be 1..64");
    if (o.limits.max_tokens < 1 || o.limits.default_tokens < 1) return usage_error("--max-tokens and --max-tokens-limit must be at least 1");
    unsigned threads = args["threads"].as<unsigned>();
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency() / unsigned(slots));
    if (!is_loopback(o.host) && o.api_key.empty())
        std::fprintf(stderr, "warning: binding to %s without an API key: anyone who can reach this address can use the model. "
                             "Pass --api-key KEY (or set ULK_API_KEY).\n", o.host.c_str());

    std::string path;
    try {
        path = args.count("model") ? args["model"].as<std::string>() : ulk::chat::find_default_model();
    } catch (const ulk::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }

    // SIGTERM and SIGINT are taken by one thread (sigwait), which stops the server cleanly.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGUSR1);  // sent by main when the server ends by itself
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    int status = 0;
    try {
        Presets::load(path, {.threads = threads}, [&](auto& first) {
            using Model = std::remove_reference_t<decltype(first)>;
            const ulk::text::Tokenizer tokenizer = ulk::text::tokenizer_from_gguf(first.file());
            ulk::server::ChatServer<Model> server(std::string(Model::Config::kName), tokenizer, o);
            server.add_slot(std::move(first));
            for (std::size_t i = 1; i < slots; ++i) server.add_slot(Model::load(path, {.threads = threads}));
            std::atomic<bool> fired{false};
            std::thread watcher([&] {
                int sig = 0;
                sigwait(&stop_signals, &sig);
                fired = true;
                if (sig == SIGUSR1) return;
                std::fprintf(stderr, "ulk-server: %s: stopping (running replies are cancelled)\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
                server.stop();
            });
            if (!server.run()) {
                std::fprintf(stderr, "error: cannot listen on %s:%d (in use, or not an address of this machine)\n", o.host.c_str(), o.port);
                status = 1;
            }
            if (!fired) pthread_kill(watcher.native_handle(), SIGUSR1);
            watcher.join();
        });
    } catch (const ulk::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    std::fprintf(stderr, "ulk-server: stopped\n");
    return status;
}
