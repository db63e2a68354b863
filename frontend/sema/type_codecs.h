// The fields codec.h encodes of the readers' answers that come back from a
// child process (child_call.h): struct layouts (the C importer's and DWARF's)
// and DWARF's function signatures and inlined call sites. A struct that
// gains a field fails its static_assert until the field is listed here.
#pragma once

#include "codec.h"
#include "dwarf_signatures.h"

namespace dptrace {

static_assert(sizeof(StructField) == 176, "StructField changed: list its new field in CodecFields below");
static_assert(sizeof(StructLayout) == 104, "StructLayout changed: list its new field in CodecFields below");
static_assert(sizeof(ParameterLocation) == 24, "ParameterLocation changed: list its new field in CodecFields below");
static_assert(sizeof(Parameter) == 216, "Parameter changed: list its new field in CodecFields below");
static_assert(sizeof(FunctionSignature) == 192, "FunctionSignature changed: list its new field in CodecFields below");
static_assert(sizeof(InlinedSite) == 192, "InlinedSite changed: list its new field in CodecFields below");

template <>
struct CodecFields<StructField> {
  template <class Codec, class V>
  static void walk(Codec& c, V& f) {
    c(f.name), c(f.offset), c(f.size), c(f.type), c(f.bitField), c(f.bitOffset), c(f.bitSize), c(f.bigEndian), c(f.btfPath);
  }
};
template <>
struct CodecFields<StructLayout> {
  template <class Codec, class V>
  static void walk(Codec& c, V& l) {
    c(l.name), c(l.size), c(l.fields), c(l.btfId), c(l.btfModule);
  }
};
template <>
struct CodecFields<ParameterLocation> {
  template <class Codec, class V>
  static void walk(Codec& c, V& l) {
    c(l.kind), c(l.index), c(l.offset), c(l.value);
  }
};
template <>
struct CodecFields<Parameter> {
  template <class Codec, class V>
  static void walk(Codec& c, V& p) {
    c(p.name), c(p.cType), c(p.type), c(p.location), c(p.unreadable);
  }
};
template <>
struct CodecFields<FunctionSignature> {
  template <class Codec, class V>
  static void walk(Codec& c, V& s) {
    c(s.params), c(s.ret), c(s.retCType), c(s.retUnreadable), c(s.outOfLine);
  }
};
template <>
struct CodecFields<InlinedSite> {
  template <class Codec, class V>
  static void walk(Codec& c, V& s) {
    c(s.address), c(s.caller), c(s.file), c(s.line), c(s.params), c(s.unavailable), c(s.unknownEntry), c(s.types),
        c(s.semaphore);
  }
};

}  // namespace dptrace
