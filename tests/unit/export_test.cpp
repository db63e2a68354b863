// The exporter's queue and URL checks, with no collector: what it keeps,
// what it drops, and that every record is either kept or counted.
#include <gtest/gtest.h>

#include "curl_exporter.h"

namespace dptrace {
namespace {

ExportConfig closedPort(uint64_t queue) {
  ExportConfig c;
  c.url = "http://127.0.0.1:9/";  // discard: nothing listens there
  c.queue = queue;
  return c;
}

TEST(Export, RecordsAreLinesAndAFullQueueDropsTheOldest) {
  CurlExporter e;
  std::string error;
  ASSERT_TRUE(e.start(closedPort(3), error)) << error;
  e.stream() << "{\"n\": 1}\n{\"n\": 2}\n" << "{\"n\": " << 3 << "}" << std::endl;
  e.stream() << "{\"n\": 4}\n{\"n\": 5}\n";
  EXPECT_EQ(e.counts().records, 5u);
  EXPECT_EQ(e.waiting(), 3u);
  EXPECT_EQ(e.counts().dropped, 2u);
  std::vector<Notice> said = e.takeNotices();
  ASSERT_EQ(said.size(), 1u);  // once, not once a record
  EXPECT_EQ(said[0].type, "export_dropping");
}

TEST(Export, TheQueueIsBoundedInBytesToo) {
  CurlExporter e;
  std::string error;
  ASSERT_TRUE(e.start(closedPort(100000), error)) << error;
  std::string big(1 << 20, 'x');  // 1 MiB records: 300 of them pass the 256 MiB bound
  for (int i = 0; i < 300; ++i) e.stream() << big << '\n';
  EXPECT_EQ(e.counts().records, 300u);
  EXPECT_LE(e.waiting(), 256u);
  EXPECT_EQ(e.waiting() + e.counts().dropped, 300u);
}

TEST(Export, AtExitWhatIsLeftIsCountedAsDropped) {
  CurlExporter e;
  std::string error;
  ASSERT_TRUE(e.start(closedPort(100), error)) << error;
  for (int i = 0; i < 10; ++i) e.stream() << "{}\n";
  e.finish(std::chrono::milliseconds(300), [](const std::vector<Notice>&) {});
  const ExportCounts& c = e.counts();
  EXPECT_EQ(c.sent, 0u);
  EXPECT_GE(c.failures, 1u);
  EXPECT_EQ(c.dropped + c.unconfirmed, 10u);
}

TEST(Export, UrlsAreCheckedAndPasswordsMasked) {
  std::string error;
  EXPECT_FALSE(parseExportUrlWithCurl("script.dpt", error));
  EXPECT_NE(error.find("starts with http:// or https://"), std::string::npos) << error;
  EXPECT_FALSE(parseExportUrlWithCurl("ftp://host/", error));
  EXPECT_FALSE(parseExportUrlWithCurl("http://host:0/", error));
  EXPECT_FALSE(parseExportUrlWithCurl("http://host:70000/", error));
  std::optional<ExportUrl> u = parseExportUrlWithCurl("https://alice:s3cret@[::1]:8443/ingest", error);
  ASSERT_TRUE(u) << error;
  EXPECT_TRUE(u->https);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->shown.find("s3cret"), std::string::npos) << u->shown;
  EXPECT_NE(u->shown.find("alice:***@"), std::string::npos) << u->shown;
}

}  // namespace
}  // namespace dptrace

namespace dptrace {
namespace {

TEST(Export, HeadersDptraceWritesOrCannotSendAreRefused) {
  EXPECT_FALSE(exportHeaderProblem("Authorization: Bearer t0ken"));
  EXPECT_FALSE(exportHeaderProblem("X-Fleet-Node:upf-1"));
  for (const char* bad : {"no colon", ": v", " X-Lead: 1", "Bad Name: v", "X-Empty:", "X-Empty:  ", "Content-Length: 5",
                          "content-type: text/plain", "X-Dptrace-Sequence: 99", "Host: other", "A: b\r\nC: d"})
    EXPECT_TRUE(exportHeaderProblem(bad)) << bad;
}

TEST(Export, PasswordsAreMaskedInUrlsAsWritten) {
  EXPECT_EQ(maskedUrl("http://u:s3cret@127.0.0.1:80800/x"), "http://u:***@127.0.0.1:80800/x");
  EXPECT_EQ(maskedUrl("ftp://u:p@host"), "ftp://u:***@host");
  EXPECT_EQ(maskedUrl("http://host:8080/a@b"), "http://host:8080/a@b");  // an @ in the path is no password
  EXPECT_EQ(maskedUrl("http://u@host/"), "http://u@host/");
  std::string error;
  EXPECT_FALSE(parseExportUrlWithCurl("http://u:s3cret@127.0.0.1:0/", error));
  EXPECT_EQ(error.find("s3cret"), std::string::npos) << error;
}

}  // namespace
}  // namespace dptrace
