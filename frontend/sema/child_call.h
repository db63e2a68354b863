// Work on input other people made -- Clang on a script's C text and the
// headers it includes, libdw on a probed binary's DWARF -- in a forked child
// process, so that a crash or a hang inside those libraries becomes an error
// dptrace can locate, not a dead root process. The child encodes its answer
// (codec.h), sends it through a pipe and ends with _exit; the parent decodes
// it with the checked Reader.
#pragma once

#include <functional>
#include <string>

#include "codec.h"

namespace dptrace {

struct ChildEnd {
  enum class How { Answered, CannotStart, Late, Crashed, NoAnswer } how = How::Answered;
  std::string detail;  // CannotStart: strerror; Crashed: the signal's name; NoAnswer: "exit status N"
  int seconds = 0;     // the bound it was given
  bool answered() const { return how == How::Answered; }
};

// Runs `work` in a child and returns what it produced in `answer`; a child
// that runs longer than `seconds` is killed (Late).
ChildEnd runInChild(const std::function<std::string()>& work, int seconds, std::string& answer);

// `work`'s result, computed in a child and decoded here. NoAnswer, and
// `result` empty, when the bytes do not decode as a T.
template <class T, class Work>
ChildEnd callInChild(Work&& work, int seconds, T& result) {
  std::string bytes;
  ChildEnd end = runInChild(
      [&work] {
        Writer w;
        w(work());
        return w.text();
      },
      seconds, bytes);
  if (!end.answered()) return end;
  Reader r(bytes);
  r(result);
  if (!r.ok()) {
    result = T{};  // nothing of a part-decoded answer is used
    end = ChildEnd{ChildEnd::How::NoAnswer, "an answer that does not decode", seconds};
  }
  return end;
}

// A bound in seconds from the environment variable `name`, else `fallback`.
int secondsFromEnvironment(const char* name, int fallback);

}  // namespace dptrace
