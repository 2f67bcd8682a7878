#pragma once
// Running a program the way a user does: with pipes on its standard streams (run_process), or
// on a pseudo-terminal with keys typed into it (PtySession). POSIX only; for the ulk-chat tests.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ulk::test {

struct ProcessResult {
    int exit_code = -1;  // 128 + signal when killed by one
    std::string out, err;
    bool timed_out = false;
};

namespace detail {
inline std::vector<char*> argv_of(std::vector<std::string>& args) {
    std::vector<char*> v;
    for (auto& a : args) v.push_back(a.data());
    v.push_back(nullptr);
    return v;
}
inline int exit_code_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}
}  // namespace detail

// Runs args[0] with `input` on standard input, collecting standard output and error. Kills it
// after timeout_s seconds (timed_out is then true). `cwd`: working directory (empty: ours).
inline ProcessResult run_process(std::vector<std::string> args, std::string_view input, double timeout_s = 60,
                                 const std::string& cwd = {}) {
    int in[2], out[2], err[2];
    if (pipe(in) || pipe(out) || pipe(err)) throw std::runtime_error("pipe failed");
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
        if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
        auto argv = detail::argv_of(args);
        execv(argv[0], argv.data());
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    signal(SIGPIPE, SIG_IGN);
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    ProcessResult r;
    std::size_t written = 0;
    int in_fd = in[1];
    if (input.empty()) {
        close(in_fd);
        in_fd = -1;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    bool out_open = true, err_open = true;
    while (out_open || err_open) {
        pollfd fds[3] = {{out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0}, {in_fd, POLLOUT, 0}};
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) {
            r.timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        if (poll(fds, 3, int(std::min<long long>(left, 1000))) < 0) continue;
        char buf[65536];
        for (int k = 0; k < 2; ++k) {
            if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            const ssize_t n = read(fds[k].fd, buf, sizeof buf);
            if (n > 0) (k == 0 ? r.out : r.err).append(buf, std::size_t(n));
            else (k == 0 ? out_open : err_open) = false;
        }
        if (in_fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            const ssize_t n = write(in_fd, input.data() + written, input.size() - written);
            if (n > 0) written += std::size_t(n);
            if (n < 0 || written == input.size()) {
                close(in_fd);
                in_fd = -1;
            }
        }
    }
    if (in_fd >= 0) close(in_fd);
    close(out[0]);
    close(err[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    r.exit_code = detail::exit_code_of(status);
    return r;
}

// A program on a pseudo-terminal: what it prints is collected; keys are written as bytes.
class PtySession {
public:
    explicit PtySession(std::vector<std::string> args, std::vector<std::string> env = {}) {
        winsize ws{40, 120, 0, 0};
        pid_ = forkpty(&fd_, nullptr, nullptr, &ws);
        if (pid_ < 0) throw std::runtime_error("forkpty failed");
        if (pid_ == 0) {
            for (auto& e : env) putenv(e.data());
            auto argv = detail::argv_of(args);
            execv(argv[0], argv.data());
            _exit(127);
        }
    }
    ~PtySession() {
        if (pid_ > 0 && !exited_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        if (fd_ >= 0) close(fd_);
    }
    PtySession(const PtySession&) = delete;
    PtySession& operator=(const PtySession&) = delete;

    void send(std::string_view keys) {
        while (!keys.empty()) {
            const ssize_t n = write(fd_, keys.data(), keys.size());
            if (n <= 0) throw std::runtime_error("write to the pseudo-terminal failed");
            keys.remove_prefix(std::size_t(n));
        }
    }

    // Everything printed so far.
    const std::string& screen() const noexcept { return seen_; }

    // Waits until `text` appears after byte `from` of the output; returns where it ends, or npos
    // on timeout.
    std::size_t wait_for(std::string_view text, std::size_t from = 0, double timeout_s = 30) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
        for (;;) {
            if (const std::size_t at = seen_.find(text, from); at != std::string::npos) return at + text.size();
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
            if (left <= 0 || !pump(int(std::min<long long>(left, 200)))) {
                if (const std::size_t at = seen_.find(text, from); at != std::string::npos) return at + text.size();
                if (left <= 0 || eof_) return std::string::npos;
            }
        }
    }

    // Waits for the program to end; its exit code, or -1 on timeout.
    int wait_exit(double timeout_s = 30) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
        while (std::chrono::steady_clock::now() < deadline) {
            pump(100);
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                exited_ = true;
                while (pump(50)) {
                }
                return detail::exit_code_of(status);
            }
        }
        return -1;
    }

private:
    // Reads what is available within wait_ms; false when nothing came.
    bool pump(int wait_ms) {
        if (eof_) return false;
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, wait_ms) <= 0) return false;
        char buf[4096];
        const ssize_t n = read(fd_, buf, sizeof buf);
        if (n <= 0) {
            eof_ = true;  // EIO once the program has closed the terminal
            return false;
        }
        seen_.append(buf, std::size_t(n));
        return true;
    }

    pid_t pid_ = -1;
    int fd_ = -1;
    bool exited_ = false, eof_ = false;
    std::string seen_;
};

}  // namespace ulk::test
