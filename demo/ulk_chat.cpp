// ulk-chat: the demo chatbot. The generation API and a shipped model are still being built (issues:
// chat demo, training); until they land this driver says what is missing.
#include <cstdio>

#include "ulk/ulk.hpp"

int main() {
    std::printf(
        "ulk-chat %s (kernels: %.*s)\n"
        "The chatbot is not available yet: this build has the kernels, the model type\n"
        "(ulk::Llama<Config>) and the Korean tokenizer, but not the generation API or a shipped\n"
        "model. Run ./ulk.sh test to check them; build/tools/ulk-bench MODEL.gguf runs a model.\n",
        ulk::kVersion, int(ulk::simd::native::name.size()), ulk::simd::native::name.data());
    return 0;
}
