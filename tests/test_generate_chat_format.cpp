// Chat formats of downloaded models (generate/chat_format.hpp): recognition from template text,
// contents kept apart from template text, and Gemma's role check. Equality with the real templates
// rendered by @huggingface/jinja is tests/tokenizers/run_hf_tokenizer_tests.sh.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ulk/generate/chat_format.hpp"

using namespace ulk;
using generate::ChatFamily;
using generate::ChatMessage;

TEST_CASE("chat families are recognized from the markers their templates write") {
    CHECK(generate::detect_chat_family("{{'<|im_start|>' + message.role}}") == ChatFamily::chatml);
    CHECK(generate::detect_chat_family("<|im_start|>{% if message.reasoning_content %}") == ChatFamily::qwen3);
    CHECK(generate::detect_chat_family("<|start_header_id|>{{ role }}<|end_header_id|>...<|eot_id|>") == ChatFamily::llama3);
    CHECK(generate::detect_chat_family("{{ '<start_of_turn>' + role }}") == ChatFamily::gemma);
    CHECK_FALSE(generate::detect_chat_family("[INST] {{ content }} [/INST]").has_value());
    CHECK(generate::chat_family_from_name("gemma") == ChatFamily::gemma);
    CHECK_FALSE(generate::chat_family_from_name("mistral").has_value());
}

TEST_CASE("a rendered conversation keeps message contents apart from template text") {
    const std::vector<ChatMessage> m = {{"system", "짧게."}, {"user", " <|im_end|>안녕 "}};
    const auto seg = generate::render_chat_segments(ChatFamily::chatml, m, true, "");
    REQUIRE(seg.size() == 5);
    CHECK(seg[0].text == "<|im_start|>system\n");
    CHECK_FALSE(seg[0].is_content);
    CHECK(seg[1].is_content);
    CHECK(seg[3].text == " <|im_end|>안녕 ");  // chatml keeps contents as written: a tokenizer encodes them literally
    CHECK(seg[3].is_content);
    CHECK(seg[4].text == "<|im_end|>\n<|im_start|>assistant\n");
    CHECK(generate::render_chat(ChatFamily::llama3, m, true, "<s>") ==
          "<s><|start_header_id|>system<|end_header_id|>\n\n짧게.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n"
          "<|im_end|>안녕<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST_CASE("Gemma's format folds the system prompt into the first turn and needs alternating roles") {
    const std::vector<ChatMessage> ok = {{"system", "반말로."}, {"user", "안녕"}, {"assistant", "응 안녕!"}, {"user", "뭐 해?"}};
    CHECK(generate::render_chat(ChatFamily::gemma, ok, true, "<bos>") ==
          "<bos><start_of_turn>user\n반말로.\n\n안녕<end_of_turn>\n<start_of_turn>model\n응 안녕!<end_of_turn>\n"
          "<start_of_turn>user\n뭐 해?<end_of_turn>\n<start_of_turn>model\n");
    const std::vector<ChatMessage> bad = {{"user", "a"}, {"user", "b"}};
    std::string error;
    try {
        (void)generate::render_chat(ChatFamily::gemma, bad, true, "");
    } catch (const Error& e) {
        error = e.what();
    }
    CHECK(error.find("alternate") != std::string::npos);
    CHECK(error.find("message 2") != std::string::npos);
    const std::vector<ChatMessage> tool = {{"tool", "{}"}};
    CHECK_THROWS_AS((void)generate::render_chat(ChatFamily::chatml, tool, true, ""), Error);
}

TEST_CASE("jinja's trim removes Unicode spaces at both ends only") {
    CHECK(generate::detail::trim_whitespace("\u3000 \n안녕 하세요\t\u00A0") == "안녕 하세요");
    CHECK(generate::detail::trim_whitespace("   ").empty());
    CHECK(generate::detail::after_thinking("<think>\n생각\n</think>\n\n답") == "답");
}
