// The network interfaces a script names: xdp attach points and redirect()
// targets, resolved to ifindexes before code generation, with located errors.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ast.h"
#include "diagnostics.h"

namespace dptrace {

// With `pcap` the xdp blocks run on a capture: their interfaces are not
// needed (xdp:any is allowed only there), and other probe kinds cannot run.
// Without `attaching` (--emit) the object may be for another host: only
// redirect() targets, compiled into the program, must exist here.
std::map<std::string, uint32_t> resolveInterfaces(const ast::Program& program, bool pcap, bool attaching,
                                                  Diagnostics& diags);

}  // namespace dptrace
