// capture(N)'s records written as a pcap file (--capture FILE): nanosecond
// timestamps on the wall clock, each frame's bytes as copied and its length
// on the wire, so that tcpdump and Wireshark see what was cut.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace dptrace {

class CaptureFile {
public:
  CaptureFile();
  ~CaptureFile();
  // Creates (truncates) `path`; false with `error` when it cannot.
  bool open(const std::string& path, std::string& error);
  bool isOpen() const { return writer_ != nullptr; }
  // One capture record of the ring buffer, header included.
  void write(const uint8_t* record, size_t size);
  void flush();
  void flushIfWritten();  // when frames came since the last flush
  const std::string& path() const { return path_; }
  uint64_t frames() const { return frames_; }
  uint64_t cut() const { return cut_; }  // frames written shorter than they were

private:
  struct Writer;  // libpcap's, kept out of this header (its bpf_insn is not the kernel's)
  std::unique_ptr<Writer> writer_;
  std::string path_;
  int64_t realMinusMonotonic_ = 0;  // ns: ktime of the records to the wall clock
  uint64_t frames_ = 0, cut_ = 0, flushed_ = 0;
};

}  // namespace dptrace
