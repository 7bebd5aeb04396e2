// Fuzz target for the iCalendar sanitizer. Besides "no crash", it checks that every output line
// is CRLF-terminated and at most 75 octets, and that sanitizing the output again changes nothing.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/limits.h"
#include "sanitizers/calendar/calendar_sanitizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mugai::sanitizers;
  static const mugai::core::Limits limits;
  PartInput in;
  in.bytes = std::string_view(reinterpret_cast<const char*>(data), size);
  in.declaredType = "text/calendar";
  in.charset = "utf-8";
  in.trueType = "calendar";
  in.limits = &limits;
  const calendar::CalendarSanitizer sanitizer;
  const PartOutput out = sanitizer.sanitize(in);
  if (out.disposition == mugai::core::Disposition::Removed) return 0;

  std::size_t pos = 0;
  while (pos < out.bytes.size()) {
    const std::size_t eol = out.bytes.find("\r\n", pos);
    if (eol == std::string::npos || eol - pos > 75) std::abort();
    if (out.bytes.substr(pos, eol - pos).find_first_of("\r\n") != std::string::npos) std::abort();
    pos = eol + 2;
  }
  PartInput again = in;
  again.bytes = out.bytes;
  const PartOutput second = sanitizer.sanitize(again);
  if (second.bytes != out.bytes) std::abort();  // not idempotent
  return 0;
}
