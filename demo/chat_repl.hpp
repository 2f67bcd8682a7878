#pragma once
// The chat loop of ulk-chat, for any model type: one-shot (-p), piped (a user message per line of
// standard input) and interactive (libedit, slash commands). Replies go to standard output as they
// are generated; notes, warnings and errors go to standard error.
#include <sys/resource.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <string_view>

#include "line_input.hpp"
#include "ulk/base/version.hpp"
#include "ulk/generate/chat_session.hpp"
#include "ulk/generate/conversation_json.hpp"
#include "ulk/text/utf8.hpp"

namespace ulk::chat {

struct ChatOptions {
    generate::SamplerOptions sampler;
    generate::SpeechStyle style = generate::SpeechStyle::polite;
    std::string system;
    std::size_t max_tokens = 256;
    std::string one_shot;       // -p TEXT
    bool has_one_shot = false;
    bool interactive = false;   // standard input is a terminal
    bool verbose = false;
    bool ignore_eos = false;    // never end a reply by itself (benchmarks)
    std::string model_path;
    std::string model_description;  // preset name and formats
    std::string history_path;
};

// Set by the SIGINT handler; read by the generator between tokens.
inline std::atomic<bool> g_cancel{false};
inline std::atomic<bool> g_generating{false};

inline double peak_rss_mib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_maxrss) / 1024.0;  // Linux: KiB
}

template <class Model>
class ChatRepl {
public:
    ChatRepl(Model& model, const text::Tokenizer& tokenizer, const ChatOptions& options)
        : options_(options), session_(model, tokenizer, options.sampler) {
        session_.conversation().style = options.style;
        session_.conversation().system = options.system;
        if (options.ignore_eos) {
            auto banned = session_.chat_template().suppressed_in_reply();
            for (const auto id : session_.chat_template().reply_enders()) banned.push_back(id);
            session_.generator().set_suppressed(std::move(banned));
        }
    }

    int run() {
        if (options_.has_one_shot) return one_shot();
        LineInput input(options_.interactive, options_.interactive ? options_.history_path : std::string());
        if (input.interactive()) banner();
        std::string line;
        int status = 0;
        for (;;) {
            const auto r = input.read(line, "> ");
            if (r == LineInput::Status::end_of_input) break;
            if (r == LineInput::Status::interrupted) break;  // Ctrl-C at the prompt: leave
            if (!handle_line(line, status)) break;
        }
        if (input.interactive()) std::fputs("\n", stdout);
        return status;
    }

private:
    int one_shot() {
        int status = 0;
        if (!user_message(options_.one_shot, status)) return status;
        return status;
    }

    void banner() {
        std::printf("ulk-chat %s: %s, %s style. /help lists the commands; Ctrl-C stops a reply, Ctrl-D quits.\n",
                    ulk::kVersion, options_.model_description.c_str(), std::string(generate::style_name(session_.conversation().style)).c_str());
        std::fflush(stdout);
    }

    // false: quit.
    bool handle_line(std::string line, int& status) {
        if (!line.empty() && line.front() == '/') return command(line);
        user_message(std::move(line), status);
        return true;
    }

    // Returns false when the message could not be answered (status set to 1 for one-shot use).
    bool user_message(std::string text, int& status) {
        if (const std::size_t bad = text::count_invalid_utf8(text); bad > 0) {
            text = text::repair_utf8(text);
            note("your message had " + std::to_string(bad) +
                 " invalid UTF-8 sequence(s); each was replaced by U+FFFD. Set the terminal to UTF-8.");
        }
        if (text.find_first_not_of(" \t") == std::string::npos) {
            note("empty message: type something to say, or /help for the commands");
            return true;
        }
        generate::GenerateOptions gen;
        gen.max_new_tokens = options_.max_tokens;
        gen.cancel = &g_cancel;
        g_cancel = false;
        g_generating = true;
        generate::ReplyResult r;
        try {
            r = session_.reply(text, gen, [](std::string_view s) {
                std::fwrite(s.data(), 1, s.size(), stdout);
                std::fflush(stdout);
            });
        } catch (const Error& e) {
            g_generating = false;
            error(e.what());
            status = 1;
            return false;
        }
        g_generating = false;
        std::fputc('\n', stdout);
        std::fflush(stdout);
        if (r.dropped_turns > 0)
            note("the conversation outgrew the context (" + std::to_string(session_.context_size()) + " tokens): the oldest " +
                 std::to_string(r.dropped_turns) + " turn(s) were dropped" +
                 (session_.conversation().system.empty() ? "" : "; the system prompt was kept"));
        if (r.reason == generate::StopReason::cancelled) note("reply stopped (Ctrl-C); Ctrl-C again at the prompt, or Ctrl-D, quits");
        if (r.reason == generate::StopReason::max_tokens)
            note("reply cut at --max-tokens " + std::to_string(options_.max_tokens));
        if (r.reason == generate::StopReason::context_full) note("reply cut: the context is full; /reset starts afresh");
        last_ = r.stats;
        total_.prefill_tokens += r.stats.prefill_tokens;
        total_.prefill_seconds += r.stats.prefill_seconds;
        total_.decode_tokens += r.stats.decode_tokens;
        total_.decode_seconds += r.stats.decode_seconds;
        if (options_.verbose) print_reply_stats(r);
        return true;
    }

    bool command(const std::string& line) {
        const std::size_t space = line.find(' ');
        const std::string name = line.substr(0, space);
        std::string arg = space == std::string::npos ? "" : line.substr(space + 1);
        while (!arg.empty() && arg.back() == ' ') arg.pop_back();
        auto& conv = session_.conversation();
        if (name == "/quit" || name == "/exit") return false;
        if (name == "/help") {
            std::fputs(
                "  /help              this list\n"
                "  /reset             forget the conversation (the system prompt and style stay)\n"
                "  /style polite|casual  reply in 존댓말 (polite) or 반말 (casual) from now on\n"
                "  /system TEXT       set the system prompt (/system alone clears it)\n"
                "  /stats             speed, context used and peak memory\n"
                "  /save FILE         save the conversation as JSON\n"
                "  /load FILE         load a conversation saved with /save\n"
                "  /quit              leave (Ctrl-D does too)\n",
                stdout);
        } else if (name == "/reset") {
            session_.reset();
            note("conversation cleared");
        } else if (name == "/style") {
            const auto s = generate::parse_style(arg);
            if (!s) {
                error("/style takes polite (존댓말) or casual (반말), not '" + text::repair_utf8(arg) + "'");
            } else {
                conv.style = *s;
                note("replies will be " + std::string(arg) + " from now on");
            }
        } else if (name == "/system") {
            conv.system = text::repair_utf8(arg);
            note(arg.empty() ? "system prompt cleared" : "system prompt set");
        } else if (name == "/stats") {
            print_stats();
        } else if (name == "/save") {
            if (arg.empty()) return error("/save needs a file name: /save chat.json"), true;
            try {
                generate::save_conversation(conv, arg);
                note("saved " + std::to_string(conv.turns.size()) + " turns to " + arg);
            } catch (const Error& e) {
                error(e.what());
            }
        } else if (name == "/load") {
            if (arg.empty()) return error("/load needs a file name: /load chat.json"), true;
            try {
                generate::Conversation loaded = generate::load_conversation(arg);
                session_.reset();
                conv = std::move(loaded);
                note("loaded " + std::to_string(conv.turns.size()) + " turns from " + arg + " (" +
                     std::string(generate::style_name(conv.style)) + " style)");
            } catch (const Error& e) {
                error(e.what());
            }
        } else {
            error(text::repair_utf8(name) + ": unknown command; /help lists them");
        }
        return true;
    }

    void print_reply_stats(const generate::ReplyResult& r) const {
        std::fprintf(stderr,
                     "[prompt %zu tokens (%zu reused from the cache), prefill %zu tokens at %.1f tok/s, decode %zu tokens at "
                     "%.1f tok/s, stop: %s, context %zu/%zu]\n",
                     r.prompt_tokens, r.stats.reused_tokens, r.stats.prefill_tokens, r.stats.prefill_tokens_per_second(),
                     r.stats.decode_tokens, r.stats.decode_tokens_per_second(), std::string(generate::stop_reason_name(r.reason)).c_str(),
                     session_.context_used(), session_.context_size());
    }

    void print_stats() {
        std::printf(
            "model      %s\n"
            "prefill    %.1f tok/s (%zu tokens in this conversation; last reply %zu at %.1f tok/s)\n"
            "decode     %.1f tok/s (%zu tokens in this conversation; last reply %zu at %.1f tok/s)\n"
            "context    %zu of %zu tokens used, %zu turns\n"
            "memory     %.1f MiB peak resident\n"
            "sampling   temperature %.2f, top-k %d, top-p %.2f, min-p %.2f, repeat penalty %.2f, seed %" PRIu64 "\n",
            options_.model_description.c_str(), total_.prefill_tokens_per_second(), total_.prefill_tokens,
            last_.prefill_tokens, last_.prefill_tokens_per_second(), total_.decode_tokens_per_second(),
            total_.decode_tokens, last_.decode_tokens, last_.decode_tokens_per_second(), session_.context_used(),
            session_.context_size(), session_.conversation().turns.size(), peak_rss_mib(), options_.sampler.temperature,
            options_.sampler.top_k, options_.sampler.top_p, options_.sampler.min_p, options_.sampler.repeat_penalty,
            options_.sampler.seed);
    }

    static void note(const std::string& s) { std::fprintf(stderr, "(%s)\n", s.c_str()); }
    static void error(const std::string& s) { std::fprintf(stderr, "error: %s\n", s.c_str()); }

    ChatOptions options_;
    generate::ChatSession<Model> session_;
    generate::GenerateStats last_, total_;  // the last reply; all replies of this conversation
};

}  // namespace ulk::chat
