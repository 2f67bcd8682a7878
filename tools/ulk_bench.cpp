// ulk-bench MODEL.gguf: end-to-end speed of a model file, as llama-bench measures it (prefill of a
// prompt in one batch, then decode one token at a time, each from an empty context), plus peak
// RSS, the weight bytes each decoded token streams, and that traffic as a fraction of a read-
// bandwidth probe run in the same process with the same threads.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "common/cli.hpp"
#include "ulk/base/aligned_buffer.hpp"
#include "ulk/base/thread_pool.hpp"
#include "ulk/presets/lists.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::size_t peak_rss_bytes() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return std::size_t(u.ru_maxrss) * 1024;  // Linux reports KiB
}

// Read bandwidth (bytes/s), median of `passes`: a vectorized sum over 256 MiB in 1 MiB tasks
// handed out by the library's ThreadPool, as the GEMV hands out its rows.
double read_probe(unsigned threads, int passes) {
    constexpr std::size_t kChunk = (std::size_t(1) << 20) / sizeof(float), kChunks = 256;
    ulk::AlignedBuffer<float> buf(kChunk * kChunks);  // zeroed: every page touched
    std::vector<float> partial(kChunks);
    ulk::ThreadPool pool(threads);
    std::vector<double> rates;
    for (int p = 0; p < passes; ++p) {
        const auto t0 = Clock::now();
        pool.parallel_for(kChunks, [&](std::size_t c) {
            using B = xsimd::batch<float>;
            const float* x = buf.data() + c * kChunk;
            B s0(0.f), s1(0.f), s2(0.f), s3(0.f);
            for (std::size_t i = 0; i < kChunk; i += 4 * B::size) {
                s0 += B::load_aligned(x + i);
                s1 += B::load_aligned(x + i + B::size);
                s2 += B::load_aligned(x + i + 2 * B::size);
                s3 += B::load_aligned(x + i + 3 * B::size);
            }
            partial[c] = xsimd::hadd(s0 + s1 + s2 + s3);
        });
        rates.push_back(double(buf.size() * sizeof(float)) / std::chrono::duration<double>(Clock::now() - t0).count());
    }
    return median(rates);
}

struct Result {
    std::string preset;
    std::vector<double> prefill, decode;  // tokens/s per repetition
    std::size_t bytes_per_token = 0, kv_cache = 0, activations = 0, weights = 0, peak_rss = 0;
    unsigned threads = 0;
};

template <class M>
Result run(M& model, std::size_t prompt, std::size_t tokens, int reps) {
    Result r;
    r.preset = ulk::model::describe<typename M::Config>();
    r.threads = model.threads();
    r.bytes_per_token = model.loaded_bytes_per_token();
    r.kv_cache = M::kv_cache_bytes;
    r.activations = M::activation_bytes;
    r.weights = M::weight_bytes;
    ulk::require(prompt >= 1 && tokens >= 1 && prompt <= M::kContext && tokens <= M::kContext,
                 {"prompt or generation length out of range", r.preset, "1 .. " + std::to_string(M::kContext), "", ""});
    std::vector<ulk::Token> ids(prompt);
    for (std::size_t i = 0; i < prompt; ++i) ids[i] = ulk::Token((i * 7919 + 13) % M::kVocab);
    for (int rep = -1; rep < reps; ++rep) {  // rep -1: warm-up (page faults, thread start)
        model.reset();
        auto t0 = Clock::now();
        model.prefill(ids);
        const double pp = double(prompt) / std::chrono::duration<double>(Clock::now() - t0).count();
        model.reset();
        ulk::Token t = 1;
        t0 = Clock::now();
        for (std::size_t i = 0; i < tokens; ++i) {
            const auto logits = model.decode(t);
            t = ulk::Token(std::max_element(logits.begin(), logits.end()) - logits.begin());
        }
        const double tg = double(tokens) / std::chrono::duration<double>(Clock::now() - t0).count();
        if (rep >= 0) r.prefill.push_back(pp), r.decode.push_back(tg);
    }
    r.peak_rss = peak_rss_bytes();
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    return ulk::tools::run_tool("ulk-bench", [&] {
        cxxopts::Options opts("ulk-bench",
                              "Measures a model file end to end: prefill of a prompt in one batch and decode\n"
                              "of one token at a time (each from an empty context, as llama-bench's pp and tg\n"
                              "tests), peak RSS, weight bytes per decoded token, and that traffic as a\n"
                              "fraction of a read-bandwidth probe run in the same process.\n\n"
                              "Example:\n  ulk-bench model.gguf --threads 2 --prompt 64 --tokens 64 --repetitions 5\n\n"
                              "Exit codes: 0 success, 1 unusable file (or no preset matches), 2 wrong command line.");
        opts.add_options()("t,threads", "threads", cxxopts::value<unsigned>()->default_value("2"))(
            "p,prompt", "prompt tokens (prefill)", cxxopts::value<std::size_t>()->default_value("64"))(
            "n,tokens", "generated tokens (decode)", cxxopts::value<std::size_t>()->default_value("64"))(
            "r,repetitions", "timed repetitions (after one warm-up)", cxxopts::value<int>()->default_value("5"))(
            "probe-passes", "bandwidth probe passes", cxxopts::value<int>()->default_value("9"))(
            "json", "one JSON object instead of the table")("list-presets", "the compiled presets")("h,help", "this text")(
            "file", "GGUF model file", cxxopts::value<std::string>());
        opts.parse_positional({"file"});
        opts.positional_help("MODEL.gguf");
        const auto args = opts.parse(argc, argv);
        if (args.count("help")) {
            std::puts(opts.help().c_str());
            return ulk::tools::kExitOk;
        }
        if (args.count("list-presets")) {
            std::puts(ulk::presets::BenchPresets::names().c_str());
            return ulk::tools::kExitOk;
        }
        if (!args.count("file")) throw cxxopts::exceptions::missing_argument("MODEL.gguf");
        const std::string path = args["file"].as<std::string>();
        const unsigned threads = args["threads"].as<unsigned>();
        const int reps = std::max(1, args["repetitions"].as<int>());
        Result r;
        ulk::presets::BenchPresets::load(path, {.threads = threads}, [&](auto& model) {
            r = run(model, args["prompt"].as<std::size_t>(), args["tokens"].as<std::size_t>(), reps);
        });
        // After the model's runs, so that the probe's buffer stays out of the peak RSS above.
        const double probe = read_probe(r.threads, std::max(1, args["probe-passes"].as<int>()));
        const double pp = median(r.prefill), tg = median(r.decode);
        const double file_bytes = double(std::filesystem::file_size(path));
        const double traffic = double(r.bytes_per_token) * tg;
        const double rss_bound = file_bytes + double(r.kv_cache) + 16.0 * (1 << 20);
        auto minmax = [](const std::vector<double>& v) { return std::make_pair(*std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end())); };
        const auto [pp_lo, pp_hi] = minmax(r.prefill);
        const auto [tg_lo, tg_hi] = minmax(r.decode);
        if (args.count("json")) {
            std::printf("{\"model\": \"%s\", \"preset\": \"%s\", \"threads\": %u, \"prompt\": %zu, \"tokens\": %zu, \"repetitions\": %d, "
                        "\"prefill_tok_s\": %.2f, \"prefill_min\": %.2f, \"prefill_max\": %.2f, "
                        "\"decode_tok_s\": %.2f, \"decode_min\": %.2f, \"decode_max\": %.2f, "
                        "\"weight_bytes_per_token\": %zu, \"decode_bytes_per_s\": %.0f, \"probe_bytes_per_s\": %.0f, "
                        "\"decode_fraction_of_probe\": %.4f, \"peak_rss_bytes\": %zu, \"file_bytes\": %.0f, "
                        "\"kv_cache_bytes\": %zu, \"activation_bytes\": %zu, \"rss_within_file_kv_16mb\": %s}\n",
                        path.c_str(), r.preset.c_str(), r.threads, args["prompt"].as<std::size_t>(), args["tokens"].as<std::size_t>(), reps,
                        pp, pp_lo, pp_hi, tg, tg_lo, tg_hi, r.bytes_per_token, traffic, probe, traffic / probe, r.peak_rss, file_bytes,
                        r.kv_cache, r.activations, double(r.peak_rss) <= rss_bound ? "true" : "false");
        } else {
            const double mib = 1 << 20;
            std::printf("%s\n  preset       %s\n  threads      %u\n", path.c_str(), r.preset.c_str(), r.threads);
            std::printf("  prefill      %.1f tokens/s (median of %d; %.1f .. %.1f), %zu-token prompt\n", pp, reps, pp_lo, pp_hi,
                        args["prompt"].as<std::size_t>());
            std::printf("  decode       %.1f tokens/s (median of %d; %.1f .. %.1f), %zu tokens\n", tg, reps, tg_lo, tg_hi,
                        args["tokens"].as<std::size_t>());
            std::printf("  weights/token %.1f MiB -> %.1f GB/s = %.0f%% of the read probe (%.1f GB/s, %u threads)\n",
                        double(r.bytes_per_token) / mib, traffic / 1e9, 100 * traffic / probe, probe / 1e9, r.threads);
            std::printf("  peak RSS     %.1f MiB (file %.1f MiB + KV cache %.1f MiB + activations %.1f MiB; bound file + KV + 16 MiB: %s)\n",
                        double(r.peak_rss) / mib, file_bytes / mib, double(r.kv_cache) / mib, double(r.activations) / mib,
                        double(r.peak_rss) <= rss_bound ? "within" : "EXCEEDED");
        }
        return ulk::tools::kExitOk;
    });
}
