// The attach-point stage on its own: a parsed program in, filled-in fields
// and diagnostics out.
#include <gtest/gtest.h>

#include "parse.h"
#include "providers/provider.h"
#include "resolve_attach_points.h"

namespace dptrace {
namespace {

struct Resolved {
  std::vector<ast::AttachPoint> points;
  std::vector<Diagnostic> errors;
};

Resolved resolve(const std::string& script) {
  SourceFile f("t.dpt", script);
  Diagnostics d(f);
  ast::Program p = parse(f, d);
  EXPECT_FALSE(d.hasErrors()) << "the script should parse: " << script;
  resolveAttachPoints(p, d);
  Resolved r;
  for (auto& probe : p.probes)
    for (auto& ap : probe.attachPoints) r.points.push_back(ap);
  r.errors = d.all();
  return r;
}

TEST(ResolveAttachPoints, UprobeByNameAndByOffset) {
  Resolved r = resolve("uprobe:/usr/lib/librte_ethdev.so.23:rte_eth_rx_burst, ur:./upf:0x2090 { }");
  ASSERT_TRUE(r.errors.empty());
  EXPECT_EQ(r.points[0].kind, ProbeKind::Uprobe);
  EXPECT_EQ(r.points[0].target, "/usr/lib/librte_ethdev.so.23");
  EXPECT_EQ(r.points[0].function, "rte_eth_rx_burst");
  EXPECT_FALSE(r.points[0].offset.has_value());
  EXPECT_EQ(r.points[1].kind, ProbeKind::Uretprobe);
  EXPECT_EQ(r.points[1].offset, 0x2090u);
  EXPECT_EQ(r.points[1].function, "");
}

TEST(ResolveAttachPoints, QuotedFunctionMayHoldColons) {
  Resolved r = resolve("uprobe:./app:\"ns::f\" { }");
  ASSERT_TRUE(r.errors.empty());
  EXPECT_EQ(r.points[0].function, "ns::f");
}

TEST(ResolveAttachPoints, IntervalUnitsAndPeriods) {
  Resolved r = resolve("interval:s:2, interval:ms:250 { }");
  ASSERT_TRUE(r.errors.empty());
  EXPECT_EQ(r.points[0].unit, "s");
  EXPECT_EQ(r.points[0].period, 2u);
  EXPECT_EQ(r.points[1].unit, "ms");
  EXPECT_EQ(r.points[1].period, 250u);
}

TEST(ResolveAttachPoints, FentryWithAndWithoutModuleAndAliases) {
  Resolved r = resolve("fentry:gtp5g:gtp5g_dev_xmit, kretfunc:vfs_read { }");
  ASSERT_TRUE(r.errors.empty());
  EXPECT_EQ(r.points[0].target, "gtp5g");
  EXPECT_EQ(r.points[0].function, "gtp5g_dev_xmit");
  EXPECT_EQ(r.points[1].kind, ProbeKind::Fexit);
  EXPECT_EQ(r.points[1].target, "");
}

TEST(ResolveAttachPoints, AfxdpQueueIsOptional) {
  Resolved r = resolve("afxdp:veth0, afxdp:veth0:7 { }");
  ASSERT_TRUE(r.errors.empty());
  EXPECT_FALSE(r.points[0].queue.has_value());
  EXPECT_EQ(r.points[1].queue, 7u);
  EXPECT_EQ(r.points[1].target, "veth0");
}

TEST(ResolveAttachPoints, ErrorsPointAtTheFaultyPart) {
  Resolved r = resolve("interval:s:0 { }");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].range.begin, 11u);  // the "0"
  EXPECT_EQ(r.errors[0].range.end, 12u);
}

TEST(ResolveAttachPoints, EveryProviderIsFoundByItsNameAndAliases) {
  for (const ProviderInfo* p : allProviders()) {
    EXPECT_EQ(findProvider(p->name), p);
    for (const char* alias : p->aliases) EXPECT_EQ(findProvider(alias), p) << alias;
    EXPECT_NE(std::string(p->syntax).find(p->name), std::string::npos) << "syntax names the provider: " << p->name;
  }
  EXPECT_EQ(findProvider("iter"), nullptr);
}

TEST(ParseUnsigned, BasesAndOverflow) {
  uint64_t v = 0;
  EXPECT_TRUE(parseUnsigned("42", v));
  EXPECT_EQ(v, 42u);
  EXPECT_TRUE(parseUnsigned("ffFF", v, 16));
  EXPECT_EQ(v, 0xffffu);
  EXPECT_TRUE(parseUnsigned("18446744073709551615", v));
  EXPECT_FALSE(parseUnsigned("18446744073709551616", v));
  EXPECT_FALSE(parseUnsigned("", v));
  EXPECT_FALSE(parseUnsigned("1a", v));
}

}  // namespace
}  // namespace dptrace
