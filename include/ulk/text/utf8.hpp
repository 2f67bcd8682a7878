#pragma once
// UTF-8 decoding and encoding with Unicode's "maximal subpart" rule for ill-formed input
// (Unicode 15, section 3.9, table 3-7): each maximal prefix of a well-formed sequence that cannot
// be completed counts as one error and becomes one U+FFFD, so that every decoder in this library
// (normalizer, detokenizer, streaming detokenizer) replaces the same bytes the same way.
// Overlongs, surrogates (ED A0..BF) and values above U+10FFFF are ill-formed by table 3-7.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ulk::text {

inline constexpr char32_t kReplacementCharacter = 0xFFFD;

// Length of the sequence a byte starts (1..4), or 0 when it cannot start one (80..C1, F5..FF).
constexpr int utf8_sequence_length(unsigned char lead) noexcept {
    if (lead < 0x80) return 1;
    if (lead < 0xC2) return 0;
    if (lead < 0xE0) return 2;
    if (lead < 0xF0) return 3;
    if (lead < 0xF5) return 4;
    return 0;
}

// Whether byte `b` may follow `lead` as its second byte: table 3-7 narrows the second byte after
// E0 (no overlongs), ED (no surrogates), F0 (no overlongs) and F4 (nothing above U+10FFFF).
constexpr bool utf8_valid_second(unsigned char lead, unsigned char b) noexcept {
    switch (lead) {
        case 0xE0: return b >= 0xA0 && b <= 0xBF;
        case 0xED: return b >= 0x80 && b <= 0x9F;
        case 0xF0: return b >= 0x90 && b <= 0xBF;
        case 0xF4: return b >= 0x80 && b <= 0x8F;
        default: return b >= 0x80 && b <= 0xBF;
    }
}

struct Utf8Decoded {
    char32_t code_point;  // kReplacementCharacter when !valid
    std::uint32_t length; // bytes consumed: the sequence, or the maximal ill-formed subpart (>= 1)
    bool valid;
};

// Decodes the scalar value starting at s[pos] (pos < s.size()).
constexpr Utf8Decoded decode_utf8(std::string_view s, std::size_t pos) noexcept {
    const auto lead = static_cast<unsigned char>(s[pos]);
    const int n = utf8_sequence_length(lead);
    if (n == 1) return {lead, 1, true};
    if (n == 0) return {kReplacementCharacter, 1, false};
    char32_t cp = lead & (0x7F >> n);
    for (int k = 1; k < n; ++k) {
        if (pos + std::size_t(k) >= s.size()) return {kReplacementCharacter, std::uint32_t(k), false};
        const auto b = static_cast<unsigned char>(s[pos + std::size_t(k)]);
        const bool ok = k == 1 ? utf8_valid_second(lead, b) : (b & 0xC0) == 0x80;
        if (!ok) return {kReplacementCharacter, std::uint32_t(k), false};
        cp = (cp << 6) | (b & 0x3F);
    }
    return {cp, std::uint32_t(n), true};
}

// Number of ill-formed subparts in s (0: valid UTF-8).
constexpr std::size_t count_invalid_utf8(std::string_view s) noexcept {
    std::size_t bad = 0;
    for (std::size_t pos = 0; pos < s.size();) {
        const Utf8Decoded d = decode_utf8(s, pos);
        bad += !d.valid;
        pos += d.length;
    }
    return bad;
}
constexpr bool is_valid_utf8(std::string_view s) noexcept { return count_invalid_utf8(s) == 0; }

// Appends a scalar value (the caller guarantees cp <= U+10FFFF and not a surrogate).
inline void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(char(cp));
    } else if (cp < 0x800) {
        out.push_back(char(0xC0 | (cp >> 6)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(char(0xE0 | (cp >> 12)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(char(0xF0 | (cp >> 18)));
        out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    }
}

inline std::string utf8_encode(char32_t cp) {
    std::string s;
    append_utf8(s, cp);
    return s;
}

// s with every ill-formed subpart replaced by U+FFFD (what decoding does).
inline std::string repair_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t pos = 0; pos < s.size();) {
        const Utf8Decoded d = decode_utf8(s, pos);
        if (d.valid) out.append(s.substr(pos, d.length));
        else append_utf8(out, kReplacementCharacter);
        pos += d.length;
    }
    return out;
}

// Feeds bytes one at a time and yields scalar values as they complete; an ill-formed subpart
// yields one U+FFFD, exactly as decode_utf8 would for the same bytes taken whole.
class Utf8Assembler {
public:
    // Calls emit(char32_t) for every value completed by byte b (0, 1 or 2 calls).
    template <class Emit>
    void push(unsigned char b, Emit&& emit) {
        if (have_ == 0) {
            start(b, emit);
            return;
        }
        const bool ok = have_ == 1 ? utf8_valid_second(lead_, b) : (b & 0xC0) == 0x80;
        if (!ok) {
            have_ = 0;
            emit(kReplacementCharacter);
            start(b, emit);
            return;
        }
        cp_ = (cp_ << 6) | (b & 0x3F);
        if (++have_ == need_) {
            have_ = 0;
            emit(cp_);
        }
    }
    // End of input: an unfinished sequence is one error.
    template <class Emit>
    void finish(Emit&& emit) {
        if (have_ != 0) {
            have_ = 0;
            emit(kReplacementCharacter);
        }
    }
    bool pending() const noexcept { return have_ != 0; }

private:
    template <class Emit>
    void start(unsigned char b, Emit& emit) {
        const int n = utf8_sequence_length(b);
        if (n == 1) {
            emit(char32_t(b));
        } else if (n == 0) {
            emit(kReplacementCharacter);
        } else {
            lead_ = b;
            need_ = n;
            have_ = 1;
            cp_ = b & (0x7F >> n);
        }
    }
    char32_t cp_ = 0;
    unsigned char lead_ = 0;
    int need_ = 0, have_ = 0;
};

}  // namespace ulk::text
