// Stage 8: load the object, attach every probe through a bpf_link, run
// BEGIN, print what the ring buffer brings until exit() or a signal, then
// detach, run END, and print the maps.
#pragma once

#include <optional>
#include <string>

#include "diagnostics.h"
#include "output/output.h"
#include "program_info.h"

namespace dptrace {

struct RunOptions {
  bool verbose = false;
  std::optional<int> pid;              // -p: uprobes of this process only; end when it exits
  std::optional<std::string> command;  // -c: start it, trace it, end when it exits
};

// Returns the exit status: 0, 1 (the script cannot work here: a refused
// program, a missing target), or 2 (the system failed: privileges, memory).
int runScript(const CompiledScript& script, const RunOptions& options, Output& out, Diagnostics& diags);

}  // namespace dptrace
