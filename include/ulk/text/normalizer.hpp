#pragma once
// HangulNormalizer: what every text goes through before SentencePiece sees it (the vocabulary is
// trained on its output, and SentencePiece's own normalization is switched off).
//
//  - Canonical composition of conjoining jamo: L V -> LV, LV T -> LVT (NFD text, as macOS writes
//    it, gives the same bytes, hence the same ids, as NFC text).
//  - Folding of compatibility forms that carry no meaning of their own: full-width ASCII
//    (U+FF01..U+FF5E), the ideographic and other fixed-width spaces, full-width currency signs,
//    half-width Hangul letters (to compatibility jamo); BOM and zero-width space are dropped.
//  - Compatibility jamo (ㅋㅋ, ㅠㅠ, ㄱㅅ) are kept exactly as written: NFKC (and SentencePiece's
//    default nmt_nfkc) maps them to conjoining jamo, which renders wrongly and lets "ㄱㅏ"
//    compose into "가".
//  - Ill-formed UTF-8 becomes U+FFFD per maximal subpart (counted), or is rejected with
//    ulk::Error naming the byte offset, by option.
// Not done: composition outside Hangul (e + U+0301 stays two code points).
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

#include "ulk/base/error.hpp"
#include "ulk/text/hangul.hpp"
#include "ulk/text/utf8.hpp"

namespace ulk::text {

enum class InvalidUtf8 { replace, reject };

struct NormalizerOptions {
    InvalidUtf8 invalid_utf8 = InvalidUtf8::replace;
    bool fold_compatibility_forms = true;
};

struct NormalizeStats {
    std::size_t invalid_sequences = 0;  // each replaced by one U+FFFD
};

class HangulNormalizer {
public:
    explicit HangulNormalizer(NormalizerOptions options = {}) : options_(options) {}
    const NormalizerOptions& options() const noexcept { return options_; }

    std::string normalize(std::string_view in, NormalizeStats* stats = nullptr) const {
        std::string out;
        normalize_append(in, out, stats);
        return out;
    }

    // Appends normalize(in) to out (out's earlier content is never composed with).
    void normalize_append(std::string_view in, std::string& out, NormalizeStats* stats = nullptr) const {
        out.reserve(out.size() + in.size());
        char32_t last = 0;               // last code point written by this call (0: none)
        std::size_t last_at = out.size();  // its offset in out
        std::size_t pos = 0;
        while (pos < in.size()) {
            // ASCII runs: nothing to fold or compose.
            const std::size_t run_start = pos;
            while (pos < in.size() && static_cast<unsigned char>(in[pos]) < 0x80) ++pos;
            if (pos > run_start) {
                out.append(in.data() + run_start, pos - run_start);
                last = static_cast<unsigned char>(in[pos - 1]);
                last_at = out.size() - 1;
                continue;
            }
            const Utf8Decoded d = decode_utf8(in, pos);
            char32_t c = d.code_point;
            if (!d.valid) {
                if (options_.invalid_utf8 == InvalidUtf8::reject) throw invalid_utf8_error(in, pos, d.length);
                if (stats) ++stats->invalid_sequences;
            } else if (options_.fold_compatibility_forms) {
                c = fold(c);
            }
            pos += d.length;
            if (c == 0) continue;  // dropped
            if (hangul::is_vowel(c) && hangul::is_lead(last)) {
                c = hangul::compose_lv(last, c);
                out.resize(last_at);
            } else if (hangul::is_trail(c) && hangul::is_lv_syllable(last)) {
                c = hangul::compose_lvt(last, c);
                out.resize(last_at);
            }
            last_at = out.size();
            append_utf8(out, c);
            last = c;
        }
    }

    // The folded form of one code point; 0 drops it.
    static constexpr char32_t fold(char32_t c) noexcept {
        if (c < 0xA0) return c;
        if (c >= 0xFF01 && c <= 0xFF5E) return c - 0xFEE0;  // full-width ASCII
        if (c >= 0xFFA0 && c <= 0xFFDC) return fold_half_width_hangul(c);
        switch (c) {
            case 0x00A0: case 0x2000: case 0x2001: case 0x2002: case 0x2003: case 0x2004: case 0x2005:
            case 0x2006: case 0x2007: case 0x2008: case 0x2009: case 0x200A: case 0x202F: case 0x205F:
            case 0x3000:
                return U' ';
            case 0x200B: case 0xFEFF: return 0;  // zero-width space, BOM
            case 0xFFE0: return 0x00A2;          // ¢
            case 0xFFE1: return 0x00A3;          // £
            case 0xFFE2: return 0x00AC;          // ¬
            case 0xFFE3: return 0x00AF;          // ¯
            case 0xFFE4: return 0x00A6;          // ¦
            case 0xFFE5: return 0x00A5;          // ¥
            case 0xFFE6: return 0x20A9;          // ₩
            default: return c;
        }
    }

private:
    // U+FFA0..U+FFDC: half-width Hangul letters, in the order of the compatibility jamo with
    // gaps at FFBF..FFC1, FFC8..FFC9, FFD0..FFD1, FFD8..FFD9 (unassigned: kept as they are).
    static constexpr char32_t fold_half_width_hangul(char32_t c) noexcept {
        if (c == 0xFFA0) return 0x3164;                                   // filler
        if (c >= 0xFFA1 && c <= 0xFFBE) return 0x3131 + (c - 0xFFA1);     // consonants
        if (c >= 0xFFC2 && c <= 0xFFC7) return 0x314F + (c - 0xFFC2);     // ㅏ..ㅔ
        if (c >= 0xFFCA && c <= 0xFFCF) return 0x3155 + (c - 0xFFCA);     // ㅕ..ㅚ
        if (c >= 0xFFD2 && c <= 0xFFD7) return 0x315B + (c - 0xFFD2);     // ㅛ..ㅠ
        if (c >= 0xFFDA && c <= 0xFFDC) return 0x3161 + (c - 0xFFDA);     // ㅡ..ㅣ
        return c;
    }

    static std::string hex_byte(char c) {
        char hex[4];
        std::snprintf(hex, sizeof hex, " %02X", static_cast<unsigned char>(c));
        return hex;
    }

    static Error invalid_utf8_error(std::string_view in, std::size_t pos, std::size_t length) {
        // The ill-formed bytes, then the byte that ended them (if any).
        std::string found = length == 1 ? "byte" : "bytes";
        for (std::size_t k = 0; k < length; ++k) found += hex_byte(in[pos + k]);
        if (pos + length < in.size() && length > 1) found += ", then" + hex_byte(in[pos + length]);
        else if (pos + length >= in.size() && length > 1) found += ", then the end of the text";
        return Error(ErrorInfo{"invalid UTF-8 in text", "byte " + std::to_string(pos),
                               "a well-formed UTF-8 sequence (Unicode table 3-7)", found,
                               "fix the text's encoding (e.g. iconv -f CP949 -t UTF-8), or normalize with "
                               "InvalidUtf8::replace to substitute U+FFFD"});
    }

    NormalizerOptions options_;
};

}  // namespace ulk::text
