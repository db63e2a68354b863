// The object cache: a stored script comes back equal, field for field; a
// foreign, truncated or corrupted entry is a miss; pruning keeps other files;
// a directory others could write to is not used.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include "aggregation.h"
#include "object_cache.h"

namespace dptrace {
namespace {

namespace fs = std::filesystem;

// A script with every field of every struct set to something other than its default.
CompiledScript everyField() {
  CompiledScript s;
  s.object = {'\x7f', 'E', 'L', 'F', '\0', '\x01'};
  ProgramInfo p;
  p.function = "uprobe_3";
  p.section = "uprobe";
  p.attach.raw = "uprobe:/bin/x:f";
  p.attach.range = {5, 19};
  p.attach.kind = ProbeKind::Uretprobe;
  p.attach.target = "/bin/x";
  p.attach.function = "f";
  p.attach.offset = 0x2090;
  p.attach.unit = "ms";
  p.attach.period = 7;
  p.attach.queue = 3;
  p.rawTracepoint = "sys_enter";
  p.binary = "/usr/bin/x";
  p.symbol = "f";
  p.attachPoints = 360;
  p.transmits = true;
  p.redirects = {"veth1", "veth2"};
  p.loops = {{3, 9}, {40, 52}};
  s.programs = {p, ProgramInfo{}};
  MapLayout l;
  l.name = "bytes";
  l.symbol = "m0_bytes";
  l.role = MapRole::Lhist;
  l.keys = {Type::integer(16, true), Type::string(16), Type::ipv6(), Type::tuple({Type::mac(), Type::boolean()}),
            Type::array(Type::integer(8, false), 4), Type::pointer(Type::structure("rte_mbuf"))};
  l.value = Type::aggregation(Aggregation::Lhist, Type::ipv4());
  l.keySize = slotsSize(l.keys) + 8;  // sizes the map reader can read (readableLayout), or the entry is a miss
  l.valueSize = 8;
  l.perCpu = true;
  l.lhistMin = -5;
  l.lhistMax = 100;
  l.lhistStep = 5;
  l.buckets = linearBuckets(-5, 100, 5);
  l.userSpace = true;
  l.reset = true;
  l.source = "x.dpt:3: @bytes = lhist(...)";
  MapLayout a;  // and an array
  a.name = "c";
  a.symbol = "m1_c";
  a.role = MapRole::Sum;
  a.keys = {Type::integer(8, true)};
  a.value = Type::integer(64, true);
  a.keySize = 4;
  a.valueSize = aggregationValueSize(MapRole::Sum, true);
  a.perCpu = true;
  a.array = true;
  a.arraySlots = 256;
  s.maps = {l, a};
  s.printfs = {{"%d %s\n", {Type::s64(), Type::string(64)}, {}}, {"BEGIN", {Type::u64()}, {"ts"}}};
  s.timeFormats = {"%H:%M\n"};
  s.eventsMap = "e", s.lostMap = "l", s.refusedMap = "r", s.startMap = "s";
  return s;
}

class ObjectCacheTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dptrace-cache-test-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    setenv("DPTRACE_CACHE_DIR", dir_.c_str(), 1);
    unsetenv("DPTRACE_CACHE");
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(ObjectCacheTest, EveryFieldComesBackOnAHit) {
  ObjectCache cache("key 1");
  ASSERT_TRUE(cache.enabled()) << cache.whyOff();
  cache.store(everyField());
  auto back = ObjectCache("key 1").load();
  ASSERT_TRUE(back);
  EXPECT_TRUE(*back == everyField());
  EXPECT_FALSE(ObjectCache("key 2").load()) << "another key is a miss";
  EXPECT_EQ(fs::status(dir_).permissions() & fs::perms::all, fs::perms::owner_all) << "made 0700";
}

TEST_F(ObjectCacheTest, TruncatedOrCorruptedEntriesAreMisses) {
  ObjectCache("key").store(everyField());
  fs::path entry = fs::directory_iterator(dir_)->path();
  std::string bytes;
  {
    std::ifstream in(entry, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (size_t cut : {size_t{0}, size_t{7}, bytes.size() / 2, bytes.size() - 1}) {
    std::ofstream(entry, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(cut));
    EXPECT_FALSE(ObjectCache("key").load()) << "cut at " << cut;
  }
  std::string corrupt = bytes;
  for (size_t i = 40; i < corrupt.size(); i += 97) corrupt[i] = static_cast<char>(0xff);
  std::ofstream(entry, std::ios::binary | std::ios::trunc).write(corrupt.data(), static_cast<std::streamsize>(corrupt.size()));
  auto back = ObjectCache("key").load();
  EXPECT_TRUE(!back || !(*back == everyField()) || corrupt == bytes);  // never a crash; a hit only if unchanged
}

// An entry whose map layout the reader could not read is a miss, even with
// a checksum that matches (encodeCacheEntry writes one for whatever it is given).
TEST_F(ObjectCacheTest, UnreadableLayoutsAreMisses) {
  std::string key = "k";
  ASSERT_TRUE(decodeCacheEntry(encodeCacheEntry(everyField(), key), &key));
  for (auto spoil : std::vector<std::function<void(MapLayout&)>>{
           [](MapLayout& l) { l.keySize += 8; }, [](MapLayout& l) { l.valueSize = 4; },
           [](MapLayout& l) { l.arraySlots = 0; }, [](MapLayout& l) { l.arraySlots = 1u << 20; },
           [](MapLayout& l) { l.lhistStep = 0; }, [](MapLayout& l) { l.perCpu = false; }}) {
    CompiledScript s = everyField();
    for (MapLayout& l : s.maps) spoil(l);
    EXPECT_FALSE(decodeCacheEntry(encodeCacheEntry(s, key), &key));
  }
  std::string bytes = encodeCacheEntry(everyField(), key);
  bytes[bytes.size() / 2] ^= 1;  // one bit: the checksum no longer matches
  EXPECT_FALSE(decodeCacheEntry(bytes, &key));
  EXPECT_FALSE(decodeCacheEntry(encodeCacheEntry(everyField(), key), nullptr) == std::nullopt) << "any key when none is asked";
}

TEST_F(ObjectCacheTest, PruningRemovesOnlyItsOwnEntries) {
  fs::create_directories(dir_);
  fs::permissions(dir_, fs::perms::owner_all);
  std::string magic = "dptrace-object-cache-3";
  uint64_t n = magic.size();
  std::string header(reinterpret_cast<const char*>(&n), 8);
  header += magic;
  for (int i = 0; i < 300; ++i) {  // old entries of this cache
    char name[32];
    std::snprintf(name, sizeof name, "%016x.obj", i);
    std::ofstream(dir_ / name) << header;
    fs::last_write_time(dir_ / name, fs::file_time_type::clock::now() - std::chrono::hours(1));
  }
  std::ofstream(dir_ / "notes.obj") << "someone else's";
  std::ofstream(dir_ / "deadbeefdeadbeef.obj") << "not an entry of ours";
  ObjectCache("new key").store(everyField());
  size_t ours = 0;
  for (const auto& e : fs::directory_iterator(dir_)) ours += e.path().filename() != "notes.obj" &&
                                                           e.path().filename() != "deadbeefdeadbeef.obj";
  EXPECT_EQ(ours, 256u);
  EXPECT_TRUE(fs::exists(dir_ / "notes.obj"));
  EXPECT_TRUE(fs::exists(dir_ / "deadbeefdeadbeef.obj"));
  EXPECT_TRUE(ObjectCache("new key").load()) << "the new entry is the newest";
}

TEST_F(ObjectCacheTest, ADirectoryOthersCanWriteOrASymlinkIsNotUsed) {
  fs::create_directories(dir_);
  fs::permissions(dir_, fs::perms::all);
  ObjectCache open("key");
  EXPECT_FALSE(open.enabled());
  EXPECT_NE(open.whyOff().find("other users can write to it"), std::string::npos) << open.whyOff();
  fs::permissions(dir_, fs::perms::owner_all);
  fs::path link = dir_.string() + "-link";
  fs::remove(link);
  fs::create_directory_symlink(dir_, link);
  setenv("DPTRACE_CACHE_DIR", link.c_str(), 1);
  ObjectCache linked("key");
  EXPECT_FALSE(linked.enabled());
  EXPECT_NE(linked.whyOff().find("symbolic link"), std::string::npos) << linked.whyOff();
  fs::remove(link);
  // A parent others can write to (not sticky) could swap the directory.
  fs::path writable = dir_ / "open";
  fs::path inside = writable / "cache";
  fs::create_directories(inside);
  fs::permissions(writable, fs::perms::all);
  setenv("DPTRACE_CACHE_DIR", inside.c_str(), 1);
  ObjectCache under("key");
  EXPECT_FALSE(under.enabled());
  EXPECT_NE(under.whyOff().find("other users can write to " + writable.string()), std::string::npos) << under.whyOff();
}

}  // namespace
}  // namespace dptrace
