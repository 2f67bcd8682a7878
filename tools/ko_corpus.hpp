#pragma once
// The shared Korean text (../shared/data/ko/, .xz files) as the tools, tests and benchmarks see
// it, with one held-out split for all of them: the last 1% of the lines of every file (at least
// one line) is evaluation text and is never trained on.
#include <algorithm>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "ulk/base/error.hpp"

namespace ulk::tools {

inline std::size_t held_out_lines(std::size_t total_lines) { return std::max<std::size_t>(1, total_lines / 100); }

// Calls line(text, index) for every line of an .xz file (decompressed with xz -dc).
inline std::size_t for_each_xz_line(const std::filesystem::path& file,
                                    const std::function<void(const std::string&, std::size_t)>& line) {
    const std::string cmd = "xz -dc '" + file.string() + "'";
    FILE* p = popen(cmd.c_str(), "r");
    require(p != nullptr, {"cannot run xz", file.string(), "xz on the PATH", "popen failed", "apt install xz-utils"});
    std::string buf;
    std::size_t n = 0;
    char chunk[1 << 16];
    std::size_t got;
    while ((got = std::fread(chunk, 1, sizeof chunk, p)) > 0) {
        for (std::size_t i = 0; i < got; ++i) {
            if (chunk[i] == '\n') {
                line(buf, n++);
                buf.clear();
            } else {
                buf.push_back(chunk[i]);
            }
        }
    }
    if (!buf.empty()) line(buf, n++);
    const int rc = pclose(p);
    require(rc == 0, {"xz failed", file.string(), "exit status 0", std::to_string(rc), "is the file complete?"});
    return n;
}

// The held-out lines of a file (its last 1%), at most max_lines of them (the last ones).
inline std::vector<std::string> held_out_sample(const std::filesystem::path& file, std::size_t max_lines) {
    std::deque<std::string> tail;
    const std::size_t total = for_each_xz_line(file, [&](const std::string& s, std::size_t) {
        tail.push_back(s);
        if (tail.size() > max_lines) tail.pop_front();
    });
    const std::size_t keep = std::min(tail.size(), held_out_lines(total));
    return {tail.end() - std::ptrdiff_t(keep), tail.end()};
}

// Every .xz file under dir, sorted.
inline std::vector<std::filesystem::path> xz_files(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
        if (e.is_regular_file() && e.path().extension() == ".xz") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace ulk::tools
