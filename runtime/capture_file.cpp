#include "capture_file.h"

#include <pcap/pcap.h>
#include <time.h>

#include <cstring>

#include "program_info.h"

namespace dptrace {
namespace {

int64_t clockNs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

uint32_t u32At(const uint8_t* p) {
  uint32_t v = 0;
  std::memcpy(&v, p, 4);
  return v;
}

constexpr int kMaxSnapLength = 262144;  // tcpdump's

}  // namespace

struct CaptureFile::Writer {
  std::unique_ptr<pcap_t, decltype(&pcap_close)> dead{nullptr, pcap_close};
  std::unique_ptr<pcap_dumper_t, decltype(&pcap_dump_close)> out{nullptr, pcap_dump_close};
};

CaptureFile::CaptureFile() = default;
CaptureFile::~CaptureFile() = default;

bool CaptureFile::open(const std::string& path, std::string& error) {
  auto w = std::make_unique<Writer>();
  w->dead.reset(pcap_open_dead_with_tstamp_precision(DLT_EN10MB, kMaxSnapLength, PCAP_TSTAMP_PRECISION_NANO));
  if (!w->dead) {
    error = "cannot make a pcap writer";
    return false;
  }
  w->out.reset(pcap_dump_open(w->dead.get(), path.c_str()));
  if (!w->out) {
    error = "cannot write '" + path + "': " + pcap_geterr(w->dead.get());
    return false;
  }
  writer_ = std::move(w);
  path_ = path;
  pcap_dump_flush(writer_->out.get());  // the file header at once: a file of no frames is a pcap file too
  realMinusMonotonic_ = clockNs(CLOCK_REALTIME) - clockNs(CLOCK_MONOTONIC);
  return true;
}

void CaptureFile::write(const uint8_t* record, size_t size) {
  if (!writer_ || size < kCaptureHeader) return;
  uint64_t ktime = 0;
  std::memcpy(&ktime, record + kCaptureTime, 8);
  uint32_t length = u32At(record + kCaptureLength);
  uint32_t copied = u32At(record + kCaptureCopied);
  if (copied > size - kCaptureHeader || copied > length) return;  // not a record this build wrote
  int64_t at = static_cast<int64_t>(ktime) + realMinusMonotonic_;
  pcap_pkthdr header{};
  header.ts.tv_sec = at / 1000000000;
  header.ts.tv_usec = at % 1000000000;  // nanoseconds: the file's precision
  header.caplen = copied;
  header.len = length;
  pcap_dump(reinterpret_cast<u_char*>(writer_->out.get()), &header, record + kCaptureHeader);
  ++frames_;
  if (copied < length) ++cut_;
}

void CaptureFile::flush() {
  if (writer_) pcap_dump_flush(writer_->out.get());
  flushed_ = frames_;
}

void CaptureFile::flushIfWritten() {
  if (frames_ != flushed_) flush();
}

}  // namespace dptrace
