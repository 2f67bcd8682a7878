// ulk-interop-compare SOURCE.gguf QUANTIZED.gguf: re-quantizes every tensor of SOURCE (F32, F16 or
// BF16) with ulk's reference quantizer for the type QUANTIZED gives it, and compares the bytes.
// Run on a file that llama.cpp's quantizer wrote (docs/interop.md) it shows, tensor by tensor,
// that both read the same layouts and quantize bit for bit alike.
#include <cstdio>
#include <cstring>
#include <tuple>
#include <vector>

#include "ulk/base/fp16.hpp"
#include "ulk/gguf/file.hpp"
#include "ulk/quant/all_formats.hpp"

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s SOURCE.gguf QUANTIZED.gguf\n", argv[0]);
        return 2;
    }
    try {
        const auto src = ulk::gguf::GgufFile::open(argv[1]);
        const auto q = ulk::gguf::GgufFile::open(argv[2]);
        int same = 0, differ = 0, skipped = 0;
        for (const auto& t : q.tensors()) {
            const auto& s = src.tensor(t.name);
            if (s.dims != t.dims) {
                std::printf("%-28s shape differs: %s vs %s\n", t.name.c_str(), s.shape().c_str(), t.shape().c_str());
                ++differ;
                continue;
            }
            std::vector<float> x(s.elements);
            for (std::size_t i = 0; i < x.size(); ++i) {
                if (s.type.id == 0) {
                    std::memcpy(&x[i], s.data.data() + 4 * i, 4);
                } else {
                    std::uint16_t h;
                    std::memcpy(&h, s.data.data() + 2 * i, 2);
                    x[i] = s.type.id == 1 ? ulk::f16_to_f32(h) : ulk::bf16_to_f32(h);
                }
            }
            bool known = false, equal = false;
            std::apply([&]<class... F>(F...) {
                ([&] {
                    if (known || F::kGgmlType != int(t.type.id)) return;
                    known = true;
                    std::vector<typename F::Block> out(t.nbytes / sizeof(typename F::Block));
                    const std::size_t cols = t.dims[0], rows = s.elements / cols;
                    for (std::size_t r = 0; r < rows; ++r)
                        F::quantize_ref(x.data() + r * cols, out.data() + r * (cols / F::kBlockWeights), cols);
                    equal = std::memcmp(out.data(), t.data.data(), t.nbytes) == 0;
                }(), ...);
            }, ulk::quant::GgmlFormats{});
            if (!known) {
                ++skipped;
                std::printf("%-28s %-5s no ulk quantizer for this type\n", t.name.c_str(), std::string(t.type.name).c_str());
                continue;
            }
            (equal ? same : differ)++;
            std::printf("%-28s %-5s %s\n", t.name.c_str(), std::string(t.type.name).c_str(), equal ? "identical bytes" : "DIFFERENT");
        }
        std::printf("%d identical, %d different, %d without a ulk quantizer\n", same, differ, skipped);
        return differ ? 1 : 0;
    } catch (const ulk::Error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
