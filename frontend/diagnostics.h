// The one sink every stage reports its errors to, and how they are shown.
//
//   script.dpt:3:14: error: unknown probe type 'xpd'
//   xpd:veth0 { @n = count(); }
//   ^~~~~~~~~
//   hint: did you mean 'xdp'?
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "source.h"

namespace dptrace {

enum class Severity { Error, Warning };

// A second place a diagnostic involves ("the other lhist() is here").
struct DiagnosticNote {
  SourceRange range;
  std::string message;
};

struct Diagnostic {
  Severity severity = Severity::Error;
  SourceRange range;
  std::string message;
  std::string hint;  // empty when there is nothing useful to add
  std::vector<DiagnosticNote> notes;
  bool located = true;  // false: about the run, not a place in the script ("dptrace: error: ...")
};

class Diagnostics {
public:
  explicit Diagnostics(const SourceFile& file) : file_(&file) {}

  void error(SourceRange range, std::string message, std::string hint = {});
  // An error that is the system's, not the script's (no privileges): the run
  // then ends with exit status 2 instead of 1.
  void systemError(SourceRange range, std::string message, std::string hint = {});
  // An error of the run that no place in the script caused (a missing capture file).
  void errorUnlocated(std::string message, std::string hint = {});
  bool hasSystemErrors() const { return systemErrors_; }
  void warning(SourceRange range, std::string message, std::string hint = {});
  // Adds a located note to the diagnostic reported last.
  void note(SourceRange range, std::string message);

  bool hasErrors() const { return errorCount_ > 0; }
  size_t errorCount() const { return errorCount_; }
  const std::vector<Diagnostic>& all() const { return diagnostics_; }
  const SourceFile& file() const { return *file_; }

  // Writes the diagnostics reported since the last print, in order (each
  // stage prints what it found: a warning is said once).
  void print(std::ostream& out, bool color) const;
  // --no-warnings: print() leaves warnings out (they are still recorded).
  void showWarnings(bool show) { showWarnings_ = show; }

private:
  const SourceFile* file_;
  bool showWarnings_ = true;
  std::vector<Diagnostic> diagnostics_;
  size_t errorCount_ = 0;
  bool systemErrors_ = false;
  mutable size_t printed_ = 0;
};

// Renders one diagnostic: the located message, the source line, a caret
// under the start of the range with '~' under the rest of it on that line,
// and the hint if there is one.
std::string renderDiagnostic(const SourceFile& file, const Diagnostic& diagnostic, bool color);

// "0x2090": an address or offset as messages show it.
std::string hexNumber(uint64_t v);

}  // namespace dptrace
