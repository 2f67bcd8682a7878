// Must not compile: Q4_K's 256-weight blocks do not divide an FFN width of 2816 + 32.
#include "ulk/model/llama.hpp"
#include "ulk/presets/bench_246m.hpp"

struct BadFfn : ulk::presets::Bench246M<ulk::presets::AllOf<ulk::quant::Q4_K>> {
    static constexpr std::size_t kFfn = 2848;
};

int main() { return ulk::Llama<BadFfn>::kFfn > 0 ? 0 : 1; }
