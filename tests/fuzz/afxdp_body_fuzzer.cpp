// afxdp bodies over any frame: host code compiled once at start from a
// script whose afxdp blocks read every packet view, write every writable
// field (checksum fixes), pop and push VLAN tags, loop and divide by packet
// values, then run on each input frame. The host code has no verifier behind
// it: the frame sits right below a guard page and its headroom right above
// another, so a read or write outside it is a crash the fuzzer reports; the
// frame a body leaves must stay inside its buffer and hold at least an
// Ethernet header (the frame starts right above the lower one when the input
// is as long as the buffer). The runtime's part (user-space maps, the helpers) is
// built with AddressSanitizer + UBSan.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>

#include "afxdp_host.h"
#include "check_names.h"
#include "codegen.h"
#include "diagnostics.h"
#include "parse.h"
#include "resolve_attach_points.h"
#include "sema/type_check.h"

namespace {

constexpr const char* kScript = R"(
afxdp:any {
  printf("%s %s %d %d %d %s\n", eth.src, eth.dst, eth.type, vlan.id, pkt.len, ntop(ip.src));
  printf("%s %d %d %d %d\n", ntop(ip6.dst), ip.proto, ip.ttl, ip.len, ip6.nexthdr);
  printf("%d %d %d %d %d %d %d %d\n", tcp.sport, tcp.flags, udp.len, icmp.type, icmp.seq, gtp.teid, gtp.type, icmp6.seq);
  @p[ip.proto, udp.dport, tcp.dport] = count(); @l = hist(pkt.len); @s = stats(ip.len); @m[ip6.src] = max(pkt.len);
  @lh[eth.type] = lhist(pkt.len, 0, 1500, 100); @u[eth.src, vlan.id] = avg(gtp.teid);
  if (pkt.len > 100) { tx(); }
}
afxdp:any {
  udp.dport = 4243; tcp.dport = tcp.dport + 1; ip.ttl--; swap(ip.src, ip.dst); swap(eth.src, eth.dst);
  icmp.type = 0; icmp6.type = 129; swap(ip6.src, ip6.dst); gtp.teid = 77; vlan.id = 7; tcp.flags = 18;
  udp.sport += 1; ip.src = pton("192.0.2.1"); ip6.dst = pton("2001:db8::99");
  tx();
}
afxdp:any {
  if (vlan) { vlan_pop(); } else { vlan_push(pkt.len); }
  if (vlan) { vlan_push(vlan.id + 1); }
  @v[vlan.id, eth.type] = count(); $n = 0; $m = 0;
  while ($n < pkt.len) { $n += 1; $m += udp.len % 7; }
  @n = sum($n + $m);
  $x = -9223372036854775807 - 1; $d = (s64)ip.ttl - 65;
  @q = sum($x / $d); @r = sum($x % $d); @z = sum(pkt.len / udp.len) ; @w = sum(tcp.sport % (ip.ttl - ip.ttl));
  delete(@v[vlan.id, eth.type]);
  tx();
}
)";

constexpr size_t kBuffer = 8192;  // headroom + the largest frame

struct Bodies {
  dptrace::CompiledScript script;
  dptrace::AfxdpHost host;
  uint8_t* region = nullptr;  // kBuffer bytes between two guard pages
};

void discard(void*, const uint8_t*, size_t) {}

Bodies& bodies() {
  static Bodies* b = [] {
    auto* out = new Bodies;
    dptrace::SourceFile file("afxdp_fuzz.dpt", kScript);
    dptrace::Diagnostics diags(file);
    dptrace::ast::Program program = dptrace::parse(file, diags);
    dptrace::resolveAttachPoints(program, diags);
    dptrace::checkNames(program, diags);
    static dptrace::ImportedTypes imported;
    dptrace::ImportOptions imports;
    imports.cDefinitions = false;
    imports.kernelTypes = false;
    dptrace::importTypes(program, imports, diags, imported);
    dptrace::TypeTable types(imported);
    dptrace::typeCheck(program, diags, types);
    dptrace::CodegenOptions options;
    options.pcap = true;
    std::optional<dptrace::CompiledScript> compiled;
    if (!diags.hasErrors())
      compiled = dptrace::compileScript(program, types, options, diags, dptrace::CodegenOutput::Object, nullptr);
    std::string error;
    if (!compiled || !out->host.load(*compiled, 64, {&discard, nullptr}, 0, error)) {
      std::ostringstream text;
      diags.print(text, false);
      std::fprintf(stderr, "afxdp fuzzer: cannot build its bodies: %s%s\n", text.str().c_str(), error.c_str());
      std::abort();
    }
    out->script = *compiled;
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    auto* all = static_cast<uint8_t*>(mmap(nullptr, kBuffer + 2 * page, PROT_READ | PROT_WRITE,
                                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    mprotect(all, page, PROT_NONE);
    mprotect(all + page + kBuffer, page, PROT_NONE);
    out->region = all + page;
    return out;
  }();
  return *b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bodies& b = bodies();
  constexpr size_t kHeadroom = 256;
  if (size > kBuffer - kHeadroom) size = kBuffer - kHeadroom;
  for (size_t i = 0; i < b.script.afxdp.size(); ++i) {
    // The frame ends where the guard page starts.
    uint8_t* end = b.region + kBuffer;
    uint8_t* frame = end - size;
    std::memcpy(frame, data, size);
    // Its headroom is all the buffer below it: the lower guard page is where
    // vlan_push() may no longer go.
    dptrace::HostPacket p{frame, end, b.region, 1, 0};
    int verdict = b.host.body(i)(&p);
    // XDP_DROP, XDP_TX, or XDP_ABORTED (a vlan_push that left a frame under 18
    // bytes, as in the kernel); the loop drops all but XDP_TX.
    if (verdict != 0 && verdict != 1 && verdict != 3) std::abort();
    if (p.data < b.region || p.dataEnd != end || p.data > p.dataEnd) std::abort();
    if (p.data != frame && p.dataEnd - p.data < 14) std::abort();  // a tag moved: an Ethernet header is left
  }
  return 0;
}
