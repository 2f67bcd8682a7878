// The tokenizer from a GGUF file: the embedded SentencePiece model gives the same ids as the .model
// file; a file with only llama.cpp's vocabulary arrays gives a working tokenizer; a file without a
// vocabulary is refused clearly.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "test_util.hpp"
#include "text_fixtures.hpp"
#include "ulk/gguf/writer.hpp"
#include "ulk/text/gguf_tokenizer.hpp"

using namespace ulk;

namespace {
std::string model_bytes() {
    std::ifstream in(test::kTokenizerModel, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}
const char* kSample = "안녕하세요, 한국어 모델입니다. ㅋㅋ 오늘 날씨가 좋네요!";
}  // namespace

TEST_CASE("the SentencePiece model embedded in a GGUF file gives the .model file's ids") {
    gguf::GgufWriter w;
    w.set("general.architecture", "llama");
    w.set(std::string(gguf::llama::key::sentencepiece_model), gguf::Value::scalar_array(gguf::ValueType::U8, model_bytes()));
    const auto f = gguf::GgufFile::from_bytes(w.to_bytes(), "tok.gguf");
    const auto from_gguf = text::tokenizer_from_gguf(f);
    const auto from_file = text::Tokenizer::from_file(test::kTokenizerModel);
    CHECK(from_gguf.encode(kSample) == from_file.encode(kSample));
    CHECK(from_gguf.decode(from_gguf.encode(kSample)) == from_gguf.normalize(kSample));
}

TEST_CASE("llama.cpp's vocabulary arrays in a GGUF file give a working tokenizer") {
    const auto vocab = text::read_spm_model_summary(model_bytes(), "ulk-ko-32k.model");
    gguf::GgufWriter w;
    w.set("tokenizer.ggml.model", "llama");
    w.set("tokenizer.ggml.tokens", gguf::Value::array(vocab.pieces));
    w.set("tokenizer.ggml.scores", gguf::Value::array(vocab.scores));
    w.set("tokenizer.ggml.token_type", gguf::Value::array(vocab.types));
    w.set("tokenizer.ggml.bos_token_id", std::uint32_t(1));
    w.set("tokenizer.ggml.eos_token_id", std::uint32_t(2));
    const auto f = gguf::GgufFile::from_bytes(w.to_bytes(), "arrays.gguf");
    const auto tok = text::tokenizer_from_gguf(f);
    CHECK(tok.size() == std::int32_t(vocab.pieces.size()));
    const auto ids = tok.encode(kSample);
    CHECK(!ids.empty());
    CHECK(tok.decode(ids) == tok.normalize(kSample));
}

TEST_CASE("a GGUF file with a vocabulary type ulk does not read is refused clearly") {
    gguf::GgufWriter w;
    w.set("tokenizer.ggml.model", "bert");
    const auto f = gguf::GgufFile::from_bytes(w.to_bytes(), "wordpiece.gguf");
    const std::string e = test::error_of([&] { (void)text::tokenizer_from_gguf(f); });
    CHECK(e.find("no vocabulary ulk can read") != std::string::npos);
    CHECK(e.find("\"bert\"") != std::string::npos);
    CHECK(e.find("wordpiece.gguf") != std::string::npos);
    gguf::GgufWriter w2;
    w2.set("tokenizer.ggml.model", "llama");
    w2.set("tokenizer.ggml.tokens", gguf::Value::array(std::vector<std::string>{"a"}));
    const auto f2 = gguf::GgufFile::from_bytes(w2.to_bytes(), "partial.gguf");
    CHECK(test::error_of([&] { (void)text::tokenizer_from_gguf(f2); }).find("tokenizer.ggml.scores") != std::string::npos);
}
