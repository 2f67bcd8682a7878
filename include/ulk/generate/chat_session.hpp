#pragma once
// ChatSession<Model>: a Conversation run against a model, one reply at a time.
//
//   ulk::generate::ChatSession chat(model, tokenizer, {.temperature = 0.7f, .seed = 42});
//   chat.conversation().style = ulk::generate::SpeechStyle::casual;
//   auto r = chat.reply("안녕?", {.max_new_tokens = 128}, [](std::string_view s) { std::cout << s; });
//
// Each reply renders the whole conversation, and the Generator prefills only what its KV cache
// does not hold yet: in a normal exchange that is the new user turn. When the rendered prompt plus
// room for the reply would not fit the context, the oldest user/assistant pairs are dropped (the
// system prompt stays) and the result says how many; a message that cannot fit even alone is an
// error, and the conversation is left as it was.
#include <algorithm>
#include <string>
#include <string_view>

#include "ulk/generate/conversation.hpp"
#include "ulk/generate/generator.hpp"

namespace ulk::generate {

struct ReplyResult : GenerateResult {
    std::size_t dropped_turns = 0;  // oldest turns removed to make room
    std::size_t prompt_tokens = 0;  // ids of the rendered conversation the reply followed
};

// A Generator that ends and filters replies as the chat template says (ChatSession's, and each of
// ulk-server's slots).
template <LanguageModel Model>
Generator<Model> chat_generator(Model& model, const ChatTemplate& tmpl) {
    Generator<Model> g(model, tmpl.tokenizer(), [&tmpl](Token id) { return tmpl.ends_reply(id); });
    g.set_suppressed(tmpl.suppressed_in_reply());
    return g;
}

template <LanguageModel Model>
class ChatSession {
public:
    ChatSession(Model& model, const text::Tokenizer& tokenizer, SamplerOptions sampler = {})
        : template_(tokenizer), sampler_(sampler), generator_(chat_generator(model, template_)) {}

    ChatSession(const ChatSession&) = delete;  // the generator's callback points to template_
    ChatSession& operator=(const ChatSession&) = delete;

    Conversation& conversation() noexcept { return conversation_; }
    const Conversation& conversation() const noexcept { return conversation_; }
    const ChatTemplate& chat_template() const noexcept { return template_; }
    Sampler& sampler() noexcept { return sampler_; }
    Generator<Model>& generator() noexcept { return generator_; }
    // Positions of the context in use, and its size.
    std::size_t context_used() const noexcept { return generator_.context().size(); }
    static constexpr std::size_t context_size() noexcept { return Model::kContext; }

    // Forgets the turns (keeps the system prompt and style) and empties the KV cache.
    void reset() {
        conversation_.turns.clear();
        generator_.reset();
    }

    // The tokens the reply may use at most, with `max_new_tokens` asked for: a quarter of the
    // context is kept free for the reply even when more is asked, so old turns are not all dropped.
    static constexpr std::size_t reply_room(std::size_t max_new_tokens) noexcept {
        return std::min(max_new_tokens, Model::kContext / 4);
    }

    template <class OnText>
    ReplyResult reply(std::string_view user_text, const GenerateOptions& options, OnText&& on_text) {
        Turn user{Role::user, conversation_.style, std::string(user_text)};
        conversation_.turns.push_back(std::move(user));
        ReplyResult out;
        std::vector<Token> prompt;
        try {
            prompt = fit(options.max_new_tokens, out.dropped_turns);
        } catch (...) {
            conversation_.turns.pop_back();
            throw;
        }
        out.prompt_tokens = prompt.size();
        generator_.feed(prompt);
        GenerateResult g = generator_.generate(sampler_, options, on_text);
        static_cast<GenerateResult&>(out) = std::move(g);
        Turn assistant{Role::assistant, conversation_.style, out.text};
        // A reply cut by a stop string ends in ids that its text no longer spells.
        if (out.reason != StopReason::stop_string) assistant.ids = out.tokens;
        conversation_.turns.push_back(std::move(assistant));
        return out;
    }

private:
    // Renders the conversation, dropping the oldest pairs of turns until prompt + reply room fit.
    std::vector<Token> fit(std::size_t max_new_tokens, std::size_t& dropped) {
        const std::size_t room = reply_room(max_new_tokens);
        std::vector<Turn> before;  // the turns as they were, once one has to go
        for (;;) {
            std::vector<Token> ids = conversation_.render(template_);
            if (ids.size() + room <= Model::kContext) return ids;
            if (conversation_.turns.size() <= 1) {
                const std::size_t alone = ids.size();
                if (dropped > 0) conversation_.turns = std::move(before);
                dropped = 0;
                throw Error({"message too long for the model's context", "conversation",
                             "at most " + std::to_string(Model::kContext - room) + " tokens of prompt (context " +
                                 std::to_string(Model::kContext) + ", " + std::to_string(room) + " kept for the reply)",
                             std::to_string(alone) + " tokens", "shorten the message (or the system prompt)"});
            }
            // The oldest turn, and the reply that answered it.
            if (dropped == 0) before = conversation_.turns;
            const std::size_t n = conversation_.turns.size() >= 3 && conversation_.turns[1].role == Role::assistant ? 2 : 1;
            conversation_.turns.erase(conversation_.turns.begin(), conversation_.turns.begin() + std::ptrdiff_t(n));
            dropped += n;
        }
    }

    Conversation conversation_;
    ChatTemplate template_;
    Sampler sampler_;
    Generator<Model> generator_;
};

}  // namespace ulk::generate
