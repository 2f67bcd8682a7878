#pragma once
// ChatServer<Model>: the HTTP routes of ulk-server over a SlotPool (cpp-httplib).
//
//   POST /v1/chat/completions   OpenAI chat completions, streamed as server-sent events on request
//   GET  /v1/models             the one model served
//   GET  /health                status, slots idle and waiting requests
//   GET  /                      the web chat page (no external assets)
//
// With an API key every /v1/ route requires "Authorization: Bearer KEY". Every error is OpenAI's
// error object with a 4xx/5xx status. A client that disconnects mid-stream cancels its reply at
// the next token, which frees its slot.
#include <httplib.h>

#include <atomic>
#include <cstdio>
#include <string>

#include "openai_api.hpp"
#include "slot_pool.hpp"
#include "web_page.hpp"

namespace ulk::server {

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8080;  // 0: any free port (printed)
    std::string api_key;
    std::size_t max_body_bytes = 1 << 20;
    std::size_t max_queue = 64;
    std::size_t http_threads = 32;
    Limits limits;
    generate::SamplerOptions sampler;  // defaults for fields a request leaves out
};

template <class Model>
class ChatServer {
public:
    ChatServer(std::string model_id, const text::Tokenizer& tokenizer, ServerOptions options)
        : model_id_(std::move(model_id)), template_(tokenizer), options_(std::move(options)),
          pool_(options_.max_queue) {}

    void add_slot(Model m) { pool_.add(std::move(m), template_); }

    // Binds, prints the address on standard error, and serves until stop(). False if it cannot bind.
    bool run() {
        routes();
        http_.new_task_queue = [n = options_.http_threads] { return new httplib::ThreadPool(n); };
        http_.set_payload_max_length(options_.max_body_bytes);
        const int port = options_.port == 0 ? http_.bind_to_any_port(options_.host) : (http_.bind_to_port(options_.host, options_.port) ? options_.port : -1);
        if (port < 0) return false;
        port_ = port;
        std::fprintf(stderr, "ulk-server: %s on %zu slots, listening on http://%s:%d\n", model_id_.c_str(), pool_.size(),
                     options_.host.c_str(), port);
        std::fflush(stderr);
        return http_.listen_after_bind();
    }

    // Cancels running replies (their streams end properly) and stops listening.
    void stop() {
        stopping_ = true;
        pool_.stop();
        http_.stop();
    }

    int port() const noexcept { return port_; }

private:
    static void send_error(httplib::Response& res, const ApiError& e) {
        res.status = e.status;
        if (e.status == 503) res.set_header("Retry-After", "1");
        res.set_content(e.body().dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
    }

    void routes() {
        http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
            if (options_.api_key.empty() || req.path.rfind("/v1/", 0) != 0) return httplib::Server::HandlerResponse::Unhandled;
            const std::string expected = "Bearer " + options_.api_key;
            const std::string got = req.get_header_value("Authorization");
            // Compared in time independent of where they differ.
            unsigned diff = unsigned(got.size() ^ expected.size());
            for (std::size_t i = 0; i < expected.size(); ++i) diff |= unsigned(char(i < got.size() ? got[i] : 0) ^ expected[i]);
            if (diff == 0) return httplib::Server::HandlerResponse::Unhandled;
            send_error(res, {401, got.empty() ? "missing API key: send the header 'Authorization: Bearer KEY'" : "incorrect API key",
                             "invalid_request_error", "", "invalid_api_key"});
            return httplib::Server::HandlerResponse::Handled;
        });
        http_.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
            if (!res.body.empty()) return;
            if (res.status == 404)
                send_error(res, {404, "no route " + req.method + " " + req.path + ": see GET /v1/models, POST /v1/chat/completions",
                                 "invalid_request_error", "", "unknown_url"});
            else if (res.status == 413)
                send_error(res, {413, "request body too large: the limit is " + std::to_string(options_.max_body_bytes) + " bytes",
                                 "invalid_request_error", "", "request_too_large"});
            else
                send_error(res, {res.status, "HTTP error " + std::to_string(res.status), "invalid_request_error", "", ""});
        });
        http_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
            std::string what = "internal error";
            try {
                std::rethrow_exception(ep);
            } catch (const std::exception& e) {
                what = e.what();
            } catch (...) {
            }
            send_error(res, {500, what, "server_error", "", ""});
        });

        http_.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content(kWebPage.data(), kWebPage.size(), "text/html; charset=utf-8"); });
        http_.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
            const json j = {{"status", stopping_ ? "stopping" : "ok"}, {"model", model_id_}, {"slots", pool_.size()},
                            {"slots_idle", pool_.idle()}, {"waiting", pool_.waiting()},
                            {"replies_cancelled", replies_cancelled_.load()}};
            res.set_content(j.dump(), "application/json");
        });
        http_.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
            const json j = {{"object", "list"},
                            {"data", json::array({{{"id", model_id_}, {"object", "model"}, {"created", started_}, {"owned_by", "ulk"}}})}};
            res.set_content(j.dump(), "application/json");
        });
        http_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) { complete(req, res); });
    }

    void complete(const httplib::Request& req, httplib::Response& res) {
        ChatRequest r;
        std::vector<generate::Token> prompt;
        std::shared_ptr<typename SlotPool<Model>::Lease> lease;
        try {
            r = parse_chat_request(req.body, options_.limits, options_.sampler, Model::kVocab);
            prompt = r.conversation.render(template_);
            if (prompt.size() >= Model::kContext)
                throw ApiError{400,
                               "the messages are " + std::to_string(prompt.size()) + " tokens; this model's context is " +
                                   std::to_string(Model::kContext) + " tokens: send fewer or shorter messages",
                               "invalid_request_error", "messages", "context_length_exceeded"};
            lease = pool_.acquire(prompt);
        } catch (const ApiError& e) {
            return send_error(res, e);
        }
        const std::string id = "chatcmpl-" + std::to_string(++next_id_);
        const std::int64_t created = unix_time();

        if (!r.stream) {
            const auto g = run(**lease, r, prompt, [](std::string_view) {});
            res.set_content(completion_body(id, created, model_id_, g.text, finish_reason(g.reason), {prompt.size(), g.tokens.size()})
                                .dump(-1, ' ', false, json::error_handler_t::replace),
                            "application/json");
            return;
        }
        res.set_header("Cache-Control", "no-cache");
        res.set_chunked_content_provider(
            "text/event-stream",
            [this, r = std::move(r), prompt = std::move(prompt), lease, id, created](std::size_t, httplib::DataSink& sink) mutable {
                auto& slot = **lease;
                auto send = [&](const std::string& event) {
                    if (!sink.write(event.data(), event.size())) slot.cancel = true;  // the client went away
                };
                send(chunk_event(id, created, model_id_, {{"role", "assistant"}, {"content", ""}}, ""));
                const auto g = run(slot, r, prompt, [&](std::string_view piece) {
                    send(chunk_event(id, created, model_id_, {{"content", std::string(piece)}}, ""));
                });
                if (g.reason == generate::StopReason::cancelled) replies_cancelled_.fetch_add(1);
                // The slot is free before the last events go out: a client that has read [DONE] finds it idle.
                lease.reset();
                auto finish = [&](const std::string& event) { sink.write(event.data(), event.size()); };
                finish(chunk_event(id, created, model_id_, json::object(), finish_reason(g.reason)));
                if (r.include_usage) finish(usage_event(id, created, model_id_, {prompt.size(), g.tokens.size()}));
                finish("data: [DONE]\n\n");
                sink.done();
                return true;
            });
        // A response dropped before it starts (the client left) destroys the provider, and with it the lease.
    }

    // One reply of a request on a slot.
    template <class OnText>
    static generate::GenerateResult run(typename SlotPool<Model>::Slot& slot, const ChatRequest& r,
                                        std::span<const generate::Token> prompt, OnText&& on_text) {
        slot.generator.feed(prompt);
        generate::Sampler sampler(r.sampler);
        sampler.set_logit_bias(r.logit_bias);
        return slot.generator.generate(sampler, {.max_new_tokens = r.max_tokens, .stop_strings = r.stop, .cancel = &slot.cancel},
                                       on_text);
    }

    std::string model_id_;
    generate::ChatTemplate template_;
    ServerOptions options_;
    SlotPool<Model> pool_;
    httplib::Server http_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> next_id_{0};
    std::atomic<std::uint64_t> replies_cancelled_{0};  // streamed replies cut short (client gone, or SIGTERM)
    std::int64_t started_ = unix_time();
    int port_ = -1;
};

}  // namespace ulk::server
