// Fuzz target for HTML → text.
//
// Input layout: the first byte picks the MIME charset label (low four bits) and, when its high
// bit is set, tiny limits (depth 4, links of 16 characters, 4 KB of HTML) so that the limit
// paths are explored by short inputs; the rest is the HTML. Besides "no crash", it checks the
// layout contract a caller relies on: valid UTF-8, no CR, no control characters but TAB and LF,
// never two blank lines in a row, no trailing spaces, exactly one final LF. Violations trap.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/charset.h"
#include "core/limits.h"
#include "sanitizers/html/html_to_text.h"

namespace {

constexpr const char* kLabels[] = {
    "",         "utf-8",       "us-ascii", "iso-2022-jp", "shift_jis", "euc-jp",
    "utf-7",    "iso-8859-1",  "utf-16",   "windows-1252", "gb2312",   "x-unknown",
    "cp932",    "utf-16le",    "big5",     "koi8-r",
};

void require(bool ok) {
  if (!ok) __builtin_trap();
}

bool validUtf8(std::string s) { return mugai::core::repairUtf8(s) == 0; }

bool hasControl(std::string_view s) {
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if ((b < 0x20 && b != '\t' && b != '\n') || b == 0x7F) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const char* label = kLabels[data[0] & 0x0F];
  mugai::core::Limits limits;
  if ((data[0] & 0x80) != 0) {
    limits.maxHtmlDepth = 4;
    limits.maxLinkChars = 16;
    limits.maxHtmlBytes = 4096;
  }
  const std::string_view html(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto result = mugai::sanitizers::html::htmlToText(html, label, limits);
  const std::string& text = result.text;
  require(validUtf8(text));
  require(!hasControl(text));
  require(text.find("\n\n\n") == std::string::npos);
  require(text.find(" \n") == std::string::npos);
  if (!text.empty()) {
    require(text.back() == '\n');
    require(text.front() != '\n');
    require(text.size() < 2 || text[text.size() - 2] != '\n');
  }
  for (const auto& f : result.findings) require(!f.kind.empty());
  return 0;
}
