// The verifier's refusals in words: each kind of log gets its own reason.
#include <gtest/gtest.h>

#include "verifier_log.h"

namespace dptrace {
namespace {

TEST(VerifierLog, BudgetOfABoundedLoop) {
  std::string log = "BPF program is too large. Processed 1000001 insn\nprocessed 1000001 insns (limit 1000000)\n";
  EXPECT_TRUE(isLoopRefusal(log));
  EXPECT_NE(explainRefusal(log).find("budget of 1,000,000 instructions"), std::string::npos);
}

TEST(VerifierLog, PendingBranchesOfABoundedLoop) {
  std::string log = "The sequence of 8193 jumps is too complex.\nprocessed 188444 insns (limit 1000000)\n";
  EXPECT_TRUE(isLoopRefusal(log));
  EXPECT_NE(explainRefusal(log).find("limit of 8,192"), std::string::npos);
}

TEST(VerifierLog, UnboundedLoop) {
  std::string log = "infinite loop detected at insn 12\n";
  EXPECT_TRUE(isLoopRefusal(log));
  EXPECT_NE(explainRefusal(log).find("could not prove that a loop ends"), std::string::npos);
}

TEST(VerifierLog, StackAndMisalignment) {
  EXPECT_NE(explainRefusal("combined stack size of 2 calls is 576. Too large\n").find("512 bytes of stack"), std::string::npos);
  EXPECT_NE(explainRefusal("misaligned stack access off 0+0+-180 size 8\nprocessed 83 insns (limit 1000000)\n")
                .find("misaligned"),
            std::string::npos);
  // "limit" in the processed line alone is no stack problem.
  EXPECT_EQ(explainRefusal("R1 invalid mem access 'scalar'\nprocessed 83 insns (limit 1000000)\n").find("stack"),
            std::string::npos);
  EXPECT_FALSE(isLoopRefusal("misaligned stack access off 0+0+-180 size 8\n"));
}

}  // namespace
}  // namespace dptrace
