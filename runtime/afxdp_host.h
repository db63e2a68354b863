// The host side of afxdp bodies: their user-space maps, the runtime
// functions their code calls where BPF code calls helpers (host_abi.h), and
// the loaded code itself.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "host_abi.h"
#include "native_code.h"
#include "program_info.h"
#include "user_map.h"

namespace dptrace {

// Where a body's ring-buffer records go: straight to the run's event handler.
struct EventSink {
  void (*deliver)(void* context, const uint8_t* data, size_t size);
  void* context;
};

using BodyFunction = int (*)(HostPacket*);

class AfxdpHost {
public:
  // Creates the user-space maps of `script` (`mapSize` entries each, arrays
  // as the layout says) and loads its host code. False with `error`.
  bool load(const CompiledScript& script, uint32_t mapSize, EventSink sink, uint64_t startNs, std::string& error);

  BodyFunction body(size_t index) const { return bodies_.at(index); }
  // A user-space map by its index in CompiledScript::maps; null for kernel maps.
  UserMap* map(size_t index) const { return index < maps_.size() ? maps_[index].get() : nullptr; }
  // Records the host code could not deliver (never, today) and refused updates per map.
  UserMap& lost() { return *lost_; }
  UserMap& refused() { return *refused_; }
  UserMap& loopCap() { return *loopCap_; }  // loops a frame's budget cut short

private:
  NativeCode code_;
  std::vector<std::unique_ptr<UserMap>> maps_;
  std::unique_ptr<UserMap> lost_, refused_, start_, loopCap_;
  EventSink sink_{};
  std::vector<BodyFunction> bodies_;
};

}  // namespace dptrace
