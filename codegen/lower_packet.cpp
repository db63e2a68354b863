// xdp programs: the packet's headers, found once at the program's start with
// every bounds check the verifier wants; field reads of the packet views; and
// the actions that end a packet's trip.
//
// A header is a pointer into the packet and a flag: absent when it is not
// there, truncated, malformed (IPv4 version/IHL, total or UDP length beyond
// the frame, TCP data offset) or, for L4, in a later IPv4 fragment. A read of an
// absent header's field branches to absent_: the end of the statement, or the
// next block for a predicate.
#include <llvm/IR/InlineAsm.h>

#include <tuple>
#include <vector>

#include "function_lowering.h"
#include "packet_views.h"

namespace dptrace {

namespace {

// Ethertypes as a little-endian load of their two bytes sees them: the parse
// compares them unswapped (as C code compares with bpf_htons(ETH_P_IP)), and
// eth.type swaps only where a script reads it.
constexpr uint64_t swapped16(uint64_t v) { return ((v & 0xff) << 8) | (v >> 8); }
constexpr uint64_t kEthIp = swapped16(0x0800), kEthIp6 = swapped16(0x86DD), kEthVlan = swapped16(0x8100),
                   kEthQinQ = swapped16(0x88A8);
constexpr uint64_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17, kProtoIcmp6 = 58;
constexpr uint64_t kGtpUPort = 2152;

}  // namespace

// xdp_md.data / data_end, as the packet pointers the verifier knows them by.
Value* FunctionLowering::contextPointer(uint32_t offsetInContext) {
  if (m_.host())  // HostPacket: real pointers
    return b_.CreateAlignedLoad(ptr(), offset(fn_->getArg(0), offsetInContext == kXdpMdData ? kHostData : kHostDataEnd),
                                llvm::Align(8));
  Value* v = b_.CreateAlignedLoad(b_.getInt32Ty(), offset(fn_->getArg(0), offsetInContext), llvm::Align(4));
  return b_.CreateIntToPtr(b_.CreateZExt(v, i64()), ptr());
}

Value* FunctionLowering::loadPacket(Value* header, uint32_t off, uint32_t bytes) {
  // Natural alignment, as C's struct iphdr gives: x86 BPF does unaligned packet loads.
  Value* v = b_.CreateAlignedLoad(b_.getIntNTy(bytes * 8), offset(header, off), llvm::Align(bytes));
  if (bytes > 1) v = b_.CreateUnaryIntrinsic(llvm::Intrinsic::bswap, v);
  return b_.CreateZExt(v, i64());
}

void FunctionLowering::requirePresent(Value* present) {
  BasicBlock* yes = BasicBlock::Create(ctx_, "present", fn_);
  b_.CreateCondBr(present, yes, absent_);
  b_.SetInsertPoint(yes);
}

void FunctionLowering::parsePacket() {
  llvm::Type* i8 = b_.getInt8Ty();
  Value* data = contextPointer(kXdpMdData);
  Value* end = contextPointer(kXdpMdDataEnd);

  // Each header in two slots, its pointer and whether it was found (0 until
  // it is); SROA turns them into phis.
  const char* names[] = {"eth", "vlan", "ip", "ip6", "tcp", "udp", "icmp", "icmp6", "gtp"};
  if (pkt_.views.empty()) {
    llvm::IRBuilder<> entry(entry_, entry_->begin());
    for (const char* h : names) pkt_.views[h] = {entry.CreateAlloca(ptr()), entry.CreateAlloca(i64())};
    pkt_.ethType = entry.CreateAlloca(i64());
    // fib: fib_lookup()'s struct bpf_fib_lookup, absent until a lookup
    // succeeds; kept across the parses after a frame's size changes.
    Value* params = entry.CreateAlloca(llvm::ArrayType::get(i8, kFibParamsSize));
    llvm::cast<llvm::AllocaInst>(params)->setAlignment(llvm::Align(8));
    pkt_.views["fib"] = {entry.CreateAlloca(ptr()), entry.CreateAlloca(i64())};
    b_.CreateStore(params, pkt_.views["fib"].first);
    b_.CreateStore(b_.getInt64(0), pkt_.views["fib"].second);
  }
  auto& slots = pkt_.views;
  for (const char* h : names) {
    b_.CreateStore(data, slots[h].first);
    b_.CreateStore(b_.getInt64(0), slots[h].second);
  }
  auto found = [&](const char* h, Value* at) {
    b_.CreateStore(at, slots[h].first);
    b_.CreateStore(b_.getInt64(1), slots[h].second);
  };
  Value* ethTypeSlot = pkt_.ethType;
  // Defined on every path: where the frame has no Ethernet header, SROA made
  // it an undefined phi input that LLVM could select from, and the verifier
  // refused the program ("!read_ok") for /eth.type == 0x0806/ { drop(); }.
  b_.CreateStore(b_.getInt64(0), ethTypeSlot);
  BasicBlock* done = BasicBlock::Create(ctx_, "parsed", fn_);
  if (parseDepth_ == 0) {  // the blocks read no header
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
    return;
  }

  // Goes on only if `ok`; else the parse ends with what was found so far.
  auto require = [&](Value* ok, const char* name) {
    BasicBlock* next = BasicBlock::Create(ctx_, name, fn_);
    b_.CreateCondBr(ok, next, done);
    b_.SetInsertPoint(next);
  };
  auto fits = [&](Value* p, uint64_t bytes) {  // p + bytes <= end
    return b_.CreateICmpULE(b_.CreateGEP(i8, p, b_.getInt64(bytes)), end);
  };
  auto fitsVariable = [&](Value* p, Value* bytes) { return b_.CreateICmpULE(b_.CreateGEP(i8, p, bytes), end); };
  auto loadRaw16 = [&](Value* p, uint32_t off) {
    return b_.CreateZExt(b_.CreateAlignedLoad(b_.getInt16Ty(), offset(p, off), llvm::Align(2)), i64());
  };

  // Ethernet, then up to two VLAN tags.
  require(fits(data, 14), "eth");
  found("eth", data);
  Value* type0 = loadRaw16(data, 12);
  b_.CreateStore(type0, ethTypeSlot);
  auto isVlan = [&](Value* t) {
    return b_.CreateOr(b_.CreateICmpEQ(t, b_.getInt64(kEthVlan)), b_.CreateICmpEQ(t, b_.getInt64(kEthQinQ)));
  };
  BasicBlock* l3 = BasicBlock::Create(ctx_, "l3", fn_);
  Value* at14 = offset(data, 14);
  BasicBlock* untagged = b_.GetInsertBlock();
  BasicBlock* tagged = BasicBlock::Create(ctx_, "vlan", fn_);
  b_.CreateCondBr(isVlan(type0), tagged, l3);
  b_.SetInsertPoint(tagged);
  require(fits(data, 18), "vlan1");
  found("vlan", offset(data, 14));
  Value* type1 = loadRaw16(data, 16);
  b_.CreateStore(type1, ethTypeSlot);
  Value* at18 = offset(data, 18);
  BasicBlock* oneTag = b_.GetInsertBlock();
  BasicBlock* twoTags = BasicBlock::Create(ctx_, "vlan2", fn_);
  b_.CreateCondBr(isVlan(type1), twoTags, l3);
  b_.SetInsertPoint(twoTags);
  require(fits(data, 22), "vlan2_fits");
  Value* type2 = loadRaw16(data, 20);
  b_.CreateStore(type2, ethTypeSlot);
  Value* at22 = offset(data, 22);
  BasicBlock* twoTagsEnd = b_.GetInsertBlock();
  b_.CreateBr(l3);

  b_.SetInsertPoint(l3);
  llvm::PHINode* l3Start = b_.CreatePHI(ptr(), 3);
  l3Start->addIncoming(at14, untagged);
  l3Start->addIncoming(at18, oneTag);
  l3Start->addIncoming(at22, twoTagsEnd);
  llvm::PHINode* l3Type = b_.CreatePHI(i64(), 3);
  l3Type->addIncoming(type0, untagged);
  l3Type->addIncoming(type1, oneTag);
  l3Type->addIncoming(type2, twoTagsEnd);
  if (parseDepth_ < 2) {  // the blocks read eth and vlan only
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
    return;
  }

  // L4, shared by both IP versions (one copy of the TCP/UDP/GTP checks):
  // ICMP counts over IPv4 only, ICMPv6 over IPv6 only.
  BasicBlock* l4Block = BasicBlock::Create(ctx_, "l4", fn_);
  std::vector<std::tuple<BasicBlock*, Value*, Value*, bool>> l4From;  // block, header, protocol, IPv6?
  auto toL4 = [&](Value* l4, Value* proto, bool v6) {
    if (parseDepth_ < 3) {  // the blocks read no L4 header
      b_.CreateBr(done);
      return;
    }
    l4From.emplace_back(b_.GetInsertBlock(), l4, proto, v6);
    b_.CreateBr(l4Block);
  };
  auto parseL4 = [&]() {
    b_.SetInsertPoint(l4Block);
    llvm::PHINode* l4 = b_.CreatePHI(ptr(), 2);
    llvm::PHINode* proto = b_.CreatePHI(i64(), 2);
    llvm::PHINode* v6 = b_.CreatePHI(b_.getInt1Ty(), 2);
    for (auto& [from, header, protocol, isV6] : l4From) {
      l4->addIncoming(header, from);
      proto->addIncoming(protocol, from);
      v6->addIncoming(b_.getInt1(isV6), from);
    }
    BasicBlock* tcp = BasicBlock::Create(ctx_, "tcp", fn_);
    BasicBlock* udp = BasicBlock::Create(ctx_, "udp", fn_);
    BasicBlock* icmp = BasicBlock::Create(ctx_, "icmp", fn_);
    BasicBlock* icmp6 = BasicBlock::Create(ctx_, "icmp6", fn_);
    llvm::SwitchInst* sw = b_.CreateSwitch(proto, done, 4);
    sw->addCase(b_.getInt64(kProtoTcp), tcp);
    sw->addCase(b_.getInt64(kProtoUdp), udp);
    sw->addCase(b_.getInt64(kProtoIcmp), icmp);
    sw->addCase(b_.getInt64(kProtoIcmp6), icmp6);

    b_.SetInsertPoint(tcp);
    require(fits(l4, 20), "tcp_fits");
    Value* doff = b_.CreateLShr(b_.CreateZExt(b_.CreateAlignedLoad(i8, offset(l4, 12), llvm::Align(1)), i64()), 4);
    require(b_.CreateICmpUGE(doff, b_.getInt64(5)), "tcp_doff");
    require(fitsVariable(l4, b_.CreateShl(doff, 2)), "tcp_options");
    found("tcp", l4);
    b_.CreateBr(done);

    b_.SetInsertPoint(udp);
    require(fits(l4, 8), "udp_fits");
    Value* ulen = loadPacket(l4, 4, 2);
    require(b_.CreateICmpUGE(ulen, b_.getInt64(8)), "udp_len");
    require(fitsVariable(l4, ulen), "udp_len_fits");
    found("udp", l4);
    if (parseDepth_ < 4) {  // the blocks read no GTP-U header
      b_.CreateBr(done);
    } else {
      require(b_.CreateICmpEQ(loadPacket(l4, 2, 2), b_.getInt64(kGtpUPort)), "gtp_port");
      Value* gtp = offset(l4, 8);
      require(fits(gtp, 8), "gtp_fits");
      Value* flags = b_.CreateZExt(b_.CreateAlignedLoad(i8, gtp, llvm::Align(1)), i64());
      require(b_.CreateICmpEQ(b_.CreateLShr(flags, 5), b_.getInt64(1)), "gtp_v1");
      found("gtp", gtp);
      b_.CreateBr(done);
    }

    for (auto [block, name, overV6] : {std::tuple{icmp, "icmp", false}, std::tuple{icmp6, "icmp6", true}}) {
      b_.SetInsertPoint(block);
      require(overV6 ? static_cast<Value*>(v6) : b_.CreateNot(v6), "icmp_version");
      require(fits(l4, 8), "icmp_fits");
      found(name, l4);
      b_.CreateBr(done);
    }
  };

  BasicBlock* ip4 = BasicBlock::Create(ctx_, "ip", fn_);
  BasicBlock* ip6 = BasicBlock::Create(ctx_, "ip6", fn_);
  llvm::SwitchInst* sw = b_.CreateSwitch(l3Type, done, 2);
  sw->addCase(b_.getInt64(kEthIp), ip4);
  sw->addCase(b_.getInt64(kEthIp6), ip6);

  // IPv4: version 4, IHL >= 5 with its options in the frame, total length
  // covering the header and within the frame.
  b_.SetInsertPoint(ip4);
  require(fits(l3Start, 20), "ip_fits");
  Value* vihl = b_.CreateZExt(b_.CreateAlignedLoad(i8, l3Start, llvm::Align(1)), i64());
  require(b_.CreateICmpEQ(b_.CreateLShr(vihl, 4), b_.getInt64(4)), "ip_version");
  Value* hlen = b_.CreateShl(b_.CreateAnd(vihl, 15), 2);
  require(b_.CreateICmpUGE(hlen, b_.getInt64(20)), "ip_ihl");
  require(fitsVariable(l3Start, hlen), "ip_options");
  Value* total = loadPacket(l3Start, 2, 2);
  require(b_.CreateICmpUGE(total, hlen), "ip_total");
  require(fitsVariable(l3Start, total), "ip_total_fits");
  found("ip", l3Start);
  require(b_.CreateICmpEQ(b_.CreateAnd(loadPacket(l3Start, 6, 2), 0x1fff), b_.getInt64(0)), "ip_first_fragment");
  // The L4 header sits at a variable offset (IHL). The verifier knows the
  // bounds only of the register it saw compared with data_end; an opaque
  // copy keeps LLVM from recomputing l3 + hlen into a fresh register later.
  auto* opaque = llvm::InlineAsm::get(llvm::FunctionType::get(ptr(), {ptr()}, false), "", "=r,0", false);
  Value* l4 = b_.CreateCall(opaque, {b_.CreateGEP(i8, l3Start, hlen)});
  toL4(l4, b_.CreateZExt(b_.CreateAlignedLoad(i8, offset(l3Start, 9), llvm::Align(1)), i64()), false);

  // IPv6: the fixed header, its payload within the frame; L4 only when the
  // next header names it (no extension headers).
  b_.SetInsertPoint(ip6);
  require(fits(l3Start, 40), "ip6_fits");
  Value* v6 = b_.CreateZExt(b_.CreateAlignedLoad(i8, l3Start, llvm::Align(1)), i64());
  require(b_.CreateICmpEQ(b_.CreateLShr(v6, 4), b_.getInt64(6)), "ip6_version");
  require(fitsVariable(l3Start, b_.CreateAdd(loadPacket(l3Start, 4, 2), b_.getInt64(40))), "ip6_payload_fits");
  found("ip6", l3Start);
  Value* l4v6 = offset(l3Start, 40);
  toL4(l4v6, b_.CreateZExt(b_.CreateAlignedLoad(i8, offset(l3Start, 6), llvm::Align(1)), i64()), true);
  if (parseDepth_ >= 3) parseL4();
  else l4Block->eraseFromParent();

  b_.SetInsertPoint(done);
}

std::optional<PacketHeader> FunctionLowering::header(const std::string& view) {
  auto it = pkt_.views.find(view);
  if (it == pkt_.views.end()) return std::nullopt;  // pkt: always there
  return PacketHeader{b_.CreateLoad(ptr(), it->second.first), b_.CreateLoad(i64(), it->second.second)};
}

Value* FunctionLowering::viewPresent(const std::string& view) {
  auto h = header(view);
  return h ? h->present : b_.getInt64(1);
}

Val FunctionLowering::packetField(const std::string& view, const std::string& field, SourceRange r) {
  Value* ctx = fn_->getArg(0);
  if (view == "pkt") {
    if (field == "len" && m_.host())
      return {b_.CreatePtrDiff(b_.getInt8Ty(), contextPointer(kXdpMdDataEnd), contextPointer(kXdpMdData)), false};
    if (field == "len") return {b_.CreateAnd(call(Helper::XdpGetBuffLen, i64(), {ctx}), 0xffffffff), false};
    uint32_t off = field == "ifindex" ? kXdpMdIngressIfindex : kXdpMdRxQueue;
    if (m_.host()) off = field == "ifindex" ? kHostIfindex : kHostQueue;
    return {b_.CreateZExt(b_.CreateAlignedLoad(b_.getInt32Ty(), offset(ctx, off), llvm::Align(4)), i64()), false};
  }
  PacketHeader found = *header(view);
  requirePresent(b_.CreateICmpNE(found.present, b_.getInt64(0)));
  Value* h = found.at;
  auto mac = [&](uint32_t off) {  // the six bytes in packet order, as the slot holds them
    Value* lo = b_.CreateZExt(b_.CreateAlignedLoad(b_.getInt32Ty(), offset(h, off), llvm::Align(2)), i64());
    Value* hi = b_.CreateZExt(b_.CreateAlignedLoad(b_.getInt16Ty(), offset(h, off + 4), llvm::Align(2)), i64());
    return Val{b_.CreateOr(lo, b_.CreateShl(hi, 32)), false};
  };
  auto ipv4 = [&](uint32_t off) {  // network order in memory, as pton() makes it
    return Val{b_.CreateZExt(b_.CreateAlignedLoad(b_.getInt32Ty(), offset(h, off), llvm::Align(4)), i64()), false};
  };
  auto ipv6 = [&](uint32_t off) {
    Value* buf = stackSlot(16);
    for (uint32_t i = 0; i < 16; i += 4)
      b_.CreateAlignedStore(b_.CreateAlignedLoad(b_.getInt32Ty(), offset(h, off + i), llvm::Align(4)), offset(buf, i),
                            llvm::Align(4));
    return Val{buf, true};
  };
  const PacketField* f = findPacketField(view, field);
  if (view == "eth" && field == "type") {  // the ethertype after the tags, found by the parse
    Value* raw = b_.CreateTrunc(b_.CreateLoad(i64(), pkt_.ethType), b_.getInt16Ty());
    return {b_.CreateZExt(b_.CreateUnaryIntrinsic(llvm::Intrinsic::bswap, raw), i64()), false};
  }
  if (view == "vlan") return {b_.CreateAnd(loadPacket(h, f->offset, f->size), 0xfff), false};
  if (f->type.is(TypeKind::Mac)) return mac(f->offset);
  if (f->type.is(TypeKind::Ipv4)) return ipv4(f->offset);
  if (f->type.is(TypeKind::Ipv6)) return ipv6(f->offset);
  if (view == "fib")  // host order
    return {b_.CreateZExt(b_.CreateAlignedLoad(b_.getInt32Ty(), offset(h, f->offset), llvm::Align(4)), i64()), false};
  if (f->type.is(TypeKind::Integer)) return {loadPacket(h, f->offset, f->size), false};
  m_.unsupported(r, view + "." + field);
  return zero();
}

void FunctionLowering::redirectToSocket() {
  Value* ctx = fn_->getArg(0);
  Value* queue = b_.CreateZExt(b_.CreateAlignedLoad(b_.getInt32Ty(), offset(ctx, kXdpMdRxQueue), llvm::Align(4)), i64());
  if (ap_->queue) {
    BasicBlock* mine = BasicBlock::Create(ctx_, "afxdp_queue", fn_);
    b_.CreateCondBr(b_.CreateICmpEQ(queue, b_.getInt64(*ap_->queue)), mine, nextBlock_);
    b_.SetInsertPoint(mine);
  }
  if (m_.pcap()) {
    Value* key = stackSlot(8);
    b_.CreateAlignedStore(b_.getInt32(0), key, llvm::Align(8));
    Value* p = call(Helper::MapLookupElem, ptr(), {m_.afxdpHit(), key});
    onlyIf(b_.CreateIsNotNull(p), [&] { b_.CreateAlignedStore(b_.getInt64(m_.afxdpBody(ap_) + 1), p, llvm::Align(8)); });
    b_.CreateRet(b_.getInt32(kXdpRedirect));
  } else {
    // A queue without a socket passes the frame to the kernel (the flags' default action).
    Value* r = call(Helper::RedirectMap, i64(), {m_.xskMap(ap_->target), queue, b_.getInt64(kXdpPass)});
    b_.CreateRet(b_.CreateTrunc(r, b_.getInt32Ty()));
  }
  b_.SetInsertPoint(BasicBlock::Create(ctx_, "after_action", fn_));
}

void FunctionLowering::packetAction(const ast::Call& c) {
  const std::string& n = c.callee;
  Value* verdict = nullptr;
  if (n == "pass") verdict = b_.getInt32(kXdpPass);
  else if (n == "drop") verdict = b_.getInt32(kXdpDrop);
  else if (n == "tx") verdict = b_.getInt32(kXdpTx);
  else if (n == "abort") verdict = b_.getInt32(kXdpAborted);
  else if (n == "redirect" && c.args[0].value->kind != ast::ExprKind::String) {
    Value* ifindex = b_.CreateAnd(expr(*c.args[0].value).v, 0xffffffff);
    verdict = b_.CreateTrunc(call(Helper::RedirectMap, i64(), {m_.devMap(), ifindex, b_.getInt64(kXdpPass)}), b_.getInt32Ty());
  } else if (n == "redirect") {
    const std::string& name = static_cast<const ast::String&>(*c.args[0].value).value;
    uint32_t ifindex = m_.interfaceIndex(name);
    verdict = b_.CreateTrunc(call(Helper::Redirect, i64(), {b_.getInt64(ifindex), b_.getInt64(0)}), b_.getInt32Ty());
  }
  if (!verdict) return m_.unsupported(c.range, n + "()");
  b_.CreateRet(verdict);
  b_.SetInsertPoint(BasicBlock::Create(ctx_, "after_action", fn_));
}

}  // namespace dptrace

namespace dptrace {

void FunctionLowering::onlyIf(Value* condition, const std::function<void()>& then) {
  BasicBlock* yes = BasicBlock::Create(ctx_, "only_if", fn_);
  BasicBlock* after = BasicBlock::Create(ctx_, "only_if_end", fn_);
  b_.CreateCondBr(condition, yes, after);
  b_.SetInsertPoint(yes);
  then();
  b_.CreateBr(after);
  b_.SetInsertPoint(after);
}

// RFC 1624: HC' = ~(~HC + ~m + m'), `delta` being the sum of ~m + m' over
// the changed 16-bit words, all as they lie in memory (one's-complement sums
// do not care about byte order as long as every word is taken the same way).
// A UDP checksum of 0 means "none" and stays 0; a computed 0 is sent as 0xffff.
void FunctionLowering::updateChecksum(Value* at, Value* delta, bool udp) {
  auto apply = [&] {
    Value* old = b_.CreateZExt(b_.CreateAlignedLoad(b_.getInt16Ty(), at, llvm::Align(2)), i64());
    Value* sum = b_.CreateAdd(b_.CreateAnd(b_.CreateNot(old), 0xffff), delta);
    for (int i = 0; i < 3; ++i) sum = b_.CreateAdd(b_.CreateAnd(sum, 0xffff), b_.CreateLShr(sum, 16));
    Value* result = b_.CreateAnd(b_.CreateNot(sum), 0xffff);
    if (udp) result = b_.CreateSelect(b_.CreateICmpEQ(result, b_.getInt64(0)), b_.getInt64(0xffff), result);
    b_.CreateAlignedStore(b_.CreateTrunc(result, b_.getInt16Ty()), at, llvm::Align(2));
  };
  if (!udp) return apply();
  Value* current = b_.CreateAlignedLoad(b_.getInt16Ty(), at, llvm::Align(2));
  onlyIf(b_.CreateICmpNE(current, b_.getInt16(0)), apply);
}

void FunctionLowering::packetWrite(const ast::Field& target, const Val& v) {
  const std::string& view = static_cast<const ast::Identifier&>(*target.base).name;
  const std::string& field = target.field;
  if (view == "pkt") return setPacketLength(v);
  const Type& type = typeOf(target);
  PacketHeader h = *header(view);
  requirePresent(b_.CreateICmpNE(h.present, b_.getInt64(0)));  // a write to an absent view does not run
  const PacketField& place = *findPacketField(view, field);

  // The 16-bit words the checksums see: the field's, widened to even offsets.
  uint32_t first = place.offset & ~1u;
  uint32_t words = (place.offset + place.size - first + 1) / 2;
  std::vector<Value*> before;
  for (uint32_t i = 0; i < words; ++i)
    before.push_back(b_.CreateZExt(b_.CreateAlignedLoad(b_.getInt16Ty(), offset(h.at, first + 2 * i), llvm::Align(2)), i64()));

  Value* x = v.buffer ? v.v : normalize(v.v, type);
  Value* at = offset(h.at, place.offset);
  if (type.is(TypeKind::Ipv6)) {
    for (uint32_t i = 0; i < 16; i += 4)
      b_.CreateAlignedStore(b_.CreateAlignedLoad(b_.getInt32Ty(), offset(x, i), llvm::Align(4)), offset(at, i), llvm::Align(4));
  } else if (type.is(TypeKind::Mac)) {  // the six bytes in packet order, as the slot holds them
    b_.CreateAlignedStore(b_.CreateTrunc(x, b_.getInt32Ty()), at, llvm::Align(2));
    b_.CreateAlignedStore(b_.CreateTrunc(b_.CreateLShr(x, 32), b_.getInt16Ty()), offset(at, 4), llvm::Align(2));
  } else if (type.is(TypeKind::Ipv4)) {  // network order in memory already
    b_.CreateAlignedStore(b_.CreateTrunc(x, b_.getInt32Ty()), at, llvm::Align(4));
  } else {
    if (view == "vlan")  // the id is the TCI's low 12 bits; priority and DEI stay
      x = b_.CreateOr(b_.CreateAnd(loadPacket(h.at, 0, 2), 0xf000), b_.CreateAnd(x, 0xfff));
    llvm::Type* t = b_.getIntNTy(place.size * 8);
    Value* narrow = b_.CreateTrunc(x, t);
    if (place.size > 1) narrow = b_.CreateUnaryIntrinsic(llvm::Intrinsic::bswap, narrow);
    b_.CreateAlignedStore(narrow, at, llvm::Align(place.size));
  }

  if (view == "eth" || view == "vlan") return;  // no checksum covers them
  Value* delta = b_.getInt64(0);
  for (uint32_t i = 0; i < words; ++i) {
    Value* after = b_.CreateZExt(b_.CreateAlignedLoad(b_.getInt16Ty(), offset(h.at, first + 2 * i), llvm::Align(2)), i64());
    delta = b_.CreateAdd(delta, b_.CreateAdd(b_.CreateAnd(b_.CreateNot(before[i]), 0xffff), after));
  }
  // The checksums of the L4 header under an address (pseudo-header) or a payload field.
  auto l4 = [&](const char* name, uint32_t checksumAt, bool udp) {
    PacketHeader l = *header(name);
    onlyIf(b_.CreateICmpNE(l.present, b_.getInt64(0)), [&] { updateChecksum(offset(l.at, checksumAt), delta, udp); });
  };
  bool address = field == "src" || field == "dst";
  if (view == "udp" && field == "len") delta = b_.CreateAdd(delta, delta);  // in the header and the pseudo-header
  if (view == "ip") {
    updateChecksum(offset(h.at, 10), delta, false);
    if (address) l4("tcp", 16, false), l4("udp", 6, true);
    if (field == "len") l4("tcp", 16, false);  // TCP's pseudo-header length is ip.len minus the IP header
  } else if (view == "ip6") {  // no header checksum; the pseudo-header holds the addresses
    if (address) l4("tcp", 16, false), l4("udp", 6, true), l4("icmp6", 2, false);
  } else if (view == "tcp") {
    updateChecksum(offset(h.at, 16), delta, false);
  } else if (view == "udp") {
    updateChecksum(offset(h.at, 6), delta, true);
  } else if (view == "icmp" || view == "icmp6") {
    updateChecksum(offset(h.at, 2), delta, false);
  } else if (view == "gtp") {
    l4("udp", 6, true);
  }
}

// pkt.len = n: the frame grows (zeros) or shrinks at its end
// (bpf_xdp_adjust_tail). The kernel keeps at least an Ethernet header and
// grows only into the buffer's tailroom; where it refuses, the frame stays
// as it was and the statement does not run. Headers are the script's to
// change (ip.len, udp.len).
void FunctionLowering::setPacketLength(const Val& v) {
  Value* ctx = fn_->getArg(0);
  Value* want = b_.CreateAnd(v.v, 0xffffffff);
  requirePresent(b_.CreateICmpULE(want, b_.getInt64(0xffff)));  // no frame is larger: the delta fits an int
  Value* now = b_.CreateAnd(call(Helper::XdpGetBuffLen, i64(), {ctx}), 0xffffffff);
  Value* r = call(Helper::XdpAdjustTail, i64(), {ctx, b_.CreateSub(want, now)});
  parsePacket();  // every packet pointer is stale after the call, whatever its result
  requirePresent(b_.CreateICmpEQ(r, b_.getInt64(0)));
}

// fib_lookup(): the kernel's FIB asked where this IPv4 or IPv6 packet goes
// (bpf_fib_lookup, from its ingress interface, as the stack would forward
// it). 0 when it is forwarded: fib.* then hold the egress ifindex and the
// MACs; else BPF_FIB_LKUP_RET_* and fib stays absent. Without an IP header
// the statement does not run.
Val FunctionLowering::fibLookup() {
  Value* ctx = fn_->getArg(0);
  PacketHeader ip = *header("ip"), ip6 = *header("ip6");
  requirePresent(b_.CreateICmpNE(b_.CreateOr(ip.present, ip6.present), b_.getInt64(0)));
  PacketHeader tcp = *header("tcp"), udp = *header("udp");
  auto [paramsSlot, presentSlot] = pkt_.views.at("fib");
  Value* params = b_.CreateLoad(ptr(), paramsSlot);
  b_.CreateMemSet(params, b_.getInt8(0), kFibParamsSize, llvm::MaybeAlign(8));
  b_.CreateAlignedStore(b_.CreateAlignedLoad(b_.getInt32Ty(), offset(ctx, kXdpMdIngressIfindex), llvm::Align(4)),
                        offset(params, 8), llvm::Align(4));
  auto copy = [&](Value* from, uint32_t at, uint32_t bytes, uint32_t to) {  // network order stays
    for (uint32_t i = 0; i < bytes; i += 4)
      b_.CreateAlignedStore(b_.CreateAlignedLoad(b_.getInt32Ty(), offset(from, at + i), llvm::Align(4)),
                            offset(params, to + i), llvm::Align(4));
  };
  auto byte = [&](Value* from, uint32_t at, uint32_t to) {
    b_.CreateStore(b_.CreateAlignedLoad(b_.getInt8Ty(), offset(from, at), llvm::Align(1)), offset(params, to));
  };
  auto u16 = [&](Value* v, uint32_t to) {
    b_.CreateAlignedStore(b_.CreateTrunc(v, b_.getInt16Ty()), offset(params, to), llvm::Align(2));
  };
  // The ports, for policy routing by port (ip rule ... dport) and multipath
  // hashing -- as the stack's lookup has them: none for an IPv4 fragment,
  // first fragments included (its flow dissector reads no ports there).
  for (const PacketHeader& l4 : {tcp, udp})
    onlyIf(b_.CreateICmpNE(l4.present, b_.getInt64(0)), [&] {
      BasicBlock* whole = BasicBlock::Create(ctx_, "fib_ports", fn_);
      BasicBlock* skip = BasicBlock::Create(ctx_, "fib_no_ports", fn_);
      BasicBlock* v4Check = BasicBlock::Create(ctx_, "fib_ports_v4", fn_);
      b_.CreateCondBr(b_.CreateICmpNE(ip.present, b_.getInt64(0)), v4Check, whole);
      b_.SetInsertPoint(v4Check);
      b_.CreateCondBr(b_.CreateICmpEQ(b_.CreateAnd(loadPacket(ip.at, 6, 2), 0x3fff), b_.getInt64(0)), whole, skip);
      b_.SetInsertPoint(whole);
      for (uint32_t port : {0u, 2u})  // sport, dport: network order stays
        b_.CreateAlignedStore(b_.CreateAlignedLoad(b_.getInt16Ty(), offset(l4.at, port), llvm::Align(2)),
                              offset(params, 2 + port), llvm::Align(2));
      b_.CreateBr(skip);
      b_.SetInsertPoint(skip);
    });
  Value* answer = entryAlloca(8);
  BasicBlock* done = BasicBlock::Create(ctx_, "fib_done", fn_);
  BasicBlock* v4 = BasicBlock::Create(ctx_, "fib_ip", fn_);
  BasicBlock* v6 = BasicBlock::Create(ctx_, "fib_ip6", fn_);
  BasicBlock* ask = BasicBlock::Create(ctx_, "fib_ask", fn_);
  b_.CreateCondBr(b_.CreateICmpNE(ip.present, b_.getInt64(0)), v4, v6);
  b_.SetInsertPoint(v4);
  b_.CreateStore(b_.getInt8(2), params);  // AF_INET
  byte(ip.at, 9, 1);                      // l4_protocol
  u16(loadPacket(ip.at, 2, 2), 6);        // tot_len, host order
  byte(ip.at, 1, 12);                     // tos
  copy(ip.at, 12, 4, 16);
  copy(ip.at, 16, 4, 32);
  b_.CreateBr(ask);
  b_.SetInsertPoint(v6);
  // Extension headers before the L4 header hide the protocol and ports the
  // stack's lookup uses (its rules by port): not asked, the stack decides.
  Value* next = b_.CreateZExt(b_.CreateAlignedLoad(b_.getInt8Ty(), offset(ip6.at, 6), llvm::Align(1)), i64());
  Value* extension = b_.getInt1(false);
  for (uint64_t h : {0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254})
    extension = b_.CreateOr(extension, b_.CreateICmpEQ(next, b_.getInt64(h)));
  BasicBlock* plain6 = BasicBlock::Create(ctx_, "fib_ip6_plain", fn_);
  BasicBlock* hidden = BasicBlock::Create(ctx_, "fib_ip6_extensions", fn_);
  b_.CreateCondBr(extension, hidden, plain6);
  b_.SetInsertPoint(hidden);
  b_.CreateAlignedStore(b_.getInt64(kFibIpv6Extensions), answer, llvm::Align(8));
  b_.CreateBr(done);
  b_.SetInsertPoint(plain6);
  b_.CreateStore(b_.getInt8(10), params);  // AF_INET6
  byte(ip6.at, 6, 1);
  u16(b_.CreateAdd(loadPacket(ip6.at, 4, 2), b_.getInt64(40)), 6);
  Value* flow = b_.CreateAlignedLoad(b_.getInt32Ty(), ip6.at, llvm::Align(4));  // flow label and traffic class
  b_.CreateAlignedStore(b_.CreateAnd(flow, b_.getInt32(0xffffff0f)), offset(params, 12), llvm::Align(4));
  copy(ip6.at, 8, 16, 16);
  copy(ip6.at, 24, 16, 32);
  b_.CreateBr(ask);
  b_.SetInsertPoint(ask);
  b_.CreateAlignedStore(call(Helper::FibLookup, i64(), {ctx, params, b_.getInt64(kFibParamsSize), b_.getInt64(0)}),
                        answer, llvm::Align(8));
  // Forwarded by the kernel, but out of an interface that cannot take
  // redirected frames now (not in the device map): XDP must not send it there.
  onlyIf(b_.CreateICmpEQ(b_.CreateAlignedLoad(i64(), answer, llvm::Align(8)), b_.getInt64(0)), [&] {
    Value* egress = call(Helper::MapLookupElem, ptr(), {m_.devMap(), offset(params, 8)});
    onlyIf(b_.CreateIsNull(egress), [&] { b_.CreateAlignedStore(b_.getInt64(kFibNoXdpEgress), answer, llvm::Align(8)); });
  });
  b_.CreateBr(done);
  b_.SetInsertPoint(done);
  Value* r = b_.CreateAlignedLoad(i64(), answer, llvm::Align(8));
  b_.CreateStore(b_.CreateZExt(b_.CreateICmpEQ(r, b_.getInt64(0)), i64()), presentSlot);
  return {b_.CreateAnd(r, 0xffffffff), false};
}

// capture(N): the frame's first N bytes (fewer when it is shorter) with its
// length, time, ifindex and queue, as one ring-buffer record of fixed size,
// reserved and filled in place (bpf_xdp_load_bytes reads past the linear
// part too). A full ring buffer counts the record lost.
void FunctionLowering::capture(const ast::Call& c) {
  uint32_t n = static_cast<uint32_t>(m_.types().values.at(&c));
  uint64_t index = m_.addCapture(n);
  at(c.range);
  Value* ctx = fn_->getArg(0);
  BasicBlock* done = BasicBlock::Create(ctx_, "capture_done", fn_);
  Value* record =
      reserveRecord(kCaptureHeader + ((uint64_t{n} + 7) & ~uint64_t{7}), EventKind::Capture, index, done);
  b_.CreateAlignedStore(call(Helper::KtimeGetNs, i64(), {}), offset(record, kCaptureTime), llvm::Align(8));
  Value* length = b_.CreateAnd(call(Helper::XdpGetBuffLen, i64(), {ctx}), 0xffffffff);
  b_.CreateAlignedStore(b_.CreateTrunc(length, b_.getInt32Ty()), offset(record, kCaptureLength), llvm::Align(4));
  for (auto [from, to] : {std::pair{kXdpMdIngressIfindex, kCaptureIfindex}, std::pair{kXdpMdRxQueue, kCaptureQueue}})
    b_.CreateAlignedStore(b_.CreateAlignedLoad(b_.getInt32Ty(), offset(ctx, from), llvm::Align(4)), offset(record, to),
                          llvm::Align(4));
  // The copied length in a branch of its own, so that the verifier sees it between 1 and N.
  BasicBlock* whole = BasicBlock::Create(ctx_, "capture_whole", fn_);
  BasicBlock* cut = BasicBlock::Create(ctx_, "capture_cut", fn_);
  BasicBlock* copy = BasicBlock::Create(ctx_, "capture_copy", fn_);
  BasicBlock* submit = BasicBlock::Create(ctx_, "capture_submit", fn_);
  BasicBlock* failed = BasicBlock::Create(ctx_, "capture_failed", fn_);
  b_.CreateCondBr(b_.CreateICmpUGT(length, b_.getInt64(n)), cut, whole);
  b_.SetInsertPoint(cut);
  b_.CreateBr(copy);
  b_.SetInsertPoint(whole);
  BasicBlock* wholeNonEmpty = BasicBlock::Create(ctx_, "capture_nonempty", fn_);
  b_.CreateCondBr(b_.CreateICmpEQ(length, b_.getInt64(0)), failed, wholeNonEmpty);
  b_.SetInsertPoint(wholeNonEmpty);
  b_.CreateBr(copy);
  b_.SetInsertPoint(copy);
  llvm::PHINode* copied = b_.CreatePHI(i64(), 2);
  copied->addIncoming(b_.getInt64(n), cut);
  copied->addIncoming(length, wholeNonEmpty);
  b_.CreateAlignedStore(b_.CreateTrunc(copied, b_.getInt32Ty()), offset(record, kCaptureCopied), llvm::Align(4));
  Value* r = call(Helper::XdpLoadBytes, i64(), {ctx, b_.getInt64(0), offset(record, kCaptureHeader), copied});
  b_.CreateCondBr(b_.CreateICmpEQ(r, b_.getInt64(0)), submit, failed);

  b_.SetInsertPoint(failed);  // cannot happen for a frame the kernel handed over; the verifier wants the path
  call(Helper::RingbufDiscard, b_.getVoidTy(), {record, b_.getInt64(0)});
  incrementCounter(m_.lost(), 0);
  b_.CreateBr(done);

  b_.SetInsertPoint(submit);
  call(Helper::RingbufSubmit, b_.getVoidTy(), {record, wakeupFlags()});
  b_.CreateBr(done);
  b_.SetInsertPoint(done);
}

void FunctionLowering::swapFields(const ast::Call& c) {
  const auto& a = static_cast<const ast::Field&>(*c.args[0].value);
  const auto& b = static_cast<const ast::Field&>(*c.args[1].value);
  Val va = expr(a), vb = expr(b);
  if (va.buffer) {  // IPv6 addresses: copies, since the first write changes the packet
    Value* copy = stackSlot(16);
    b_.CreateMemCpy(copy, llvm::MaybeAlign(8), va.v, llvm::MaybeAlign(8), 16);
    va.v = copy;
  }
  packetWrite(a, vb);
  packetWrite(b, va);
}

// The 12 bytes of destination and source MAC, from data+from to data+to
// (overlapping: all loaded before any store).
void FunctionLowering::moveMacAddresses(Value* data, uint32_t from, uint32_t to) {
  std::vector<Value*> words;
  for (uint32_t i = 0; i < 12; i += 4)
    words.push_back(b_.CreateAlignedLoad(b_.getInt32Ty(), offset(data, from + i), llvm::Align(2)));
  for (uint32_t i = 0; i < 3; ++i) b_.CreateAlignedStore(words[i], offset(data, to + 4 * i), llvm::Align(2));
}

// Pops the outer tag: the MAC addresses move 4 bytes up over it, and the
// frame starts 4 bytes later (bpf_xdp_adjust_head). Untagged frames are left alone.
void FunctionLowering::vlanPop() {
  PacketHeader vlan = *header("vlan");
  requirePresent(b_.CreateICmpNE(vlan.present, b_.getInt64(0)));
  Value* ctx = fn_->getArg(0);
  Value* data = contextPointer(kXdpMdData);
  Value* end = contextPointer(kXdpMdDataEnd);
  requirePresent(b_.CreateICmpULE(offset(data, 18), end));
  moveMacAddresses(data, 0, 4);
  call(Helper::XdpAdjustHead, i64(), {ctx, b_.getInt64(4)});
  parsePacket();  // every packet pointer is stale after the adjustment, whatever its result
}

// Pushes an outer 802.1Q tag with `id`: the frame starts 4 bytes earlier, the
// MAC addresses move down, and TPID 0x8100 + TCI go where they were.
void FunctionLowering::vlanPush(const ast::Expr& id) {
  Value* tci = b_.CreateAnd(expr(id).v, 0xfff);
  Value* ctx = fn_->getArg(0);
  Value* r = call(Helper::XdpAdjustHead, i64(), {ctx, b_.getInt64(static_cast<uint64_t>(-4))});
  Value* pushed = b_.CreateICmpEQ(r, b_.getInt64(0));
  onlyIf(pushed, [&] {
    Value* data = contextPointer(kXdpMdData);
    Value* end = contextPointer(kXdpMdDataEnd);
    BasicBlock* fits = BasicBlock::Create(ctx_, "vlan_push_fits", fn_);
    BasicBlock* tooShort = BasicBlock::Create(ctx_, "vlan_push_short", fn_);
    b_.CreateCondBr(b_.CreateICmpULE(offset(data, 18), end), fits, tooShort);
    b_.SetInsertPoint(tooShort);  // cannot happen after a successful adjustment; the verifier wants it
    b_.CreateRet(b_.getInt32(kXdpAborted));
    b_.SetInsertPoint(fits);
    moveMacAddresses(data, 4, 0);
    b_.CreateAlignedStore(b_.getInt16(0x0081), offset(data, 12), llvm::Align(2));  // 0x8100 in network order
    Value* tciBe = b_.CreateUnaryIntrinsic(llvm::Intrinsic::bswap, b_.CreateTrunc(tci, b_.getInt16Ty()));
    b_.CreateAlignedStore(tciBe, offset(data, 14), llvm::Align(2));
  });
  parsePacket();  // every packet pointer is stale after the call, whatever its result
  requirePresent(pushed);
}

}  // namespace dptrace
