#include <gtest/gtest.h>

#include <set>
#include <string>

#include "builtins.h"

namespace dptrace {
namespace {

TEST(Builtins, NamesAreUnique) {
  std::set<std::string> seen;
  for (const BuiltinInfo& b : allBuiltins()) EXPECT_TRUE(seen.insert(b.name).second) << b.name;
}

TEST(Builtins, FunctionSignaturesMatchTheirArity) {
  for (const BuiltinInfo& b : allBuiltins()) {
    if (!isFunctionKind(b.kind)) continue;
    std::string sig = b.signature;
    EXPECT_EQ(sig.rfind(std::string(b.name) + "(", 0), 0u) << sig;
    EXPECT_LE(b.minArgs, b.maxArgs < 0 ? b.minArgs : b.maxArgs) << b.name;
    bool emptyParens = sig.find(std::string(b.name) + "()") == 0;
    EXPECT_EQ(emptyParens, b.maxArgs == 0) << sig;
  }
}

TEST(Builtins, ArgumentRegistersAllFindOneRow) {
  const BuiltinInfo* arg0 = findBuiltin("arg0");
  ASSERT_NE(arg0, nullptr);
  EXPECT_EQ(findBuiltin("arg9"), arg0);
  EXPECT_EQ(findBuiltin("arg10"), nullptr);
  EXPECT_EQ(findBuiltin("argx"), nullptr);
}

TEST(Builtins, PacketViewsAndActionsOnlyInPacketProbes) {
  for (const BuiltinInfo& b : allBuiltins()) {
    if (b.kind != BuiltinKind::PacketView && b.kind != BuiltinKind::Action) continue;
    EXPECT_TRUE(b.onlyIn.contains(ProbeKind::Xdp)) << b.name;
    EXPECT_TRUE(kPacketProbes.covers(b.onlyIn)) << b.name;
  }
  EXPECT_EQ(findBuiltin("retval")->onlyIn.text(), "uretprobe fexit kretprobe");
  EXPECT_TRUE(findBuiltin("printf")->onlyIn.isAll());
}

}  // namespace
}  // namespace dptrace
