// ulk-server over real HTTP on loopback: completions with a fixed seed, streaming in the OpenAI
// chunk format, every error case, the API key, 8 concurrent clients x 50 requests, a client that
// disconnects mid-stream, a full queue, and SIGTERM in the middle of a stream.
#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <nlohmann/json.hpp>

#include "chat_test_model.hpp"
#include "process.hpp"

using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

// ulk-server started on a free port (read from the line it prints); SIGTERM and wait on exit.
class Server {
public:
    explicit Server(std::vector<std::string> extra = {}) {
        std::vector<std::string> args = {ULK_SERVER_BINARY, "--model", ulk::test::test_model(), "--port", "0", "--threads", "1"};
        args.insert(args.end(), extra.begin(), extra.end());
        int err[2];
        REQUIRE(pipe(err) == 0);
        pid_ = fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            dup2(err[1], 2);
            close(err[0]);
            close(err[1]);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            execv(argv[0], argv.data());
            _exit(127);
        }
        close(err[1]);
        err_ = err[0];
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (std::chrono::steady_clock::now() < deadline) {
            if (const auto at = log_.find("listening on http://"); at != std::string::npos) {
                const auto end = log_.find('\n', at);
                if (end != std::string::npos) {
                    const auto colon = log_.rfind(':', end);
                    port_ = std::stoi(log_.substr(colon + 1, end - colon - 1));
                    break;
                }
            }
            if (!read_some(200) && exited()) break;
        }
        if (port_ <= 0 && !exited()) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
            exited_ = true;
        }
        REQUIRE_MESSAGE(port_ > 0, log_);
    }
    ~Server() {
        if (!exited()) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        close(err_);
    }

    int port() const noexcept { return port_; }
    httplib::Client client() const {
        httplib::Client c("127.0.0.1", port_);
        c.set_read_timeout(60, 0);
        return c;
    }
    // SIGTERM, then the exit code (-1: still running after the timeout).
    int terminate(double timeout_s = 20) {
        kill(pid_, SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
        while (std::chrono::steady_clock::now() < deadline) {
            read_some(50);
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                exited_ = true;
                while (read_some(10)) {
                }
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
        }
        return -1;
    }
    const std::string& log() {
        while (read_some(10)) {
        }
        return log_;
    }

private:
    bool read_some(int wait_ms) {
        pollfd p{err_, POLLIN, 0};
        if (poll(&p, 1, wait_ms) <= 0) return false;
        char buf[4096];
        const ssize_t n = read(err_, buf, sizeof buf);
        if (n <= 0) return false;
        log_.append(buf, std::size_t(n));
        return true;
    }
    bool exited() {
        if (exited_) return true;
        int status = 0;
        exited_ = waitpid(pid_, &status, WNOHANG) == pid_;
        return exited_;
    }

    pid_t pid_ = -1;
    int err_ = -1, port_ = -1;
    bool exited_ = false;
    std::string log_;
};

json chat_body(const std::string& text, int max_tokens, bool stream = false, int seed = 1) {
    return {{"model", "ko-chat-tiny"},
            {"messages", json::array({{{"role", "system"}, {"content", "친절하게 답하세요."}}, {{"role", "user"}, {"content", text}}})},
            {"max_tokens", max_tokens},
            {"seed", seed},
            {"stream", stream}};
}

// A request that runs to max_tokens: the ids that could end a reply early (</s>, the role markers,
// <|end|>: ids 2-6) are banned through logit_bias.
json long_body(const std::string& text, int max_tokens, bool stream) {
    json b = chat_body(text, max_tokens, stream);
    b["logit_bias"] = {{"2", -100}, {"3", -100}, {"4", -100}, {"5", -100}, {"6", -100}};
    return b;
}

struct Stream {
    int status = 0;
    std::vector<json> chunks;
    bool done = false;
    std::string content() const {
        std::string s;
        for (const auto& c : chunks)
            if (!c["choices"].empty() && c["choices"][0]["delta"].contains("content")) s += c["choices"][0]["delta"]["content"].get<std::string>();
        return s;
    }
};

// Posts a streaming request and parses the server-sent events.
Stream post_stream(httplib::Client& c, const json& body, const httplib::Headers& headers = {}) {
    Stream s;
    std::string buffer;
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/chat/completions";
    req.headers = headers;
    req.body = body.dump();
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
        buffer.append(data, n);
        for (std::size_t end; (end = buffer.find("\n\n")) != std::string::npos;) {
            const std::string event = buffer.substr(0, end);
            buffer.erase(0, end + 2);
            REQUIRE(event.rfind("data: ", 0) == 0);
            if (event == "data: [DONE]") s.done = true;
            else s.chunks.push_back(json::parse(event.substr(6)));
        }
        return true;
    };
    const auto res = c.send(req);
    s.status = res ? res->status : -1;
    return s;
}

void check_error(const httplib::Result& r, int status, const std::string& param_or_code) {
    REQUIRE(r);
    CAPTURE(r->body);
    CAPTURE(param_or_code);
    CHECK(r->status == status);
    const json j = json::parse(r->body);
    REQUIRE(j.contains("error"));
    CHECK(j["error"]["message"].is_string());
    CHECK(!j["error"]["message"].get<std::string>().empty());
    CHECK(j["error"]["type"].is_string());
    const std::string param = j["error"]["param"].is_string() ? j["error"]["param"].get<std::string>() : "";
    const std::string code = j["error"]["code"].is_string() ? j["error"]["code"].get<std::string>() : "";
    CHECK((param == param_or_code || code == param_or_code || param_or_code.empty()));
}

// A raw socket: for a client that goes away in the middle of a stream.
int connect_to(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(std::uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    return fd;
}

json health(const Server& s) {
    auto c = s.client();
    const auto r = c.Get("/health");
    REQUIRE(r);
    return json::parse(r->body);
}

}  // namespace

TEST_CASE("ulk-server: the test model matches the preset ulk-server is built with") {
    const std::string& path = ulk::test::test_model();
    CHECK(ulk::Llama<ulk::presets::KoChatTinyF32>::mismatches(ulk::gguf::GgufFile::open(path)).empty());
}

TEST_CASE("ulk-server: a completion with a fixed seed is the same every time, and streams the same text") {
    Server s;
    auto c = s.client();
    const auto a = c.Post("/v1/chat/completions", chat_body("안녕하세요", 16).dump(), "application/json");
    const auto b = c.Post("/v1/chat/completions", chat_body("안녕하세요", 16).dump(), "application/json");
    REQUIRE(a);
    REQUIRE(b);
    CAPTURE(a->body);
    CHECK(a->status == 200);
    const json ja = json::parse(a->body), jb = json::parse(b->body);
    CHECK(ja["object"] == "chat.completion");
    CHECK(ja["choices"][0]["message"]["role"] == "assistant");
    CHECK(ja["choices"][0]["finish_reason"].is_string());
    const std::string text = ja["choices"][0]["message"]["content"];
    CHECK(!text.empty());
    CHECK(text == jb["choices"][0]["message"]["content"]);
    CHECK(ja["usage"]["total_tokens"] == ja["usage"]["prompt_tokens"].get<int>() + ja["usage"]["completion_tokens"].get<int>());
    const auto other = c.Post("/v1/chat/completions", chat_body("안녕하세요", 16, false, 2).dump(), "application/json");
    CHECK(json::parse(other->body)["choices"][0]["message"]["content"] != text);

    json body = chat_body("안녕하세요", 16, true);
    body["stream_options"] = {{"include_usage", true}};
    const Stream st = post_stream(c, body);
    CHECK(st.status == 200);
    CHECK(st.done);
    REQUIRE(st.chunks.size() >= 3);
    CHECK(st.chunks.front()["object"] == "chat.completion.chunk");
    CHECK(st.chunks.front()["choices"][0]["delta"]["role"] == "assistant");
    CHECK(st.content() == text);
    const json& usage = st.chunks.back();
    CHECK(usage["choices"].empty());
    CHECK(usage["usage"]["completion_tokens"] == ja["usage"]["completion_tokens"]);
    const json& last = st.chunks[st.chunks.size() - 2];
    CHECK(last["choices"][0]["finish_reason"] == ja["choices"][0]["finish_reason"]);

    // A stop string ends the reply before it.
    const std::string stop = text.substr(text.find(' ') + 1, 3);
    json with_stop = chat_body("안녕하세요", 16);
    with_stop["stop"] = stop;
    const auto r = c.Post("/v1/chat/completions", with_stop.dump(), "application/json");
    CHECK(json::parse(r->body)["choices"][0]["message"]["content"] == text.substr(0, text.find(stop)));
    CHECK(json::parse(r->body)["choices"][0]["finish_reason"] == "stop");

    const auto models = c.Get("/v1/models");
    CHECK(json::parse(models->body)["data"][0]["id"] == "ko-chat-tiny");
    const auto page = c.Get("/");
    CHECK(page->status == 200);
    CHECK(page->body.find("<title>ulk-chat</title>") != std::string::npos);
    CHECK(page->body.find("http") == page->body.find("http"));  // (no assertion on content beyond the title)
    CHECK(page->body.find("src=\"http") == std::string::npos);  // no external assets
    CHECK(page->body.find("href=\"http") == std::string::npos);
    CHECK(s.terminate() == 0);
}

TEST_CASE("ulk-server: malformed or invalid requests get 4xx with an OpenAI error object") {
    Server s({"--max-body", "65536", "--max-tokens-limit", "64"});
    auto c = s.client();
    auto post = [&](const std::string& body) { return c.Post("/v1/chat/completions", body, "application/json"); };
    check_error(post("{not json"), 400, "");
    check_error(post("[1, 2]"), 400, "");
    check_error(post(R"({"model": "x"})"), 400, "messages");
    check_error(post(R"({"messages": []})"), 400, "messages");
    check_error(post(R"({"messages": "hi"})"), 400, "messages");
    check_error(post(R"({"messages": [{"role": "robot", "content": "x"}]})"), 400, "messages[0].role");
    check_error(post(R"({"messages": [{"role": 5, "content": "x"}]})"), 400, "messages[0].role");
    check_error(post(R"({"messages": [{"role": "user"}]})"), 400, "messages[0].content");
    check_error(post(R"({"messages": [{"role": "user", "content": 42}]})"), 400, "messages[0].content");
    check_error(post(R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})"), 400, "messages[0].content");
    check_error(post(R"({"messages": [{"role": "assistant", "content": "x"}]})"), 400, "messages");
    check_error(post(R"({"messages": [{"role": "user", "content": "x"}, {"role": "system", "content": "y"}, {"role": "user", "content": "z"}]})"), 400, "messages[1].role");
    check_error(post(R"({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"})"), 400, "temperature");
    check_error(post(R"({"messages": [{"role": "user", "content": "x"}], "temperature": 3})"), 400, "temperature");
    check_error(post(R"({"messages": [{"role": "user", "content": "x"}], "top_p": -0.1})"), 400, "top_p");
    check_error(post(R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0})"), 400, "max_tokens");
    check_error(post(R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 65})"), 400, "max_tokens");
    check_error(post(R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5})"), 400, "max_tokens");
    check_error(post(R"({"messages": [{"role": "user", "content": "x"}], "n": 2})"), 400, "n");
    check_error(post(R"({"messages": [{"role": "user", "content": "x"}], "stop": [1]})"), 400, "stop");
    check_error(post(R"({"messages": [{"role": "user", "content": "x"}], "stop": ["a", "b", "c", "d", "e"]})"), 400, "stop");
    check_error(post(R"({"messages": [{"role": "user", "content": "x"}], "stream": "yes"})"), 400, "stream");
    check_error(post(R"({"messages": [{"role": "user", "content": "x"}], "style": "rude"})"), 400, "style");
    check_error(post(R"({"messages": [{"role": "user", "content": "x"}], "seed": "abc"})"), 400, "seed");
    check_error(post(R"({"messages": [{"role": "user", "content": "x"}], "logit_bias": {"abc": 1}})"), 400, "logit_bias");
    check_error(post(R"({"messages": [{"role": "user", "content": "x"}], "logit_bias": {"5": 500}})"), 400, "logit_bias");
    check_error(post(R"({"messages": [{"role": "user", "content": "x"}], "logit_bias": {"99999999": 1}})"), 400, "logit_bias");
    // Longer than the context (but under the body limit).
    std::string long_text;
    while (long_text.size() < 30000) long_text += "아주 긴 메시지입니다. ";
    check_error(post(json{{"messages", json::array({{{"role", "user"}, {"content", long_text}}})}}.dump()), 400, "context_length_exceeded");
    // Over the body limit.
    check_error(post(json{{"messages", json::array({{{"role", "user"}, {"content", std::string(70000, 'a')}}})}}.dump()), 413, "request_too_large");
    check_error(c.Get("/v1/nothing"), 404, "unknown_url");
    check_error(c.Post("/v1/completions", "{}", "application/json"), 404, "unknown_url");
    // Invalid UTF-8 in a string is a JSON error; the server stays up.
    check_error(post("{\"messages\": [{\"role\": \"user\", \"content\": \"\xff\xfe\"}]}"), 400, "");
    CHECK(health(s)["status"] == "ok");
    CHECK(s.terminate() == 0);
}

TEST_CASE("ulk-server: with an API key every /v1/ route needs it; binding beyond loopback without one warns") {
    Server s({"--api-key", "s3cret"});
    auto c = s.client();
    const std::string body = chat_body("안녕", 4).dump();
    check_error(c.Post("/v1/chat/completions", body, "application/json"), 401, "invalid_api_key");
    check_error(c.Post("/v1/chat/completions", {{"Authorization", "Bearer wrong"}}, body, "application/json"), 401, "invalid_api_key");
    check_error(c.Post("/v1/chat/completions", {{"Authorization", "Bearer s3cret0"}}, body, "application/json"), 401, "invalid_api_key");
    check_error(c.Get("/v1/models"), 401, "invalid_api_key");
    const auto ok = c.Post("/v1/chat/completions", {{"Authorization", "Bearer s3cret"}}, body, "application/json");
    CHECK(ok->status == 200);
    CHECK(c.Get("/v1/models", {{"Authorization", "Bearer s3cret"}})->status == 200);
    CHECK(c.Get("/health")->status == 200);
    CHECK(s.terminate() == 0);

    Server open({"--host", "0.0.0.0"});
    CHECK(open.log().find("warning: binding to 0.0.0.0 without an API key") != std::string::npos);
    Server keyed({"--host", "0.0.0.0", "--api-key", "k"});
    CHECK(keyed.log().find("warning") == std::string::npos);
}

TEST_CASE("ulk-server: 8 concurrent clients x 50 requests, streamed and not, all answered") {
    // The sanitized build runs 8 x 10 (ULK_TEST_REQUESTS): the same races, in CI's time.
    const char* env = std::getenv("ULK_TEST_REQUESTS");
    const int per_client = env ? std::max(1, std::atoi(env)) : 50, total = 8 * per_client;
    Server s({"--parallel", "2"});
    std::atomic<int> ok{0}, failed{0};
    std::atomic<std::size_t> tokens{0};
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> clients;
    for (int t = 0; t < 8; ++t)
        clients.emplace_back([&, t] {
            auto c = s.client();
            for (int i = 0; i < per_client; ++i) {
                const bool stream = (i + t) % 2 == 0;
                const json body = chat_body(i % 3 == 0 ? "안녕하세요" : "오늘 날씨 어때요?", 4, stream, t * 100 + i);
                if (stream) {
                    const Stream st = post_stream(c, body);
                    const bool good = st.status == 200 && st.done && st.chunks.size() >= 2;
                    (good ? ok : failed)++;
                    tokens += 4;
                } else {
                    const auto r = c.Post("/v1/chat/completions", body.dump(), "application/json");
                    const bool good = r && r->status == 200 && json::parse(r->body)["choices"][0]["message"]["content"].is_string();
                    (good ? ok : failed)++;
                    if (good) tokens += json::parse(r->body)["usage"]["completion_tokens"].get<std::size_t>();
                }
            }
        });
    for (auto& t : clients) t.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(ok == total);
    CHECK(failed == 0);
    MESSAGE(total << " requests in " << seconds << " s: " << total / seconds << " requests/s, " << double(tokens) / seconds
                  << " generated tokens/s");
    CHECK(health(s)["slots_idle"] == 2);
    CHECK(s.terminate() == 0);
}

TEST_CASE("ulk-server: a client that disconnects mid-stream frees its slot at once") {
    Server s({"--parallel", "1"});
    const int fd = connect_to(s.port());
    const std::string body = long_body("안녕하세요", 1000, true).dump();
    const std::string request = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body;
    REQUIRE(write(fd, request.data(), request.size()) == ssize_t(request.size()));
    std::string got;
    char buf[4096];
    while (got.find("\"content\":\"") == std::string::npos || std::count(got.begin(), got.end(), '\n') < 8) {
        const ssize_t n = read(fd, buf, sizeof buf);
        REQUIRE(n > 0);
        got.append(buf, std::size_t(n));
    }
    CHECK(health(s)["slots_idle"] == 0);  // still streaming
    close(fd);
    const auto gone = std::chrono::steady_clock::now();
    while (health(s)["slots_idle"] != 1 && std::chrono::steady_clock::now() - gone < 5s) std::this_thread::sleep_for(10ms);
    const double freed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - gone).count();
    CHECK(health(s)["slots_idle"] == 1);
    MESSAGE("slot freed " << freed_ms << " ms after the client closed");
    // The reply was cut short, not finished: the test model writes 1000 tokens in well under a
    // second, so the time alone would not tell.
    CHECK(health(s)["replies_cancelled"] == 1);
#if defined(__SANITIZE_ADDRESS__)
    CHECK(freed_ms < 3000);  // the sanitized build is several times slower
#else
    CHECK(freed_ms < 1000);
#endif
    auto c = s.client();
    CHECK(c.Post("/v1/chat/completions", chat_body("안녕", 4).dump(), "application/json")->status == 200);
    CHECK(s.terminate() == 0);
}

TEST_CASE("ulk-server: a full queue answers 503, and SIGTERM ends a running stream cleanly") {
    Server s({"--parallel", "1", "--queue", "0"});
    Stream long_stream;
    std::thread streamer([&] {
        auto c = s.client();
        long_stream = post_stream(c, long_body("안녕하세요", 1000, true));
    });
    const auto began = std::chrono::steady_clock::now();
    while (health(s)["slots_idle"] != 0 && std::chrono::steady_clock::now() - began < 20s) std::this_thread::sleep_for(5ms);
    REQUIRE(health(s)["slots_idle"] == 0);
    auto c = s.client();
    const auto busy = c.Post("/v1/chat/completions", chat_body("안녕", 4).dump(), "application/json");
    check_error(busy, 503, "server_busy");
    CHECK(busy->get_header_value("Retry-After") == "1");
    CHECK(s.terminate() == 0);
    streamer.join();
    CHECK(long_stream.status == 200);
    CHECK(long_stream.done);  // the stream was ended, not cut
    REQUIRE(long_stream.chunks.size() >= 2);
    CHECK(long_stream.chunks.back()["choices"][0]["finish_reason"] == "stop");
    CHECK(s.log().find("SIGTERM: stopping") != std::string::npos);
}
