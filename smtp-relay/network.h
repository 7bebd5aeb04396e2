// Client networks: the address ranges (CIDR) allowed to connect to the relay.
//
// The accepted-domain check keeps the relay from relaying to the world; this list keeps the world
// from submitting at all, so that only the internet-side MTA (and local tools) can talk to it.
// Addresses are compared as 16 octets: IPv4 as its IPv4-mapped IPv6 form (::ffff:a.b.c.d), so an
// IPv4 network also matches a client seen by a dual-stack socket as ::ffff:a.b.c.d.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mugai::relay {

/// One network: an address and the number of leading bits that must match.
struct Network {
  std::array<std::uint8_t, 16> address{};  ///< IPv6 or IPv4-mapped IPv6; host bits zero
  unsigned prefix = 128;                   ///< in bits of the 16-octet form
  std::string text;                        ///< as written, for logs and errors
};

/// Reads "ADDR/BITS" or a single "ADDR" (IPv4 or IPv6). Returns false for anything else: a bad
/// address, bits beyond 32 (IPv4) or 128 (IPv6), or host bits set ("10.0.0.1/8" is a typo that
/// would silently mean 10.0.0.0/8, so it is refused).
bool parseNetwork(std::string_view text, Network& network);

/// The default list: the loopback networks 127.0.0.0/8 and ::1.
std::vector<Network> loopbackNetworks();

/// True when `address` (as printed by the socket layer: "192.0.2.1", "::1", "::ffff:192.0.2.1")
/// is inside one of the networks. An unreadable address is never inside.
bool inNetworks(std::string_view address, const std::vector<Network>& networks);

}  // namespace mugai::relay
