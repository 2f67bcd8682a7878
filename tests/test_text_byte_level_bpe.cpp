// Byte-level BPE (text/pretokenizer.hpp, text/byte_level_bpe.hpp): the pre-tokenizers' words for
// inputs where their regex alternatives differ, merging by rank on a hand-made vocabulary, added
// tokens, exact decoding, and clear errors for damaged vocabularies. Agreement with Hugging Face on
// real vocabularies and 10k Korean lines is tests/tokenizers/run_hf_tokenizer_tests.sh.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "ulk/gguf/writer.hpp"
#include "ulk/text/gguf_tokenizer.hpp"

using namespace ulk;
using text::PreTokenizer;

namespace {

std::vector<std::string> bpe_words(PreTokenizer rules, std::string_view s) {
    std::vector<std::string> w;
    text::pre_tokenize(rules, s, [&](std::string_view x) { w.emplace_back(x); });
    return w;
}

// The 256 byte tokens (ids 0..255, byte-mapped), then `merged` tokens, then added ones.
struct BpeVocabFixture {
    std::vector<std::string> tokens;
    std::vector<std::int32_t> types;
    std::vector<std::string> merges;

    BpeVocabFixture() {
        for (unsigned b = 0; b < 256; ++b) {
            tokens.push_back(text::kByteLevelAlphabet.map(std::string(1, char(b))));
            types.push_back(1);
        }
    }
    std::int32_t add(const std::string& raw, std::int32_t type = 1) {
        tokens.push_back(type == 1 ? text::kByteLevelAlphabet.map(raw) : raw);
        types.push_back(type);
        return std::int32_t(tokens.size() - 1);
    }
    void merge(const std::string& a, const std::string& b) {
        merges.push_back(text::kByteLevelAlphabet.map(a) + " " + text::kByteLevelAlphabet.map(b));
    }
    text::Tokenizer tokenizer(PreTokenizer pre = PreTokenizer::llama3, bool ignore_merges = false) const {
        text::ByteLevelBpeSpec spec;
        spec.pre = pre;
        spec.ignore_merges = ignore_merges;
        return text::Tokenizer::from_byte_level_bpe(tokens, types, merges, spec, {}, false);
    }
};

std::int32_t byte_id(char c) { return static_cast<unsigned char>(c); }

}  // namespace

TEST_CASE("byte-level pre-tokenizers split words as their regular expressions do") {
    const std::string s = "Hello world's  안녕하세요! 12345 \n\n  x\t\ty ";
    CHECK(bpe_words(PreTokenizer::llama3, s) ==
          std::vector<std::string>{"Hello", " world", "'s", " ", " 안녕하세요", "!", " ", "123", "45", " \n\n", " ", " x",
                                   "\t", "\ty", " "});
    CHECK(bpe_words(PreTokenizer::qwen2, s) ==
          std::vector<std::string>{"Hello", " world", "'s", " ", " 안녕하세요", "!", " ", "1", "2", "3", "4", "5", " \n\n",
                                   " ", " x", "\t", "\ty", " "});
    CHECK(bpe_words(PreTokenizer::gpt2, s) ==
          std::vector<std::string>{"Hello", " world", "'s", " ", " 안녕하세요", "!", " 12345", " \n\n ", " x", "\t", "\t",
                                   "y", " "});
    // (?i) contractions for Llama 3 and Qwen, case-sensitive for GPT-2; a quote before letters joins them.
    CHECK(bpe_words(PreTokenizer::llama3, "I'M 'quoted'") == std::vector<std::string>{"I", "'M", " '", "quoted", "'"});
    CHECK(bpe_words(PreTokenizer::gpt2, "I'M 'quoted'") == std::vector<std::string>{"I", "'", "M", " '", "quoted", "'"});
    // Punctuation keeps the newlines after it; a newline never starts a word with letters.
    CHECK(bpe_words(PreTokenizer::llama3, "끝.\n\n다음\r\n") == std::vector<std::string>{"끝", ".\n\n", "다음", "\r\n"});
    CHECK(bpe_words(PreTokenizer::llama3, "(주)가나 ①②") == std::vector<std::string>{"(주", ")가나", " ", "①②"});
    CHECK(bpe_words(PreTokenizer::llama3, "") == std::vector<std::string>{});
    CHECK(bpe_words(PreTokenizer::llama3, "   ") == std::vector<std::string>{"   "});
}

TEST_CASE("byte-level BPE merges the lowest rank first, leftmost on ties") {
    BpeVocabFixture v;
    const auto ab = v.add("ab"), bc = v.add("bc"), abc = v.add("abc");
    SUBCASE("'b c' ranks first: 'a bc' is no merge") {
        v.merge("b", "c");
        v.merge("a", "b");
        v.merge("ab", "c");
        CHECK(v.tokenizer().encode("abc") == std::vector<std::int32_t>{byte_id('a'), bc});
    }
    SUBCASE("'a b' then 'ab c'") {
        v.merge("a", "b");
        v.merge("ab", "c");
        v.merge("b", "c");
        CHECK(v.tokenizer().encode("abc") == std::vector<std::int32_t>{abc});
        CHECK(v.tokenizer().encode("abab") == std::vector<std::int32_t>{ab, ab});
    }
    SUBCASE("ties go to the leftmost pair") {
        const auto aa = v.add("aa");
        v.merge("a", "a");
        CHECK(v.tokenizer().encode("aaa") == std::vector<std::int32_t>{aa, byte_id('a')});
    }
    SUBCASE("ignore_merges: a word that is a token comes out whole") {
        v.merge("a", "b");
        CHECK(v.tokenizer(PreTokenizer::llama3, false).encode("abc") == std::vector<std::int32_t>{ab, byte_id('c')});
        CHECK(v.tokenizer(PreTokenizer::llama3, true).encode("abc") == std::vector<std::int32_t>{abc});
    }
}

TEST_CASE("byte-level BPE splits out added tokens; control tokens only from templates") {
    BpeVocabFixture v;
    const auto think = v.add("<think>", 4), im_start = v.add("<|im_start|>", 3);
    const auto tok = v.tokenizer();
    const auto ids = tok.encode("a<think>b<|im_start|>");
    REQUIRE(ids.size() == 3 + 12);
    CHECK(ids[0] == byte_id('a'));
    CHECK(ids[1] == think);
    CHECK(ids[2] == byte_id('b'));
    CHECK(ids[3] == byte_id('<'));  // spelled out: typed text cannot forge a control token
    CHECK(tok.decode(ids) == "a<think>b<|im_start|>");
    CHECK(tok.decode(std::vector<std::int32_t>{im_start, byte_id('x')}) == "x");  // control tokens print nothing
    CHECK(tok.id_of("<|im_start|>") == im_start);
    CHECK(tok.piece(byte_id(' ')) == "\xC4\xA0");  // Ġ
}

TEST_CASE("byte-level BPE decodes bytes exactly, holding back split UTF-8, never composing jamo") {
    BpeVocabFixture v;
    const auto head = v.add("\xEA"), tail = v.add("\xB0\x80");  // 가 = EA B0 80, cut in two tokens
    const auto tok = v.tokenizer();
    auto d = tok.streaming_detokenizer();
    std::string out;
    d.push(head, out);
    CHECK(out.empty());
    CHECK(d.holding_back());
    d.push(tail, out);
    CHECK(out == "가");
    const std::string nfd = "\xE1\x84\x80\xE1\x85\xA1";  // ᄀ ᅡ: stays two code points
    CHECK(tok.decode(tok.encode(nfd)) == nfd);
    CHECK(tok.decode(tok.encode("한국어 text ①")) == "한국어 text ①");
    // Invalid UTF-8 in: U+FFFD, counted.
    text::EncodeStats stats;
    CHECK(tok.decode(tok.encode("a\xFF", &stats)) == "a\xEF\xBF\xBD");
    CHECK(stats.invalid_utf8 == 1);
}

TEST_CASE("byte-level BPE stays fast on a 300 KB word") {
    BpeVocabFixture v;
    const auto ga = v.add("가"), gaga = v.add("가가");
    v.merge("\xEA", "\xB0");
    v.add("\xEA\xB0");
    v.merges.push_back(text::kByteLevelAlphabet.map("\xEA\xB0") + " " + text::kByteLevelAlphabet.map("\x80"));
    v.merge("가", "가");
    std::string word;
    for (int i = 0; i < 100000; ++i) word += "가";
    const auto start = std::chrono::steady_clock::now();
    const auto ids = v.tokenizer().encode(word);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(ids.size() == 50000);
    CHECK(ids.front() == gaga);
    CHECK(seconds < 5.0);  // linear-logarithmic; a quadratic merge loop takes minutes
    (void)ga;
}

TEST_CASE("a damaged byte-level vocabulary is refused with what and where") {
    BpeVocabFixture v;
    v.add("ab");
    auto message = [&](auto&& make) -> std::string {
        try {
            make();
        } catch (const Error& e) {
            return e.what();
        }
        return "no error";
    };
    v.merges = {"a"};
    CHECK(message([&] { (void)v.tokenizer(); }).find("bad BPE merge") != std::string::npos);
    v.merges = {"a x"};
    CHECK(message([&] { (void)v.tokenizer(); }).find("their concatenation is not a token") != std::string::npos);
    v.merges = {};
    v.tokens.erase(v.tokens.begin() + 'z');
    v.types.pop_back();
    CHECK(message([&] { (void)v.tokenizer(); }).find("lacks a byte") != std::string::npos);
}

TEST_CASE("a gpt2-type GGUF vocabulary loads by its pre-tokenizer name, and unknown names are refused") {
    BpeVocabFixture v;
    v.add("ab");
    v.merge("a", "b");
    auto file = [&](const char* pre) {
        gguf::GgufWriter w;
        w.set("tokenizer.ggml.model", "gpt2");
        if (pre) w.set("tokenizer.ggml.pre", pre);
        w.set("tokenizer.ggml.tokens", gguf::Value::array(v.tokens));
        w.set("tokenizer.ggml.token_type", gguf::Value::array(v.types));
        w.set("tokenizer.ggml.merges", gguf::Value::array(v.merges));
        w.set("tokenizer.ggml.eos_token_id", std::uint32_t(256));
        return gguf::GgufFile::from_bytes(w.to_bytes(), "vocab.gguf");
    };
    const auto tok = text::tokenizer_from_gguf(file("qwen2"));
    CHECK(tok.is_byte_level_bpe());
    CHECK(tok.encode("ab 12") == std::vector<std::int32_t>{256, byte_id(' '), byte_id('1'), byte_id('2')});
    CHECK(tok.eos_id() == 256);
    CHECK(tok.bos_id() == -1);
    // Qwen's NFC: conjoining jamo are composed before merging.
    CHECK(tok.encode("\xE1\x84\x80\xE1\x85\xA1") == tok.encode("가"));
    std::string error;
    try {
        (void)text::tokenizer_from_gguf(file("some-new-model"));
    } catch (const Error& e) {
        error = e.what();
    }
    CHECK(error.find("unknown byte-level BPE pre-tokenizer") != std::string::npos);
    CHECK(error.find("some-new-model") != std::string::npos);
    CHECK(error.find("vocab.gguf") != std::string::npos);
    error.clear();
    try {
        (void)text::tokenizer_from_gguf(file(nullptr));
    } catch (const Error& e) {
        error = e.what();
    }
    CHECK(error.find("without a pre-tokenizer name") != std::string::npos);
}
