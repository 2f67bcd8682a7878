// StreamingDetokenizer: emits only complete UTF-8 and complete syllables, and the concatenation
// of what it emits equals whole-text decoding for every split of the ids.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "text_fixtures.hpp"
#include "ulk/text/tokenizer.hpp"

using namespace ulk;
using namespace ulk::text;

namespace {
bool well_formed(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const Utf8Decoded d = decode_utf8(s, i);
        if (!d.valid) return false;
        i += d.length;
    }
    return true;
}
}  // namespace

TEST_CASE("streaming detokenizer: equals whole decode at every split point, emitting only complete text") {
    const Tokenizer& t = test::ko_tokenizer();
    std::vector<std::string> texts = {
        "똠방각하 햏햏 뷁! 😀 이모지와 ㅋㅋ", "<|user|>안녕하세요<|end|>\n<|assistant|>네, 반갑습니다.", "  앞뒤 공백  "};
    for (const auto& [source, sample] : test::held_out_samples())
        if (!sample.empty()) texts.push_back(sample.back());
    for (const std::string& text : texts) {
        CAPTURE(text);
        const auto ids = t.encode(text);
        const std::string whole = t.decode(ids);
        REQUIRE(whole == t.normalize(text));
        // One id at a time: each emitted chunk is well-formed UTF-8.
        StreamingDetokenizer one = t.streaming_detokenizer();
        std::string joined;
        for (const auto id : ids) {
            std::string chunk;
            one.push(id, chunk);
            CHECK(well_formed(chunk));
            joined += chunk;
        }
        one.finish(joined);
        CHECK(joined == whole);
        // Every split point.
        for (std::size_t k = 0; k <= ids.size(); ++k) {
            StreamingDetokenizer d = t.streaming_detokenizer();
            std::string out;
            d.push(std::span(ids).first(k), out);
            const std::size_t first_part = out.size();
            CHECK(whole.compare(0, first_part, out) == 0);  // a prefix of the final text
            d.push(std::span(ids).subspan(k), out);
            d.finish(out);
            REQUIRE(out == whole);
        }
    }
}

TEST_CASE("streaming detokenizer: held-back jamo and bytes are released when complete or impossible") {
    const Tokenizer& t = test::ko_tokenizer();
    const auto L = t.id_of("\xE1\x84\x84");  // ᄄ
    const auto V = t.id_of("\xE1\x85\xA9");  // ᅩ
    const auto T = t.id_of("\xE1\x86\xB7");  // ᆷ
    REQUIRE((L >= 0 && V >= 0 && T >= 0));
    StreamingDetokenizer d = t.streaming_detokenizer();
    std::string out;
    REQUIRE(t.id_of(".") >= 0);
    d.push(t.id_of("가"), out);
    CHECK(out == "가");
    d.push(L, out);
    d.push(V, out);
    CHECK(out == "가");  // 또 may still become 똠
    CHECK(d.holding_back());
    d.push(T, out);
    CHECK(out == "가똠");  // complete
    CHECK_FALSE(d.holding_back());
    d.push(L, out);
    d.push(V, out);
    d.push(t.id_of("."), out);
    CHECK(out == "가똠또.");  // cannot grow: released with what follows
    d.push(L, out);
    d.finish(out);
    CHECK(out == "가똠또.\xE1\x84\x84");  // a lone leading consonant stays as it is

    // Byte pieces: nothing until the sequence completes; ill-formed ones become U+FFFD.
    StreamingDetokenizer b = t.streaming_detokenizer();
    std::string bytes_out;
    const auto byte = [&](int v) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", v);
        return t.id_of(name);
    };
    for (const int v : {0xF0, 0x9F, 0x98}) {
        b.push(byte(v), bytes_out);
        CHECK(bytes_out.empty());
    }
    b.push(byte(0x80), bytes_out);
    CHECK(bytes_out == "😀");
    b.push(byte(0xEA), bytes_out);
    b.push(t.id_of("가"), bytes_out);
    CHECK(bytes_out == "😀\uFFFD가");
    b.push(byte(0xEA), bytes_out);
    b.finish(bytes_out);
    CHECK(bytes_out == "😀\uFFFD가\uFFFD");
}

TEST_CASE("streaming detokenizer: stays valid when its tokenizer is moved") {
    Tokenizer a = Tokenizer::from_file(test::kTokenizerModel);
    const auto ids = a.encode("옮겨도 됩니다");
    StreamingDetokenizer d = a.streaming_detokenizer();
    const Tokenizer b = std::move(a);
    std::string out;
    d.push(ids, out);
    d.finish(out);
    CHECK(out == "옮겨도 됩니다");
    CHECK(b.decode(ids) == out);
}
