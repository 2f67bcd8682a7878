// HangulNormalizer and UTF-8 handling: composition, folding, compatibility jamo, ill-formed input.
#include <doctest/doctest.h>

#include <string>

#include "test_util.hpp"
#include "text_fixtures.hpp"
#include "ulk/text/ks_x_1001.hpp"
#include "ulk/text/normalizer.hpp"

using namespace ulk;
using namespace ulk::text;

namespace {
std::size_t count_replacements(std::string_view s) {
    std::size_t n = 0;
    for (std::size_t pos = 0; (pos = s.find("\xEF\xBF\xBD", pos)) != std::string_view::npos; pos += 3) ++n;
    return n;
}
}  // namespace

TEST_CASE("normalizer: NFD Hangul composes to NFC, for every syllable") {
    const HangulNormalizer n;
    for (char32_t c = hangul::kSyllableBase; c <= hangul::kSyllableLast; ++c) {
        const std::string nfc = utf8_encode(c);
        REQUIRE(n.normalize(test::to_nfd(nfc)) == nfc);
    }
    const std::string text = "맥에서 만든 파일 이름: 한국어 텍스트.txt";
    CHECK(test::to_nfd(text) != text);
    CHECK(n.normalize(test::to_nfd(text)) == text);
    // LV syllable + T composes too; T or V without what precedes it stays.
    CHECK(n.normalize("\xEA\xB0\x80\xE1\x86\xA8") == "각");
    CHECK(n.normalize("\xE1\x85\xA1\xE1\x86\xA8") == "\xE1\x85\xA1\xE1\x86\xA8");
    CHECK(n.normalize("각\xE1\x86\xA8") == "각\xE1\x86\xA8");  // LVT + T: no composition
}

TEST_CASE("normalizer: compatibility jamo are kept exactly as written") {
    const HangulNormalizer n;
    for (const std::string s : {"ㅋㅋㅋㅋ", "ㅠㅠ", "ㄱㅅ", "ㄱㅏ", "ㅎㅇ ㅂㅂ", "ㄴㄴ ㅇㅋ"}) CHECK(n.normalize(s) == s);
    for (char32_t c = hangul::kCompatibilityJamoFirst; c <= hangul::kCompatibilityJamoLast; ++c)
        CHECK(n.normalize(utf8_encode(c)) == utf8_encode(c));
}

TEST_CASE("normalizer: full-width ASCII and other compatibility forms fold") {
    const HangulNormalizer n;
    CHECK(n.normalize("ＡＢＣ　１２３！ｋｇ") == "ABC 123!kg");
    CHECK(n.normalize("가\xC2\xA0나") == "가 나");       // no-break space
    CHECK(n.normalize("\xEF\xBB\xBF안녕") == "안녕");    // BOM dropped
    CHECK(n.normalize("\xEF\xBF\xA6" "1000") == "₩1000");  // full-width won sign
    CHECK(n.normalize("\xEF\xBE\xA1\xEF\xBF\x82") == "ㄱㅏ");  // half-width ﾡ ￂ -> compatibility jamo
    const HangulNormalizer off({InvalidUtf8::replace, false});
    CHECK(off.normalize("ＡＢＣ") == "ＡＢＣ");
}

TEST_CASE("normalizer: ill-formed UTF-8 is replaced per maximal subpart, or rejected") {
    const HangulNormalizer n;
    struct Case {
        std::string bytes;
        std::size_t replacements;
        const char* what;
    };
    const Case cases[] = {
        {"\xED\x95", 1, "truncated at the end"},
        {"a\xED\x95z", 1, "truncated before ASCII"},
        {"\xE2\x82", 1, "truncated 3-byte"},
        {"\xF0\x9F\x98", 1, "truncated 4-byte"},
        {"\xC0\xAF", 2, "overlong 2-byte"},
        {"\xE0\x80\xAF", 3, "overlong 3-byte"},
        {"\xF0\x80\x80\xAF", 4, "overlong 4-byte"},
        {"\xED\xA0\x80", 3, "surrogate U+D800"},
        {"\xED\xBF\xBF", 3, "surrogate U+DFFF"},
        {"\x80", 1, "lone continuation"},
        {"\x80\xBF\x80", 3, "continuations"},
        {"\xF4\x90\x80\x80", 4, "above U+10FFFF"},
        {"\xF5\xFF\xFE", 3, "bytes that never occur"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        NormalizeStats stats;
        const std::string out = n.normalize("가" + c.bytes + "나", &stats);
        CHECK(stats.invalid_sequences == c.replacements);
        CHECK(count_replacements(out) == c.replacements);
        CHECK(out.starts_with("가"));
        CHECK(out.ends_with("나"));
        const HangulNormalizer strict({InvalidUtf8::reject, true});
        try {
            (void)strict.normalize("가" + c.bytes + "나");
            FAIL("not rejected");
        } catch (const Error& e) {
            CHECK(e.info().where == (c.bytes[0] == 'a' ? "byte 4" : "byte 3"));
            CHECK(std::string(e.what()).find("invalid UTF-8") != std::string::npos);
            if (c.bytes[0] == 'a') CHECK(e.info().found == "bytes ED 95, then 7A");
        }
    }
}

TEST_CASE("utf8: the streaming assembler replaces exactly what decode_utf8 replaces") {
    test::Rng rng(7);
    const unsigned char alphabet[] = {0x41, 0x80, 0xBF, 0xC2, 0xC0, 0xE0, 0xA0, 0xED, 0x9F, 0xEA, 0xB0,
                                      0xF0, 0x90, 0xF4, 0x8F, 0xF5, 0xFF, 0x95, 0x9C};
    for (int trial = 0; trial < 2000; ++trial) {
        std::string s;
        const int len = int(rng.next() % 12);
        for (int k = 0; k < len; ++k) s.push_back(char(alphabet[rng.next() % sizeof alphabet]));
        std::u32string whole, streamed;
        for (std::size_t i = 0; i < s.size();) {
            const Utf8Decoded d = decode_utf8(s, i);
            whole.push_back(d.code_point);
            i += d.length;
        }
        Utf8Assembler a;
        for (const char ch : s) a.push(static_cast<unsigned char>(ch), [&](char32_t c) { streamed.push_back(c); });
        a.finish([&](char32_t c) { streamed.push_back(c); });
        REQUIRE(whole == streamed);
    }
}

TEST_CASE("ks_x_1001: the table holds the 2,350 syllables glibc's EUC-KR decoder gives") {
    const auto syllables = ks_x_1001_syllables();
    REQUIRE(syllables.size() == 2350);
    CHECK(syllables.front() == U'가');
    CHECK(syllables.back() == U'힝');
    CHECK(is_ks_x_1001_syllable(U'한'));
    CHECK_FALSE(is_ks_x_1001_syllable(U'똠'));  // famously missing from KS X 1001
    CHECK_FALSE(is_ks_x_1001_syllable(U'햏'));
}
