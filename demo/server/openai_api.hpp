#pragma once
// The OpenAI chat-completions protocol, as ulk-server speaks it: request parsing with every field
// checked, and the JSON of responses, stream chunks and errors. No HTTP here, so that the tests can
// call it directly.
//
// Request fields: messages (required), temperature, top_p, max_tokens (or max_completion_tokens),
// stop (string or up to 4 strings), seed, logit_bias, stream, stream_options.include_usage, n (1 only); our
// extensions: top_k, min_p, repeat_penalty, style ("polite" | "casual"). Unknown fields are ignored,
// as OpenAI clients send more than a small server needs.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ulk/generate/conversation.hpp"
#include "ulk/generate/generator.hpp"
#include "ulk/generate/sampler.hpp"
#include "ulk/text/utf8.hpp"

namespace ulk::server {

using json = nlohmann::json;

// An error the client caused (4xx) or a refusal (503), with OpenAI's error object.
struct ApiError {
    int status = 400;
    std::string message;
    std::string type = "invalid_request_error";
    std::string param;  // empty: null
    std::string code;   // empty: null

    json body() const {
        return {{"error",
                 {{"message", message},
                  {"type", type},
                  {"param", param.empty() ? json(nullptr) : json(param)},
                  {"code", code.empty() ? json(nullptr) : json(code)}}}};
    }
};

struct Limits {
    std::size_t max_tokens = 1024;     // most tokens a request may ask for
    std::size_t default_tokens = 256;  // when it asks for none
    std::size_t max_messages = 256;
    std::size_t max_stop = 4;
};

struct ChatRequest {
    generate::Conversation conversation;
    generate::SamplerOptions sampler;
    std::size_t max_tokens = 256;
    std::vector<std::string> stop;
    bool stream = false;
    bool include_usage = false;
    std::vector<std::pair<generate::Token, float>> logit_bias;
};

namespace detail {
inline ApiError bad(std::string param, std::string message, std::string code = {}) {
    return ApiError{400, std::move(message), "invalid_request_error", std::move(param), std::move(code)};
}
inline double number(const json& j, const char* key, double lo, double hi, double fallback) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_number()) throw bad(key, std::string("'") + key + "' must be a number");
    const double v = it->get<double>();
    if (!(v >= lo && v <= hi))
        throw bad(key, std::string("'") + key + "' must be between " + json(lo).dump() + " and " + json(hi).dump() + ", got " + it->dump());
    return v;
}
inline std::optional<long long> integer(const json& j, const char* key, long long lo, long long hi) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_integer()) throw bad(key, std::string("'") + key + "' must be an integer");
    const long long v = it->get<long long>();
    if (v < lo || v > hi)
        throw bad(key, std::string("'") + key + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
                           std::to_string(v));
    return v;
}
inline std::string text_of(const json& content, const std::string& param) {
    if (content.is_string()) return content.get<std::string>();
    // The array form: [{"type": "text", "text": "..."}], text parts only.
    if (content.is_array()) {
        std::string s;
        for (const auto& part : content) {
            if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
                throw bad(param, "only text content parts ({\"type\": \"text\", \"text\": ...}) are supported");
            s += part["text"].get<std::string>();
        }
        return s;
    }
    throw bad(param, "'content' must be a string or an array of text parts");
}
}  // namespace detail

// Throws ApiError for anything wrong with the request.
inline ChatRequest parse_chat_request(std::string_view body, const Limits& limits, const generate::SamplerOptions& defaults,
                                      std::size_t vocab) {
    using detail::bad;
    json j;
    try {
        j = json::parse(body);
    } catch (const json::parse_error& e) {
        throw bad("", std::string("the body is not valid JSON: ") + e.what());
    }
    if (!j.is_object()) throw bad("", "the body must be a JSON object");
    ChatRequest r;
    r.sampler = defaults;

    const auto messages = j.find("messages");
    if (messages == j.end()) throw bad("messages", "'messages' is required");
    if (!messages->is_array() || messages->empty()) throw bad("messages", "'messages' must be a non-empty array");
    if (messages->size() > limits.max_messages)
        throw bad("messages", "at most " + std::to_string(limits.max_messages) + " messages per request");
    bool seen_turn = false;
    for (std::size_t i = 0; i < messages->size(); ++i) {
        const json& m = (*messages)[i];
        const std::string param = "messages[" + std::to_string(i) + "]";
        if (!m.is_object()) throw bad(param, param + " must be an object");
        const auto role_it = m.find("role");
        if (role_it == m.end() || !role_it->is_string()) throw bad(param + ".role", param + ".role must be a string");
        const std::string role_text = role_it->get<std::string>();
        const auto content_it = m.find("content");
        if (content_it == m.end()) throw bad(param + ".content", param + ".content is required");
        const std::string text = text::repair_utf8(detail::text_of(*content_it, param + ".content"));
        if (role_text == "system" || role_text == "developer") {
            if (seen_turn) throw bad(param + ".role", "system messages must come before the user and assistant messages");
            r.conversation.system += (r.conversation.system.empty() ? "" : "\n") + text;
        } else if (role_text == "user" || role_text == "assistant") {
            seen_turn = true;
            generate::Turn t;
            t.role = role_text == "user" ? generate::Role::user : generate::Role::assistant;
            t.text = text;
            r.conversation.turns.push_back(std::move(t));
        } else {
            throw bad(param + ".role", "unknown role '" + text::repair_utf8(role_text) + "': expected system, user or assistant");
        }
    }
    if (r.conversation.turns.empty() || r.conversation.turns.back().role != generate::Role::user)
        throw bad("messages", "the last message must be the user's");

    if (const auto it = j.find("style"); it != j.end() && !it->is_null()) {
        const auto s = it->is_string() ? generate::parse_style(it->get<std::string>()) : std::nullopt;
        if (!s) throw bad("style", "'style' must be \"polite\" (존댓말) or \"casual\" (반말)");
        r.conversation.style = *s;
    }
    for (auto& t : r.conversation.turns) t.style = r.conversation.style;

    r.sampler.temperature = float(detail::number(j, "temperature", 0, 2, defaults.temperature));
    r.sampler.top_p = float(detail::number(j, "top_p", 0, 1, defaults.top_p));
    if (r.sampler.top_p == 0) r.sampler.temperature = 0;  // top_p 0 means "only the best": greedy
    if (r.sampler.top_p == 0) r.sampler.top_p = 1;
    r.sampler.min_p = float(detail::number(j, "min_p", 0, 0.999, defaults.min_p));
    r.sampler.repeat_penalty = float(detail::number(j, "repeat_penalty", 1, 10, defaults.repeat_penalty));
    if (const auto k = detail::integer(j, "top_k", 0, 1 << 20)) r.sampler.top_k = int(*k);
    if (const auto seed = detail::integer(j, "seed", std::numeric_limits<long long>::min(), std::numeric_limits<long long>::max()))
        r.sampler.seed = std::uint64_t(*seed);
    else
        r.sampler.seed = std::random_device{}();
    if (const auto n = detail::integer(j, "n", 1, 1 << 20); n && *n != 1) throw bad("n", "only n = 1 is supported");

    r.max_tokens = limits.default_tokens;
    for (const char* key : {"max_tokens", "max_completion_tokens"})
        if (const auto m = detail::integer(j, key, 1, (long long)limits.max_tokens)) r.max_tokens = std::size_t(*m);

    if (const auto it = j.find("stop"); it != j.end() && !it->is_null()) {
        if (it->is_string()) {
            r.stop.push_back(it->get<std::string>());
        } else if (it->is_array() && it->size() <= limits.max_stop) {
            for (const auto& s : *it) {
                if (!s.is_string()) throw bad("stop", "'stop' must be a string or an array of strings");
                r.stop.push_back(s.get<std::string>());
            }
        } else {
            throw bad("stop", "'stop' must be a string or an array of at most " + std::to_string(limits.max_stop) + " strings");
        }
        for (const auto& s : r.stop)
            if (s.empty()) throw bad("stop", "stop strings must not be empty");
    }
    if (const auto it = j.find("logit_bias"); it != j.end() && !it->is_null()) {
        if (!it->is_object() || it->size() > 300) throw bad("logit_bias", "'logit_bias' must map at most 300 token ids to numbers");
        for (const auto& [key, value] : it->items()) {
            char* end = nullptr;
            const long id = std::strtol(key.c_str(), &end, 10);
            if (key.empty() || *end != '\0' || id < 0 || id >= long(vocab))
                throw bad("logit_bias", "logit_bias keys must be token ids 0.." + std::to_string(vocab - 1) + ", got '" + text::repair_utf8(key) + "'");
            if (!value.is_number() || value.get<double>() < -100 || value.get<double>() > 100)
                throw bad("logit_bias", "logit_bias values must be numbers from -100 to 100");
            r.logit_bias.emplace_back(generate::Token(id), value.get<float>());
        }
    }
    if (const auto it = j.find("stream"); it != j.end() && !it->is_null()) {
        if (!it->is_boolean()) throw bad("stream", "'stream' must be true or false");
        r.stream = it->get<bool>();
    }
    if (const auto it = j.find("stream_options"); it != j.end() && it->is_object())
        r.include_usage = it->value("include_usage", false);
    return r;
}

inline std::string finish_reason(generate::StopReason r) {
    using generate::StopReason;
    return r == StopReason::max_tokens || r == StopReason::context_full ? "length" : "stop";
}

inline std::int64_t unix_time() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct Usage {
    std::size_t prompt = 0, completion = 0;
    json body() const { return {{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}}; }
};

inline json completion_body(const std::string& id, std::int64_t created, const std::string& model, const std::string& text,
                            const std::string& finish, const Usage& usage) {
    return {{"id", id},
            {"object", "chat.completion"},
            {"created", created},
            {"model", model},
            {"choices", json::array({{{"index", 0},
                                      {"message", {{"role", "assistant"}, {"content", text}}},
                                      {"logprobs", nullptr},
                                      {"finish_reason", finish}}})},
            {"usage", usage.body()}};
}

// One server-sent event with a chunk; `delta` is {"role": ...} or {"content": ...} or {}.
inline std::string chunk_event(const std::string& id, std::int64_t created, const std::string& model, const json& delta,
                               const std::string& finish) {
    const json chunk = {{"id", id},
                        {"object", "chat.completion.chunk"},
                        {"created", created},
                        {"model", model},
                        {"choices", json::array({{{"index", 0},
                                                  {"delta", delta},
                                                  {"logprobs", nullptr},
                                                  {"finish_reason", finish.empty() ? json(nullptr) : json(finish)}}})}};
    return "data: " + chunk.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

inline std::string usage_event(const std::string& id, std::int64_t created, const std::string& model, const Usage& usage) {
    const json chunk = {{"id", id},      {"object", "chat.completion.chunk"}, {"created", created},
                        {"model", model}, {"choices", json::array()},          {"usage", usage.body()}};
    return "data: " + chunk.dump() + "\n\n";
}

}  // namespace ulk::server
