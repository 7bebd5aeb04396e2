// See network.h. inet_pton does the address syntax; this file only adds the prefix arithmetic.
#include "smtp-relay/network.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace mugai::relay {
namespace {

// Reads an IPv4 or IPv6 address into 16 octets; `bits` gets its family's width (32 or 128).
bool parseAddress(std::string_view text, std::array<std::uint8_t, 16>& out, unsigned& bits) {
  if (text.empty() || text.size() > 64) return false;
  const std::string s(text);
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out.fill(0);
    out[10] = 0xFF;
    out[11] = 0xFF;
    std::memcpy(out.data() + 12, &v4, 4);
    bits = 32;
    return true;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    bits = 128;
    return true;
  }
  return false;
}

bool prefixMatches(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b,
                   unsigned prefix) {
  unsigned i = 0;
  for (; prefix >= 8; prefix -= 8, ++i) {
    if (a[i] != b[i]) return false;
  }
  if (prefix == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFF << (8 - prefix));
  return (a[i] & mask) == (b[i] & mask);
}

}  // namespace

bool parseNetwork(std::string_view text, Network& network) {
  const auto slash = text.find('/');
  Network n;
  unsigned width = 0;
  if (!parseAddress(text.substr(0, slash), n.address, width)) return false;
  unsigned bits = width;
  if (slash != std::string_view::npos) {
    const std::string_view b = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(b.data(), b.data() + b.size(), bits);
    if (b.empty() || ec != std::errc() || end != b.data() + b.size() || bits > width) {
      return false;
    }
  }
  n.prefix = 128 - width + bits;
  // Host bits set mean a typo, not a wider network (see network.h).
  for (unsigned i = n.prefix; i < 128; ++i) {
    if (n.address[i / 8] & (0x80 >> (i % 8))) return false;
  }
  n.text = std::string(text);
  network = n;
  return true;
}

std::vector<Network> loopbackNetworks() {
  std::vector<Network> out(2);
  parseNetwork("127.0.0.0/8", out[0]);
  parseNetwork("::1", out[1]);
  return out;
}

bool inNetworks(std::string_view address, const std::vector<Network>& networks) {
  // A scoped IPv6 address ("fe80::1%eth0") is compared without its zone.
  address = address.substr(0, address.find('%'));
  std::array<std::uint8_t, 16> a{};
  unsigned width = 0;
  if (!parseAddress(address, a, width)) return false;
  for (const auto& n : networks) {
    if (prefixMatches(a, n.address, n.prefix)) return true;
  }
  return false;
}

}  // namespace mugai::relay
