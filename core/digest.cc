#include "core/digest.h"

#include <glib.h>

namespace mugai::core {

std::string sha256Hex(std::string_view data) {
  GChecksum* sum = g_checksum_new(G_CHECKSUM_SHA256);
  // g_checksum_update takes a gssize; feed in chunks so sizes beyond its range stay correct.
  constexpr std::size_t kChunk = 1u << 30;
  for (std::size_t off = 0; off < data.size(); off += kChunk) {
    const std::size_t n = std::min(kChunk, data.size() - off);
    g_checksum_update(sum, reinterpret_cast<const guchar*>(data.data() + off),
                      static_cast<gssize>(n));
  }
  std::string hex = g_checksum_get_string(sum);
  g_checksum_free(sum);
  return hex;
}

}  // namespace mugai::core
