// ulk-tokenize's shards (tools/common/tokenize_corpus.hpp): the held-out split rule, documents
// with <s> ... </s> and their character counts, the round trip through read_shard, and the chat
// loss mask (1 on assistant replies and their <|end|>, 0 on everything the model is given).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "common/tokenize_corpus.hpp"

using namespace ulk;
namespace fs = std::filesystem;

namespace {

const text::Tokenizer& tok16k() {
    static const auto t = text::Tokenizer::from_file(ULK_MODELS_DIR "/ulk-ko-16k.model");
    return t;
}

fs::path scratch(const std::string& name) {
    const fs::path dir = fs::path(ULK_TEST_CACHE) / "tokenize_corpus";
    fs::create_directories(dir);
    return dir / name;
}

}  // namespace

TEST_CASE("tokenize_corpus: the held-out split is the last 1% of the lines, at least one") {
    using tools::CorpusSplit;
    CHECK(tools::split_range(1000, CorpusSplit::train) == std::pair<std::size_t, std::size_t>{0, 990});
    CHECK(tools::split_range(1000, CorpusSplit::held_out) == std::pair<std::size_t, std::size_t>{990, 1000});
    CHECK(tools::split_range(50, CorpusSplit::held_out) == std::pair<std::size_t, std::size_t>{49, 50});
    CHECK(tools::split_range(50, CorpusSplit::all) == std::pair<std::size_t, std::size_t>{0, 50});
}

TEST_CASE("tokenize_corpus: blank-line documents round-trip through a shard") {
    const fs::path in = scratch("docs.txt");
    std::ofstream(in) << "첫 문서의 첫 줄\n둘째 줄\n\n두 번째 문서\n";
    const std::string prefix = scratch("docs").string();
    const auto stats = tools::tokenize_text(tok16k(), {in.string()}, prefix, tools::CorpusSplit::all,
                                            tools::DocumentSplit::blank_lines);
    CHECK(stats.documents == 2);
    const tools::Shard s = tools::read_shard(prefix);
    REQUIRE(s.starts.size() == 2);
    CHECK(s.ids.size() == stats.tokens);
    for (std::size_t d = 0; d < 2; ++d) {
        const auto doc = s.document(d);
        CHECK(doc.front() == tok16k().bos_id());
        CHECK(doc.back() == tok16k().eos_id());
    }
    const auto first = s.document(0);
    CHECK(tok16k().decode(std::vector<std::int32_t>(first.begin() + 1, first.end() - 1)) == "첫 문서의 첫 줄\n둘째 줄");
    CHECK(s.chars[0] == 14);  // 9 code points, the newline, 4
    CHECK(s.chars[1] == 7);
    CHECK(s.meta["dtype"] == "uint16");
}

TEST_CASE("tokenize_corpus: the chat loss mask covers assistant replies and their <|end|> only") {
    const generate::ChatTemplate chat(tok16k());
    const auto conv = nlohmann::json::parse(
        R"({"system": "친절하게", "turns": [{"role": "user", "text": "안녕?"},
            {"role": "assistant", "style": "casual", "text": "응, 안녕!"}, {"role": "user", "text": "잘 가"},
            {"role": "assistant", "text": "안녕히 가세요."}]})");
    std::vector<std::int32_t> ids, mask_ids;
    std::vector<std::uint8_t> mask;
    std::size_t chars = 0;
    tools::render_conversation(chat, conv, "test", ids, mask, chars);
    REQUIRE(mask.size() == ids.size());

    std::vector<std::int32_t> expected;
    chat.append_begin(expected);
    chat.append_system("친절하게", expected);
    chat.append_user("안녕?", expected);
    chat.append_assistant(generate::SpeechStyle::casual, "응, 안녕!", expected);
    chat.append_user("잘 가", expected);
    chat.append_assistant(generate::SpeechStyle::polite, "안녕히 가세요.", expected);
    CHECK(ids == expected);

    for (std::size_t i = 0; i < ids.size(); ++i)
        if (mask[i]) mask_ids.push_back(ids[i]);
    std::vector<std::int32_t> replies;
    chat.append_text("응, 안녕!", replies);
    replies.push_back(chat.end_of_turn());
    chat.append_text("안녕히 가세요.", replies);
    replies.push_back(chat.end_of_turn());
    CHECK(mask_ids == replies);
    CHECK(chars == 4 + 3 + 6 + 3 + 8);  // system, user, reply, user, reply (chat tokens are not text)
}
