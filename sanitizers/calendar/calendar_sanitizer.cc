// iCalendar rebuilding: unfold, parse each content line, keep the allowlisted structure, refold.
#include "sanitizers/calendar/calendar_sanitizer.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sanitizers/text/text_sanitizer.h"

namespace mugai::sanitizers::calendar {
namespace {

constexpr std::size_t kFoldOctets = 75;
constexpr std::size_t kMaxParams = 64;       // per content line
constexpr std::size_t kMaxParamValues = 64;  // per parameter
constexpr std::size_t kMaxNameChars = 64;    // of names quoted in findings and frames
constexpr std::size_t kMaxDistinctRemovals = 32;
constexpr std::size_t kDeadlineEvery = 4096;  // content lines between clock reads
constexpr std::string_view kBom = "\xEF\xBB\xBF";

// Every property kept. Anything else, IANA or X-, is dropped: unknown properties are where
// client-specific behaviour (HTML descriptions, conference links, attachments) hides.
constexpr auto kProperties = std::to_array<std::string_view>({
    "ACTION",
    "ATTENDEE",
    "CALSCALE",
    "CATEGORIES",
    "CLASS",
    "COLOR",
    "COMMENT",
    "COMPLETED",
    "CONTACT",
    "CREATED",
    "DESCRIPTION",
    "DTEND",
    "DTSTAMP",
    "DTSTART",
    "DUE",
    "DURATION",
    "EXDATE",
    "FREEBUSY",
    "GEO",
    "LAST-MODIFIED",
    "LOCATION",
    "METHOD",
    "ORGANIZER",
    "PERCENT-COMPLETE",
    "PRIORITY",
    "PRODID",
    "RDATE",
    "RECURRENCE-ID",
    "RELATED-TO",
    "REPEAT",
    "REQUEST-STATUS",
    "RESOURCES",
    "RRULE",
    "SEQUENCE",
    "STATUS",
    "SUMMARY",
    "TRANSP",
    "TRIGGER",
    "TZID",
    "TZNAME",
    "TZOFFSETFROM",
    "TZOFFSETTO",
    "TZURL",
    "UID",
    "URL",
    "VERSION",
    "X-LIC-LOCATION",
    "X-MICROSOFT-CDO-ALLDAYEVENT",
    "X-MICROSOFT-CDO-APPT-SEQUENCE",
    "X-MICROSOFT-CDO-BUSYSTATUS",
    "X-MICROSOFT-CDO-IMPORTANCE",
    "X-MICROSOFT-CDO-INSTTYPE",
    "X-MICROSOFT-CDO-INTENDEDSTATUS",
    "X-MICROSOFT-CDO-OWNERAPPTID",
    "X-MICROSOFT-DISALLOW-COUNTER",
    "X-WR-CALDESC",
    "X-WR-CALNAME",
    "X-WR-RELCALID",
    "X-WR-TIMEZONE",
});

// Properties whose value is a URI someone will click or a client will contact.
constexpr auto kUriProperties =
    std::to_array<std::string_view>({"ATTENDEE", "ORGANIZER", "TZURL", "URL"});

// Parameters kept as they are. ALTREP and DIR (URIs to other content) and every X- parameter go.
constexpr auto kParams = std::to_array<std::string_view>({
    "CN",
    "CUTYPE",
    "EMAIL",
    "FBTYPE",
    "FMTTYPE",
    "LANGUAGE",
    "PARTSTAT",
    "RANGE",
    "RELATED",
    "RELTYPE",
    "ROLE",
    "RSVP",
    "SCHEDULE-AGENT",
    "SCHEDULE-STATUS",
    "TZID",
    "VALUE",
});
// Parameters whose values are calendar user addresses (URIs): kept only when all are mailto:.
constexpr auto kAddressParams =
    std::to_array<std::string_view>({"DELEGATED-FROM", "DELEGATED-TO", "MEMBER", "SENT-BY"});

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool isNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

std::string upper(std::string_view s) {
  std::string r(s);
  for (char& c : r) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return r;
}

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  return upper(s.substr(0, prefix.size())) == prefix;
}

bool endsWithNoCase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  return upper(s.substr(s.size() - suffix.size())) == suffix;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool safeUri(std::string_view v) {
  v = trim(v);
  return startsWithNoCase(v, "MAILTO:") || startsWithNoCase(v, "HTTP:") ||
         startsWithNoCase(v, "HTTPS:");
}

// Folding is undone on the raw bytes, before charset decoding, because many producers fold in
// the middle of a multi-byte character; decoding first would turn both halves into U+FFFD.
// Safe for every ASCII-compatible charset (UTF-8, Shift_JIS, EUC-JP, ISO-2022-JP): none of them
// uses CR, LF, SP or HTAB inside a multi-byte character.
std::string unfoldRaw(std::string_view s) {
  std::string r;
  r.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '\r' && i + 2 < s.size() && s[i + 1] == '\n' &&
        (s[i + 2] == ' ' || s[i + 2] == '\t')) {
      i += 3;
    } else if ((c == '\n' || c == '\r') && i + 1 < s.size() &&
               (s[i + 1] == ' ' || s[i + 1] == '\t')) {
      i += 2;
    } else {
      r += c;
      ++i;
    }
  }
  return r;
}

struct Param {
  std::string name;
  std::vector<std::string> values;
};

struct ContentLine {
  std::string name;
  std::vector<Param> params;
  std::string_view value;
};

// RFC 5545 3.1: name *(";" param) ":" value, with param = name "=" value *("," value) and a
// parameter value either a quoted string or text without DQUOTE ; : ,. Anything else is false.
bool parseLine(std::string_view line, ContentLine& cl) {
  const std::size_t n = line.size();
  std::size_t i = 0;
  while (i < n && isNameChar(line[i])) ++i;
  if (i == 0) return false;
  cl.name = upper(line.substr(0, i));
  cl.params.clear();
  while (i < n && line[i] == ';') {
    ++i;
    const std::size_t b = i;
    while (i < n && isNameChar(line[i])) ++i;
    if (i == b || i >= n || line[i] != '=' || cl.params.size() >= kMaxParams) return false;
    Param p;
    p.name = upper(line.substr(b, i - b));
    ++i;
    for (;;) {
      if (p.values.size() >= kMaxParamValues) return false;
      if (i < n && line[i] == '"') {
        const std::size_t q = line.find('"', i + 1);
        if (q == std::string_view::npos) return false;
        p.values.emplace_back(line.substr(i + 1, q - i - 1));
        i = q + 1;
      } else {
        const std::size_t b2 = i;
        while (i < n && line[i] != '"' && line[i] != ';' && line[i] != ':' && line[i] != ',') ++i;
        p.values.emplace_back(line.substr(b2, i - b2));
      }
      if (i < n && line[i] == ',') {
        ++i;
        continue;
      }
      break;
    }
    cl.params.push_back(std::move(p));
  }
  if (i >= n || line[i] != ':') return false;
  cl.value = line.substr(i + 1);
  return true;
}

// Canonical form: upper-case names, a parameter value quoted exactly when it must be. Parsing
// the result gives back the same ContentLine, which is what makes the sanitizer idempotent.
std::string serialize(const ContentLine& cl) {
  std::string r = cl.name;
  for (const auto& p : cl.params) {
    r += ';';
    r += p.name;
    r += '=';
    for (std::size_t k = 0; k < p.values.size(); ++k) {
      if (k > 0) r += ',';
      const std::string& v = p.values[k];
      if (v.find_first_of(":;,") != std::string::npos) {
        r += '"';
        r += v;
        r += '"';
      } else {
        r += v;
      }
    }
  }
  r += ':';
  r += cl.value;
  return r;
}

bool allowedChild(std::string_view parent, std::string_view child) {
  if (parent.empty()) return child == "VCALENDAR";
  if (parent == "VCALENDAR") {
    return child == "VEVENT" || child == "VTODO" || child == "VJOURNAL" || child == "VFREEBUSY" ||
           child == "VTIMEZONE";
  }
  if (parent == "VTIMEZONE") return child == "STANDARD" || child == "DAYLIGHT";
  if (parent == "VEVENT" || parent == "VTODO") return child == "VALARM";
  return false;
}

enum class Status { Ok, TooDeep, Timeout };

class Rebuilder {
 public:
  explicit Rebuilder(std::string& out) : out_(out) {}

  // Processes one unfolded content line. `tooLong` means it was cut at kMaxLineBytes.
  Status line(std::string_view l, bool tooLong) {
    if (tooLong) {
      std::size_t k = 0;
      while (k < l.size() && isNameChar(l[k])) ++k;
      if (inKept()) drop(upper(l.substr(0, std::min(k, kMaxNameChars))) + " (too long)");
      return Status::Ok;
    }
    if (!parseLine(l, cl_)) {
      if (inKept()) drop("(malformed line)");
      return Status::Ok;
    }
    if (cl_.name == "BEGIN") return begin(upper(trim(cl_.value).substr(0, kMaxNameChars)));
    if (cl_.name == "END") {
      end(upper(trim(cl_.value).substr(0, kMaxNameChars)));
      return Status::Ok;
    }
    if (inKept()) property();
    return Status::Ok;
  }

  // End of input. `cut` means the input was truncated by a limit: open components are closed so
  // the output stays valid. Otherwise an unterminated VCALENDAR is not trusted and is dropped.
  void finish(bool cut) {
    if (stack_.empty()) return;
    if (cut) {
      popTo(0);
      return;
    }
    if (stack_.front().kept) {  // an open VCALENDAR: drop what was written of it
      drop("VCALENDAR (no END)");
      out_.resize(std::min(out_.size(), calendarStart_));
    }
    alarm_ = Alarm{};
    stack_.clear();
  }

  std::size_t completeCalendars() const { return complete_; }

  void appendFindings(core::Findings& f) const {
    if (attachments_ > 0) {
      f.push_back({"calendar.attachment_removed", std::to_string(attachments_)});
    }
    if (html_ > 0) f.push_back({"calendar.html_removed", std::to_string(html_)});
    for (const auto& [what, count] : removed_) {
      f.push_back({"calendar.property_removed",
                   count > 1 ? what + " (" + std::to_string(count) + ")" : what});
    }
    if (otherRemovals_ > 0) {
      f.push_back({"calendar.property_removed", "other (" + std::to_string(otherRemovals_) + ")"});
    }
  }

 private:
  struct Frame {
    std::string name;
    bool kept;
  };
  // A VALARM is held back until its END: whether it survives depends on ACTION and ATTACH,
  // which may come in any order.
  struct Alarm {
    bool open = false;
    std::string lines;
    std::string action;
    bool trigger = false;
    bool attach = false;
  };

  bool inKept() const { return !stack_.empty() && stack_.back().kept; }
  std::string& target() { return alarm_.open ? alarm_.lines : out_; }

  void drop(const std::string& what) {
    auto it = removed_.find(what);
    if (it != removed_.end()) {
      ++it->second;
    } else if (removed_.size() < kMaxDistinctRemovals) {
      removed_.emplace(what, 1);
    } else {
      ++otherRemovals_;
    }
  }

  Status begin(const std::string& comp) {
    if (stack_.size() >= kMaxNesting) return Status::TooDeep;
    const bool parentKept = stack_.empty() || stack_.back().kept;
    const std::string_view parent = stack_.empty() ? std::string_view() : stack_.back().name;
    const bool kept = parentKept && allowedChild(parent, comp);
    if (parentKept && !kept) drop("BEGIN:" + comp);
    stack_.push_back({comp, kept});
    if (!kept) return Status::Ok;
    if (comp == "VCALENDAR") calendarStart_ = out_.size();
    if (comp == "VALARM") {
      alarm_ = Alarm{};
      alarm_.open = true;
      return Status::Ok;
    }
    out_ += "BEGIN:";
    out_ += comp;
    out_ += "\r\n";
    return Status::Ok;
  }

  // An END closes the nearest open component of that name and, implicitly, everything opened
  // inside it; an END that matches nothing open is ignored.
  void end(const std::string& comp) {
    for (std::size_t k = stack_.size(); k-- > 0;) {
      if (stack_[k].name == comp) {
        popTo(k);
        return;
      }
    }
  }

  void popTo(std::size_t index) {
    while (stack_.size() > index) {
      const Frame f = std::move(stack_.back());
      stack_.pop_back();
      if (!f.kept) continue;
      if (f.name == "VALARM") {
        closeAlarm();
        continue;
      }
      out_ += "END:";
      out_ += f.name;
      out_ += "\r\n";
      if (f.name == "VCALENDAR") ++complete_;
    }
  }

  void closeAlarm() {
    Alarm a = std::move(alarm_);
    alarm_ = Alarm{};
    const bool knownAction = a.action == "AUDIO" || a.action == "DISPLAY" || a.action == "EMAIL";
    if (a.action == "EMAIL" && a.attach) {
      drop("VALARM (ACTION:EMAIL with ATTACH)");
    } else if (!knownAction) {
      drop("VALARM (ACTION:" + (a.action.empty() ? std::string("none") : a.action) + ")");
    } else if (!a.trigger) {
      drop("VALARM (no TRIGGER)");
    } else {
      out_ += "BEGIN:VALARM\r\n";
      out_ += a.lines;
      out_ += "END:VALARM\r\n";
    }
  }

  void property() {
    const std::string& name = cl_.name;
    if (name == "ATTACH") {
      ++attachments_;
      if (alarm_.open) alarm_.attach = true;
      return;
    }
    if (name == "X-ALT-DESC") {
      ++html_;
      return;
    }
    // Parameters first: an inline binary makes any property an attachment.
    std::vector<Param> kept;
    for (auto& p : cl_.params) {
      if (p.name == "VALUE") {
        for (const auto& v : p.values) {
          if (upper(trim(v)) == "BINARY") {
            ++attachments_;
            if (alarm_.open) alarm_.attach = true;
            return;
          }
        }
        kept.push_back(std::move(p));
      } else if (p.name == "ENCODING") {
        for (const auto& v : p.values) {
          const std::string e = upper(trim(v));
          if (e == "BASE64" || e == "B") {
            ++attachments_;
            if (alarm_.open) alarm_.attach = true;
            return;
          }
          if (e != "8BIT") {
            drop(name.substr(0, kMaxNameChars) + " (ENCODING=" + e.substr(0, kMaxNameChars) + ")");
            return;
          }
        }
        // ENCODING=8BIT is the default: dropping it changes nothing.
      } else if (contains(kParams, p.name)) {
        kept.push_back(std::move(p));
      } else if (contains(kAddressParams, p.name)) {
        const bool ok = std::all_of(p.values.begin(), p.values.end(), [](const std::string& v) {
          return startsWithNoCase(trim(v), "MAILTO:");
        });
        if (ok) {
          kept.push_back(std::move(p));
        } else {
          drop(name.substr(0, kMaxNameChars) + ";" + p.name + " (not mailto:)");
        }
      } else {
        drop(name.substr(0, kMaxNameChars) + ";" + p.name.substr(0, kMaxNameChars));
      }
    }
    if (!contains(kProperties, name)) {
      drop(name.substr(0, kMaxNameChars));
      return;
    }
    if (contains(kUriProperties, name) && !safeUri(cl_.value)) {
      drop(name + " (URI scheme)");
      return;
    }
    if (alarm_.open) {
      if (name == "ACTION") alarm_.action = upper(trim(cl_.value).substr(0, kMaxNameChars));
      if (name == "TRIGGER") alarm_.trigger = true;
    }
    cl_.params = std::move(kept);
    appendFolded(target(), serialize(cl_));
  }

  std::string& out_;
  std::vector<Frame> stack_;
  Alarm alarm_;
  ContentLine cl_;
  std::size_t calendarStart_ = 0;
  std::size_t complete_ = 0;
  std::size_t attachments_ = 0;
  std::size_t html_ = 0;
  std::map<std::string, std::size_t> removed_;  // ordered: findings come out deterministic
  std::size_t otherRemovals_ = 0;
};

std::string outputName(const std::vector<std::string>& names) {
  if (names.empty() || names[0].empty()) return "invite.ics";
  const std::string& n = names[0];
  for (const std::string_view ext : {".ICS", ".ICAL", ".ICALENDAR", ".IFB", ".VCS"}) {
    if (endsWithNoCase(n, ext)) return n;
  }
  return n + ".ics";
}

}  // namespace

void appendFolded(std::string& out, std::string_view line) {
  std::size_t limit = kFoldOctets;
  while (line.size() > limit) {
    std::size_t cut = limit;
    // Back up to the first byte of a character: a continuation byte never starts a line.
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    if (cut == 0) cut = limit;  // not UTF-8 at all; the text sanitizer makes this unreachable
    out.append(line.substr(0, cut));
    out += "\r\n ";
    line.remove_prefix(cut);
    limit = kFoldOctets - 1;  // the leading space counts
  }
  out.append(line);
  out += "\r\n";
}

bool CalendarSanitizer::handles(std::string_view trueType, std::string_view) const {
  return trueType == "calendar";
}

PartOutput CalendarSanitizer::sanitize(const PartInput& in) const {
  static const core::Limits kDefaultLimits;
  const core::Limits& limits = in.limits ? *in.limits : kDefaultLimits;
  // A default-constructed deadline means the caller set none (it would otherwise lie in the past).
  const bool hasDeadline = in.deadline != std::chrono::steady_clock::time_point{};

  PartOutput result;
  const std::string unfolded = unfoldRaw(in.bytes);
  text::TextResult decoded = text::sanitizePlainText(unfolded, in.charset, limits);
  bool cut = std::any_of(decoded.findings.begin(), decoded.findings.end(),
                         [](const core::Finding& f) { return f.kind == "limit.text_bytes"; });
  std::string_view s = decoded.utf8;
  while (s.substr(0, kBom.size()) == kBom) s.remove_prefix(kBom.size());

  std::string out;
  out.reserve(s.size() + s.size() / 32 + 64);
  Rebuilder rebuilder(out);
  std::string logical;
  bool have = false;
  bool tooLong = false;
  std::size_t lines = 0;
  Status status = Status::Ok;
  // The decoded text is unfolded once more: a UTF-16 input only shows its folds after decoding.
  auto flush = [&] {
    if (!have || status != Status::Ok) return;
    status = rebuilder.line(logical, tooLong);
    logical.clear();
    have = false;
    tooLong = false;
  };
  std::size_t pos = 0;
  while (pos < s.size() && status == Status::Ok) {
    const std::size_t eol = s.find('\n', pos);
    const std::size_t stop = eol == std::string_view::npos ? s.size() : eol;
    const std::string_view phys = s.substr(pos, stop - pos);
    pos = stop + 1;
    if (!phys.empty() && (phys[0] == ' ' || phys[0] == '\t')) {
      if (!have || tooLong) continue;
      if (logical.size() + phys.size() - 1 > kMaxLineBytes) {
        tooLong = true;
      } else {
        logical.append(phys.substr(1));
      }
      continue;
    }
    flush();
    if (phys.empty()) continue;
    if (++lines > kMaxContentLines) {
      cut = true;
      result.findings.push_back({"limit.text_bytes", "calendar content lines"});
      break;
    }
    if (hasDeadline && lines % kDeadlineEvery == 0 &&
        std::chrono::steady_clock::now() > in.deadline) {
      status = Status::Timeout;
      break;
    }
    have = true;
    if (phys.size() > kMaxLineBytes) {
      tooLong = true;
      logical.assign(phys.substr(0, kMaxNameChars));
    } else {
      logical.assign(phys);
    }
  }
  flush();

  if (status == Status::TooDeep || status == Status::Timeout) {
    result.disposition = core::Disposition::Removed;
    result.reason = status == Status::TooDeep ? "limit.depth" : "limit.wall_time";
    return result;
  }
  rebuilder.finish(cut);
  if (rebuilder.completeCalendars() == 0) {
    result.disposition = core::Disposition::Removed;
    result.reason = "type.no_sanitizer";
    return result;
  }

  // The text sanitizer reports each block it cut (text.encoded_file_removed) itself.
  core::Findings findings = std::move(decoded.findings);
  const std::size_t before = findings.size();
  rebuilder.appendFindings(findings);
  const bool removedSomething = findings.size() > before || !decoded.cut.empty();
  for (auto& f : result.findings) findings.push_back(std::move(f));  // limit.text_bytes
  result.findings = std::move(findings);
  result.disposition =
      (removedSomething || cut) ? core::Disposition::Rebuilt : core::Disposition::Kept;
  result.contentType = "text/calendar";
  result.charset = "utf-8";
  result.filename = outputName(in.names);
  result.bytes = std::move(out);
  return result;
}

MUGAI_REGISTER_SANITIZER(CalendarSanitizer)

}  // namespace mugai::sanitizers::calendar
