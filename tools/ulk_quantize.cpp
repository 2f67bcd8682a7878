// ulk-quantize: GGUF F32/F16/BF16 -> packed formats per tensor, by preset and overrides.
#include <cstdio>
#include <cstdlib>
#include <map>

#include <cxxopts.hpp>

#include "common/cli.hpp"
#include "common/quantize_model.hpp"

int main(int argc, char** argv) {
    using namespace ulk::tools;
    return run_tool("ulk-quantize", [&] {
        std::string preset_help = "Presets (the format of the 2-D weights; 1-D tensors stay F32):\n";
        for (const auto& p : presets()) preset_help += "  " + p.name + std::string(8 - std::min<std::size_t>(7, p.name.size()), ' ') + p.description + "\n";
        std::string formats;
        for (const auto& f : target_formats()) formats += (formats.empty() ? "" : ", ") + f.name;
        cxxopts::Options opts("ulk-quantize",
                              "Quantizes a GGUF model (F32, F16 or BF16, as ulk-convert writes it) to packed formats.\n\n" +
                                  preset_help + "\nFormats for --type: " + formats +
                                  "\n\nExamples:\n"
                                  "  ulk-quantize model-f16.gguf model-q4_0.gguf Q4_0\n"
                                  "  ulk-quantize model-f16.gguf model-q2p.gguf Q2P --type 'blk.0.*=Q4_0'\n"
                                  "  ulk-quantize model-f16.gguf model-q4.gguf Q4_K_M --type token_embd.weight=Q8_0 --type output.weight=Q8_0\n"
                                  "  ulk-quantize model-f16.gguf model-q4-s50.gguf Q4_0 --sparse 0.5 --sparse-block 4x32\n\n"
                                  "The output is written atomically (a temporary file, then a rename).\n"
                                  "Exit codes: 0 success, 1 unusable input (the message says what and where),\n"
                                  "2 wrong command line.");
        opts.add_options()
            ("type", "PATTERN=FORMAT: tensors whose name matches the shell pattern get FORMAT (repeatable; the last match wins)",
             cxxopts::value<std::vector<std::string>>())
            ("sparse", "prune the --sparse-tensors to this density (0..1] by block magnitude, and store them block-sparse (ulk only)",
             cxxopts::value<double>()->default_value("1"))
            ("sparse-block", "block shape ROWSxCOLS for --sparse (columns: a multiple of the format's block; default 4x32, 4x256 for 256-weight formats)",
             cxxopts::value<std::string>()->default_value(""))
            ("sparse-tensors", "shell pattern of the tensors to prune", cxxopts::value<std::string>()->default_value("blk.*.ffn_*.weight"))
            ("t,threads", "threads (default: all cores)", cxxopts::value<unsigned>()->default_value("0"))
            ("q,quiet", "no progress bar and no per-tensor table")
            ("h,help", "this text")
            ("input", "input .gguf", cxxopts::value<std::string>())
            ("output", "output .gguf", cxxopts::value<std::string>())
            ("preset", "preset name", cxxopts::value<std::string>());
        opts.parse_positional({"input", "output", "preset"});
        opts.positional_help("INPUT.gguf OUTPUT.gguf PRESET");
        const auto args = opts.parse(argc, argv);
        if (args.count("help")) {
            std::puts(opts.help().c_str());
            return kExitOk;
        }
        if (!args.count("input") || !args.count("output") || !args.count("preset"))
            throw cxxopts::exceptions::missing_argument("INPUT.gguf OUTPUT.gguf PRESET");
        QuantizeOptions o{args["input"].as<std::string>(), args["output"].as<std::string>(), args["preset"].as<std::string>(), {},
                          args["threads"].as<unsigned>()};
        if (args.count("type"))
            for (const auto& spec : args["type"].as<std::vector<std::string>>()) {
                const auto eq = spec.find('=');
                if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
                    throw cxxopts::exceptions::incorrect_argument_type("--type " + spec + " (expected PATTERN=FORMAT)");
                o.overrides.emplace_back(spec.substr(0, eq), spec.substr(eq + 1));
            }
        o.sparse.density = args["sparse"].as<double>();
        o.sparse.tensors = args["sparse-tensors"].as<std::string>();
        if (const auto shape = args["sparse-block"].as<std::string>(); !shape.empty()) {
            const auto x = shape.find('x');
            char* end = nullptr;
            const unsigned long r = x == std::string::npos ? 0 : std::strtoul(shape.c_str(), &end, 10);
            const unsigned long c = x == std::string::npos ? 0 : std::strtoul(shape.c_str() + x + 1, nullptr, 10);
            if (r == 0 || c == 0) throw cxxopts::exceptions::incorrect_argument_type("--sparse-block " + shape + " (expected ROWSxCOLS, e.g. 4x32)");
            o.sparse.block_rows = r;
            o.sparse.block_cols = c;
        }
        const bool quiet = args.count("quiet") > 0;
        ProgressBar bar(!quiet);
        const auto s = quantize_model(o, [&](std::size_t d, std::size_t t, const std::string& n) { bar.update(d, t, n); });
        struct Row { std::size_t tensors = 0; std::uint64_t weights = 0, bytes = 0; bool sparse = false; };
        std::map<std::string, Row> by_format;
        for (const auto& t : s.tensors) {
            auto& r = by_format[t.format + (t.density < 1.0 ? " sparse" : "")];
            ++r.tensors;
            r.weights += t.weights;
            r.bytes += t.bytes;
            if (!t.note.empty()) std::printf("note: %s: %s\n", t.name.c_str(), t.note.c_str());
            if (t.density < 1.0) r.sparse = true;
        }
        if (!quiet) {
            std::printf("%-16s %8s %14s %12s %8s\n", "format", "tensors", "weights", "MiB", "bpw");
            for (const auto& [f, r] : by_format)
                std::printf("%-16s %8zu %14llu %12.2f %8.3f\n", f.c_str(), r.tensors, (unsigned long long)r.weights,
                            double(r.bytes) / (1 << 20), 8.0 * double(r.bytes) / double(r.weights));
        }
        std::printf("wrote %s: %.2f MiB -> %.2f MiB (%.1f%%), 2-D weights at %.3f bits per weight\n", o.output.c_str(),
                    double(s.input_bytes) / (1 << 20), double(s.output_bytes) / (1 << 20),
                    100.0 * double(s.output_bytes) / double(s.input_bytes), 8.0 * double(s.weight_bytes) / double(s.weights));
        return kExitOk;
    });
}
