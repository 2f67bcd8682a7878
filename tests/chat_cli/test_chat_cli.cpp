// ulk-chat as its users run it: one-shot, piped, and on a terminal, with every bad input the
// chat-demo issue lists. The binary is the real one; the model is a random one with the
// ko-chat-tiny shape and the project's vocabulary (made once per build folder), so the tests do not
// depend on how well the shipped model is trained, plus a check that the shipped default loads
// with no arguments at all.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "../model_fixtures.hpp"
#include "process.hpp"
#include "ulk/generate.hpp"
#include "ulk/model/llama.hpp"
#include "ulk/presets/ko_chat.hpp"
#include "ulk/text/gguf_tokenizer.hpp"

namespace fs = std::filesystem;
using namespace ulk;
using ulk::test::run_process;

namespace {

using Shape = presets::KoChatTinyShape;
using TestPreset = presets::KoChatTinyF32;  // a preset ulk-chat is built with

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// The random ko-chat-tiny-shaped F32 model, written once (to a temporary name, then renamed).
const std::string& test_model() {
    static const std::string path = [] {
        const fs::path p = fs::path(ULK_TEST_CACHE) / ("chat_test_tiny_v" + std::to_string(Shape::kVocab) + "_d" + std::to_string(Shape::kDim) + "_e005.gguf");
        if (fs::exists(p)) return p.string();
        const char* vocab = Shape::kVocab == 16000 ? "/ulk-ko-16k.model" : "/ulk-ko-32k.model";
        test::RandomLlama m{.vocab = std::uint32_t(Shape::kVocab), .dim = std::uint32_t(Shape::kDim),
                            .layers = std::uint32_t(Shape::kLayers), .heads = std::uint32_t(Shape::kHeads),
                            .kv_heads = std::uint32_t(Shape::kKvHeads), .ffn = std::uint32_t(Shape::kFfn),
                            .context = std::uint32_t(Shape::kContext)};
        m.rope_base = Shape::kRopeBase;
        m.eps = Shape::kNormEps;
        m.tied = Shape::kTiedOutput;
        m.embedding_scale = 0.05f;  // logits of about unit scale, so that the seed matters
        m.sentencepiece_model = read_file(std::string(ULK_MODELS_DIR) + vocab);
        const fs::path tmp = p.string() + "." + std::to_string(getpid());
        test::write_bytes(tmp, test::random_llama_gguf(m));
        fs::rename(tmp, p);
        return p.string();
    }();
    return path;
}

fs::path scratch(const std::string& name) {
    const fs::path d = fs::path(ULK_TEST_CACHE) / "chat_cli" / name;
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

test::ProcessResult chat(std::vector<std::string> args, std::string_view input = {}, double timeout = 120) {
    args.insert(args.begin(), ULK_CHAT_BINARY);
    return run_process(std::move(args), input, timeout);
}

std::vector<std::string> with_model(std::vector<std::string> args) {
    args.insert(args.begin(), {"--model", test_model(), "--threads", "2"});
    return args;
}

}  // namespace

TEST_CASE("ulk-chat: a one-shot reply with a fixed seed is the same every run, and the library's") {
    const auto a = chat(with_model({"-p", "안녕하세요, 반가워요", "--seed", "7", "--max-tokens", "24"}));
    const auto b = chat(with_model({"-p", "안녕하세요, 반가워요", "--seed", "7", "--max-tokens", "24"}));
    const auto c = chat(with_model({"-p", "안녕하세요, 반가워요", "--seed", "8", "--max-tokens", "24"}));
    CAPTURE(a.err);
    CHECK(a.exit_code == 0);
    CHECK(a.out.size() > 10);
    CHECK(a.out == b.out);
    CHECK(a.out != c.out);
    CHECK(text::is_valid_utf8(a.out));

    // The same request through the library gives the same text.
    auto model = Llama<TestPreset>::load(test_model(), {.threads = 2});
    const text::Tokenizer tok = text::tokenizer_from_gguf(model.file());
    generate::ChatSession session(model, tok, {.seed = 7});
    const auto r = session.reply("안녕하세요, 반가워요", {.max_new_tokens = 24}, [](std::string_view) {});
    CHECK(a.out == r.text + "\n");
}

TEST_CASE("ulk-chat: a piped session answers line by line, runs commands, and is deterministic") {
    const std::string input = "안녕하세요\n/style casual\n뭐 하고 있어?\n/system 짧게 답해\n고마워\n";
    const auto a = chat(with_model({"--seed", "3", "--max-tokens", "16"}), input);
    const auto b = chat(with_model({"--seed", "3", "--max-tokens", "16"}), input);
    CAPTURE(a.err);
    CHECK(a.exit_code == 0);
    CHECK(a.out == b.out);
    CHECK(std::count(a.out.begin(), a.out.end(), '\n') >= 3);
    CHECK(a.err.find("replies will be casual from now on") != std::string::npos);
    CHECK(a.err.find("system prompt set") != std::string::npos);
    // /stats (its timings differ from run to run).
    const auto s = chat(with_model({"--seed", "3", "--max-tokens", "16"}), "안녕\n/stats\n");
    CHECK(s.out.find("decode") != std::string::npos);
    CHECK(s.out.find("peak resident") != std::string::npos);
    CHECK(s.out.find("of " + std::to_string(Shape::kContext) + " tokens used") != std::string::npos);
}

TEST_CASE("ulk-chat: /save and /load round-trip a conversation exactly") {
    const fs::path dir = scratch("save");
    const std::string first = (dir / "first.json").string(), second = (dir / "second.json").string();
    auto a = chat(with_model({"--seed", "1", "--max-tokens", "12", "--style", "casual", "--system", "친구처럼 말해"}),
                  "안녕\n오늘 뭐 했어?\n/save " + first + "\n");
    CAPTURE(a.err);
    REQUIRE(a.exit_code == 0);
    REQUIRE(fs::exists(first));
    auto b = chat(with_model({"--seed", "1", "--max-tokens", "12"}), "/load " + first + "\n/save " + second + "\n그래서?\n");
    CAPTURE(b.err);
    CHECK(b.exit_code == 0);
    CHECK(read_file(first) == read_file(second));
    CHECK(b.err.find("loaded 4 turns") != std::string::npos);
    CHECK(read_file(first).find("\"system\": \"친구처럼 말해\"") != std::string::npos);
    CHECK(read_file(first).find("\"style\": \"casual\"") != std::string::npos);

    // A malformed file is refused with the field, and the chat goes on.
    std::ofstream(dir / "bad.json") << R"({"format": "ulk-conversation", "version": 1, "style": "polite", "system": "", "turns": [{"role": "robot", "text": "x"}]})";
    auto c = chat(with_model({"--seed", "1", "--max-tokens", "4"}), "/load " + (dir / "bad.json").string() + "\n안녕\n");
    CHECK(c.exit_code == 0);
    CHECK(c.err.find("/turns/0/role") != std::string::npos);
    CHECK(!c.out.empty());
}

TEST_CASE("ulk-chat: invalid UTF-8, empty lines, unknown commands and a 100 KB paste get messages, not crashes") {
    std::string paste;
    while (paste.size() < 100 * 1024) paste += "아주 긴 붙여넣기 문장입니다. ";
    const std::string input = std::string("\xff\xfe안녕\xc3\n") + "\n   \n/frobnicate\n/style rude\n" + paste + "\n마지막 인사\n";
    const auto r = chat(with_model({"--seed", "2", "--max-tokens", "8"}), input);
    CAPTURE(r.err.substr(0, 2000));
    CHECK(r.exit_code == 1);  // the paste could not be answered
    CHECK(r.err.find("invalid UTF-8") != std::string::npos);
    CHECK(r.err.find("empty message") != std::string::npos);
    CHECK(r.err.find("/frobnicate: unknown command") != std::string::npos);
    CHECK(r.err.find("/style takes polite") != std::string::npos);
    CHECK(r.err.find("message too long for the model's context") != std::string::npos);
    CHECK(text::is_valid_utf8(r.out));
    // Two replies: the repaired first line and the last line, after the refused paste.
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') >= 2);
}

TEST_CASE("ulk-chat: a conversation that outgrows the context drops its oldest turns and says so") {
    std::string input;
    for (int i = 0; i < 14; ++i) input += "오늘은 날씨가 좋아서 친구와 함께 공원에 갔다가 맛있는 점심을 먹고 책방에도 들렀어요. 당신은 주말에 무엇을 하나요?\n";
    const auto r = chat(with_model({"--seed", "4", "--max-tokens", "64", "--system", "친절하게 답하세요"}), input, 300);
    CAPTURE(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("the oldest") != std::string::npos);
    CHECK(r.err.find("the system prompt was kept") != std::string::npos);
}

TEST_CASE("ulk-chat: missing, corrupt and unmatched model files, and bad options, get clear errors") {
    const fs::path dir = scratch("bad_models");
    auto r = chat({"--model", (dir / "nope.gguf").string(), "-p", "안녕"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("nope.gguf") != std::string::npos);

    const std::string good = read_file(test_model());
    std::ofstream(dir / "truncated.gguf", std::ios::binary) << good.substr(0, good.size() / 2);
    r = chat({"--model", (dir / "truncated.gguf").string(), "-p", "안녕"});
    CAPTURE(r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("truncated.gguf") != std::string::npos);
    CHECK(r.err.rfind("error: ulk: ", 0) == 0);

    std::ofstream(dir / "noise.gguf", std::ios::binary) << std::string(4096, '\x5a');
    r = chat({"--model", (dir / "noise.gguf").string(), "-p", "안녕"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("noise.gguf") != std::string::npos);

    // A valid Llama file in a shape no compiled preset has.
    r = chat({"--model", std::string(ULK_TEST_DATA) + "/golden/tiny_llama_f32.gguf", "-p", "안녕"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("matches none of the presets") != std::string::npos);
    CHECK(r.err.find("ulk-inspect --preset") != std::string::npos);

    for (const auto& bad : std::vector<std::vector<std::string>>{
             {"--style", "rude"}, {"--temperature", "-1"}, {"--top-p", "0"}, {"--max-tokens", "0"}, {"--bogus"}, {"extra"}}) {
        auto args = with_model(bad);
        args.insert(args.end(), {"-p", "안녕"});
        r = chat(args);
        CAPTURE(bad[0]);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("ulk-chat --help") != std::string::npos);
    }
    CHECK(chat({"--help"}).exit_code == 0);
}

TEST_CASE("ulk-chat: with no model argument it runs the shipped default model, from any folder") {
    const fs::path shipped = fs::path(ULK_MODELS_DIR) / "ko-chat-tiny-Q8_0.gguf";
    REQUIRE_MESSAGE(fs::exists(shipped), "the default model is shipped in models/ (the training issue)");
    const auto r = run_process({ULK_CHAT_BINARY, "-p", "안녕하세요", "--seed", "1", "--max-tokens", "16"}, {}, 60, "/");
    CAPTURE(r.err);
    CHECK(r.exit_code == 0);
    CHECK(!r.out.empty());
    CHECK(text::is_valid_utf8(r.out));
}

TEST_CASE("ulk-chat: an interactive session on a terminal: reply, /stats, Ctrl-C stops a reply, Ctrl-D quits") {
    test::PtySession s({ULK_CHAT_BINARY, "--model", test_model(), "--threads", "1", "--seed", "5", "--max-tokens", "5000"},
                       {"HOME=" + scratch("pty").string(), "LANG=C.UTF-8", "TERM=xterm"});
    std::size_t at = s.wait_for("> ");
    REQUIRE_MESSAGE(at != std::string::npos, s.screen());
    CHECK(s.screen().find("/help") != std::string::npos);  // the banner

    // A reply streams and the prompt comes back (max 5000 tokens would take seconds: stop it).
    s.send("안녕하세요\r");
    at = s.wait_for("안녕하세요", at);
    REQUIRE(at != std::string::npos);
    // Let some text stream, then Ctrl-C.
    const std::size_t before = s.screen().size();
    for (int i = 0; i < 50 && s.screen().size() < before + 40; ++i) s.wait_for("\x01never", 0, 0.05);
    s.send("\x03");
    at = s.wait_for("reply stopped (Ctrl-C)", at, 30);
    CHECK_MESSAGE(at != std::string::npos, s.screen());
    at = s.wait_for("> ", at);
    REQUIRE(at != std::string::npos);

    s.send("/stats\r");
    at = s.wait_for("peak resident", at);
    CHECK_MESSAGE(at != std::string::npos, s.screen());
    at = s.wait_for("> ", at);
    REQUIRE(at != std::string::npos);

    s.send("/help\r");
    at = s.wait_for("/save FILE", at);
    CHECK(at != std::string::npos);
    at = s.wait_for("> ", at);

    s.send("\x04");  // Ctrl-D on an empty line
    CHECK(s.wait_exit() == 0);
}

TEST_CASE("ulk-chat: Ctrl-C at the prompt quits cleanly") {
    test::PtySession s({ULK_CHAT_BINARY, "--model", test_model(), "--threads", "1"},
                       {"HOME=" + scratch("pty2").string(), "LANG=C.UTF-8", "TERM=xterm"});
    REQUIRE(s.wait_for("> ") != std::string::npos);
    s.send("\x03");
    CHECK(s.wait_exit() == 0);
}
