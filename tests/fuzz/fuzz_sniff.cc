// Fuzz target for core/sniff: any bytes must give one of the listed tokens, the same one twice
// (sniffing is deterministic), a family, and a verdict on the bytes read as a file name, without
// crashing, reading out of bounds or hanging. Seeds: tests/fuzz/corpus/fuzz_sniff/ (made by
// tests/fuzz/make_sniff_seeds.py).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/limits.h"
#include "core/sniff.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  mugai::core::Limits limits;
  limits.maxParts = 4;  // a small entry bound, so the bound itself is exercised

  const std::string token = mugai::core::sniff(bytes, limits);
  const auto tokens = mugai::core::sniffTokens();
  if (std::find(tokens.begin(), tokens.end(), token) == tokens.end()) std::abort();
  if (mugai::core::sniff(bytes, limits) != token) std::abort();
  if (mugai::core::familyOf(token).empty()) std::abort();

  // The first line, read as a file name.
  const std::string_view name = bytes.substr(0, std::min(bytes.find('\n'), std::size_t{512}));
  (void)mugai::core::hasDangerousExtension(name);
  return 0;
}
