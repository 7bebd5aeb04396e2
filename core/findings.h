// Findings, dispositions and the human texts that explain them.
//
// A Finding is one fact a sanitizer or the pipeline established about the input ("script
// element removed", "duplicate Content-Type"). Its `kind` is a stable dotted code used in the JSON
// report and in the summary table; `detail` is free text (a header name, a URL) that is escaped
// before it reaches any human-readable output. The notice and the report take their Japanese and
// English wording from `describe()`, so a code has one meaning everywhere.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mugai::core {

/// What happened to one part of the input. Every part ends in exactly one of these.
enum class Disposition {
  Kept,       ///< inert content, decoded and re-encoded unchanged in meaning
  Converted,  ///< turned into another, inert form (HTML → text)
  Rebuilt,    ///< re-serialized by a sanitizer with active content removed
  Removed,    ///< not in the output; the reason says why, the notice names it
  Container,  ///< a multipart/message container whose children carry the dispositions
};

std::string_view dispositionName(Disposition d);

struct Finding {
  std::string kind;    ///< stable dotted code, e.g. "html.script_removed"
  std::string detail;  ///< optional free text; never trusted, always escaped on output
  bool operator==(const Finding&) const = default;
};

using Findings = std::vector<Finding>;

/// Japanese and English sentence fragments for a finding or removal-reason code.
struct Description {
  std::string_view ja;
  std::string_view en;
};

/// The wording for `code`. Unknown codes get a generic text that still names the code, so a
/// sanitizer that forgets to register its wording degrades to something readable, never to "".
Description describe(std::string_view code);

/// True when `code` has its own wording (describe() would not fall back to the generic text).
bool isKnownCode(std::string_view code);

/// True when a finding of this kind means a change the recipient must be told about
/// (it appears in the notice), false for facts that only belong in the report.
bool isNoticeWorthy(std::string_view code);

/// True when the wording table is sorted by code (its lookup relies on it; a unit test checks).
bool codesAreSorted();

}  // namespace mugai::core
