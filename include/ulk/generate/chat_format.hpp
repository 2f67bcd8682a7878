#pragma once
// Chat formats of the models people download: a conversation rendered as the text their
// tokenizer.chat_template (Jinja) renders, for the families recognized from the template's text,
// as llama.cpp recognizes them. The text's special-token spellings (<|im_start|>) are meant for
// Tokenizer encoding with control tokens parsed; message contents must be encoded literally
// (render_chat_segments keeps the two apart).
//
//   chatml  (Qwen 2/2.5/3, InternLM2...): <|im_start|>ROLE\nCONTENT<|im_end|>\n ... <|im_start|>assistant\n
//           Qwen 3 (templates with reasoning_content): an assistant turn keeps only the text after
//           its </think>.
//   llama3  (Llama 3 instruct): BOS <|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT(trimmed)<|eot_id|> ...
//           then the assistant header (the template adds it unconditionally).
//   gemma   (Gemma 2/3): BOS <start_of_turn>user\n[SYSTEM\n\n]CONTENT(trimmed)<end_of_turn>\n
//           <start_of_turn>model\n...; roles must alternate user/assistant.
// Only the templates' conversation part: tools, images and date headers (Llama 3.1) are not
// rendered; a Qwen 3 reply that ends the conversation and carries its own <think> block is.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ulk/base/error.hpp"
#include "ulk/text/unicode_classes.hpp"
#include "ulk/text/utf8.hpp"

namespace ulk::generate {

enum class ChatFamily { chatml, qwen3, llama3, gemma };

struct ChatFamilyName {
    std::string_view name;
    ChatFamily family;
};
inline constexpr ChatFamilyName kChatFamilyNames[] = {
    {"chatml", ChatFamily::chatml}, {"qwen3", ChatFamily::qwen3}, {"llama3", ChatFamily::llama3}, {"gemma", ChatFamily::gemma}};

inline std::optional<ChatFamily> chat_family_from_name(std::string_view name) {
    for (const auto& n : kChatFamilyNames)
        if (n.name == name) return n.family;
    return std::nullopt;
}

// The family a Jinja template's text belongs to, by the markers it writes.
inline std::optional<ChatFamily> detect_chat_family(std::string_view tmpl) {
    auto has = [&](std::string_view s) { return tmpl.find(s) != std::string_view::npos; };
    if (has("<|im_start|>")) return has("reasoning_content") ? ChatFamily::qwen3 : ChatFamily::chatml;
    if (has("<|start_header_id|>") && has("<|eot_id|>")) return ChatFamily::llama3;
    if (has("<start_of_turn>")) return ChatFamily::gemma;
    return std::nullopt;
}

struct ChatMessage {
    std::string role;  // system, user, assistant
    std::string content;
};

// A rendered conversation: template text (special tokens spelled out) and message contents.
struct ChatSegment {
    std::string text;
    bool is_content = false;
};

namespace detail {

// Jinja's trim as @huggingface/jinja does it (JavaScript's String.prototype.trim: White_Space and
// the BOM).
inline std::string_view trim_whitespace(std::string_view s) {
    auto space_at = [&](std::size_t pos, std::size_t& len) {
        const text::Utf8Decoded d = text::decode_utf8(s, pos);
        len = d.length;
        return d.valid && (text::unicode::is_whitespace(d.code_point) || d.code_point == 0xFEFF);
    };
    std::size_t len = 0;
    while (!s.empty() && space_at(0, len)) s.remove_prefix(len);
    while (!s.empty()) {
        std::size_t start = s.size() - 1;
        while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
        if (!space_at(start, len) || start + len != s.size()) break;
        s.remove_suffix(len);
    }
    return s;
}

// Qwen 3: the reply after its reasoning (text after the last </think>, leading newlines dropped).
inline std::string_view after_thinking(std::string_view content) {
    const std::size_t end = content.rfind("</think>");
    if (end == std::string_view::npos) return content;
    content.remove_prefix(end + 8);
    while (!content.empty() && content.front() == '\n') content.remove_prefix(1);
    return content;
}

}  // namespace detail

// The conversation as segments, ending with the assistant's header when add_generation_prompt.
// bos: the vocabulary's BOS spelling, for the families whose template writes it.
inline std::vector<ChatSegment> render_chat_segments(ChatFamily family, std::span<const ChatMessage> messages,
                                                     bool add_generation_prompt, std::string_view bos) {
    std::vector<ChatSegment> out;
    auto tmpl = [&](std::string_view s) {
        if (s.empty()) return;
        if (!out.empty() && !out.back().is_content) out.back().text += s;
        else out.push_back({std::string(s), false});
    };
    auto content = [&](std::string_view s) {
        if (!s.empty()) out.push_back({std::string(s), true});
    };
    for (std::size_t i = 0; i < messages.size(); ++i) {
        const std::string& r = messages[i].role;
        require(r == "system" || r == "user" || r == "assistant",
                {"unknown role in a conversation", "message " + std::to_string(i + 1), "system, user or assistant",
                 "\"" + r + "\"", {}});
    }
    switch (family) {
        case ChatFamily::chatml:
        case ChatFamily::qwen3: {
            std::size_t last_user = messages.size();
            for (std::size_t i = messages.size(); i-- > 0;)
                if (messages[i].role == "user") {
                    last_user = i;
                    break;
                }
            for (std::size_t i = 0; i < messages.size(); ++i) {
                const ChatMessage& m = messages[i];
                tmpl("<|im_start|>" + m.role + "\n");
                if (family == ChatFamily::qwen3 && m.role == "assistant") {
                    std::string_view reply = detail::after_thinking(m.content);
                    // The final reply after the last question carries its (here empty) thinking block.
                    if (last_user < messages.size() && i > last_user && i + 1 == messages.size() &&
                        reply.size() == m.content.size()) {
                        tmpl("<think>\n\n</think>\n\n");
                        while (!reply.empty() && reply.front() == '\n') reply.remove_prefix(1);
                    }
                    content(reply);
                } else {
                    content(m.content);
                }
                tmpl("<|im_end|>\n");
            }
            if (add_generation_prompt) tmpl("<|im_start|>assistant\n");
            break;
        }
        case ChatFamily::llama3:
            if (!messages.empty()) tmpl(bos);
            for (const ChatMessage& m : messages) {
                tmpl("<|start_header_id|>" + m.role + "<|end_header_id|>\n\n");
                content(detail::trim_whitespace(m.content));
                tmpl("<|eot_id|>");
            }
            tmpl("<|start_header_id|>assistant<|end_header_id|>\n\n");
            break;
        case ChatFamily::gemma: {
            tmpl(bos);
            std::size_t first = 0;
            std::string_view system;
            if (!messages.empty() && messages[0].role == "system") {
                system = messages[0].content;
                first = 1;
            }
            for (std::size_t i = first; i < messages.size(); ++i) {
                const ChatMessage& m = messages[i];
                const bool expect_user = (i - first) % 2 == 0;
                require((m.role == "user") == expect_user && m.role != "system",
                        {"conversation roles must alternate user/assistant", "message " + std::to_string(i + 1),
                         expect_user ? "user" : "assistant", m.role, "Gemma's template allows one system message, first"});
                tmpl(std::string("<start_of_turn>") + (m.role == "assistant" ? "model" : "user") + "\n");
                if (i == first && first == 1) {
                    content(system);
                    tmpl("\n\n");
                }
                content(detail::trim_whitespace(m.content));
                tmpl("<end_of_turn>\n");
            }
            if (add_generation_prompt) tmpl("<start_of_turn>model\n");
            break;
        }
    }
    return out;
}

inline std::string render_chat(ChatFamily family, std::span<const ChatMessage> messages, bool add_generation_prompt,
                               std::string_view bos) {
    std::string s;
    for (const ChatSegment& seg : render_chat_segments(family, messages, add_generation_prompt, bos)) s += seg.text;
    return s;
}

}  // namespace ulk::generate
