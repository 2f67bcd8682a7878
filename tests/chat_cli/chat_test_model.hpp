#pragma once
// The model the ulk-chat and ulk-server tests run: random weights in the ko-chat-tiny shape (so it
// matches a preset the programs are built with, KoChatTinyF32) with the project's vocabulary
// embedded, at ULK_TEST_CACHE/chat_test_tiny.gguf (the web tests find it there). Written when
// missing or when the preset's shape changed, to a temporary name and then renamed, since CTest
// runs the test cases in parallel processes.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "../model_fixtures.hpp"
#include "ulk/model/llama.hpp"
#include "ulk/presets/ko_chat.hpp"

namespace ulk::test {

inline const std::string& test_model() {
    namespace fs = std::filesystem;
    using Shape = presets::KoChatTinyShape;
    static const std::string path = [] {
        const fs::path p = fs::path(ULK_TEST_CACHE) / "chat_test_tiny.gguf";
        if (fs::exists(p) && Llama<presets::KoChatTinyF32>::mismatches(gguf::GgufFile::open(p.string())).empty()) return p.string();
        const char* vocab = Shape::kVocab == 16000 ? "/ulk-ko-16k.model" : "/ulk-ko-32k.model";
        RandomLlama m{.vocab = std::uint32_t(Shape::kVocab), .dim = std::uint32_t(Shape::kDim),
                      .layers = std::uint32_t(Shape::kLayers), .heads = std::uint32_t(Shape::kHeads),
                      .kv_heads = std::uint32_t(Shape::kKvHeads), .ffn = std::uint32_t(Shape::kFfn),
                      .context = std::uint32_t(Shape::kContext)};
        m.rope_base = Shape::kRopeBase;
        m.eps = Shape::kNormEps;
        m.tied = Shape::kTiedOutput;
        m.embedding_scale = 0.05f;  // logits of about unit scale, so that the seed matters
        std::ifstream in(std::string(ULK_MODELS_DIR) + vocab, std::ios::binary);
        m.sentencepiece_model.assign(std::istreambuf_iterator<char>(in), {});
        const fs::path tmp = p.string() + "." + std::to_string(getpid());
        write_bytes(tmp, random_llama_gguf(m));
        fs::rename(tmp, p);
        return p.string();
    }();
    return path;
}

}  // namespace ulk::test
