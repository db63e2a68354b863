// dptrace -l [-v] [PATTERN]: the probes this machine offers.
#pragma once

#include <iosfwd>
#include <string>

namespace dptrace {

// Without a pattern: every tracepoint and an xdp probe per network interface.
// 'uprobe:BIN:PAT' lists BIN's functions; 'fentry:*' the kernel's (BTF);
// other patterns filter the default list (wildcards * and ?). verbose adds
// each tracepoint's fields. Returns the exit status (1 when nothing matches).
int listProbes(const std::string& pattern, bool verbose, std::ostream& out, std::ostream& err);

}  // namespace dptrace
