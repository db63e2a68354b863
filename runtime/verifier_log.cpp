// The verifier's refusals in words (verifier_log.h).
#include "verifier_log.h"

namespace dptrace {

bool isLoopRefusal(const std::string& log) {
  return log.find("infinite loop") != std::string::npos || log.find("back-edge") != std::string::npos ||
         log.find("too many instructions") != std::string::npos ||
         log.find("BPF program is too large") != std::string::npos || log.find("jumps is too complex") != std::string::npos;
}

// Why the verifier refused a program, in words, from the last lines of its log.
std::string explainRefusal(const std::string& log) {
  // A bounded loop is walked once per iteration: a long one with a heavy
  // body (printf, map updates) passes the verifier's budget though it ends.
  bool budget = log.find("BPF program is too large") != std::string::npos ||
                log.find("too many instructions") != std::string::npos;
  if (budget && log.find("infinite loop") == std::string::npos && log.find("back-edge") == std::string::npos)
    return "the kernel's verifier checks a loop once per iteration, and this one's iterations times its body "
           "passed its budget of 1,000,000 instructions; give the loop a smaller limit (while ($i < n && $i < 256)), "
           "or keep printf() and map updates out of long loops";
  // Each iteration's branches (a map update's lookup has one) wait to be
  // walked: a long bounded loop passes the 8,192 the verifier keeps.
  if (log.find("jumps is too complex") != std::string::npos && log.find("infinite loop") == std::string::npos)
    return "the kernel's verifier checks a loop once per iteration and keeps each iteration's branches (a map "
           "update has some) to walk later, and this loop's passed its limit of 8,192; give the loop a smaller "
           "limit (while ($i < n && $i < 1000)), or keep map updates out of long loops";
  if (isLoopRefusal(log))
    return "the kernel's verifier could not prove that a loop ends; give 'while' a constant limit in its "
           "condition, e.g. while ($i < n && $i < 32), or use unroll (N)";
  if (size_t at = log.find("failed to resolve CO-RE relocation"); at != std::string::npos) {
    size_t struct_ = log.find("struct ", at);
    std::string what = struct_ == std::string::npos ? "a kernel struct field the script reads"
                                                     : log.substr(struct_, log.find_first_of(" \n", struct_ + 7) - struct_);
    return "this kernel has no " + what + " (the field moved out or was renamed since the BTF the script was "
           "compiled against); read another field, or compile against this kernel's BTF (no --btf)";
  }
  if (log.find("failed to find kernel BTF type ID") != std::string::npos)
    return "this kernel has no such function or tracepoint (it may exist only in the BTF given with --btf)";
  if (log.find("combined stack size") != std::string::npos || log.find("stack depth") != std::string::npos ||
      (log.find("invalid") != std::string::npos && log.find("stack R10 off=-5") != std::string::npos))
    return "the program needs more than 512 bytes of stack; use fewer or shorter strings";
  if (log.find("misaligned") != std::string::npos)
    return "dptrace generated a misaligned memory access, which is a bug in dptrace: please report it with the script";
  return "the kernel's verifier refused it; run with -v to see its log";
}

}  // namespace dptrace
