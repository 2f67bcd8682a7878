// ulk-inspect: what a GGUF file holds (metadata, tensors, types, sizes), read by the checked reader.
#include <cstdio>
#include <map>

#include <cxxopts.hpp>

#include "common/cli.hpp"
#include "common/preset_from_file.hpp"
#include "ulk/gguf/file.hpp"

namespace {
std::string show(const ulk::gguf::Value& v) {
    using ulk::gguf::ValueType;
    if (v.type() == ValueType::String) {
        const auto& s = v.as_string("");
        return "\"" + (s.size() > 60 ? s.substr(0, 60) + "..." : s) + "\"";
    }
    if (v.is_array()) {
        std::string r = "[" + v.type_description();
        if (v.element_type() == ValueType::String && v.size() > 0) r += ": \"" + v.as_strings("")[0] + "\", ...";
        return r + "]";
    }
    switch (v.type()) {
        case ValueType::F32: case ValueType::F64: return std::to_string(v.as<double>(""));
        case ValueType::Bool: return v.as<bool>("") ? "true" : "false";
        case ValueType::I8: case ValueType::I16: case ValueType::I32: case ValueType::I64:
            return std::to_string(v.as<long long>(""));
        default: return std::to_string(v.as<unsigned long long>(""));
    }
}
}  // namespace

int main(int argc, char** argv) {
    using namespace ulk::tools;
    return run_tool("ulk-inspect", [&] {
        cxxopts::Options opts("ulk-inspect",
                              "Prints what a GGUF file holds: metadata, tensors with type, shape and size,\n"
                              "and the bytes per type. Every count, offset and size is checked first; a\n"
                              "damaged file gives an error that says where.\n\n"
                              "Examples:\n  ulk-inspect models/model.gguf --tensors\n  ulk-inspect model.gguf --preset   (a preset to build ulk for this file)\n\n"
                              "Exit codes: 0 success, 1 unusable file, 2 wrong command line.");
        opts.add_options()("tensors", "list every tensor")(
            "preset", "print the C++ preset (configs/ulk/presets/) this file matches")("h,help", "this text")(
            "file", "GGUF file", cxxopts::value<std::string>());
        opts.parse_positional({"file"});
        opts.positional_help("FILE.gguf");
        const auto args = opts.parse(argc, argv);
        if (args.count("help")) {
            std::puts(opts.help().c_str());
            return kExitOk;
        }
        if (!args.count("file")) throw cxxopts::exceptions::missing_argument("FILE.gguf");
        const auto f = ulk::gguf::GgufFile::open(args["file"].as<std::string>());
        if (args.count("preset")) {
            std::fputs(ulk::tools::preset_from_file(f).c_str(), stdout);
            return ulk::tools::kExitOk;
        }
        std::printf("%s: GGUF v%u, alignment %zu, %zu metadata keys, %zu tensors, data at byte %llu\n", f.name().c_str(),
                    f.version(), f.alignment(), f.metadata().size(), f.tensors().size(),
                    (unsigned long long)f.data_offset());
        for (const auto& [k, v] : f.metadata()) std::printf("  %-45s %s\n", k.c_str(), show(v).c_str());
        std::map<std::string, std::pair<std::size_t, unsigned long long>> by_type;
        for (const auto& t : f.tensors()) {
            auto& e = by_type[std::string(t.type.name)];
            ++e.first;
            e.second += t.nbytes;
            if (args.count("tensors"))
                std::printf("  %-32s %-8s %-22s %10llu bytes at %llu\n", t.name.c_str(), std::string(t.type.name).c_str(),
                            t.shape().c_str(), (unsigned long long)t.nbytes, (unsigned long long)t.file_offset);
        }
        for (const auto& [type, e] : by_type)
            std::printf("  type %-8s %4zu tensors %12llu bytes\n", type.c_str(), e.first, e.second);
        return kExitOk;
    });
}
