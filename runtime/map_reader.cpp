#include "map_reader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "aggregation.h"
#include "decode.h"
#include "user_map.h"

namespace dptrace {
namespace {

int possibleCpus() {
  static int n = libbpf_num_possible_cpus();
  return n > 0 ? n : 1;
}

// An entry's value per CPU (or once, for maps that are not per-CPU), from
// the values the map gave for it.
std::vector<std::vector<uint8_t>> perCpuValues(const MapLayout& l, const std::vector<uint8_t>& buffer) {
  uint32_t stride = (l.valueSize + 7) / 8 * 8;
  std::vector<std::vector<uint8_t>> out;
  for (size_t i = 0; i + l.valueSize <= buffer.size(); i += stride)
    out.emplace_back(buffer.begin() + static_cast<std::ptrdiff_t>(i), buffer.begin() + static_cast<std::ptrdiff_t>(i + l.valueSize));
  return out;
}

int64_t word(const std::vector<uint8_t>& v, size_t off) {
  int64_t x = 0;
  std::memcpy(&x, v.data() + off, 8);
  return x;
}

std::vector<Value> userKey(const MapLayout& l, const std::vector<uint8_t>& bpfKey) {
  std::vector<Value> out;
  std::vector<uint8_t> key = bpfKey;
  if (l.array) {  // a u32 index: the key's value, widened to its 8-byte slot
    key.assign(8, 0);
    std::copy(bpfKey.begin(), bpfKey.end(), key.begin());
  }
  uint32_t off = 0;
  for (const Type& t : l.keys) {
    out.push_back(decodeSlot(t, key.data() + off, true));
    off += slotSize(t);
  }
  return out;
}

}  // namespace

MapAccess MapAccess::kernel(int fd) {
  MapAccess m;
  m.fd_ = fd;
  bpf_map_info info{};
  uint32_t infoSize = sizeof info;
  if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &infoSize) == 0) {
    bool perCpu = info.type == BPF_MAP_TYPE_PERCPU_HASH || info.type == BPF_MAP_TYPE_PERCPU_ARRAY;
    m.keySize_ = info.key_size;
    m.valuesSize_ = (info.value_size + 7) / 8 * 8 * static_cast<uint32_t>(perCpu ? possibleCpus() : 1);
    m.array_ = info.type == BPF_MAP_TYPE_ARRAY || info.type == BPF_MAP_TYPE_PERCPU_ARRAY;
  } else {
    m.fd_ = -1;
  }
  return m;
}

MapAccess MapAccess::user(UserMap& map) {
  MapAccess m;
  m.user_ = &map;
  return m;
}

int MapAccess::cpus(const MapLayout& l) const { return user_ || !l.perCpu ? 1 : possibleCpus(); }

std::vector<std::vector<uint8_t>> MapAccess::keys() const {
  if (user_) return user_->keys();
  std::vector<std::vector<uint8_t>> keys;
  std::vector<uint8_t> key(keySize_), next(keySize_);
  const void* previous = nullptr;
  while (bpf_map_get_next_key(fd_, previous, next.data()) == 0) {
    keys.push_back(next);
    key = next;
    previous = key.data();
    if (keys.size() > (1u << 24)) break;
  }
  return keys;
}

std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> MapAccess::entries(bool skipZero) const {
  std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> out;
  if (!user_ && array_) {
    constexpr uint32_t kBatch = 4096;
    std::vector<uint8_t> keys(size_t{kBatch} * keySize_), values(size_t{kBatch} * valuesSize_);
    uint32_t token = 0;
    bool first = true;
    for (;;) {
      uint32_t count = kBatch;
      bpf_map_batch_opts opts{};
      opts.sz = sizeof opts;
      int r = bpf_map_lookup_batch(fd_, first ? nullptr : &token, &token, keys.data(), values.data(), &count, &opts);
      int error = r < 0 ? errno : 0;
      if (r < 0 && error != ENOENT) break;  // (never: arrays have every slot) key by key below
      for (uint32_t i = 0; i < count; ++i) {
        const uint8_t* v = values.data() + size_t{i} * valuesSize_;
        if (skipZero && std::all_of(v, v + valuesSize_, [](uint8_t b) { return b == 0; })) continue;
        out.emplace_back(std::vector<uint8_t>(keys.begin() + i * keySize_, keys.begin() + (i + 1) * keySize_),
                         std::vector<uint8_t>(values.begin() + size_t{i} * valuesSize_, values.begin() + size_t{i + 1} * valuesSize_));
      }
      first = false;
      if (r < 0) return out;  // ENOENT: the last batch
    }
    out.clear();
  }
  for (auto& key : keys()) {
    std::vector<uint8_t> values;
    if (lookup(key, values)) out.emplace_back(std::move(key), std::move(values));
  }
  return out;
}

bool MapAccess::lookup(const std::vector<uint8_t>& key, std::vector<uint8_t>& values) const {
  if (user_) {
    const void* v = user_->lookup(key.data());
    if (!v) return false;
    values.assign(static_cast<const uint8_t*>(v), static_cast<const uint8_t*>(v) + user_->valueSize());
    return true;
  }
  values.assign(valuesSize_, 0);
  return bpf_map_lookup_elem(fd_, key.data(), values.data()) == 0;
}

void MapAccess::update(const std::vector<uint8_t>& key, const std::vector<uint8_t>& values) const {
  if (user_) user_->update(key.data(), values.data());
  else bpf_map_update_elem(fd_, key.data(), values.data(), BPF_EXIST);
}

void MapAccess::remove(const std::vector<uint8_t>& key) const {
  if (user_) user_->remove(key.data());
  else bpf_map_delete_elem(fd_, key.data());
}

namespace {

// Two stacks the kernel keeps apart can print alike: frames dptrace leaves
// out (a raw tracepoint's glue, those past kstack(N)) differ. They are one
// key to the reader, so the values of count(), sum(), avg(), stats(),
// hist() and lhist() are one entry, combined as the aggregation combines.
void mergeEqualKeys(MapSnapshot& snap, const MapLayout& l) {
  std::vector<MapEntry> merged;
  std::map<std::vector<Value>, size_t> at;
  for (MapEntry& e : snap.entries) {
    auto [it, fresh] = at.emplace(e.key, merged.size());
    if (fresh) {
      merged.push_back(std::move(e));
      continue;
    }
    MapValue& into = merged[it->second].value;
    if (auto* h = std::get_if<Histogram>(&into)) {
      const auto& more = std::get<Histogram>(e.value).counts;
      for (size_t i = 0; i < h->counts.size() && i < more.size(); ++i) h->counts[i] += more[i];
    } else if (auto* lh = std::get_if<LinearHistogram>(&into)) {
      const auto& more = std::get<LinearHistogram>(e.value).counts;
      for (size_t i = 0; i < lh->counts.size() && i < more.size(); ++i) lh->counts[i] += more[i];
    } else if (auto* a = std::get_if<Average>(&into)) {
      a->count += std::get<Average>(e.value).count, a->total += std::get<Average>(e.value).total;
    } else if (auto* st = std::get_if<Stats>(&into)) {
      st->count += std::get<Stats>(e.value).count, st->total += std::get<Stats>(e.value).total;
    } else if (auto* v = std::get_if<Value>(&into)) {  // count() and sum()
      const Value& other = std::get<Value>(e.value);
      if (auto* u = std::get_if<uint64_t>(&v->v); u && std::holds_alternative<uint64_t>(other.v)) *u += std::get<uint64_t>(other.v);
      else if (auto* i = std::get_if<int64_t>(&v->v); i && std::holds_alternative<int64_t>(other.v)) *i += std::get<int64_t>(other.v);
    }
  }
  snap.entries = std::move(merged);
}

}  // namespace

MapSnapshot readMap(const MapAccess& m, const MapLayout& l, const ZeroedKeys& zeroed) {
  MapSnapshot snap;
  snap.name = l.name;
  snap.keylessCount = l.role == MapRole::Count && l.keys.empty();
  snap.averages = l.role == MapRole::Avg || l.role == MapRole::Stats;
  bool histogram = l.role == MapRole::Hist || l.role == MapRole::Lhist;
  std::map<std::vector<uint8_t>, std::vector<uint64_t>> histograms;  // user key bytes -> bucket counts
  // An array's untouched slots are not printed (a zero()ed one is: 0).
  for (const auto& [key, buffer] : m.entries(l.array && zeroed.empty())) {
    auto perCpu = perCpuValues(l, buffer);
    if (perCpu.empty()) continue;
    if (histogram) {
      uint64_t bucket = static_cast<uint64_t>(word(key, l.keySize - 8));
      std::vector<uint8_t> user(key.begin(), key.end() - 8);
      auto& counts = histograms[user];
      counts.resize(l.buckets, 0);
      if (bucket < counts.size())
        for (const auto& v : perCpu) counts[bucket] += static_cast<uint64_t>(word(v, 0));
      continue;
    }
    MapEntry e;
    e.key = userKey(l, key);
    switch (l.role) {
      case MapRole::Value: e.value = decodeSlot(l.value, perCpu[0].data()); break;
      case MapRole::Count:
      case MapRole::Sum: {
        int64_t total = 0;
        bool stored = false;  // a sum's slot in an array: its presence word (a count is never 0 once counted)
        uint32_t presence = presenceWord(l.role, l.array);
        for (const auto& v : perCpu) {
          total += word(v, 0);
          stored |= presence && word(v, presence) != 0;
        }
        if (l.array && total == 0 && !stored && !zeroed.count(key)) continue;  // an index no probe counted
        bool sign = l.role == MapRole::Sum && l.value.is(TypeKind::Integer) && l.value.isSigned();
        e.value = sign ? Value::sint(total) : Value::uint(static_cast<uint64_t>(total));
        break;
      }
      case MapRole::Min:
      case MapRole::Max: {
        bool sign = l.value.is(TypeKind::Integer) && l.value.isSigned();
        bool any = false;
        int64_t best = 0;
        bool stored = false;  // zero() leaves kZeroed: held, printed as 0
        for (const auto& v : perCpu) {
          stored |= word(v, kSetWord) != 0;
          if (static_cast<uint64_t>(word(v, kSetWord)) != kPresent) continue;
          int64_t x = word(v, 0);
          bool better = sign ? (l.role == MapRole::Min ? x < best : x > best)
                             : (l.role == MapRole::Min ? static_cast<uint64_t>(x) < static_cast<uint64_t>(best)
                                                       : static_cast<uint64_t>(x) > static_cast<uint64_t>(best));
          if (!any || better) best = x;
          any = true;
        }
        if (!stored && l.array && !zeroed.count(key)) continue;  // an index no probe wrote
        // else zero() left it: 0, as bpftrace prints it
        e.value = sign ? Value::sint(best) : Value::uint(static_cast<uint64_t>(best));
        break;
      }
      case MapRole::Avg:
      case MapRole::Stats: {
        uint64_t count = 0;
        __int128 total = 0;
        bool stored = false;
        uint32_t presence = presenceWord(l.role, l.array);
        for (const auto& v : perCpu) {
          stored |= presence && word(v, presence) != 0;
          count += static_cast<uint64_t>(word(v, 0));
          auto low = static_cast<unsigned __int128>(static_cast<uint64_t>(word(v, kTotalLowWord)));
          auto high = static_cast<unsigned __int128>(static_cast<uint64_t>(word(v, kTotalHighWord)));
          total += static_cast<__int128>((high << 64) | low);
        }
        if (l.array && !stored && !zeroed.count(key)) continue;  // an index no probe wrote
        if (l.role == MapRole::Avg) e.value = Average{count, total};
        else e.value = Stats{count, total};
        break;
      }
      default: break;
    }
    snap.entries.push_back(std::move(e));
  }
  for (auto& [user, counts] : histograms) {
    MapEntry e;
    e.key = userKey(l, user);
    if (l.role == MapRole::Hist) e.value = Histogram{counts};
    else e.value = LinearHistogram{l.lhistMin, l.lhistMax, l.lhistStep, counts};
    snap.entries.push_back(std::move(e));
  }
  // (min() and max(), where a zero()ed entry would win, and plain values,
  // where the last write is not known, stay apart)
  bool combines = l.role == MapRole::Count || l.role == MapRole::Sum || l.role == MapRole::Avg || l.role == MapRole::Stats ||
                  l.role == MapRole::Hist || l.role == MapRole::Lhist;
  if (combines && std::any_of(l.keys.begin(), l.keys.end(), [](const Type& t) {
        return t.is(TypeKind::Deferred) && (t.deferredKind() == Deferred::Kstack || t.deferredKind() == Deferred::Ustack);
      }))
    mergeEqualKeys(snap, l);
  return snap;
}

void clearMap(const MapAccess& m, const MapLayout& l) {
  if (l.array) return zeroMap(m, l, nullptr);  // array entries cannot be deleted; zero ones are not printed
  for (const auto& key : m.keys()) m.remove(key);
}

void zeroMap(const MapAccess& m, const MapLayout& l, ZeroedKeys* zeroed) {
  uint32_t stride = (l.valueSize + 7) / 8 * 8;
  std::vector<uint8_t> zero(static_cast<size_t>(stride) * m.cpus(l), 0);
  // An array's slot keeps being there after zero() (as a hash's entry does),
  // for every reader of the map: its presence word says kZeroed.
  if (uint32_t presence = presenceWord(l.role, l.array); l.array && presence && zeroed != nullptr)
    for (int cpu = 0; cpu < m.cpus(l); ++cpu) std::memcpy(zero.data() + static_cast<size_t>(cpu) * stride + presence, &kZeroed, 8);
  for (const auto& [key, buffer] : m.entries(l.array)) {
    if (l.array) {  // a slot that holds nothing is left alone (65,536 of them cost a syscall each)
      bool held = false;
      for (const auto& v : perCpuValues(l, buffer))
        for (uint32_t w = 0; w + 8 <= l.valueSize; w += 8) held |= word(v, w) != 0;
      if (!held) continue;
      if (zeroed) zeroed->insert(key);
    }
    m.update(key, zero);
  }
}

bool readableLayout(const MapLayout& l) {
  if (l.keys.size() > 64) return false;
  uint32_t key = l.keys.empty() ? 8 : slotsSize(l.keys);
  uint32_t value = l.role == MapRole::Value ? slotSize(l.value) : aggregationValueSize(l.role, l.array);
  uint32_t buckets = 0;
  if (l.role == MapRole::Hist) key += 8, buckets = kHistBuckets;
  if (l.role == MapRole::Lhist) {
    if (l.lhistStep <= 0 || l.lhistMax <= l.lhistMin || (l.lhistMax - l.lhistMin) / l.lhistStep > 1000) return false;
    key += 8, buckets = linearBuckets(l.lhistMin, l.lhistMax, l.lhistStep);
  }
  if (l.array) {
    if (l.arraySlots == 0 || l.arraySlots > kArraySlotsMost) return false;
    key = 4;
  }
  return l.keySize == key && l.valueSize == value && value != 0 && l.buckets == buckets &&
         l.perCpu == (l.role != MapRole::Value);
}

uint64_t readCounter(const MapAccess& m, uint32_t index) {
  std::vector<uint8_t> key(4), values;
  std::memcpy(key.data(), &index, 4);
  if (!m.lookup(key, values)) return 0;
  uint64_t total = 0;
  for (size_t i = 0; i + 8 <= values.size(); i += 8) {
    uint64_t v;
    std::memcpy(&v, values.data() + i, 8);
    total += v;
  }
  return total;
}

}  // namespace dptrace
