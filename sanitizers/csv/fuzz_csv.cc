// Fuzz target for the CSV/TSV sanitizer. The first input byte picks the declared type and
// charset; the rest is the part. Besides "no crash", it checks the promises that matter: no
// output cell is formula-like, and sanitizing the output again changes nothing.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/limits.h"
#include "sanitizers/csv/csv_sanitizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mugai::sanitizers;
  static const mugai::core::Limits limits;
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  PartInput in;
  in.bytes = bytes;
  in.declaredType = (selector & 1) ? "text/tab-separated-values" : "text/csv";
  constexpr std::string_view kCharsets[] = {"utf-8", "", "shift_jis", "iso-2022-jp"};
  in.charset = kCharsets[(selector >> 1) & 3];
  in.trueType = "text";
  in.limits = &limits;
  const csv::CsvSanitizer sanitizer;
  const PartOutput out = sanitizer.sanitize(in);
  if (out.disposition == mugai::core::Disposition::Removed) return 0;

  PartInput again = in;
  again.bytes = out.bytes;
  again.charset = "utf-8";
  const PartOutput second = sanitizer.sanitize(again);
  if (second.bytes != out.bytes) std::abort();  // not idempotent
  for (const auto& f : second.findings) {
    if (f.kind == "csv.formula_neutralized") std::abort();  // a formula survived the first pass
  }
  return 0;
}
