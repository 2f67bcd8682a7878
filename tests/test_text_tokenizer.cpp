// ulk::text::Tokenizer on the committed Korean vocabulary: round trips on held-out text of every
// shared source, NFD = NFC, compatibility jamo, KS X 1001 coverage, jamo and byte fallback,
// special tokens, ill-formed input, and the three ways of building a tokenizer.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "text_fixtures.hpp"
#include "ulk/text/ks_x_1001.hpp"
#include "ulk/text/tokenizer.hpp"

using namespace ulk;
using namespace ulk::text;

namespace {
std::string read_file(const char* path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
std::size_t count_kind(const Tokenizer& t, const std::vector<std::int32_t>& ids, PieceKind k) {
    std::size_t n = 0;
    for (const auto id : ids) n += t.kind(id) == k;
    return n;
}
}  // namespace

TEST_CASE("tokenizer: decode(encode(x)) == normalize(x) and NFD == NFC on held-out lines of every source") {
    const auto& samples = test::held_out_samples();
    if (samples.empty()) {
        MESSAGE("skipped: " ULK_SHARED_KO_DATA " is missing");
        return;
    }
    const Tokenizer& t = test::ko_tokenizer();
    std::size_t lines = 0;
    for (const auto& [source, sample] : samples) {
        CAPTURE(source);
        CHECK(!sample.empty());
        for (const std::string& line : sample) {
            CAPTURE(line);
            const auto ids = t.encode(line);
            REQUIRE(t.decode(ids) == t.normalize(line));
            REQUIRE(t.encode(test::to_nfd(line)) == ids);
            ++lines;
        }
    }
    MESSAGE(lines << " held-out lines from " << samples.size() << " files");
    CHECK(samples.size() >= 17);
}

TEST_CASE("tokenizer: decoding agrees with SentencePiece's own decoder where no jamo fallback is involved") {
    const Tokenizer& t = test::ko_tokenizer();
    for (const std::string s : {"안녕하세요, 반갑습니다.", "  두 칸   띄어쓰기  ", "법원은 2019. 3. 14. 판결을 선고하였다.",
                                "Hello, 世界! 😀", "ㅋㅋㅋ 진짜 웃기네 ㅠㅠ"}) {
        const auto ids = t.encode(s);
        std::string reference;
        REQUIRE(t.processor().Decode(std::vector<int>(ids.begin(), ids.end()), &reference).ok());
        CHECK(t.decode(ids) == reference);
        CHECK(t.decode(ids) == s);
    }
}

TEST_CASE("tokenizer: compatibility jamo survive the round trip and never compose") {
    const Tokenizer& t = test::ko_tokenizer();
    for (const std::string s : {"ㅋㅋㅋㅋ 진짜 웃기다 ㅠㅠ", "ㄱㅅ", "ㄱㅏ", "ㅇㅋ ㄴㄴ ㅎㅇ ㅂㅂ", "ㅏㅑㅓㅕㅗㅛㅜㅠㅡㅣ"}) {
        CAPTURE(s);
        const auto ids = t.encode(s);
        CHECK(t.decode(ids) == s);
        CHECK(count_kind(t, ids, PieceKind::byte) == 0);
    }
    CHECK(t.decode(t.encode("ㄱㅏ")) != "가");
    const auto ids = t.encode("ㄱㅏ");
    CHECK(std::find(ids.begin(), ids.end(), t.id_of("가")) == ids.end());
}

TEST_CASE("tokenizer: every KS X 1001 syllable is a single piece and needs no fallback") {
    const Tokenizer& t = test::ko_tokenizer();
    std::size_t missing = 0;
    for (const char32_t c : ks_x_1001_syllables()) {
        const std::string s = utf8_encode(c);
        const std::int32_t id = t.id_of(s);
        if (id < 0 || t.kind(id) != PieceKind::normal) {
            ++missing;
            continue;
        }
        EncodeStats stats;
        const auto ids = t.encode(s, &stats);
        CHECK(stats.byte_fallback_tokens == 0);
        CHECK(stats.jamo_fallback_tokens == 0);
        CHECK(t.decode(ids) == s);
    }
    CHECK(missing == 0);
}

TEST_CASE("tokenizer: a syllable outside the vocabulary falls back to its 2 or 3 jamo, not 3 bytes") {
    const Tokenizer& t = test::ko_tokenizer();
    REQUIRE(t.has_jamo_fallback());
    std::vector<char32_t> absent;
    for (char32_t c = hangul::kSyllableBase; c <= hangul::kSyllableLast && absent.size() < 200; ++c)
        if (t.id_of(utf8_encode(c)) < 0) absent.push_back(c);
    REQUIRE(absent.size() >= 100);  // 11,172 syllables, far fewer in any vocabulary
    for (const char32_t c : absent) {
        const std::string s = "가" + utf8_encode(c) + "다";
        CAPTURE(s);
        EncodeStats stats;
        const auto ids = t.encode(s, &stats);
        const auto j = hangul::decompose(c);
        CHECK(stats.byte_fallback_tokens == 0);
        CHECK(stats.jamo_fallback_syllables == 1);
        CHECK(stats.jamo_fallback_tokens == (j.trail ? 3u : 2u));
        CHECK(std::find(ids.begin(), ids.end(), t.id_of(utf8_encode(j.lead))) != ids.end());
        if (j.trail) CHECK(std::find(ids.begin(), ids.end(), t.id_of(utf8_encode(j.trail))) != ids.end());
        CHECK(t.decode(ids) == s);
    }
    // Byte fallback remains for what is not Hangul.
    EncodeStats stats;
    const auto ids = t.encode("😀", &stats);
    CHECK(stats.byte_fallback_tokens == 4);
    CHECK(t.decode(ids) == "😀");
    // Without jamo fallback the same syllable is bytes.
    const Tokenizer plain = Tokenizer::from_file(test::kTokenizerModel, {{}, false});
    EncodeStats byte_stats;
    (void)plain.encode(utf8_encode(absent.front()), &byte_stats);
    CHECK(byte_stats.byte_fallback_tokens == 3);
}

TEST_CASE("tokenizer: chat special tokens are single tokens and never split") {
    const Tokenizer& t = test::ko_tokenizer();
    for (const auto piece : kChatTokenPieces) {
        const std::int32_t id = t.id_of(piece);
        CAPTURE(piece);
        REQUIRE(id >= 0);
        CHECK(t.kind(id) == PieceKind::user_defined);
        const std::string s = std::string("안녕") + std::string(piece) + "하세요" + std::string(piece) + "x";
        const auto ids = t.encode(s);
        CHECK(std::count(ids.begin(), ids.end(), id) == 2);
        CHECK(t.decode(ids) == s);
    }
    CHECK(t.chat_token_id(ChatToken::user) == t.id_of("<|user|>"));
    for (std::size_t i = 0; i < kChatTokenPieces.size(); ++i)  // ids 3..9, after <unk>, <s>, </s>
        CHECK(t.chat_token_id(ChatToken(i)) == std::int32_t(3 + i));
    CHECK((t.unk_id() == 0 && t.bos_id() == 1 && t.eos_id() == 2));
    const std::string turn = "<|system|><|polite|>너는 친절한 비서야.<|end|>\n<|user|>오늘 날씨 어때?<|end|>\n<|assistant|>";
    const auto ids = t.encode(turn);
    for (const ChatToken c : {ChatToken::system, ChatToken::polite, ChatToken::end_of_turn, ChatToken::newline,
                              ChatToken::user, ChatToken::assistant})
        CHECK(std::find(ids.begin(), ids.end(), t.chat_token_id(c)) != ids.end());
    CHECK(t.decode(ids) == turn);
}

TEST_CASE("tokenizer: ill-formed UTF-8 is replaced and counted, or rejected") {
    const Tokenizer& t = test::ko_tokenizer();
    EncodeStats stats;
    const auto ids = t.encode("가\xFF나\xED\xA0\x80다\xEA\xB0", &stats);
    CHECK(stats.invalid_utf8 == 5);
    CHECK(t.decode(ids) == "가\uFFFD나\uFFFD\uFFFD\uFFFD다\uFFFD");
    const Tokenizer strict = Tokenizer::from_file(test::kTokenizerModel, {{InvalidUtf8::reject, true}, true});
    CHECK_THROWS_AS((void)strict.encode("가\xFF"), Error);
    CHECK_THROWS_AS((void)t.decode(std::vector<std::int32_t>{t.size()}), Error);
    CHECK_THROWS_AS((void)Tokenizer::from_file("/nonexistent.model"), Error);
    CHECK_THROWS_AS((void)Tokenizer::from_model_bytes("not a model"), Error);
}

TEST_CASE("tokenizer: the model bytes and the model's own arrays make the same tokenizer as the file") {
    const Tokenizer& t = test::ko_tokenizer();
    const std::string bytes = read_file(test::kTokenizerModel);
    const Tokenizer from_bytes = Tokenizer::from_model_bytes(bytes);
    const SpmModelSummary m = read_spm_model_summary(bytes);
    CHECK(m.normalizer_name == "identity");
    CHECK(m.add_dummy_prefix);
    CHECK_FALSE(m.remove_extra_whitespaces);
    SpmVocabSpec spec;
    spec.model_type = m.model_type;
    spec.bos_id = t.bos_id();
    spec.eos_id = t.eos_id();
    const Tokenizer from_arrays = Tokenizer::from_vocab(m.pieces, m.scores, m.types, spec);
    CHECK(from_arrays.size() == t.size());
    CHECK(from_arrays.bos_id() == t.bos_id());
    CHECK(from_arrays.eos_id() == t.eos_id());
    std::vector<std::string> lines = {"국회는 법률안을 심의한다.", "ㅋㅋ 똠방각하 햏", "<|user|>안녕?<|end|>"};
    for (const auto& [source, sample] : test::held_out_samples())
        for (std::size_t i = 0; i < sample.size(); i += 10) lines.push_back(sample[i]);
    for (const std::string& line : lines) {
        CAPTURE(line);
        const auto ids = t.encode(line);
        CHECK(from_bytes.encode(line) == ids);
        CHECK(from_arrays.encode(line) == ids);
        CHECK(from_arrays.decode(ids) == t.decode(ids));
    }
}

TEST_CASE("tokenizer: from_vocab builds a working BPE tokenizer from hand-made arrays") {
    // A llama.cpp-style vocabulary: <unk>, <s>, </s>, 256 byte tokens, then merges by score.
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
    std::vector<float> scores = {0, 0, 0};
    std::vector<std::int32_t> types = {2, 3, 3};
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        tokens.push_back(name);
        scores.push_back(0);
        types.push_back(6);
    }
    const std::vector<std::pair<std::string, float>> pieces = {
        {"▁", -1}, {"한", -2}, {"국", -3}, {"어", -4}, {"▁한", -5}, {"국어", -6}, {"▁한국", -7}, {"<|user|>", 0}};
    for (const auto& [p, s] : pieces) {
        tokens.push_back(p);
        scores.push_back(s);
        types.push_back(p == "<|user|>" ? 4 : 1);
    }
    SpmVocabSpec spec;
    spec.bos_id = 1;
    spec.eos_id = 2;
    const Tokenizer t = Tokenizer::from_vocab(tokens, scores, types, spec);
    CHECK(t.size() == 267);
    CHECK(t.bos_id() == 1);
    CHECK(t.eos_id() == 2);
    const auto id = [&](std::string_view p) { return t.id_of(p); };
    // BPE merges the best-scored pair first: ▁+한 (-5) before 국+어 (-6); ▁한+국 (-7) loses to 국어,
    // which already took 국.
    CHECK(t.encode("한국어") == std::vector<std::int32_t>{id("▁한"), id("국어")});
    CHECK(t.encode("한<|user|>국") == std::vector<std::int32_t>{id("▁한"), id("<|user|>"), id("국")});
    const auto ids = t.encode("한국말");
    CHECK(t.kind(ids.back()) == PieceKind::byte);  // 말: three byte tokens; no jamo in this vocabulary
    CHECK_FALSE(t.has_jamo_fallback());
    CHECK(t.decode(ids) == "한국말");
    CHECK(t.decode(t.encode("한국어")) == "한국어");

    // Arrays that cannot make a model are refused with the index of the culprit.
    auto refused = [&](std::vector<std::string> tk, std::vector<float> sc, std::vector<std::int32_t> ty,
                       const char* where) {
        try {
            (void)Tokenizer::from_vocab(tk, sc, ty, spec);
            return false;
        } catch (const Error& e) {
            CAPTURE(e.what());
            CHECK(e.info().where == where);
            return true;
        }
    };
    auto dup = tokens;
    dup.back() = "한";
    CHECK(refused(dup, scores, types, ("token " + std::to_string(tokens.size() - 1)).c_str()));
    auto no_unk = types;
    no_unk[0] = 3;
    CHECK(refused(tokens, scores, no_unk, "token_types"));
    auto bad_type = types;
    bad_type[5] = 9;
    CHECK(refused(tokens, scores, bad_type, "token 5"));
    CHECK(refused(tokens, {1.f}, types, "tokens, scores, token_types"));
}
