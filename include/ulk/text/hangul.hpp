#pragma once
// Hangul in Unicode: 11,172 precomposed syllables U+AC00..U+D7A3 laid out arithmetically as
//   syllable = 0xAC00 + (L * 21 + V) * 28 + T
// over 19 leading consonants L (choseong U+1100..U+1112), 21 vowels V (jungseong U+1161..U+1175)
// and 27 trailing consonants T (jongseong U+11A8..U+11C2; T = 0 means none). Conjoining jamo are
// what NFD produces; compatibility jamo (U+3131..U+318E, "ㅋㅋ") are letters of their own that
// only NFKC folds into conjoining jamo: we never do.
#include <array>
#include <cstdint>

namespace ulk::text::hangul {

inline constexpr char32_t kSyllableBase = 0xAC00, kSyllableLast = 0xD7A3;
inline constexpr char32_t kLeadBase = 0x1100, kVowelBase = 0x1161, kTrailBase = 0x11A7;
inline constexpr int kLeadCount = 19, kVowelCount = 21, kTrailCount = 28;  // trail 0: none
inline constexpr char32_t kCompatibilityJamoFirst = 0x3131, kCompatibilityJamoLast = 0x318E;

constexpr bool is_syllable(char32_t c) noexcept { return c >= kSyllableBase && c <= kSyllableLast; }
constexpr bool is_lead(char32_t c) noexcept { return c >= kLeadBase && c < kLeadBase + kLeadCount; }
constexpr bool is_vowel(char32_t c) noexcept { return c >= kVowelBase && c < kVowelBase + kVowelCount; }
constexpr bool is_trail(char32_t c) noexcept { return c > kTrailBase && c < kTrailBase + kTrailCount; }
constexpr bool is_compatibility_jamo(char32_t c) noexcept {
    return c >= kCompatibilityJamoFirst && c <= kCompatibilityJamoLast;
}
// A syllable without a trailing consonant, which a following T may extend.
constexpr bool is_lv_syllable(char32_t c) noexcept {
    return is_syllable(c) && (c - kSyllableBase) % kTrailCount == 0;
}

constexpr char32_t compose_lv(char32_t lead, char32_t vowel) noexcept {
    return kSyllableBase + ((lead - kLeadBase) * kVowelCount + (vowel - kVowelBase)) * kTrailCount;
}
constexpr char32_t compose_lvt(char32_t lv, char32_t trail) noexcept { return lv + (trail - kTrailBase); }

struct Jamo {
    char32_t lead, vowel, trail;  // trail == 0: none
};
constexpr Jamo decompose(char32_t syllable) noexcept {
    const char32_t s = syllable - kSyllableBase;
    const char32_t t = s % kTrailCount;
    return {kLeadBase + s / (kVowelCount * kTrailCount), kVowelBase + (s / kTrailCount) % kVowelCount,
            t == 0 ? char32_t(0) : kTrailBase + t};
}

static_assert(compose_lv(0x1100, 0x1161) == 0xAC00);                       // ᄀ + ᅡ = 가
static_assert(compose_lvt(compose_lv(0x1112, 0x1175), 0x11C2) == 0xD7A3);  // 힣
static_assert(decompose(0xD55C).lead == 0x1112 && decompose(0xD55C).trail == 0x11AB);  // 한

}  // namespace ulk::text::hangul
