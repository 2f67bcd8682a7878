#pragma once
// What every ulk tool shares: exit codes, error printing, a progress bar.
//   0  success
//   1  the input could not be used (a ulk::Error: its message says what, where and what to do)
//   2  the command line is wrong (the message and --help say how to call it)
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>

#include <cxxopts.hpp>

#include "ulk/base/error.hpp"

namespace ulk::tools {

inline constexpr int kExitOk = 0, kExitInputError = 1, kExitUsage = 2;

// A wrong command line: what is wrong and where the options are explained.
inline int usage_error(const char* tool, const std::string& message) {
    std::fprintf(stderr, "%s: %s\nRun '%s --help' for the options.\n", tool, message.c_str(), tool);
    return kExitUsage;
}

// Parses argv into `args`, refusing arguments no option takes; false (after usage_error) when the
// command line is wrong.
inline bool parse_command_line(const char* tool, cxxopts::Options& opts, int argc, char** argv, cxxopts::ParseResult& args) {
    try {
        args = opts.parse(argc, argv);
    } catch (const cxxopts::exceptions::exception& e) {
        usage_error(tool, e.what());
        return false;
    }
    if (args.unmatched().empty()) return true;
    usage_error(tool, "unexpected argument '" + args.unmatched().front() + "'");
    return false;
}

template <class Body>
int run_tool(const char* tool, Body&& body) {
    try {
        return body();
    } catch (const cxxopts::exceptions::exception& e) {
        return usage_error(tool, e.what());
    } catch (const ulk::Error& e) {
        std::fprintf(stderr, "%s: %s\n", tool, e.what());
        return kExitInputError;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: internal error: %s\n", tool, e.what());
        return kExitInputError;
    }
}

// One line redrawn in place on a terminal; silent when stderr is not one (logs stay clean).
class ProgressBar {
public:
    explicit ProgressBar(bool enabled) : enabled_(enabled && ::isatty(2)) {}
    void update(std::size_t done, std::size_t total, const std::string& label) {
        if (!enabled_ || total == 0) return;
        const int width = 30, filled = int(width * done / total);
        std::fprintf(stderr, "\r[%s%s] %zu/%zu %-40.40s", std::string(std::size_t(filled), '=').c_str(),
                     std::string(std::size_t(width - filled), ' ').c_str(), done, total, label.c_str());
        if (done == total) std::fprintf(stderr, "\n");
        std::fflush(stderr);
    }

private:
    bool enabled_;
};

}  // namespace ulk::tools
