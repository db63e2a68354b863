// Where dptrace's modules are: the installed layout (bin/dptrace,
// lib/dptrace/*.so, share/dptrace/...) relative to the running executable
// first, then the configured install path, then -- for a program that runs
// from the build tree itself (a fuzzer, a unit test) -- the build tree's.
// Never the build tree from an installed binary: a module of another build
// would be loaded into a root process.
#pragma once

#include <string>
#include <vector>

namespace dptrace {

// The first of `candidates` that exists; relative ones are taken from the
// directory of the running executable. Empty when none exists.
std::string firstExistingPath(const std::vector<std::string>& candidates);

// `path` (a module in this build tree: BUILD/lib/dptrace/NAME) when the
// running executable is inside BUILD too, else "" (which firstExistingPath skips).
std::string ifRunFromBuildTree(const std::string& path);

// dlopen()s `path` (once per process) and returns `symbol`, or null with `error`.
void* loadModuleSymbol(const std::string& path, const char* symbol, std::string& error);

}  // namespace dptrace
