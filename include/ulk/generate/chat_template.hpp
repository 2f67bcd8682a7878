#pragma once
// The project's chat template, as token ids. A conversation is
//
//   <s> [<|system|> SYSTEM <|end|> \n] { <|user|> USER <|end|> \n <|assistant|> STYLE REPLY <|end|> \n }
//
// where STYLE is <|polite|> (존댓말) or <|casual|> (반말). The style marker opens every reply, so the
// style can change from one turn to the next, and a reply is generated after "<|assistant|> STYLE"
// until <|end|> (or </s>). Training (tools/train/) renders its chat examples with this class, through
// `ulk-tokenize --chat`, so that training and inference see identical ids.
//
// Each text is encoded on its own, so every text starts with SentencePiece's dummy-prefix space, and
// a reply is decoded by a fresh detokenizer, which drops it. A chat-token string typed into a text
// ("<|end|>") is encoded as its byte pieces, never as the chat token: no text can end a turn or
// forge a role.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ulk/base/error.hpp"
#include "ulk/text/special_tokens.hpp"
#include "ulk/text/tokenizer.hpp"

namespace ulk::generate {

using Token = std::int32_t;

enum class Role : std::uint8_t { system, user, assistant };
enum class SpeechStyle : std::uint8_t { polite, casual };

constexpr std::string_view role_name(Role r) noexcept {
    return r == Role::system ? "system" : r == Role::user ? "user" : "assistant";
}
constexpr std::optional<Role> parse_role(std::string_view s) noexcept {
    if (s == "system") return Role::system;
    if (s == "user") return Role::user;
    if (s == "assistant") return Role::assistant;
    return std::nullopt;
}
constexpr std::string_view style_name(SpeechStyle s) noexcept { return s == SpeechStyle::polite ? "polite" : "casual"; }
constexpr std::optional<SpeechStyle> parse_style(std::string_view s) noexcept {
    if (s == "polite") return SpeechStyle::polite;
    if (s == "casual") return SpeechStyle::casual;
    return std::nullopt;
}

class ChatTemplate {
public:
    explicit ChatTemplate(const text::Tokenizer& tokenizer) : tokenizer_(&tokenizer) {
        using text::ChatToken;
        auto id = [&](ChatToken t) {
            const Token i = tokenizer.chat_token_id(t);
            require(i >= 0, {"tokenizer has no chat token", "vocabulary of " + std::to_string(tokenizer.size()) + " pieces",
                             std::string(text::chat_token_piece(t)), "none",
                             "use a vocabulary made by ulk-tokenizer-train (models/ulk-ko-*.model)"});
            return i;
        };
        system_ = id(ChatToken::system);
        user_ = id(ChatToken::user);
        assistant_ = id(ChatToken::assistant);
        end_ = id(ChatToken::end_of_turn);
        polite_ = id(ChatToken::polite);
        casual_ = id(ChatToken::casual);
        newline_ = id(ChatToken::newline);
        bos_ = tokenizer.bos_id();
        eos_ = tokenizer.eos_id();
        for (int b = 0; b < 256; ++b) {
            char name[8];
            std::snprintf(name, sizeof name, "<0x%02X>", b);
            byte_[std::size_t(b)] = tokenizer.id_of(name);
        }
    }

    const text::Tokenizer& tokenizer() const noexcept { return *tokenizer_; }

    // `text` as ids, with chat-token strings spelled out in byte pieces.
    void append_text(std::string_view text, std::vector<Token>& ids) const {
        const std::size_t first = ids.size();
        tokenizer_->encode_append(text, ids);
        for (std::size_t i = first; i < ids.size(); ++i) {
            if (!is_chat_token(ids[i]) || ids[i] == newline_) continue;
            const std::string_view piece = tokenizer_->piece(ids[i]);
            std::vector<Token> bytes;
            for (const char c : piece) {
                const Token b = byte_[static_cast<unsigned char>(c)];
                require(b >= 0, {"tokenizer has no byte piece", "chat template", "byte fallback pieces <0x00>..<0xFF>",
                                 "none", "use a vocabulary with byte fallback"});
                bytes.push_back(b);
            }
            ids.erase(ids.begin() + std::ptrdiff_t(i));
            ids.insert(ids.begin() + std::ptrdiff_t(i), bytes.begin(), bytes.end());
            i += bytes.size() - 1;
        }
    }

    void append_begin(std::vector<Token>& ids) const { ids.push_back(bos_); }

    void append_system(std::string_view text, std::vector<Token>& ids) const {
        ids.push_back(system_);
        append_text(text, ids);
        append_end(ids);
    }
    void append_user(std::string_view text, std::vector<Token>& ids) const {
        ids.push_back(user_);
        append_text(text, ids);
        append_end(ids);
    }
    // What a reply is generated after.
    void append_reply_header(SpeechStyle style, std::vector<Token>& ids) const {
        ids.push_back(assistant_);
        ids.push_back(style == SpeechStyle::polite ? polite_ : casual_);
    }
    void append_assistant(SpeechStyle style, std::string_view text, std::vector<Token>& ids) const {
        append_reply_header(style, ids);
        append_text(text, ids);
        append_end(ids);
    }
    // Closes a turn: "<|end|>\n".
    void append_end(std::vector<Token>& ids) const {
        ids.push_back(end_);
        ids.push_back(newline_);
    }

    // Ids that end a generated reply: end of turn, end of text, or a role marker (the model
    // starting the next turn on its own).
    bool ends_reply(Token id) const noexcept {
        return id == end_ || id == eos_ || id == user_ || id == system_ || id == assistant_;
    }
    // Ids a reply never contains: <s> and the style markers, which only the template places.
    std::vector<Token> suppressed_in_reply() const { return {bos_, polite_, casual_}; }
    Token end_of_turn() const noexcept { return end_; }
    Token newline() const noexcept { return newline_; }
    Token bos() const noexcept { return bos_; }
    bool is_chat_token(Token id) const noexcept {
        return id == system_ || id == user_ || id == assistant_ || id == end_ || id == polite_ || id == casual_ ||
               id == newline_;
    }

private:
    const text::Tokenizer* tokenizer_;
    Token bos_ = -1, eos_ = -1, system_ = -1, user_ = -1, assistant_ = -1, end_ = -1, polite_ = -1, casual_ = -1,
          newline_ = -1;
    Token byte_[256] = {};
};

}  // namespace ulk::generate
