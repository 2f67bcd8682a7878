// ulk-convert: a Hugging Face Llama checkpoint to a GGUF file that llama.cpp and ulk both run.
#include <cstdio>

#include <cxxopts.hpp>

#include "common/cli.hpp"
#include "common/hf_to_gguf.hpp"

int main(int argc, char** argv) {
    return ulk::tools::run_tool("ulk-convert", [&] {
        cxxopts::Options opts("ulk-convert",
                              "Converts a Hugging Face Llama-architecture checkpoint to GGUF.\n"
                              "The directory must hold config.json, one or more *.safetensors files and the\n"
                              "SentencePiece tokenizer.model. The output uses llama.cpp's tensor names and\n"
                              "metadata and embeds the tokenizer, so llama.cpp and ulk both load it.\n\n"
                              "Example:\n  ulk-convert --outtype F16 ./my-llama my-llama-f16.gguf\n"
                              "Then quantize it:\n  ulk-quantize my-llama-f16.gguf my-llama-q4_0.gguf Q4_0\n\n"
                              "Exit codes: 0 success, 1 unusable input (the message says what and where),\n"
                              "2 wrong command line.");
        opts.add_options()
            ("outtype", "type of the 2-D weights: F32, F16 or BF16 (norms stay F32)", cxxopts::value<std::string>()->default_value("F16"))
            ("name", "general.name stored in the file (default: the directory's name)", cxxopts::value<std::string>()->default_value(""))
            ("vocab-only", "write the metadata and tokenizer only, no weights")
            ("q,quiet", "no progress bar")
            ("h,help", "this text")
            ("checkpoint", "checkpoint directory", cxxopts::value<std::string>())
            ("output", "output .gguf file (written atomically)", cxxopts::value<std::string>());
        opts.parse_positional({"checkpoint", "output"});
        opts.positional_help("CHECKPOINT_DIR OUTPUT.gguf");
        const auto args = opts.parse(argc, argv);
        if (args.count("help")) {
            std::puts(opts.help().c_str());
            return ulk::tools::kExitOk;
        }
        if (!args.count("checkpoint") || !args.count("output"))
            throw cxxopts::exceptions::missing_argument("CHECKPOINT_DIR and OUTPUT.gguf");
        ulk::tools::ConvertOptions o{args["checkpoint"].as<std::string>(), args["output"].as<std::string>(),
                                     args["outtype"].as<std::string>(), args["name"].as<std::string>(),
                                     args.count("vocab-only") > 0};
        ulk::tools::ProgressBar bar(!args.count("quiet"));
        const auto s = ulk::tools::convert_hf_llama(o, [&](std::size_t d, std::size_t t, const std::string& n) { bar.update(d, t, n); });
        std::printf("wrote %s: %zu tensors, %.1f M parameters, %.1f MiB (%s)\n", o.output.c_str(), s.tensors,
                    double(s.parameters) / 1e6, double(s.file_bytes) / (1 << 20), o.out_type.c_str());
        return ulk::tools::kExitOk;
    });
}
