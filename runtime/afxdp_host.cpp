#include "afxdp_host.h"

#include <sched.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "aggregation.h"

namespace dptrace {
namespace {

UserMap* mapOf(void* global) { return *static_cast<UserMap**>(global); }

void* mapLookup(void* global, const void* key) { return mapOf(global)->lookup(key); }

long mapUpdate(void* global, const void* key, const void* value, uint64_t) {
  return mapOf(global)->update(key, value) ? 0 : -E2BIG;
}

long mapDelete(void* global, const void* key) { return mapOf(global)->remove(key) ? 0 : -ENOENT; }

uint64_t ktimeNs() {  // the clock of bpf_ktime_get_ns
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t currentCpu() {
  int cpu = sched_getcpu();
  return cpu < 0 ? 0 : static_cast<uint64_t>(cpu);
}

// bpf_xdp_adjust_head: the frame starts `delta` bytes later (earlier when
// negative), within its buffer and leaving at least an Ethernet header.
long adjustHead(HostPacket* p, long delta) {
  uint8_t* data = p->data + delta;
  if (data < p->frame + kHostFrameReserve || data + 14 > p->dataEnd) return -EINVAL;
  p->data = data;
  return 0;
}

long ringbufOutput(void* global, const void* data, uint64_t size, uint64_t) {
  const EventSink* sink = *static_cast<EventSink**>(global);
  sink->deliver(sink->context, static_cast<const uint8_t*>(data), size);
  return 0;
}

uint64_t ringbufQuery(void*, uint64_t) { return 0; }  // delivered at once: nothing pending

const std::map<std::string, void*>& externals() {
  static const std::map<std::string, void*> table = {
      {kHostMapLookup, reinterpret_cast<void*>(&mapLookup)},
      {kHostMapUpdate, reinterpret_cast<void*>(&mapUpdate)},
      {kHostMapDelete, reinterpret_cast<void*>(&mapDelete)},
      {kHostKtimeNs, reinterpret_cast<void*>(&ktimeNs)},
      {kHostCpu, reinterpret_cast<void*>(&currentCpu)},
      {kHostAdjustHead, reinterpret_cast<void*>(&adjustHead)},
      {kHostRingbufOutput, reinterpret_cast<void*>(&ringbufOutput)},
      {kHostRingbufQuery, reinterpret_cast<void*>(&ringbufQuery)},
      // What LLVM calls for large copies and fills.
      {"memcpy", reinterpret_cast<void*>(static_cast<void* (*)(void*, const void*, size_t)>(&std::memcpy))},
      {"memmove", reinterpret_cast<void*>(static_cast<void* (*)(void*, const void*, size_t)>(&std::memmove))},
      {"memset", reinterpret_cast<void*>(static_cast<void* (*)(void*, int, size_t)>(&std::memset))},
  };
  return table;
}

}  // namespace

bool AfxdpHost::load(const CompiledScript& script, uint32_t mapSize, EventSink sink, uint64_t startNs, std::string& error) {
  if (!code_.load(script.hostObject, externals(), error)) return false;
  sink_ = sink;
  auto place = [&](const std::string& symbol, void* what) {
    void* global = code_.symbol(symbol);
    if (global) *static_cast<void**>(global) = what;
  };
  maps_.resize(script.maps.size());
  for (size_t i = 0; i < script.maps.size(); ++i) {
    const MapLayout& l = script.maps[i];
    if (!l.userSpace) continue;
    maps_[i] = std::make_unique<UserMap>(l.keySize, l.valueSize, l.array ? l.arraySlots : mapSize, l.array);
    place(l.symbol, maps_[i].get());
  }
  lost_ = std::make_unique<UserMap>(4, 8, 1, true);
  refused_ = std::make_unique<UserMap>(4, 8, static_cast<uint32_t>(std::max<size_t>(1, script.maps.size())), true);
  start_ = std::make_unique<UserMap>(4, 8, 1, true);
  uint32_t zero = 0;
  start_->update(&zero, &startNs);
  place(script.lostMap, lost_.get());
  place(script.refusedMap, refused_.get());
  place(script.startMap, start_.get());
  place(script.eventsMap, &sink_);
  loopCap_ = std::make_unique<UserMap>(4, 8, 1, true);
  place(kHostLoopCapSymbol, loopCap_.get());
  for (const AfxdpBody& b : script.afxdp) {
    void* fn = code_.symbol(b.function);
    if (!fn) {
      error = "the afxdp host code has no function " + b.function;
      return false;
    }
    bodies_.push_back(reinterpret_cast<BodyFunction>(fn));
  }
  return true;
}

}  // namespace dptrace
