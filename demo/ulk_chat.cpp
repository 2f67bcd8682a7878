// ulk-chat: the demo chatbot. The model type, tokenizer and generation API are still being built
// (issues: model type, tokenization, chat demo); until they land this driver says what is missing.
#include <cstdio>

#include "ulk/ulk.hpp"

int main() {
    std::printf(
        "ulk-chat %s (kernels: %.*s)\n"
        "The chatbot is not available yet: this build has the packed-tensor kernels, but not the\n"
        "model type (ulk::Llama<Config>), the Korean tokenizer, the generation API or a shipped\n"
        "model. Run ./ulk.sh test to check the kernels, ./ulk.sh bench to measure them.\n",
        ulk::kVersion, int(ulk::simd::native::name.size()), ulk::simd::native::name.data());
    return 0;
}
