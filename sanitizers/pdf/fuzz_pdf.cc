// Fuzz target for the PDF sanitizer. Besides "no crash, no sanitizer report", it checks the
// promises that matter: a rebuilt output is a PDF from byte 0, and rebuilding it again gives the
// same bytes with no findings (so nothing active survived the first pass unnoticed).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/limits.h"
#include "sanitizers/pdf/pdf_sanitizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mugai::sanitizers;
  static const mugai::core::Limits limits = [] {
    mugai::core::Limits l;
    l.maxPdfObjects = 20000;  // keeps each run fast; the limit logic is the same
    return l;
  }();
  PartInput in;
  in.bytes = std::string_view(reinterpret_cast<const char*>(data), size);
  in.declaredType = "application/pdf";
  in.trueType = "pdf";
  in.names = {"fuzz.pdf"};
  in.limits = &limits;
  const pdf::PdfSanitizer sanitizer;
  const PartOutput out = sanitizer.sanitize(in);
  if (out.disposition != mugai::core::Disposition::Rebuilt) {
    if (out.reason.empty() || !out.bytes.empty()) std::abort();
    return 0;
  }
  if (std::string_view(out.bytes).substr(0, 5) != "%PDF-") std::abort();

  PartInput again = in;
  again.bytes = out.bytes;
  const PartOutput second = sanitizer.sanitize(again);
  if (second.disposition != mugai::core::Disposition::Rebuilt) std::abort();
  if (second.bytes != out.bytes) std::abort();  // not idempotent
  if (!second.findings.empty()) std::abort();   // something active survived the first pass
  return 0;
}
