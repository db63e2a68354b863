#include "child_call.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

namespace dptrace {

int secondsFromEnvironment(const char* name, int fallback) {
  if (const char* s = std::getenv(name); s && std::atoi(s) > 0) return std::atoi(s);
  return fallback;
}

ChildEnd runInChild(const std::function<std::string()>& work, int seconds, std::string& answer) {
  // What this process buffered must not be written twice (by the child too).
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  int pipeFds[2];
  if (pipe2(pipeFds, O_CLOEXEC) != 0) return ChildEnd{ChildEnd::How::CannotStart, std::strerror(errno), seconds};
  pid_t parent = getpid();
  pid_t child = fork();
  if (child < 0) {
    int e = errno;
    close(pipeFds[0]);
    close(pipeFds[1]);
    return ChildEnd{ChildEnd::How::CannotStart, std::strerror(e), seconds};
  }
  if (child == 0) {
    close(pipeFds[0]);
    // Ends with dptrace, however dptrace ends (a SIGTERM to it alone): the
    // bound is kept by the parent.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(4);
    std::string bytes = work();
    for (size_t at = 0; at < bytes.size();) {
      ssize_t n = write(pipeFds[1], bytes.data() + at, bytes.size() - at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) _exit(3);
      at += static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(pipeFds[1]);
  answer.clear();
  bool late = false;
  for (int waited = 0;;) {
    pollfd p{pipeFds[0], POLLIN, 0};
    int ready = poll(&p, 1, 1000);
    if (ready == 0) {
      if (++waited >= seconds) {
        late = true;
        break;
      }
      continue;
    }
    if (ready < 0 && errno == EINTR) continue;
    char buffer[65536];
    ssize_t n = read(pipeFds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buffer, static_cast<size_t>(n));
  }
  close(pipeFds[0]);
  if (late) kill(child, SIGKILL);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (late) return ChildEnd{ChildEnd::How::Late, "", seconds};
  if (WIFSIGNALED(status)) return ChildEnd{ChildEnd::How::Crashed, strsignal(WTERMSIG(status)), seconds};
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return ChildEnd{ChildEnd::How::NoAnswer,
                    "exit status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1), seconds};
  return ChildEnd{ChildEnd::How::Answered, "", seconds};
}

}  // namespace dptrace
