// iCalendar (RFC 5545) attachments and invitations: rebuilt from an allowlist.
//
// Calendar items carry more than dates: ATTACH holds files (inline base64 or a URI), X-ALT-DESC
// holds HTML, PROCEDURE alarms run programs, and URL-valued properties can point anywhere. The
// sanitizer decodes the part with the text sanitizer, unfolds content lines (RFC 5545 3.1),
// parses each line strictly (name, parameters, value), and writes a new calendar containing only
// the VCALENDAR / VEVENT / VTODO / VJOURNAL / VFREEBUSY / VTIMEZONE (STANDARD, DAYLIGHT) / VALARM
// structure, allowlisted properties and parameters, and URIs of safe schemes. Lines are refolded
// at 75 octets without splitting a UTF-8 sequence and end in CRLF. Line length, line count and
// component nesting are bounded. Sanitizing the output again changes nothing. Never throws.
#pragma once

#include <string>
#include <string_view>

#include "sanitizers/sanitizer.h"

namespace mugai::sanitizers::calendar {

/// Longest unfolded content line kept; a longer property is dropped and reported.
inline constexpr std::size_t kMaxLineBytes = 256 * 1024;
/// Most unfolded content lines read; the rest is cut (reported as "limit.text_bytes") and every
/// open component is closed so that the output stays a valid calendar.
inline constexpr std::size_t kMaxContentLines = 100000;
/// Deepest BEGIN nesting accepted (kept or skipped components); deeper input is removed with
/// "limit.depth".
inline constexpr std::size_t kMaxNesting = 32;

/// Appends the logical content line `line` (no line terminator) to `out`, folded so that no
/// physical line exceeds 75 octets, never inside a UTF-8 sequence; every physical line ends in
/// CRLF and every continuation line starts with one space.
void appendFolded(std::string& out, std::string_view line);

/// The iCalendar sanitizer: handles sniffed type "calendar" whatever the declared type.
/// Output: contentType "text/calendar", charset "utf-8", bytes UTF-8 with CRLF line endings,
/// filename names[0] when it ends in .ics/.ical/.icalendar/.ifb/.vcs, else names[0] + ".ics",
/// "invite.ics" when there is none.
/// Findings: "calendar.attachment_removed" (ATTACH, VALUE=BINARY, ENCODING=BASE64; detail:
/// count), "calendar.html_removed" (X-ALT-DESC; detail: count), "calendar.property_removed"
/// (report-only: any other property, parameter, component or alarm not kept; detail: what and
/// why), the text sanitizer's findings, and "limit.text_bytes" when kMaxContentLines cut it.
/// Disposition Rebuilt when anything was removed, Kept otherwise; Removed with
/// "type.no_sanitizer" when there is no complete BEGIN:VCALENDAR … END:VCALENDAR, "limit.depth"
/// past kMaxNesting, "limit.wall_time" past the deadline. Thread-safe (no state).
class CalendarSanitizer final : public Sanitizer {
 public:
  std::string_view name() const override { return "calendar"; }
  bool handles(std::string_view trueType, std::string_view declaredType) const override;
  PartOutput sanitize(const PartInput& in) const override;
};

}  // namespace mugai::sanitizers::calendar
