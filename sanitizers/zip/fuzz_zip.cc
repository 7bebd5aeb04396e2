// Fuzz target for the zip sanitizer. The input is the archive. Members go through a small
// dispatcher: zips come back to the sanitizer (so nesting, the depth limit and the shared byte
// budget are exercised), executables are removed, everything else is kept as it is. Besides "no
// crash", it checks the promises that matter: a rebuilt archive opens in libzip with its
// consistency checks, and sanitizing it again gives the same bytes.
#include <zip.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/limits.h"
#include "core/policy.h"
#include "core/sniff.h"
#include "sanitizers/zip/zip_sanitizer.h"

namespace {

using mugai::sanitizers::PartInput;
using mugai::sanitizers::PartOutput;

// Small limits keep each run fast while still crossing every limit.
const mugai::core::Limits& fuzzLimits() {
  static const mugai::core::Limits limits = [] {
    mugai::core::Limits l;
    l.maxArchiveEntries = 64;
    l.maxArchiveEntryBytes = 4u << 20;
    l.maxArchiveTotalBytes = 8u << 20;
    l.maxArchiveDepth = 3;
    return l;
  }();
  return limits;
}

PartOutput dispatch(const PartInput& m) {
  PartOutput out;
  const std::string_view family = mugai::core::familyOf(m.trueType);
  if (family == "executable" || family == "script") {
    out.reason = "type.executable";
    return out;
  }
  if (m.trueType == "zip") return mugai::sanitizers::zip::ZipSanitizer().sanitize(m);
  out.disposition = mugai::core::Disposition::Kept;
  out.filename = m.names.empty() ? "member.bin" : m.names.front();
  out.bytes = std::string(m.bytes);
  return out;
}

PartOutput sanitize(std::string_view bytes) {
  static const mugai::core::Policy policy = mugai::core::Policy::defaults();
  PartInput in;
  in.bytes = bytes;
  in.declaredType = "application/zip";
  in.trueType = "zip";
  in.names = {"fuzz.zip"};
  in.limits = &fuzzLimits();
  in.policy = &policy;
  in.dispatch = dispatch;
  return mugai::sanitizers::zip::ZipSanitizer().sanitize(in);
}

bool opensCleanly(const std::string& z) {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(z.data(), z.size(), 0, &err);
  if (src == nullptr) return false;
  zip_t* za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err);
  zip_error_fini(&err);
  if (za == nullptr) {
    zip_source_free(src);
    return false;
  }
  zip_discard(za);
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const PartOutput out = sanitize(bytes);
  if (out.disposition == mugai::core::Disposition::Removed) {
    if (out.reason.empty()) std::abort();  // every removal says why
    return 0;
  }
  if (out.contentType != "application/zip" || !opensCleanly(out.bytes)) std::abort();
  const PartOutput again = sanitize(out.bytes);
  if (again.disposition == mugai::core::Disposition::Removed || again.bytes != out.bytes) {
    std::abort();  // a rebuilt archive must be a fixed point
  }
  return 0;
}
