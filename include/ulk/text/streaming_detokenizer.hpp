#pragma once
// StreamingDetokenizer: ids in, text out, one id at a time, emitting only complete UTF-8 and
// complete syllables. Whole-text decoding is this class fed all ids and finished, so streaming
// and whole decoding agree by construction (tests check it at every split point anyway).
//
// Two things are held back:
//  - bytes of byte-fallback pieces until their UTF-8 sequence completes; an ill-formed
//    subpart becomes one U+FFFD as soon as it cannot complete (as decode_utf8 does);
//  - conjoining jamo from jamo fallback: a leading consonant L until a vowel V arrives (L V is
//    a syllable, which a trailing consonant T may still extend), released as they are once the
//    next code point shows that no syllable follows. Only L V and L V T compose; the normalizer
//    composes every such run on input, so decode(encode(x)) == normalize(x).
#include <cstdint>
#include <span>
#include <string>

#include "ulk/base/error.hpp"
#include "ulk/text/hangul.hpp"
#include "ulk/text/piece_table.hpp"
#include "ulk/text/utf8.hpp"

namespace ulk::text {

class StreamingDetokenizer {
public:
    explicit StreamingDetokenizer(const PieceTable& table) : table_(&table) {}

    // Appends the text that `id` completes to out.
    void push(std::int32_t id, std::string& out) {
        if (id < 0 || std::size_t(id) >= table_->entries.size()) [[unlikely]]
            throw Error(ErrorInfo{"token id out of range", "decoding",
                                  "0.." + std::to_string(table_->entries.size() - 1), std::to_string(id),
                                  "the ids must come from this tokenizer's vocabulary"});
        const PieceTable::Entry& e = table_->entries[std::size_t(id)];
        if (e.kind == PieceKind::control || e.kind == PieceKind::unused) return;
        std::string_view s = e.surface;
        if (e.kind != PieceKind::byte) {
            if (at_start_ && table_->strip_leading_space && !s.empty() && s.front() == ' ') s.remove_prefix(1);
            at_start_ = false;
        }
        if (e.plain && held_ == Held::none && !bytes_.pending()) {
            out.append(s);
            return;
        }
        for (const char ch : s) bytes_.push(static_cast<unsigned char>(ch), [&](char32_t c) { compose(c, out); });
    }

    void push(std::span<const std::int32_t> ids, std::string& out) {
        for (const std::int32_t id : ids) push(id, out);
    }

    // End of the stream: releases what was held back.
    void finish(std::string& out) {
        bytes_.finish([&](char32_t c) { compose(c, out); });
        release(out);
    }

    // Forgets everything, as for a new text.
    void reset() {
        bytes_ = Utf8Assembler{};
        held_ = Held::none;
        at_start_ = true;
    }

    bool holding_back() const noexcept { return held_ != Held::none || bytes_.pending(); }

private:
    enum class Held { none, lead, lead_vowel };

    void release(std::string& out) {
        if (held_ != Held::none) append_utf8(out, held_code_);
        held_ = Held::none;
    }

    void compose(char32_t c, std::string& out) {
        if (!table_->compose_jamo) {
            append_utf8(out, c);
            return;
        }
        if (held_ == Held::lead && hangul::is_vowel(c)) {
            held_code_ = hangul::compose_lv(held_code_, c);
            held_ = Held::lead_vowel;
            return;
        }
        if (held_ == Held::lead_vowel && hangul::is_trail(c)) {
            append_utf8(out, hangul::compose_lvt(held_code_, c));
            held_ = Held::none;
            return;
        }
        release(out);
        if (hangul::is_lead(c)) {
            held_code_ = c;
            held_ = Held::lead;
        } else {
            append_utf8(out, c);
        }
    }

    const PieceTable* table_;
    Utf8Assembler bytes_;
    Held held_ = Held::none;
    char32_t held_code_ = 0;
    bool at_start_ = true;
};

}  // namespace ulk::text
