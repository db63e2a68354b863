// Every builtin name of the language in one table: values (pid, retval),
// packet views (ip, udp), functions, aggregations, map functions and packet
// actions. Later stages add their typing and lowering hooks to these rows.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "ast.h"
#include "probe_kind.h"

namespace dptrace {

enum class BuiltinKind { Value, PacketView, Function, Aggregation, MapFunction, Action };

struct BuiltinInfo {
  const char* name;
  BuiltinKind kind;
  int minArgs;            // functions only
  int maxArgs;            // -1: any number
  const char* signature;  // "lhist(x, min, max, step)", or the value's name
  const char* summary;
  ProbeKinds onlyIn;      // the probe kinds where it exists
};

std::span<const BuiltinInfo> allBuiltins();

// capture(N): N from 1 to this (a jumbo frame), the bytes of one ring-buffer record.
inline constexpr uint32_t kMaxCaptureBytes = 9216;

// bpftrace 0.17's builtins and functions that dptrace does not have yet:
// what each one is, for an error that says so (null for other names).
const char* bpftraceOnlyBuiltin(std::string_view name);
const BuiltinInfo* findBuiltin(std::string_view name);  // arg0..arg9 all find "argN"
bool isFunctionKind(BuiltinKind kind);
const char* kindName(BuiltinKind kind);

// kstack(MODE, N) and ustack(MODE, N) as bpftrace takes them: a mode
// (bpftrace, perf), a number of frames (1..127), or both; bare kstack is
// bpftrace mode with 127. nullopt with `error` for anything else.
struct StackOptions {
  bool perf = false;
  uint32_t frames = 127;
  int64_t encoded() const { return frames | (perf ? 1 << 8 : 0); }  // in TypeTable::values
  static StackOptions decoded(int64_t v) { return {(v & (1 << 8)) != 0, static_cast<uint32_t>(v & 0xff)}; }
};
std::optional<StackOptions> stackOptions(const ast::Call& call, std::string& error);

}  // namespace dptrace
