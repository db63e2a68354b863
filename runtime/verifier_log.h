// The kernel verifier's log, read for the user: why it refused a program.
#pragma once

#include <string>

namespace dptrace {

// The refusal is about a loop (unbounded, or past a budget): the error points at the loop.
bool isLoopRefusal(const std::string& log);

// Why the verifier refused a program, in words and with what to do, from
// the last lines of its log.
std::string explainRefusal(const std::string& log);

}  // namespace dptrace
