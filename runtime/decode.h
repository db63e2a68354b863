// Typed values from the slot layout of keys, values and records.
#pragma once

#include <cstdint>

#include "output/value.h"
#include "program_info.h"

namespace dptrace {

Value decodeSlot(const Type& t, const uint8_t* bytes);

}  // namespace dptrace
