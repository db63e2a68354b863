// Where dptrace's modules are: the installed layout (bin/dptrace,
// lib/dptrace/*.so, share/dptrace/...) relative to the running executable
// first, then the configured install path, then this build tree.
#pragma once

#include <string>
#include <vector>

namespace dptrace {

// The first of `candidates` that exists; relative ones are taken from the
// directory of the running executable. Empty when none exists.
std::string firstExistingPath(const std::vector<std::string>& candidates);

// dlopen()s `path` (once per process) and returns `symbol`, or null with `error`.
void* loadModuleSymbol(const std::string& path, const char* symbol, std::string& error);

}  // namespace dptrace
