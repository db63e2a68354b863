// dptrace -l [-v] [PATTERN]: the probes this machine offers.
#pragma once

#include <iosfwd>
#include <string>

namespace dptrace {

class KernelBtf;

// Without a pattern: every tracepoint and an xdp probe per network interface.
// 'uprobe:BIN:PAT' lists BIN's functions; 'fentry:*' and 'rawtracepoint:*'
// the kernel's and its modules' (BTF, with --btf-module ones); other patterns
// filter the default list (wildcards * and ?). verbose adds each
// tracepoint's fields and each function's typed arguments. Returns the exit
// status (1 when nothing matches).
int listProbes(std::string pattern, bool verbose, KernelBtf& kernel, std::ostream& out, std::ostream& err);

}  // namespace dptrace
