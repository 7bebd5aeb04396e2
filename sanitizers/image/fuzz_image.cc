// Fuzz target for the image rebuilder. The type is taken from the input's own signature (PNG,
// JPEG, GIF; anything else is fed to all three walkers), as the pipeline would sniff it. Besides
// "no crash", it checks the promises that matter: a rebuilt file starts with its format's
// signature, is no larger than the input plus the few bytes a normalized segment may add, and
// rebuilding it again gives identical bytes with no findings.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/limits.h"
#include "sanitizers/image/image_sanitizer.h"

namespace {

void check(std::string_view bytes, std::string_view type, std::string_view signature) {
  using namespace mugai::sanitizers;
  static const mugai::core::Limits limits;
  PartInput in;
  in.bytes = bytes;
  in.trueType = type;
  in.names = {"fuzz.bin"};
  in.limits = &limits;
  const image::ImageSanitizer sanitizer;
  const PartOutput out = sanitizer.sanitize(in);
  if (out.disposition == mugai::core::Disposition::Removed) {
    if (out.reason.empty() || !out.bytes.empty()) std::abort();
    return;
  }
  if (out.bytes.substr(0, signature.size()) != signature) std::abort();
  // A minimal Exif orientation segment (36 bytes) is the only thing a rebuild can add.
  if (out.bytes.size() > bytes.size() + 36) std::abort();
  PartInput again = in;
  again.bytes = out.bytes;
  again.names = {out.filename};
  const PartOutput second = sanitizer.sanitize(again);
  if (second.disposition == mugai::core::Disposition::Removed) std::abort();
  if (second.bytes != out.bytes) std::abort();  // not idempotent
  if (!second.findings.empty()) std::abort();   // something survived the first pass
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::string_view png("\x89PNG\r\n\x1A\n", 8);
  if (bytes.substr(0, 8) == png) {
    check(bytes, "png", png);
  } else if (bytes.substr(0, 3) == "\xFF\xD8\xFF") {
    check(bytes, "jpeg", "\xFF\xD8");
  } else if (bytes.substr(0, 4) == "GIF8") {
    check(bytes, "gif", "GIF8");
  } else {
    check(bytes, "png", png);
    check(bytes, "jpeg", "\xFF\xD8");
    check(bytes, "gif", "GIF8");
  }
  return 0;
}
