#pragma once
// A driver compiled with several presets picks the one that matches the file:
//
//   using Presets = ulk::model::PresetList<KoChatTinyQ8, KoChatTinyQ2P, KoChatSmallQ4>;
//   Presets::load(path, {.threads = 2}, [](auto& model) { ... model.decode(...) ... });
//
// Each preset instantiates its own forward pass, so the list is kept short (one binary, a few
// shapes); a file that matches none gets one message with every preset's differences.
#include <string>
#include <utility>

#include "ulk/model/llama.hpp"

namespace ulk::model {

template <LlamaConfig... Configs>
struct PresetList {
    static_assert(sizeof...(Configs) > 0, "PresetList: name at least one preset");

    // Calls fn(Llama<C>&) with the first preset C that the file at `path` matches.
    template <class Fn>
    static void load(const std::string& path, LoadOptions options, Fn&& fn) {
        gguf::GgufFile file = gguf::GgufFile::open(path);
        std::string report;
        if (!(try_one<Configs>(file, options, fn, report) || ...))
            throw Error({"the model file matches none of the presets this program was built with", path, "", "",
                         "Differences per preset:" + report +
                             "\nRebuild with a preset for this file: `ulk-inspect --preset FILE` prints one (configs/README.md)"});
    }

    // The names of the presets, for --help.
    static std::string names() {
        std::string s;
        ((s += (s.empty() ? "" : "\n") + describe<Configs>()), ...);
        return s;
    }

private:
    template <class C, class Fn>
    static bool try_one(gguf::GgufFile& file, LoadOptions options, Fn& fn, std::string& report) {
        const auto diff = Llama<C>::mismatches(file);
        if (diff.empty()) {
            auto model = Llama<C>::from_file(std::move(file), options);
            fn(model);
            return true;
        }
        report += "\n  " + describe<C>() + ": " + std::to_string(diff.size()) + " differences";
        for (std::size_t i = 0; i < diff.size() && i < 4; ++i)
            report += "\n    " + diff[i].field + ": expected " + diff[i].expected + ", found " + diff[i].found;
        if (diff.size() > 4) report += "\n    ...";
        return false;
    }
};

}  // namespace ulk::model
