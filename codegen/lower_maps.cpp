// Maps: keys in slot layout, reads and stores, and aggregations on per-CPU
// entries created on first use (histograms keyed by key + bucket).
#include <algorithm>
#include <functional>

#include "function_lowering.h"
#include "visitor.h"

namespace dptrace {

// The BPF key of @m[k...], plus room for a histogram bucket.
Value* FunctionLowering::mapKey(const ast::Map& m, const MapLayout& l) {
  if (l.array) {  // the index: the key's bits, the key below the slots, or 0 (aggregation.h)
    Value* index = stackSlot(8);
    Value* v = b_.getInt64(0);
    if (!m.keys.empty() && arrayIndexedByBits(l.keys)) {
      v = b_.CreateAnd(expr(*m.keys[0]).v, l.arraySlots - 1);
    } else if (!m.keys.empty()) {  // constant keys: any other key is a slot that is not there
      Value* k = expr(*m.keys[0]).v;
      v = b_.CreateSelect(b_.CreateICmpULT(k, b_.getInt64(l.arraySlots)), k, b_.getInt64(0xffffffff));
    }
    b_.CreateAlignedStore(b_.CreateTrunc(v, b_.getInt32Ty()), index, llvm::Align(8));
    return index;
  }
  // Integers, booleans, IPv4 addresses and MACs fill their 8-byte slot; only
  // strings and tuples (and a histogram's bucket) need the padding zeroed.
  bool filled = std::all_of(l.keys.begin(), l.keys.end(), [](const Type& t) {
    return t.isIntegerLike() || t.is(TypeKind::Ipv4) || t.is(TypeKind::Mac);
  }) && m.keys.size() == l.keys.size();
  Value* key = filled ? stackSlot(std::max<uint32_t>(l.keySize, 8)) : zeroedBuffer(l.keySize);
  if (filled && l.keys.empty()) b_.CreateAlignedStore(b_.getInt64(0), key, llvm::Align(8));
  uint32_t off = 0;
  for (size_t i = 0; i < m.keys.size() && i < l.keys.size(); ++i) {
    Val k = expr(*m.keys[i]);
    storeSlot(key, off, k, typeOf(*m.keys[i]), l.keys[i]);
    off += slotSize(l.keys[i]);
  }
  return key;
}

Val FunctionLowering::mapRead(const ast::Map& m) {
  const MapGlobal& g = m_.map(m.name);
  const MapLayout& l = m_.layout(g);
  Value* key = mapKey(m, l);
  Value* p = call(Helper::MapLookupElem, ptr(), {g.global, key});
  bool buffer = heldInMemory(l.value);
  Value* result = buffer ? zeroedBuffer(slotSize(l.value)) : nullptr;
  BasicBlock* from = b_.GetInsertBlock();
  BasicBlock* found = BasicBlock::Create(ctx_, "found", fn_);
  BasicBlock* done = BasicBlock::Create(ctx_, "read", fn_);
  b_.CreateCondBr(b_.CreateIsNotNull(p), found, done);
  b_.SetInsertPoint(found);
  Value* loaded = nullptr;
  if (buffer) copyBytes(result, p, slotSize(l.value));
  else loaded = b_.CreateAlignedLoad(i64(), p, llvm::Align(8));
  b_.CreateBr(done);
  b_.SetInsertPoint(done);
  if (buffer) return {result, true};
  auto* phi = b_.CreatePHI(i64(), 2);
  phi->addIncoming(b_.getInt64(0), from);
  phi->addIncoming(loaded, found);
  return {phi, false};
}

void FunctionLowering::mapStore(const ast::Map& m, const Val& v, const Type& from) {
  const MapGlobal& g = m_.map(m.name);
  const MapLayout& l = m_.layout(g);
  Value* key = mapKey(m, l);
  Value* value = zeroedBuffer(l.valueSize);
  storeSlot(value, 0, v, from, l.value);
  at(m.range);
  Value* r = call(Helper::MapUpdateElem, i64(), {g.global, key, value, b_.getInt64(kAny)});
  refusedIf(b_.CreateICmpNE(r, b_.getInt64(0)), g.index);
  checkHelper(Helper::MapUpdateElem, r, 1);
}

void FunctionLowering::refusedIf(Value* failed, size_t mapIndex) {
  BasicBlock* bad = BasicBlock::Create(ctx_, "map_full", fn_);
  BasicBlock* ok = BasicBlock::Create(ctx_, "stored", fn_);
  b_.CreateCondBr(failed, bad, ok);
  b_.SetInsertPoint(bad);
  incrementCounter(m_.refused(), static_cast<uint32_t>(mapIndex));
  b_.CreateBr(ok);
  b_.SetInsertPoint(ok);
}

namespace {

struct MapStores : ast::Visitor<MapStores, true> {
  using Visitor::visit;
  std::map<std::string, uint32_t> sites;
  void visit(const ast::Assign& a) {
    if (a.target->kind == ast::ExprKind::Map) ++sites[static_cast<const ast::Map&>(*a.target).name];
    Visitor::visit(a);
  }
};

}  // namespace

uint32_t FunctionLowering::storeSites(const std::string& map) {
  if (!storeSites_) {
    MapStores stores;
    stores.visit(*probe_);
    storeSites_ = std::move(stores.sites);
  }
  auto it = storeSites_->find(map);
  return it == storeSites_->end() ? 0 : it->second;
}

// The per-CPU value of an aggregation entry. Continues where the entry
// exists (returned) to update it, then branches to `done`. A missing entry is
// created with `first` -- the value the aggregation holds after this one
// event -- and the update is then done. BPF_ANY, not BPF_NOEXIST: an update
// of a per-CPU map from a program writes this CPU's slot only, which is zero
// in an entry another CPU just created, so a race loses nothing and needs no
// second lookup. Only a full map refuses: that is counted.
Value* FunctionLowering::aggregationEntry(const MapGlobal& g, const MapLayout& l, Value* key,
                                          const std::function<Value*()>& first, BasicBlock*& done) {
  if (l.array && storeSites(l.name) > 1) {
    // Every index of the key set exists; one outside it (a constant key's
    // index is checked against the slots) finds no slot, and its update then
    // goes to a zeroed scratch slot nobody reads. No branch: the stores of
    // one map in several branches are then the same instructions but for
    // the key, and LLVM sinks them into one lookup and update after the
    // branches join (a protocol counter makes one lookup, not four). With
    // one store there is nothing to share: its branch costs less.
    Value* scratch = stackSlot(l.valueSize);
    for (uint32_t off = 0; off < l.valueSize; off += 8)
      b_.CreateAlignedStore(b_.getInt64(0), offset(scratch, off), llvm::Align(8));
    Value* p = call(Helper::MapLookupElem, ptr(), {g.global, key});
    done = BasicBlock::Create(ctx_, "aggregated", fn_);
    return b_.CreateSelect(b_.CreateIsNotNull(p), p, scratch);
  }
  Value* p = call(Helper::MapLookupElem, ptr(), {g.global, key});
  BasicBlock* have = BasicBlock::Create(ctx_, "have_entry", fn_);
  done = BasicBlock::Create(ctx_, "aggregated", fn_);
  if (l.array) {  // every index exists
    b_.CreateCondBr(b_.CreateIsNotNull(p), have, done);
    b_.SetInsertPoint(have);
    return p;
  }
  BasicBlock* create = BasicBlock::Create(ctx_, "new_entry", fn_);
  b_.CreateCondBr(b_.CreateIsNotNull(p), have, create);
  b_.SetInsertPoint(create);
  Value* r = call(Helper::MapUpdateElem, i64(), {g.global, key, first(), b_.getInt64(kAny)});
  refusedIf(b_.CreateICmpNE(r, b_.getInt64(0)), g.index);
  b_.CreateBr(done);
  b_.SetInsertPoint(have);
  return p;
}

// The high word of a value widened to 128 bits: its sign for signed values.
Value* FunctionLowering::totalHigh(Value* v, const Type& t) {
  return isSigned(t) ? b_.CreateAShr(v, 63) : b_.getInt64(0);
}

// aggregation.h's histogramBucket(), in IR.
Value* FunctionLowering::histogramBucket(Value* v, const Type& t) {
  // [0] negative, [1] zero, [2 + floor(log2 v)] otherwise
  Value* log = b_.getInt64(0);
  Value* x = v;
  for (int shift : {32, 16, 8, 4, 2, 1}) {
    Value* big = b_.CreateICmpNE(b_.CreateLShr(x, shift), b_.getInt64(0));
    x = b_.CreateSelect(big, b_.CreateLShr(x, shift), x);
    log = b_.CreateSelect(big, b_.CreateAdd(log, b_.getInt64(shift)), log);
  }
  Value* bucket = b_.CreateSelect(b_.CreateICmpEQ(v, b_.getInt64(0)), b_.getInt64(1), b_.CreateAdd(log, b_.getInt64(2)));
  if (isSigned(t)) bucket = b_.CreateSelect(b_.CreateICmpSLT(v, b_.getInt64(0)), b_.getInt64(0), bucket);
  return bucket;
}

Value* FunctionLowering::linearBucket(Value* v, const Type& t, const MapLayout& l) {
  bool sign = isSigned(t) || l.lhistMin < 0;
  Value* lo = b_.getInt64(l.lhistMin);
  Value* hi = b_.getInt64(l.lhistMax);
  Value* below = sign ? b_.CreateICmpSLT(v, lo) : b_.CreateICmpULT(v, lo);
  Value* above = sign ? b_.CreateICmpSGE(v, hi) : b_.CreateICmpUGE(v, hi);
  Value* inside = b_.CreateAdd(b_.CreateUDiv(b_.CreateSub(v, lo), b_.getInt64(l.lhistStep)), b_.getInt64(1));
  return b_.CreateSelect(below, b_.getInt64(0), b_.CreateSelect(above, b_.getInt64(l.buckets - 1), inside));
}

void FunctionLowering::aggregate(const ast::Map& m, const ast::Call& c) {
  const MapGlobal& g = m_.map(m.name);
  const MapLayout& l = m_.layout(g);
  // Every site of a map aggregates in the map's argument type (the types of
  // all its sites unified), which is also how the reader interprets it.
  const Type& argType = l.value;
  Value* v = c.args.empty() ? b_.getInt64(0) : normalize(expr(*c.args[0].value).v, argType);
  Value* key = mapKey(m, l);
  if (l.role == MapRole::Hist || l.role == MapRole::Lhist) {
    Value* bucket = l.role == MapRole::Hist ? histogramBucket(v, argType) : linearBucket(v, argType, l);
    b_.CreateAlignedStore(bucket, offset(key, l.keySize - 8), llvm::Align(8));
  }
  at(m.range);
  // The entry after this one event, for a key seen the first time.
  auto first = [&]() -> Value* {
    Value* value = stackSlot(l.valueSize);
    auto word = [&](uint32_t off, Value* x) { b_.CreateAlignedStore(x, offset(value, off), llvm::Align(8)); };
    switch (l.role) {
      case MapRole::Sum: word(0, v); break;
      case MapRole::Min:
      case MapRole::Max: word(0, v), word(8, b_.getInt64(1)); break;  // value, "set"
      case MapRole::Avg:
      case MapRole::Stats:  // count, total (128 bits: low, high)
        word(0, b_.getInt64(1)), word(kTotalLowWord, v), word(kTotalHighWord, totalHigh(v, argType));
        break;
      default: word(0, b_.getInt64(1)); break;                          // count, hist, lhist
    }
    return value;
  };
  BasicBlock* done = nullptr;
  Value* p = aggregationEntry(g, l, key, first, done);
  auto add = [&](uint32_t off, Value* x) {
    Value* slot = offset(p, off);
    b_.CreateAlignedStore(b_.CreateAdd(b_.CreateAlignedLoad(i64(), slot, llvm::Align(8)), x), slot, llvm::Align(8));
  };
  switch (l.role) {
    case MapRole::Count:
    case MapRole::Hist:
    case MapRole::Lhist: add(0, b_.getInt64(1)); break;
    case MapRole::Sum:
      add(0, v);
      if (l.array) b_.CreateAlignedStore(b_.getInt64(kPresent), offset(p, presenceWord(l.role, true)), llvm::Align(8));
      break;
    case MapRole::Avg:
    case MapRole::Stats: {
      add(0, b_.getInt64(1));
      // total += v in 128 bits: the carry out of the low word, and the sign
      // extension of a negative signed value, go to the high word.
      Value* lowSlot = offset(p, kTotalLowWord);
      Value* low = b_.CreateAlignedLoad(i64(), lowSlot, llvm::Align(8));
      Value* sum = b_.CreateAdd(low, v);
      b_.CreateAlignedStore(sum, lowSlot, llvm::Align(8));
      Value* carry = b_.CreateZExt(b_.CreateICmpULT(sum, v), i64());
      add(kTotalHighWord, b_.CreateAdd(carry, totalHigh(v, argType)));
      if (l.array) b_.CreateAlignedStore(b_.getInt64(kPresent), offset(p, presenceWord(l.role, true)), llvm::Align(8));
      break;
    }
    case MapRole::Min:
    case MapRole::Max: {
      Value* current = b_.CreateAlignedLoad(i64(), p, llvm::Align(8));
      Value* set = b_.CreateAlignedLoad(i64(), offset(p, 8), llvm::Align(8));
      bool sign = isSigned(argType);
      Value* better = l.role == MapRole::Min ? (sign ? b_.CreateICmpSLT(v, current) : b_.CreateICmpULT(v, current))
                                             : (sign ? b_.CreateICmpSGT(v, current) : b_.CreateICmpUGT(v, current));
      Value* take = b_.CreateOr(better, b_.CreateICmpNE(set, b_.getInt64(kPresent)));  // untouched or zeroed
      b_.CreateAlignedStore(b_.CreateSelect(take, v, current), p, llvm::Align(8));
      b_.CreateAlignedStore(b_.getInt64(kPresent), offset(p, kSetWord), llvm::Align(8));
      break;
    }
    case MapRole::Value: break;
  }
  b_.CreateBr(done);
  b_.SetInsertPoint(done);
}

}  // namespace dptrace
