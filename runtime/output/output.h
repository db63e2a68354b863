// Where a run's output goes, as text (bpftrace 0.17's layout) or as JSON
// lines (one object per line, bpftrace's shapes).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "value.h"

namespace dptrace {

// A message of the run that is not the script's output: lost events, full
// maps, skipped frames, a warning. Text: `text` on stderr as it is; JSON: one
// object {"type": TYPE, "data": {...}} in the JSON stream, so that -f json
// output holds nothing but JSON lines.
struct Notice {
  std::string type;  // lost_events, map_full, pcap_skipped, pcap_truncated, warning
  std::string text;  // the whole text, lines ending in '\n'
  std::vector<std::pair<std::string, Value>> data;
};

class Output {
public:
  virtual ~Output() = default;
  // "Attaching N probes..." (text: on stderr) / {"type": "attached_probes", ...}
  virtual void attached(int probes) = 0;
  // The text printf() produced.
  virtual void printf(const std::string& text) = 0;
  // A value print(x) printed: its text and a line break (JSON: {"type": "value", ...}).
  virtual void value(const Value& v) = 0;
  // The text time() produced (JSON: {"type": "time", ...}, as bpftrace writes it).
  virtual void time(const std::string& text) = 0;
  // The strings join() joined (text: a line; JSON: {"type": "join", ...}).
  virtual void join(const std::string& text) = 0;
  // A file's contents (cat()) and a command's output (system()): text as it
  // is; JSON: {"type": "cat" | "system", "data": ...}.
  virtual void raw(const std::string& type, const std::string& text) = 0;
  virtual void notice(const Notice& notice) = 0;
  // One map, entries as read; printers sort them (by value, as bpftrace does).
  virtual void map(const MapSnapshot& map) = 0;
  // One emit() record: its fields in the order the script names them.
  virtual void event(const std::string& probe, const std::vector<std::pair<std::string, Value>>& fields) = 0;
  // Before the maps printed at exit.
  virtual void beginExitMaps() = 0;
};

// "1 record", "3 records": a count and its noun, for notices.
inline std::string plural(uint64_t n, const char* one) { return std::to_string(n) + " " + one + (n == 1 ? "" : "s"); }

// `out` for the script's output, `err` for "Attaching ..." in text mode.
std::unique_ptr<Output> makeTextOutput(std::ostream& out, std::ostream& err);
std::unique_ptr<Output> makeJsonOutput(std::ostream& out);
// Every call to `first`, then to `second` (--export: the JSON lines beside the run's output).
std::unique_ptr<Output> makeTeeOutput(Output& first, Output& second);

// A JSON string: quotes, backslashes and control characters escaped, and
// bytes that are not UTF-8 written as the code point of the same value
// (\u00XX), so that every line stays valid JSON whatever a string holds.
std::string jsonQuote(const std::string& s);

// The text of one histogram bucket as bpftrace prints it: [0], [1], [2, 4),
// [512, 1K), (..., 0) ...
std::string histogramLabel(size_t index);
std::string linearHistogramLabel(const LinearHistogram& h, size_t index);

// printf(): the format applied to the values (conversions as the type checker
// accepted them: %d %i %u %x %X %o %c %p %s with flags, width, precision, sizes).
std::string formatPrintf(const std::string& format, const std::vector<Value>& args);

}  // namespace dptrace
