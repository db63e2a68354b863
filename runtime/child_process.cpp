#include "child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace dptrace {

std::optional<std::string> findProgram(const std::string& word) {
  auto runnable = [](const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
  };
  if (word.find('/') != std::string::npos) return runnable(word) ? std::optional<std::string>(word) : std::nullopt;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && runnable(dir + "/" + word)) return dir + "/" + word;
  return std::nullopt;
}

std::optional<std::string> ChildProcess::start(const std::string& command) {
  std::istringstream split(command);
  for (std::string w; split >> w;) words_.push_back(w);
  if (words_.empty()) return "-c needs a command to run";
  std::optional<std::string> program = findProgram(words_[0]);
  if (!program) {
    bool path = words_[0].find('/') != std::string::npos;
    struct stat st {};
    std::string why = !path ? "not found on PATH"
                      : stat(words_[0].c_str(), &st) != 0 ? std::strerror(errno)
                      : S_ISDIR(st.st_mode)               ? "it is a directory"
                                                          : "it is not executable";
    return "cannot run '" + words_[0] + "': " + why;
  }
  int gate[2], status[2];
  if (pipe2(gate, O_CLOEXEC) != 0) return std::string("cannot start the command: ") + std::strerror(errno);
  if (pipe2(status, O_CLOEXEC) != 0) {
    close(gate[0]), close(gate[1]);
    return std::string("cannot start the command: ") + std::strerror(errno);
  }
  // Everything the child needs is made before the fork: once released, it
  // runs no library code of dptrace's (execvp would search PATH with strchr,
  // strlen and memcpy, which -c's uprobes would count as the command's, and
  // hand a file the kernel cannot run to /bin/sh), only execve.
  std::vector<char*> argv;
  for (std::string& w : words_) argv.push_back(w.data());
  argv.push_back(nullptr);
  pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) {
    close(gate[0]), close(gate[1]), close(status[0]), close(status[1]);
    return std::string("cannot start the command: ") + std::strerror(errno);
  }
  if (pid_ == 0) {
    // A SIGKILL of dptrace must not leave the command running untraced.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // dptrace died before the line above
    close(gate[1]);
    close(status[0]);
    char byte;  // released when the parent closes its end (EOF)
    while (read(gate[0], &byte, 1) > 0) {
    }
    execve(program->c_str(), argv.data(), environ);
    int e = errno;
    ssize_t ignored = write(status[1], &e, sizeof e);
    (void)ignored;
    _exit(127);
  }
  close(gate[0]);
  close(status[1]);
  gate_ = gate[1];
  execStatus_ = status[0];
  return std::nullopt;
}

std::optional<std::string> ChildProcess::release() {
  if (pid_ <= 0 || released_) return std::nullopt;
  close(gate_);
  gate_ = -1;
  released_ = true;
  // EOF (exec closed the pipe) is success; four bytes are exec's errno.
  int e = 0;
  ssize_t n;
  do n = read(execStatus_, &e, sizeof e);
  while (n < 0 && errno == EINTR);
  close(execStatus_);
  execStatus_ = -1;
  if (n == static_cast<ssize_t>(sizeof e)) {
    reap();
    return "cannot run '" + words_[0] + "': " + std::strerror(e);
  }
  return std::nullopt;
}

int ChildProcess::reap() {
  if (pid_ <= 0 || reaped_) return 0;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  return status;
}

int ChildProcess::stop(int graceMs) {
  if (pid_ <= 0 || reaped_) return 0;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    reaped_ = true;
    return status;
  }
  kill(pid_, SIGTERM);
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    while (poll(&p, 1, graceMs) < 0 && errno == EINTR) {
    }
    close(pidfd);
  }
  if (waitpid(pid_, &status, WNOHANG) != pid_) {
    kill(pid_, SIGKILL);
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  reaped_ = true;
  return status;
}

ChildProcess::~ChildProcess() {
  if (pid_ <= 0) return;
  if (!released_) {  // never ran its command: it must not run it untraced now
    kill(pid_, SIGKILL);
    if (gate_ >= 0) close(gate_);
    if (execStatus_ >= 0) close(execStatus_);
    reap();
    return;
  }
  stop();
}

}  // namespace dptrace
