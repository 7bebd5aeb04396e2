// text/plain bodies and attachments: decode, neutralize, cut embedded binaries.
//
// The result is valid UTF-8 with LF line endings, no C0 controls except TAB and LF, no bidi
// overrides or isolates (they are how "invoice<U+202E>fdp.exe" tricks work), and without uuencode,
// BinHex or yEnc blocks, which are how old mailers smuggle a file inside a body: each such block
// is cut out and reported by name so the notice can list it. Never throws.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/findings.h"
#include "core/limits.h"

namespace mugai::sanitizers::text {

/// An encoded file found inside a text body and cut out of it.
struct CutBlock {
  std::string encoding;  ///< "uuencode", "binhex" or "yenc"
  std::string name;      ///< the file name the block declares (may be empty)
};

struct TextResult {
  std::string utf8;               ///< sanitized text, LF line endings
  std::string charset;            ///< canonical charset the input was decoded from
  std::vector<CutBlock> cut;      ///< encoded files removed from the text
  core::Findings findings;        ///< e.g. text.bidi_neutralized, text.control_removed,
                                  ///<      text.charset_mislabelled, text.invalid_bytes,
                                  ///<      limit.text_bytes
};

/// Sanitizes the decoded (transfer-encoding removed) bytes of a text part whose declared
/// charset parameter is `charsetLabel` (may be empty or wrong).
TextResult sanitizePlainText(std::string_view bytes, std::string_view charsetLabel,
                             const core::Limits& limits);

/// Neutralizes already-decoded UTF-8 in place: CRLF/CR → LF, C0 controls other than TAB/LF and
/// C1 controls removed, bidi embedding/override/isolate controls (U+202A–U+202E, U+2066–U+2069)
/// and U+200E/U+200F removed, NUL removed, invalid UTF-8 repaired. Appends one finding per kind
/// of change made (never one per character). Used by the HTML converter too.
void neutralize(std::string& utf8, core::Findings& findings);

}  // namespace mugai::sanitizers::text
