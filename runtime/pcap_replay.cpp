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

Capture openCapture(const std::string& input, std::string& error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  Capture in(pcap_open_offline(input.c_str(), errbuf), pcap_close);
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

  pcap_pkthdr* header = nullptr;
  const u_char* bytes = nullptr;
  int got;
  while ((got = pcap_next_ex(in.get(), &header, &bytes)) == 1) {
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
      return false;
    }
    ++result.packets;
    int verdict = static_cast<int>(opts.retval);
    size_t data = kPcapHeadroom, size = opts.data_size_out;
    if (verdict == XDP_REDIRECT)
      if (auto body = redirected(buffer.data(), data, size)) verdict = *body;
    ++result.verdicts[verdictName(verdict)];
    if (out && verdict != XDP_DROP && verdict != XDP_ABORTED) {
      // The frame as the program left it, and its wire length: what it grew or
      // shrank by, on top of the original's (bytes past those run stay unseen).
      pcap_pkthdr written = *header;
      written.caplen = static_cast<uint32_t>(size);
      written.len = static_cast<uint32_t>(size) + (header->len > length ? header->len - length : 0);
      pcap_dump(reinterpret_cast<u_char*>(out.get()), &written, buffer.data() + data);
    }
    if (!afterPacket()) break;
  }
  if (got == PCAP_ERROR) {
    error = "cannot read the capture '" + input + "': " + pcap_geterr(in.get());
    return false;
  }
  return true;
}

}  // namespace dptrace
