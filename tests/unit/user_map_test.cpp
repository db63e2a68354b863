// The user-space maps of afxdp bodies against a std::map model: random
// inserts, updates, deletes and lookups on a small table (collisions and
// backward-shift deletion exercised), refusal when full, array semantics.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>

#include "native_code.h"
#include "user_map.h"

namespace dptrace {
namespace {

std::vector<uint8_t> key16(uint64_t a, uint64_t b) {
  std::vector<uint8_t> k(16);
  std::memcpy(k.data(), &a, 8);
  std::memcpy(k.data() + 8, &b, 8);
  return k;
}

TEST(UserMapTest, AgreesWithAModelUnderChurn) {
  constexpr uint32_t kCapacity = 64;
  UserMap m(16, 8, kCapacity, false);
  std::map<std::vector<uint8_t>, uint64_t> model;
  std::mt19937_64 rng(20261201);
  for (int step = 0; step < 200000; ++step) {
    auto k = key16(rng() % 97, rng() % 3);  // few distinct keys: many collisions
    uint64_t v = rng();
    switch (rng() % 4) {
      case 0:
      case 1: {
        bool stored = m.update(k.data(), &v);
        bool fits = model.count(k) || model.size() < kCapacity;
        ASSERT_EQ(stored, fits) << "step " << step;
        if (fits) model[k] = v;
        break;
      }
      case 2:
        ASSERT_EQ(m.remove(k.data()), model.erase(k) == 1) << "step " << step;
        break;
      default: {
        void* p = m.lookup(k.data());
        auto it = model.find(k);
        ASSERT_EQ(p != nullptr, it != model.end()) << "step " << step;
        if (p) {
          uint64_t got;
          std::memcpy(&got, p, 8);
          ASSERT_EQ(got, it->second);
        }
      }
    }
    ASSERT_EQ(m.size(), model.size());
  }
  auto keys = m.keys();
  EXPECT_EQ(keys.size(), model.size());
  for (const auto& k : keys) EXPECT_TRUE(model.count(k));
}

TEST(UserMapTest, FullMapRefusesNewKeysButUpdatesOldOnes) {
  UserMap m(8, 8, 2, false);
  uint64_t one = 1, two = 2, three = 3, v = 7;
  EXPECT_TRUE(m.update(&one, &v));
  EXPECT_TRUE(m.update(&two, &v));
  EXPECT_FALSE(m.update(&three, &v));
  EXPECT_TRUE(m.update(&one, &three));
  EXPECT_EQ(*static_cast<uint64_t*>(m.lookup(&one)), 3u);
  EXPECT_EQ(m.lookup(&three), nullptr);
}

TEST(UserMapTest, ArrayEntriesAlwaysExistAndStartZero) {
  UserMap m(4, 24, 256, true);
  uint32_t i = 255, beyond = 256;
  auto* p = static_cast<uint64_t*>(m.lookup(&i));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p[0] + p[1] + p[2], 0u);
  EXPECT_EQ(m.lookup(&beyond), nullptr);
  uint64_t value[3] = {1, 2, 3};
  EXPECT_TRUE(m.update(&i, value));
  EXPECT_FALSE(m.update(&beyond, value));
  EXPECT_TRUE(m.remove(&i));  // an array entry is zeroed, not removed
  EXPECT_EQ(static_cast<uint64_t*>(m.lookup(&i))[2], 0u);
  EXPECT_EQ(m.keys().size(), 256u);
}

TEST(NativeCodeTest, RefusesWhatIsNotAnX86RelocatableObject) {
  NativeCode code;
  std::string error;
  std::vector<char> garbage(64, 'x');
  EXPECT_FALSE(code.load(garbage, {}, error));
  EXPECT_NE(error.find("not an x86-64 relocatable object"), std::string::npos) << error;
}

}  // namespace
}  // namespace dptrace
