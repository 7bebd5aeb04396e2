// Charsets: decoding any mail text to UTF-8 without garbling Japanese, and back.
//
// Japanese mail arrives as ISO-2022-JP (often with JIS X 0201 half-width kana and NEC/IBM
// vendor characters that strictly belong to CP50220/CP932), Shift_JIS that is really CP932
// (①, 髙, ㈱), EUC-JP, UTF-8, or mislabelled as any of these. The decoder treats those labels as
// their real-world supersets, validates the bytes against the label, and falls back to
// detection when the label is missing, unknown or wrong. Invalid bytes become U+FFFD; nothing
// here throws or reads beyond the input.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mugai::core {

struct Decoded {
  std::string utf8;            ///< valid UTF-8, always
  std::string charset;         ///< canonical name of the charset actually used
  bool labelUsed = false;      ///< true when the declared label was valid for these bytes
  std::size_t invalidBytes = 0;  ///< input bytes replaced by U+FFFD
};

/// Canonical iconv name for a MIME charset label ("shift_jis", "x-sjis", "ms_kanji" → "CP932";
/// "iso-2022-jp" → "ISO-2022-JP" (decoded by our own superset decoder); "euc-jp" → "EUC-JP-MS";
/// "utf8" → "UTF-8"; "us-ascii", "ascii", "ansi_x3.4-1968" → "US-ASCII", "ks_c_5601-1987" → "CP949",
/// "gb2312" → "GB18030", "iso-8859-1"/"latin1" → "CP1252", …). Empty when unknown to us and iconv.
std::string canonicalCharset(std::string_view label);

/// Best guess for unlabelled bytes: US-ASCII, ISO-2022-JP (escape sequences), UTF-8 (valid),
/// CP932 or EUC-JP (by which decodes cleanly and scores as Japanese), else uchardet, else CP1252.
std::string detectCharset(std::string_view bytes);

/// Decodes `bytes` to UTF-8. Uses `label` when it is known and the bytes decode under it without
/// error; otherwise detects. Strips a leading BOM. Never fails.
Decoded decodeToUtf8(std::string_view bytes, std::string_view label);

/// Encodes UTF-8 text to `charset` (only "UTF-8" and "ISO-2022-JP" are needed by the output).
/// Returns nullopt when some character cannot be represented, so the caller can fall back.
std::optional<std::string> encodeFromUtf8(std::string_view utf8, std::string_view charset);

/// Replaces every invalid UTF-8 sequence with U+FFFD; returns the number of replacements.
std::size_t repairUtf8(std::string& s);

/// Makes untrusted text safe to show inside a notice or summary line: bidi controls, C0/C1
/// controls and other invisible format characters become visible escapes like `<U+202E>`.
std::string escapeForDisplay(std::string_view utf8);

}  // namespace mugai::core
