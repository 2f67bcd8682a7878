// Tokenizer throughput on one core: encode (normalize + SentencePiece + jamo fallback), decode,
// and streaming decode one id at a time, over the held-out lines of the news (KLUE) and petition
// text. Bytes are UTF-8 bytes of the input text, so MB/s compare across vocabularies.
//   ulk_bench_text [--benchmark_repetitions=5] [model.model | vocab.gguf (either family)]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "../tools/ko_corpus.hpp"
#include "ulk/gguf/file.hpp"
#include "ulk/text/gguf_tokenizer.hpp"
#include "ulk/text/tokenizer.hpp"

namespace {

std::string g_model = ULK_MODELS_DIR "/ulk-ko-32k.model";

struct Corpus {
    ulk::text::Tokenizer tokenizer;
    std::vector<std::string> lines;
    std::vector<std::vector<std::int32_t>> ids;
    std::size_t bytes = 0;
};

const Corpus& corpus() {
    static const Corpus c = [] {
        const bool gguf = g_model.size() > 5 && g_model.compare(g_model.size() - 5, 5, ".gguf") == 0;
        Corpus k{gguf ? ulk::text::tokenizer_from_gguf(ulk::gguf::GgufFile::open(g_model))
                      : ulk::text::Tokenizer::from_file(g_model),
                 {}, {}, 0};
        for (const char* source : {"klue_kornlu", "petitions"}) {
            const auto sample = ulk::tools::held_out_sample(
                std::string(ULK_SHARED_KO_DATA) + "/pretrain/" + source + ".txt.xz", std::size_t(-1));
            for (const auto& line : sample)
                if (!line.empty()) k.lines.push_back(line);
        }
        for (const auto& line : k.lines) {
            k.bytes += line.size();
            k.ids.push_back(k.tokenizer.encode(line));
        }
        return k;
    }();
    return c;
}

void BM_encode(benchmark::State& state) {
    const Corpus& c = corpus();
    std::vector<std::int32_t> ids;
    for (auto _ : state) {
        for (const auto& line : c.lines) {
            ids.clear();
            c.tokenizer.encode_append(line, ids);
            benchmark::DoNotOptimize(ids.data());
        }
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(c.bytes));
}

// The normalizer alone: its share of encode.
void BM_normalize(benchmark::State& state) {
    const Corpus& c = corpus();
    std::string out;
    for (auto _ : state) {
        for (const auto& line : c.lines) {
            out.clear();
            c.tokenizer.normalizer().normalize_append(line, out);
            benchmark::DoNotOptimize(out.data());
        }
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(c.bytes));
}

void BM_decode(benchmark::State& state) {
    const Corpus& c = corpus();
    for (auto _ : state)
        for (const auto& ids : c.ids) benchmark::DoNotOptimize(c.tokenizer.decode(ids));
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(c.bytes));
}

void BM_decode_streaming(benchmark::State& state) {
    const Corpus& c = corpus();
    std::string out;
    for (auto _ : state) {
        for (const auto& ids : c.ids) {
            auto d = c.tokenizer.streaming_detokenizer();
            out.clear();
            for (const auto id : ids) d.push(id, out);
            d.finish(out);
            benchmark::DoNotOptimize(out.data());
        }
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(c.bytes));
}

BENCHMARK(BM_encode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_normalize)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_decode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_decode_streaming)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (argc > 1) g_model = argv[1];
    std::printf("model: %s\n", g_model.c_str());
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
