// Fuzz target: the whole MIME pipeline. Any input must come back either held or as a message
// that passes Mugai's own reconstruction rules; and sanitizing that output again must deliver
// it with an identical text body.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/pipeline.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mugai::core;
  static const Policy policy = [] {
    Policy p = Policy::defaults();
    p.limits.maxWallMs = 60000;  // a slow sanitizer build must not turn into a false finding
    return p;
  }();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const Outcome first = sanitizeMessage(input, policy);
  if (!first.delivered) return 0;
  if (!verifyOutput(first.message, policy.limits).empty()) std::abort();
  const Outcome second = sanitizeMessage(first.message, policy);
  if (!second.delivered) std::abort();
  for (const auto& part : second.report.parts) {
    if (part.disposition == Disposition::Removed || part.disposition == Disposition::Converted) {
      std::abort();  // a second pass must find nothing left to remove or convert
    }
  }
  return 0;
}
