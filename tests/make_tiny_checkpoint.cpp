// ulk-make-tiny-checkpoint DIR [dim layers heads kv_heads ffn vocab]: a random Llama checkpoint in
// Hugging Face layout, for trying ulk-convert and llama.cpp on the same file (docs/interop.md).
#include <cstdio>
#include <cstdlib>

#include "hf_checkpoint.hpp"

int main(int argc, char** argv) {
    if (argc != 2 && argc != 8) {
        std::fprintf(stderr, "usage: %s DIR [dim layers heads kv_heads ffn vocab]\n", argv[0]);
        return 2;
    }
    ulk::test::TinyLlama c;
    if (argc == 8) {
        c.dim = unsigned(std::atoi(argv[2]));
        c.layers = unsigned(std::atoi(argv[3]));
        c.heads = unsigned(std::atoi(argv[4]));
        c.kv_heads = unsigned(std::atoi(argv[5]));
        c.ffn = unsigned(std::atoi(argv[6]));
        c.vocab = unsigned(std::atoi(argv[7]));
    }
    ulk::test::write_tiny_llama_checkpoint(argv[1], c);
    std::printf("wrote a random Llama checkpoint to %s\n", argv[1]);
    return 0;
}
