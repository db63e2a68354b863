// The perf events of software:EVENT:N and hardware:EVENT:N, by bpftrace's
// names and aliases, with the counts bpftrace samples them at by default.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace dptrace {

struct PerfEventInfo {
  const char* name;   // canonical: "cpu-clock"
  const char* alias;  // "cpu", or null
  bool hardware;      // PERF_TYPE_HARDWARE, else PERF_TYPE_SOFTWARE
  uint32_t config;    // PERF_COUNT_HW_* / PERF_COUNT_SW_*
  uint64_t defaultPeriod;
};

std::span<const PerfEventInfo> perfEvents();
// By name or alias, of the right type; null if unknown.
const PerfEventInfo* findPerfEvent(std::string_view name, bool hardware);

}  // namespace dptrace
