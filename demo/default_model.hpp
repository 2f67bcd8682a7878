#pragma once
// The shipped default model, found without arguments from any working directory: under the
// install prefix of the running executable (PREFIX/bin/X -> PREFIX/share/ulk/models, where
// `cmake --install` puts models/*.gguf), else in the source tree the executable was built from.
#include <filesystem>
#include <string>
#include <vector>

#include "ulk/base/error.hpp"

namespace ulk::chat {

inline constexpr const char* kDefaultModel = "ko-chat-tiny-Q8_0.gguf";

inline std::vector<std::filesystem::path> default_model_candidates() {
    namespace fs = std::filesystem;
    std::vector<fs::path> c;
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) c.push_back(exe.parent_path().parent_path() / "share" / "ulk" / "models" / kDefaultModel);
    c.push_back(fs::path(ULK_SOURCE_MODELS_DIR) / kDefaultModel);
    return c;
}

inline std::string find_default_model() {
    std::string tried;
    for (const auto& p : default_model_candidates()) {
        if (std::filesystem::exists(p)) return p.string();
        tried += (tried.empty() ? "" : ", ") + p.string();
    }
    throw Error({"the default model is not installed", kDefaultModel, "one of: " + tried, "none of them", "pass a model with --model FILE.gguf"});
}

}  // namespace ulk::chat
