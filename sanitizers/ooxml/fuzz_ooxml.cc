// Fuzz target for the OOXML rebuilder. Besides "no crash", it checks the promise that matters
// most: a rebuilt package is a fixed point (rebuilding it again gives the same bytes and finds
// nothing more to remove), so nothing active can survive one pass and be removed by a second.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/limits.h"
#include "sanitizers/ooxml/ooxml_sanitizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mugai::sanitizers;
  static const mugai::core::Limits limits = [] {
    mugai::core::Limits l;
    l.maxArchiveTotalBytes = 16u << 20;  // keeps each run fast; the logic is the same
    return l;
  }();
  PartInput in;
  in.bytes = std::string_view(reinterpret_cast<const char*>(data), size);
  in.declaredType = "application/octet-stream";
  in.trueType = "ooxml";
  in.names = {"fuzz.docm"};
  in.limits = &limits;
  const ooxml::OoxmlSanitizer sanitizer;
  const PartOutput out = sanitizer.sanitize(in);
  if (out.disposition == mugai::core::Disposition::Removed) {
    if (out.reason.empty() || !out.bytes.empty()) std::abort();
    return 0;
  }
  PartInput again = in;
  again.bytes = out.bytes;
  again.names = {out.filename};
  const PartOutput second = sanitizer.sanitize(again);
  if (second.disposition != mugai::core::Disposition::Rebuilt) std::abort();
  if (second.bytes != out.bytes) std::abort();
  return 0;
}
