// Typed values from the slot layout of keys, values and records.
#pragma once

#include <cstdint>

#include "output/value.h"
#include "program_info.h"

namespace dptrace {

// `key`: the value is (part of) a map key, where bpftrace writes pointers in
// hex (@[0xffff8881...]); elsewhere they are numbers.
Value decodeSlot(const Type& t, const uint8_t* bytes, bool key = false);

}  // namespace dptrace
