// Where a run's output goes, as text (bpftrace 0.17's layout) or as JSON
// lines (one object per line, bpftrace's shapes).
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "value.h"

namespace dptrace {

class Output {
public:
  virtual ~Output() = default;
  // "Attaching N probes..." (text: on stderr) / {"type": "attached_probes", ...}
  virtual void attached(int probes) = 0;
  // The text printf() produced.
  virtual void printf(const std::string& text) = 0;
  // One map, entries as read; printers sort them (by value, as bpftrace does).
  virtual void map(const MapSnapshot& map) = 0;
  // One emit() record: its fields in the order the script names them.
  virtual void event(const std::string& probe, const std::vector<std::pair<std::string, Value>>& fields) = 0;
  // Before the maps printed at exit.
  virtual void beginExitMaps() = 0;
};

// `out` for the script's output, `err` for "Attaching ..." in text mode.
std::unique_ptr<Output> makeTextOutput(std::ostream& out, std::ostream& err);
std::unique_ptr<Output> makeJsonOutput(std::ostream& out);

// The text of one histogram bucket as bpftrace prints it: [0], [1], [2, 4),
// [512, 1K), (..., 0) ...
std::string histogramLabel(size_t index);
std::string linearHistogramLabel(const LinearHistogram& h, size_t index);

// printf(): the format applied to the values (conversions as the type checker
// accepted them: %d %i %u %x %X %o %c %p %s with flags, width, precision, sizes).
std::string formatPrintf(const std::string& format, const std::vector<Value>& args);

}  // namespace dptrace
