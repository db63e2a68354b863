// Tracepoint arguments from the kernel's format files
// (tracefs: events/CATEGORY/NAME/format), as typed fields of `args`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "type.h"

namespace dptrace {

struct TracepointField {
  std::string name;
  std::string declaration;  // as the format writes it: "const char * filename"
  Type type;                // void when dptrace cannot read the field
  uint32_t offset = 0;
  uint32_t size = 0;
  bool dataLoc = false;     // __data_loc: a (length << 16 | offset) to the real bytes
};

struct TracepointFormat {
  std::string category, name;
  uint32_t id = 0;
  std::vector<TracepointField> fields;  // without the common_* header fields

  const TracepointField* field(std::string_view n) const;
};

// Parses the text of one format file; on failure returns nullopt and says why.
std::optional<TracepointFormat> parseTracepointFormat(std::string_view text, std::string& error);

// The events directory of tracefs: $DPTRACE_TRACEFS/events when set (tests use
// a fixture tree), else /sys/kernel/tracing, mounting tracefs there if it is
// absent, else /sys/kernel/debug/tracing. Empty with `error` set if none.
std::string tracefsEventsDir(std::string& error);

// Every tracepoint of tracefs as category:name pairs, sorted (empty with
// `error` set when tracefs cannot be read).
std::vector<std::pair<std::string, std::string>> listTracepoints(std::string& error);

// Reads and parses events/CATEGORY/NAME/format.
std::optional<TracepointFormat> loadTracepointFormat(const std::string& category, const std::string& name,
                                                     std::string& error);

}  // namespace dptrace
