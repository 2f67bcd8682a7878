// ulk-make-tiny-checkpoint DIR [dim layers heads kv_heads ffn vocab] [options]: a random Llama
// checkpoint in Hugging Face layout, for trying ulk-convert and llama.cpp on the same file
// (docs/interop.md) and for the golden-logits model (tools/golden/README.md).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "hf_checkpoint.hpp"

namespace {

int usage(const char* argv0) {
    std::fprintf(stderr,
                 "usage: %s DIR [dim layers heads kv_heads ffn vocab] [options]\n"
                 "options (defaults as the tests use them):\n"
                 "  --f32             F32 safetensors (default BF16)\n"
                 "  --tied            tie the output to the token embedding\n"
                 "  --rope-theta X    config.json rope_theta (10000)\n"
                 "  --rms-eps X       config.json rms_norm_eps (1e-5)\n"
                 "  --scale X         standard deviation of the matrices' entries (0.05)\n"
                 "  --norm-scale X    norm weights are 1 + N(0, X^2) (0.1)\n"
                 "  --seed N          first seed of the weights (1)\n"
                 "  --context N       config.json max_position_embeddings (256)\n"
                 "  --tokenizer FILE  ship this SentencePiece model (vocab must be its size)\n",
                 argv0);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    ulk::test::TinyLlama c;
    std::uint64_t seed = 1;
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "--f32") c.bf16 = false;
        else if (a == "--tied") c.tied = true;
        else if (a == "--rope-theta" && has_value) c.rope_theta = std::strtod(argv[++i], nullptr);
        else if (a == "--rms-eps" && has_value) c.rms_eps = std::strtod(argv[++i], nullptr);
        else if (a == "--scale" && has_value) c.weight_scale = std::strtof(argv[++i], nullptr);
        else if (a == "--norm-scale" && has_value) c.norm_scale = std::strtof(argv[++i], nullptr);
        else if (a == "--seed" && has_value) seed = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--context" && has_value) c.context = unsigned(std::atoi(argv[++i]));
        else if (a == "--tokenizer" && has_value) c.tokenizer_model = argv[++i];
        else if (a.rfind("--", 0) == 0) return usage(argv[0]);
        else positional.push_back(a);
    }
    if (positional.size() != 1 && positional.size() != 7) return usage(argv[0]);
    if (positional.size() == 7) {
        c.dim = unsigned(std::atoi(positional[1].c_str()));
        c.layers = unsigned(std::atoi(positional[2].c_str()));
        c.heads = unsigned(std::atoi(positional[3].c_str()));
        c.kv_heads = unsigned(std::atoi(positional[4].c_str()));
        c.ffn = unsigned(std::atoi(positional[5].c_str()));
        c.vocab = unsigned(std::atoi(positional[6].c_str()));
    }
    ulk::test::write_tiny_llama_checkpoint(positional[0], c, seed);
    std::printf("wrote a random Llama checkpoint to %s\n", positional[0].c_str());
    return 0;
}
