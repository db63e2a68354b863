#include <gtest/gtest.h>

#include "sema/tracepoint_format.h"
#include "sema/type.h"

namespace dptrace {
namespace {

TEST(Type, Spelling) {
  EXPECT_EQ(Type::integer(16, false).str(), "u16");
  EXPECT_EQ(Type::s64().str(), "s64");
  EXPECT_EQ(Type::string(16).str(), "string[16]");
  EXPECT_EQ(Type::pointer(Type::pointer(Type::structure("rte_mbuf"))).str(), "struct rte_mbuf **");
  EXPECT_EQ(Type::tuple({Type::integer(32, false), Type::string(16)}).str(), "(u32, string[16])");
  EXPECT_EQ(Type::aggregation(Aggregation::Count, Type::u64()).str(), "count()");
  EXPECT_EQ(Type::aggregation(Aggregation::Sum, Type::integer(32, false)).str(), "sum(u32)");
  EXPECT_EQ(Type().str(), "void");
}

TEST(Type, UnifyIntegersToTheWiderUnsignedIfEitherIs) {
  Type out;
  ASSERT_TRUE(unify(Type::integer(8, false), Type::integer(16, true), out));
  EXPECT_EQ(out, Type::integer(16, false));
  ASSERT_TRUE(unify(Type::integer(32, true), Type::integer(64, true), out));
  EXPECT_EQ(out, Type::s64());
  ASSERT_TRUE(unify(Type::boolean(), Type::integer(32, true), out));
  EXPECT_EQ(out, Type::integer(32, true));
  ASSERT_TRUE(unify(Type::boolean(), Type::boolean(), out));
  EXPECT_EQ(out, Type::boolean());
}

TEST(Type, UnifyStringsAndTuples) {
  Type out;
  ASSERT_TRUE(unify(Type::string(4), Type::string(16), out));
  EXPECT_EQ(out, Type::string(16));
  ASSERT_TRUE(unify(Type::tuple({Type::integer(8, false), Type::string(2)}),
                    Type::tuple({Type::integer(32, false), Type::string(8)}), out));
  EXPECT_EQ(out.str(), "(u32, string[8])");
  EXPECT_FALSE(unify(Type::tuple({Type::u64()}), Type::tuple({Type::u64(), Type::u64()}), out));
}

TEST(Type, KindsThatNeverUnify) {
  Type out;
  EXPECT_FALSE(unify(Type::u64(), Type::string(4), out));
  EXPECT_FALSE(unify(Type::ipv4(), Type::ipv6(), out));
  EXPECT_FALSE(unify(Type::aggregation(Aggregation::Count, Type::u64()), Type::aggregation(Aggregation::Sum, Type::u64()), out));
  EXPECT_FALSE(Type::structure("a").sameKind(Type::structure("b")));
  EXPECT_TRUE(Type::pointer(Type::u64()).sameKind(Type::pointer(Type::integer(8, false))));
}

TEST(TracepointFormat, ParsesFieldsAndSkipsTheCommonHeader) {
  const char* text =
      "name: netif_receive_skb\n"
      "ID: 2303\n"
      "format:\n"
      "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
      "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
      "\n"
      "\tfield:void * skbaddr;\toffset:8;\tsize:8;\tsigned:0;\n"
      "\tfield:unsigned int len;\toffset:16;\tsize:4;\tsigned:0;\n"
      "\tfield:__data_loc char[] name;\toffset:20;\tsize:4;\tsigned:0;\n"
      "\tfield:char comm[16];\toffset:24;\tsize:16;\tsigned:0;\n"
      "\tfield:long delta;\toffset:40;\tsize:8;\tsigned:1;\n"
      "\tfield:u32 ports[4];\toffset:48;\tsize:16;\tsigned:0;\n"
      "\tfield:const char *const * argv;\toffset:64;\tsize:8;\tsigned:0;\n"
      "\tfield:int * fds;\toffset:72;\tsize:8;\tsigned:0;\n"
      "\n"
      "print fmt: \"dev=%s skbaddr=%p len=%u\", __get_str(name), REC->skbaddr, REC->len\n";
  std::string error;
  auto f = parseTracepointFormat(text, error);
  ASSERT_TRUE(f) << error;
  EXPECT_EQ(f->name, "netif_receive_skb");
  EXPECT_EQ(f->id, 2303u);
  ASSERT_EQ(f->fields.size(), 8u);
  EXPECT_EQ(f->field("argv")->type.str(), "u8 **") << "pointers to pointers keep both levels";
  EXPECT_EQ(f->field("fds")->type.str(), "s32 *");
  EXPECT_EQ(f->field("skbaddr")->type.str(), "void *");
  EXPECT_EQ(f->field("len")->type, Type::integer(32, false));
  EXPECT_EQ(f->field("len")->offset, 16u);
  EXPECT_TRUE(f->field("name")->dataLoc);
  EXPECT_EQ(f->field("name")->type.kind(), TypeKind::String);
  EXPECT_EQ(f->field("comm")->type, Type::string(16));
  EXPECT_EQ(f->field("delta")->type, Type::s64());
  EXPECT_EQ(f->field("ports")->type, Type::array(Type::integer(32, false), 4));
  EXPECT_EQ(f->field("ports")->type.str(), "u32[4]");
  EXPECT_EQ(f->field("common_pid"), nullptr);
}

TEST(TracepointFormat, RejectsWhatItCannotRead) {
  std::string error;
  EXPECT_FALSE(parseTracepointFormat("name: x\nformat:\n", error));
  EXPECT_EQ(error, "the format has no fields");
  EXPECT_FALSE(parseTracepointFormat("\tfield:int x;\toffset:a;\tsize:4;\tsigned:1;\n", error));
  EXPECT_NE(error.find("cannot read the format line"), std::string::npos);
}

}  // namespace
}  // namespace dptrace
