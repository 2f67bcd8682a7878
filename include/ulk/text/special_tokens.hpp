#pragma once
// Chat special tokens: SentencePiece user-defined symbols, so the encoder matches them whole
// before anything else and never splits them; the ids are fixed at training (after <unk>, <s>,
// </s>: see tools/ulk_tokenizer_train.cpp).
#include <array>
#include <string_view>

namespace ulk::text {

enum class ChatToken { system, user, assistant, end_of_turn, polite, casual, newline };

// polite: the reply speaks 존댓말 (해요체/하십시오체); casual: 반말 (해체).
inline constexpr std::array<std::string_view, 7> kChatTokenPieces = {
    "<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<|polite|>", "<|casual|>", "\n"};

constexpr std::string_view chat_token_piece(ChatToken t) noexcept { return kChatTokenPieces[std::size_t(t)]; }

}  // namespace ulk::text
