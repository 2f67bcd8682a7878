#pragma once
// Where ulk-chat's lines come from: a terminal through libedit (line editing and history), or
// anything else (a pipe, a file) through plain reads.
//
// Why libedit: it gives readline's editing keys and history under a BSD license, and Debian
// packages it (libedit-dev); GNU readline would make the binary GPL.
//
// Ctrl-C at the prompt: libedit's read is interrupted (our SIGINT handler is installed without
// SA_RESTART), el_gets returns nothing, and read() reports Interrupted.
#include <histedit.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

namespace ulk::chat {

class LineInput {
public:
    enum class Status { line, end_of_input, interrupted };

    explicit LineInput(bool interactive, std::string history_path = {})
        : interactive_(interactive), history_path_(std::move(history_path)) {
        if (!interactive_) return;
        el_ = el_init("ulk-chat", stdin, stdout, stderr);
        history_ = history_init();
        if (!el_ || !history_) {
            interactive_ = false;
            return;
        }
        HistEvent ev;
        ::history(history_, &ev, H_SETSIZE, 1000);
        ::history(history_, &ev, H_SETUNIQUE, 1);
        if (!history_path_.empty()) ::history(history_, &ev, H_LOAD, history_path_.c_str());
        el_set(el_, EL_EDITOR, "emacs");
        el_set(el_, EL_SIGNAL, 0);  // our handlers stay in charge
        el_set(el_, EL_HIST, history, history_);
        el_set(el_, EL_CLIENTDATA, this);
        el_set(el_, EL_PROMPT, &LineInput::prompt_of);
        el_source(el_, nullptr);  // the user's ~/.editrc, if any
    }
    ~LineInput() {
        if (history_) {
            HistEvent ev;
            if (!history_path_.empty()) ::history(history_, &ev, H_SAVE, history_path_.c_str());
            history_end(history_);
        }
        if (el_) el_end(el_);
    }
    LineInput(const LineInput&) = delete;
    LineInput& operator=(const LineInput&) = delete;

    bool interactive() const noexcept { return interactive_; }

    // Reads one line (without its newline) into `line`.
    Status read(std::string& line, const std::string& prompt) {
        line.clear();
        if (!interactive_) {
            if (!std::getline(std::cin, line)) return Status::end_of_input;
            if (!line.empty() && line.back() == '\r') line.pop_back();
            return Status::line;
        }
        prompt_ = prompt;
        int count = 0;
        errno = 0;
        const char* s = el_gets(el_, &count);
        if (!s) {
            if (count < 0 && errno == EINTR) {
                std::fputc('\n', stdout);
                el_reset(el_);
                return Status::interrupted;
            }
            return Status::end_of_input;
        }
        line.assign(s, std::size_t(count));
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
        if (!line.empty()) {
            HistEvent ev;
            ::history(history_, &ev, H_ENTER, line.c_str());
        }
        return Status::line;
    }

private:
    static char* prompt_of(EditLine* el) {
        void* self = nullptr;
        el_get(el, EL_CLIENTDATA, &self);
        return const_cast<char*>(static_cast<LineInput*>(self)->prompt_.c_str());
    }

    bool interactive_;
    std::string history_path_;
    std::string prompt_;
    EditLine* el_ = nullptr;
    History* history_ = nullptr;
};

}  // namespace ulk::chat
