#pragma once
// PieceTable: what decoding needs to know about each id, independent of SentencePiece, so that
// the (streaming) detokenizer works on any vocabulary and does not link the library.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ulk/text/hangul.hpp"
#include "ulk/text/utf8.hpp"

namespace ulk::text {

// SentencePiece's ModelProto.SentencePiece.Type numbers, which are also llama.cpp's
// tokenizer.ggml.token_type values.
enum class PieceKind : std::uint8_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

inline constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // U+2581 ▁, SentencePiece's space

struct PieceTable {
    struct Entry {
        std::string surface;  // text with ▁ as ' '; the byte for byte pieces; "" for control pieces
        PieceKind kind = PieceKind::normal;
        bool plain = false;   // well-formed UTF-8 without conjoining jamo: may be copied as it is
    };
    std::vector<Entry> entries;
    // SentencePiece drops the ▁ it added in front of the text (add_dummy_prefix) from the first
    // piece of a decode.
    bool strip_leading_space = true;
    // Conjoining jamo are composed into syllables on output (jamo fallback's pieces). Off for
    // byte-level BPE, whose decoding gives back the exact bytes.
    bool compose_jamo = true;

    static std::string surface_of(std::string_view piece, PieceKind kind, std::string_view unk_surface) {
        switch (kind) {
            case PieceKind::control:
            case PieceKind::unused: return {};
            case PieceKind::unknown: return std::string(unk_surface);
            case PieceKind::byte: {
                // "<0xAB>"
                unsigned v = 0;
                for (std::size_t i = 3; i + 1 < piece.size(); ++i) {
                    const char c = piece[i];
                    v = v * 16 + unsigned(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
                }
                return std::string(1, char(v & 0xFF));
            }
            default: break;
        }
        std::string s;
        s.reserve(piece.size());
        for (std::size_t i = 0; i < piece.size();) {
            if (piece.substr(i, 3) == kSpaceSymbol) {
                s.push_back(' ');
                i += 3;
            } else {
                s.push_back(piece[i++]);
            }
        }
        return s;
    }

    static bool is_plain(std::string_view s) {
        for (std::size_t i = 0; i < s.size();) {
            const Utf8Decoded d = decode_utf8(s, i);
            if (!d.valid || hangul::is_lead(d.code_point) || hangul::is_vowel(d.code_point) ||
                hangul::is_trail(d.code_point))
                return false;
            i += d.length;
        }
        return true;
    }

    void add(std::string_view piece, PieceKind kind, std::string_view unk_surface) {
        Entry e;
        e.surface = surface_of(piece, kind, unk_surface);
        e.kind = kind;
        e.plain = kind != PieceKind::byte && is_plain(e.surface);
        entries.push_back(std::move(e));
    }
};

}  // namespace ulk::text
