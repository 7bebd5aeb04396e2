// Fuzz target for the text sanitizer and the charset layer under it.
//
// Input layout: the first byte picks a charset label (so one corpus explores every decoder),
// the rest is the body. Besides "no crash", it checks the contracts a caller relies on: the
// output is valid UTF-8 with only TAB and LF as controls and no bidi controls, no CR survives,
// and sanitizing the output again changes nothing and reports nothing. Violations trap.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/charset.h"
#include "core/limits.h"
#include "sanitizers/text/text_sanitizer.h"

namespace {

constexpr const char* kLabels[] = {
    "",          "utf-8",     "us-ascii",  "iso-2022-jp", "shift_jis", "euc-jp",
    "iso-8859-1", "utf-7",    "utf-16",    "gb2312",      "big5",      "ks_c_5601-1987",
    "koi8-r",    "x-unknown", "cp50220",   "windows-1252",
};

void require(bool ok) {
  if (!ok) __builtin_trap();
}

bool validUtf8(std::string s) { return mugai::core::repairUtf8(s) == 0; }

bool hasForbidden(std::string_view s) {
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if ((b < 0x20 && b != '\t' && b != '\n') || b == 0x7F) return true;
  }
  for (const std::string_view bidi : {"\u202A", "\u202B", "\u202C", "\u202D", "\u202E",
                                      "\u2066", "\u2067", "\u2068", "\u2069", "\u200E",
                                      "\u200F", "\u061C"}) {
    if (s.find(bidi) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const char* label = kLabels[data[0] % (sizeof kLabels / sizeof kLabels[0])];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  mugai::core::Limits limits;
  const auto r = mugai::sanitizers::text::sanitizePlainText(body, label, limits);
  require(validUtf8(r.utf8));
  require(!hasForbidden(r.utf8));
  require(!r.charset.empty());

  const auto again = mugai::sanitizers::text::sanitizePlainText(r.utf8, "utf-8", limits);
  require(again.utf8 == r.utf8);
  require(again.findings.empty());
  require(again.cut.empty());

  // A tight limit must hold too (placeholders aside, which are short for short names).
  mugai::core::Limits tight;
  tight.maxTextBytes = 16;
  const auto small = mugai::sanitizers::text::sanitizePlainText(body, label, tight);
  require(validUtf8(small.utf8));

  // The charset layer on its own.
  const auto d = mugai::core::decodeToUtf8(body, label);
  require(validUtf8(d.utf8));
  require(validUtf8(mugai::core::escapeForDisplay(body)));
  require(!hasForbidden(mugai::core::escapeForDisplay(d.utf8)));
  // ISO-2022-JP output decodes cleanly and is stable. (Not always byte-identical text: JIS
  // 0x2141 reads back as CP932's ～ whether it was written from 〜 or ～.)
  if (const auto jis = mugai::core::encodeFromUtf8(d.utf8, "ISO-2022-JP")) {
    const auto back = mugai::core::decodeToUtf8(*jis, "iso-2022-jp");
    require(back.invalidBytes == 0 && back.charset == "ISO-2022-JP");
    require(mugai::core::encodeFromUtf8(back.utf8, "ISO-2022-JP") == jis);
  }
  return 0;
}
