#include "perf_events.h"

#include <array>

namespace dptrace {
namespace {

// linux/perf_event.h's enum perf_sw_ids and perf_hw_id.
constexpr std::array kEvents = {
    PerfEventInfo{"cpu-clock", "cpu", false, 0, 1000000},
    PerfEventInfo{"task-clock", nullptr, false, 1, 1},
    PerfEventInfo{"page-faults", "faults", false, 2, 100},
    PerfEventInfo{"context-switches", "cs", false, 3, 1000},
    PerfEventInfo{"cpu-migrations", nullptr, false, 4, 1},
    PerfEventInfo{"minor-faults", nullptr, false, 5, 100},
    PerfEventInfo{"major-faults", nullptr, false, 6, 1},
    PerfEventInfo{"alignment-faults", nullptr, false, 7, 1},
    PerfEventInfo{"emulation-faults", nullptr, false, 8, 1},
    PerfEventInfo{"dummy", nullptr, false, 9, 1},
    PerfEventInfo{"bpf-output", nullptr, false, 10, 1},
    PerfEventInfo{"cpu-cycles", "cycles", true, 0, 1000000},
    PerfEventInfo{"instructions", nullptr, true, 1, 1000000},
    PerfEventInfo{"cache-references", nullptr, true, 2, 1000000},
    PerfEventInfo{"cache-misses", nullptr, true, 3, 1000000},
    PerfEventInfo{"branch-instructions", "branches", true, 4, 100000},
    PerfEventInfo{"branch-misses", nullptr, true, 5, 100000},
    PerfEventInfo{"bus-cycles", nullptr, true, 6, 100000},
    PerfEventInfo{"frontend-stalls", nullptr, true, 7, 1000000},
    PerfEventInfo{"backend-stalls", nullptr, true, 8, 1000000},
    PerfEventInfo{"ref-cycles", nullptr, true, 9, 1000000},
};

}  // namespace

std::span<const PerfEventInfo> perfEvents() { return kEvents; }

const PerfEventInfo* findPerfEvent(std::string_view name, bool hardware) {
  for (const PerfEventInfo& e : kEvents)
    if (e.hardware == hardware && (name == e.name || (e.alias && name == e.alias))) return &e;
  return nullptr;
}

}  // namespace dptrace
