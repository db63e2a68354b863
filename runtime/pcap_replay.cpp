#include "pcap_replay.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <net/if.h>
#define PCAP_DONT_INCLUDE_PCAP_BPF_H  // its struct bpf_insn is the kernel's too
#include <pcap/pcap.h>
#include <pcap/dlt.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace dptrace {

std::string verdictName(int code) {
  switch (code) {
    case XDP_ABORTED: return "abort";
    case XDP_DROP: return "drop";
    case XDP_PASS: return "pass";
    case XDP_TX: return "tx";
    case XDP_REDIRECT: return "redirect";
    default: return "unknown(" + std::to_string(code) + ")";
  }
}

namespace {

using Capture = std::unique_ptr<pcap_t, decltype(&pcap_close)>;

// An Ethernet capture, or null with `error`. `in` is what libpcap opened.
Capture ethernetCapture(pcap_t* opened, const char* errbuf, const std::string& input, std::string& error) {
  Capture in(opened, pcap_close);
  if (!in) {
    error = "cannot read the capture '" + input + "': " + errbuf;
    return in;
  }
  int link = pcap_datalink(in.get());
  if (link != DLT_EN10MB) {
    const char* name = pcap_datalink_val_to_name(link);
    error = "'" + input + "' is not an Ethernet capture (its link type is " + (name ? name : std::to_string(link)) +
            "): --pcap replays Ethernet frames";
    in.reset();
  }
  return in;
}

Capture openCapture(const std::string& input, std::string& error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  return ethernetCapture(pcap_open_offline(input.c_str(), errbuf), errbuf, input, error);
}

// Each frame of `in` long enough to run (an Ethernet header), at most
// kPcapMaxFrame bytes of it, to `each`, with the counts of what was skipped,
// snapped and cut. False with `error` on a read error (a truncated capture).
bool forEachFrame(pcap_t* in, const std::string& input, const CaptureFrame& each, PcapReplay& result,
                  std::string& error) {
  pcap_pkthdr* header = nullptr;
  const u_char* bytes = nullptr;
  int got;
  while ((got = pcap_next_ex(in, &header, &bytes)) == 1) {
    if (header->caplen < 14) {
      ++result.skipped;
      continue;
    }
    if (header->caplen < header->len) ++result.snapped;
    uint32_t length = header->caplen;
    if (length > kPcapMaxFrame) {
      length = kPcapMaxFrame;
      ++result.truncated;
    }
    // A capture may say it saw less on the wire than it kept: the frame as kept.
    CapturedFrame frame{bytes, length, std::max(header->len, header->caplen), header->ts.tv_sec, header->ts.tv_usec};
    if (!each(frame)) return true;
  }
  if (got == PCAP_ERROR) {
    error = "cannot read the capture '" + input + "': " + pcap_geterr(in);
    return false;
  }
  return true;
}

// The frame as the program left it (`size` bytes), and its wire length: what
// it grew or shrank by, on top of the original's (bytes past those run stay unseen).
void writeFrame(pcap_dumper_t* out, const CapturedFrame& original, const uint8_t* frame, size_t size) {
  pcap_pkthdr written{};
  written.ts.tv_sec = original.seconds;
  written.ts.tv_usec = original.fraction;
  written.caplen = static_cast<uint32_t>(size);
  written.len = static_cast<uint32_t>(size) + (original.wireLength > original.length ? original.wireLength - original.length : 0);
  pcap_dump(reinterpret_cast<u_char*>(out), &written, frame);
}

}  // namespace

bool checkCapture(const std::string& input, std::string& error) { return openCapture(input, error) != nullptr; }

bool replayPcap(int progFd, const std::string& input, const std::optional<std::string>& output,
                const std::function<bool()>& afterPacket, const RedirectedFrame& redirected, PcapReplay& result,
                std::string& error) {
  Capture in = openCapture(input, error);
  if (!in) return false;
  std::unique_ptr<pcap_t, decltype(&pcap_close)> dead(nullptr, pcap_close);
  std::unique_ptr<pcap_dumper_t, decltype(&pcap_dump_close)> out(nullptr, pcap_dump_close);
  if (output) {
    dead.reset(pcap_open_dead(DLT_EN10MB, 65535));
    out.reset(pcap_dump_open(dead.get(), output->c_str()));
    if (!out) {
      error = "cannot write '" + *output + "': " + pcap_geterr(dead.get());
      return false;
    }
  }
  // BPF_PROG_TEST_RUN needs a real ingress device and queue: lo's, queue 0.
  xdp_md ctx{};
  ctx.ingress_ifindex = if_nametoindex("lo");
  ctx.rx_queue_index = 0;
  // A program may grow the frame (vlan_push); an afxdp body gets headroom too.
  std::vector<unsigned char> buffer(kPcapHeadroom + kPcapMaxFrame + 512);
  unsigned char* frameOut = buffer.data() + kPcapHeadroom;

  bool failed = false;
  bool read = forEachFrame(in.get(), input, [&](const CapturedFrame& frame) {
    const uint8_t* bytes = frame.bytes;
    uint32_t length = frame.length;
    bpf_test_run_opts opts{};
    opts.sz = sizeof opts;
    opts.data_in = bytes;
    opts.data_size_in = length;
    opts.data_out = frameOut;
    opts.data_size_out = static_cast<uint32_t>(buffer.size() - kPcapHeadroom);
    ctx.data = 0;
    ctx.data_end = length;  // the kernel wants the frame's extent in the context too
    opts.ctx_in = &ctx;
    opts.ctx_size_in = sizeof ctx;
    opts.repeat = 1;
    if (bpf_prog_test_run_opts(progFd, &opts) != 0) {
      error = std::string("BPF_PROG_TEST_RUN failed on packet ") + std::to_string(result.packets + result.skipped + 1) +
              ": " + std::strerror(errno);
      failed = true;
      return false;
    }
    ++result.packets;
    int verdict = static_cast<int>(opts.retval);
    size_t data = kPcapHeadroom, size = opts.data_size_out;
    if (verdict == XDP_REDIRECT)
      if (auto body = redirected(buffer.data(), data, size)) verdict = *body;
    ++result.verdicts[verdictName(verdict)];
    if (out && verdict != XDP_DROP && verdict != XDP_ABORTED) writeFrame(out.get(), frame, buffer.data() + data, size);
    return afterPacket();
  }, result, error);
  return read && !failed;
}

bool readCapture(FILE* file, const std::string& name, const CaptureFrame& each, PcapReplay& result, std::string& error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* opened = pcap_fopen_offline(file, errbuf);
  if (opened == nullptr) fclose(file);  // libpcap takes the file only when it opens it
  Capture in = ethernetCapture(opened, errbuf, name, error);
  return in && forEachFrame(in.get(), name, each, result, error);
}

}  // namespace dptrace
