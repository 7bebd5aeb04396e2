// Tests for the iCalendar sanitizer: allowlisted structure, removals and their findings, folding
// without breaking UTF-8, limits, idempotence, and a real Google Calendar invitation.
#include "sanitizers/calendar/calendar_sanitizer.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <gmime/gmime.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"

namespace mugai::sanitizers::calendar {
namespace {

PartOutput run(std::string_view bytes, std::vector<std::string> names = {},
               std::string_view charset = "utf-8") {
  static const core::Limits limits;
  PartInput in;
  in.bytes = bytes;
  in.declaredType = "text/calendar";
  in.charset = charset;
  in.trueType = "calendar";
  in.names = std::move(names);
  in.limits = &limits;
  return CalendarSanitizer().sanitize(in);
}

// The disposition as its report word, so that a failed check prints something readable.
std::string disp(const PartOutput& out) {
  return std::string(core::dispositionName(out.disposition));
}

bool hasFinding(const PartOutput& out, std::string_view kind, std::string_view detail = {}) {
  for (const auto& f : out.findings) {
    if (f.kind == kind && (detail.empty() || f.detail == detail)) return true;
  }
  return false;
}

// Wraps event lines in a minimal calendar, CRLF-terminated.
std::string calendar(std::string_view eventLines) {
  return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nBEGIN:VEVENT\r\n"
         "UID:1@example.jp\r\nDTSTART:20240401T090000Z\r\n" +
         std::string(eventLines) + "END:VEVENT\r\nEND:VCALENDAR\r\n";
}

// Every physical line ends in CRLF, is at most 75 octets, and no line starts inside a UTF-8
// sequence.
void checkFolding(const std::string& s) {
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t eol = s.find("\r\n", pos);
    REQUIRE(eol != std::string::npos);
    CHECK(eol - pos <= 75);
    if (eol > pos) CHECK((static_cast<unsigned char>(s[pos]) & 0xC0) != 0x80);
    if (eol > pos + 1 && s[pos] == ' ') {
      CHECK((static_cast<unsigned char>(s[pos + 1]) & 0xC0) != 0x80);
    }
    CHECK(s.substr(pos, eol - pos).find('\n') == std::string::npos);
    pos = eol + 2;
  }
}

std::string unfold(const std::string& s) {
  std::string r;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 3, "\r\n ") == 0) {
      i += 2;
      continue;
    }
    r += s[i];
  }
  return r;
}

void checkIdempotent(const PartOutput& out) {
  const PartOutput again = run(out.bytes, {out.filename});
  CHECK(again.bytes == out.bytes);
  CHECK(disp(again) == "kept");
}

}  // namespace

TEST_SUITE("calendar") {
  TEST_CASE("calendar: a plain, canonical invitation comes out byte for byte and Kept") {
    const std::string in = calendar("SUMMARY:\xE4\xBC\x9A\xE8\xAD\xB0\r\n");  // 会議
    const PartOutput out = run(in);
    CHECK(disp(out) == "kept");
    CHECK(out.bytes == in);
    CHECK(out.contentType == "text/calendar");
    CHECK(out.charset == "utf-8");
    CHECK(out.filename == "invite.ics");
    CHECK(out.findings.empty());
  }

  TEST_CASE("calendar: removals, each with its finding, and what stays") {
    struct Row {
      std::string_view lines;     // inside the VEVENT
      std::string_view kind;      // expected finding
      std::string_view detail;    // expected detail ("" = any)
      std::string_view mustLack;  // must not appear in the output
      std::string_view mustKeep;  // must appear in the output ("" = nothing special)
    };
    const Row rows[] = {
        {"ATTACH;FMTTYPE=application/pdf:https://example.com/a.pdf\r\n",
         "calendar.attachment_removed", "1", "ATTACH", ""},
        {"ATTACH;ENCODING=BASE64;VALUE=BINARY:TVqQAAMAAAAEAAAA\r\n", "calendar.attachment_removed",
         "1", "TVqQ", ""},
        {"DESCRIPTION;ENCODING=BASE64:TVqQAAMAAAAEAAAA\r\n", "calendar.attachment_removed", "1",
         "TVqQ", ""},
        {"X-FOO;VALUE=BINARY:TVqQAAMAAAAEAAAA\r\n", "calendar.attachment_removed", "1", "TVqQ", ""},
        {"X-ALT-DESC;FMTTYPE=text/html:<html><script>x()</script></html>\r\n",
         "calendar.html_removed", "1", "script", ""},
        {"X-GOOGLE-CONFERENCE:https://meet.example.com/abc\r\n", "calendar.property_removed",
         "X-GOOGLE-CONFERENCE", "meet.example", ""},
        {"IMAGE;VALUE=URI:https://example.com/i.png\r\n", "calendar.property_removed", "IMAGE",
         "i.png", ""},
        {"URL:javascript:alert(1)\r\n", "calendar.property_removed", "URL (URI scheme)",
         "javascript", ""},
        {"ORGANIZER:file:///etc/passwd\r\n", "calendar.property_removed", "ORGANIZER (URI scheme)",
         "file:", ""},
        {"ATTENDEE;CN=\"Yamada, Taro\":mailto:yamada@example.jp\r\nURL:smb://host/share\r\n",
         "calendar.property_removed", "URL (URI scheme)",
         "smb:", "ATTENDEE;CN=\"Yamada, Taro\":mailto:yamada@example.jp\r\n"},
        {"DESCRIPTION;ALTREP=\"cid:part1@example.jp\":Hello\r\n", "calendar.property_removed",
         "DESCRIPTION;ALTREP", "cid:", "DESCRIPTION:Hello\r\n"},
        {"ATTENDEE;SENT-BY=\"http://evil\":mailto:a@example.jp\r\n", "calendar.property_removed",
         "ATTENDEE;SENT-BY (not mailto:)", "evil", "ATTENDEE:mailto:a@example.jp\r\n"},
        {"BEGIN:X-THING\r\nSUMMARY:hidden\r\nEND:X-THING\r\n", "calendar.property_removed",
         "BEGIN:X-THING", "hidden", ""},
        {"BEGIN:VALARM\r\nACTION:PROCEDURE\r\nTRIGGER:-PT5M\r\n"
         "ATTACH:file:///C:/Windows/System32/calc.exe\r\nEND:VALARM\r\n",
         "calendar.property_removed", "VALARM (ACTION:PROCEDURE)", "VALARM", ""},
        {"BEGIN:VALARM\r\nACTION:EMAIL\r\nTRIGGER:-PT5M\r\nATTACH:https://x/y.exe\r\n"
         "SUMMARY:s\r\nATTENDEE:mailto:a@example.jp\r\nEND:VALARM\r\n",
         "calendar.property_removed", "VALARM (ACTION:EMAIL with ATTACH)", "VALARM", ""},
        {"BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:r\r\nEND:VALARM\r\n",
         "calendar.property_removed", "VALARM (no TRIGGER)", "VALARM", ""},
        {"DESCRIPTION;ENCODING=QUOTED-PRINTABLE:=E4=BC=9A\r\n", "calendar.property_removed",
         "DESCRIPTION (ENCODING=QUOTED-PRINTABLE)", "=E4", ""},
        {"this is not a content line\r\n", "calendar.property_removed", "(malformed line)",
         "not a content", ""},
        {"SUMMARY;CN=\"unterminated:x\r\n", "calendar.property_removed", "(malformed line)",
         "unterminated", ""},
    };
    for (const auto& r : rows) {
      CAPTURE(r.lines);
      const PartOutput out = run(calendar(r.lines));
      REQUIRE(disp(out) == "rebuilt");
      CHECK(hasFinding(out, r.kind, r.detail));
      CHECK(out.bytes.find(r.mustLack) == std::string::npos);
      CHECK(out.bytes.find("UID:1@example.jp\r\n") != std::string::npos);
      CHECK(out.bytes.find("END:VCALENDAR\r\n") != std::string::npos);
      if (!r.mustKeep.empty()) CHECK(out.bytes.find(r.mustKeep) != std::string::npos);
      checkFolding(out.bytes);
      checkIdempotent(out);
    }
  }

  TEST_CASE("calendar: display and audio alarms, time zones and Outlook properties are kept") {
    const std::string in =
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nMETHOD:REQUEST\r\n"
        "X-WR-CALNAME:\xE4\xBA\x88\xE5\xAE\x9A\r\n"
        "BEGIN:VTIMEZONE\r\nTZID:Asia/Tokyo\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
        "TZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900\r\nTZNAME:JST\r\nEND:STANDARD\r\n"
        "END:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:2@example.jp\r\n"
        "DTSTART;TZID=Asia/Tokyo:20240401T090000\r\nX-MICROSOFT-CDO-BUSYSTATUS:BUSY\r\n"
        "BEGIN:VALARM\r\nTRIGGER:-PT15M\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\n"
        "END:VALARM\r\nBEGIN:VALARM\r\nACTION:AUDIO\r\nTRIGGER:-PT5M\r\n"
        "ATTACH:https://example.com/sound.wav\r\nEND:VALARM\r\nEND:VEVENT\r\n"
        "BEGIN:VTODO\r\nUID:3@example.jp\r\nDUE:20240402T000000Z\r\nEND:VTODO\r\n"
        "END:VCALENDAR\r\n";
    const PartOutput out = run(in);
    // Only the sound file of the audio alarm goes; the alarm itself stays (default sound).
    CHECK(disp(out) == "rebuilt");
    CHECK(hasFinding(out, "calendar.attachment_removed", "1"));
    std::string expected = in;
    expected.erase(expected.find("ATTACH:https://example.com/sound.wav\r\n"),
                   std::string_view("ATTACH:https://example.com/sound.wav\r\n").size());
    CHECK(out.bytes == expected);
    checkIdempotent(out);
  }

  TEST_CASE("calendar: a folded long Japanese SUMMARY is refolded without breaking UTF-8") {
    // 60 × "会議室" (9 octets each): 540 octets of UTF-8 in one value.
    std::string summary;
    for (int i = 0; i < 60; ++i) summary += "\xE4\xBC\x9A\xE8\xAD\xB0\xE5\xAE\xA4";
    // A careless producer folds every 40 octets, splitting characters.
    std::string folded = "SUMMARY:";
    for (std::size_t i = 0; i < summary.size(); i += 40) {
      if (i > 0) folded += "\r\n ";
      folded += summary.substr(i, 40);
    }
    folded += "\r\n";
    const PartOutput out = run(calendar(folded));
    CHECK(disp(out) == "kept");
    checkFolding(out.bytes);
    CHECK(unfold(out.bytes).find("SUMMARY:" + summary + "\r\n") != std::string::npos);
    CHECK(out.bytes.find("\xEF\xBF\xBD") == std::string::npos);  // no U+FFFD anywhere
    checkIdempotent(out);
  }

  TEST_CASE("calendar: appendFolded folds at 75 octets on character boundaries") {
    struct Row {
      std::string line;
      std::size_t physicalLines;
    };
    const Row rows[] = {
        {std::string(75, 'a'), 1},
        {std::string(76, 'a'), 2},
        {std::string(75 + 74, 'a'), 2},
        {std::string(75 + 74 + 1, 'a'), 3},
        {std::string(74, 'a') + "\xE4\xBC\x9A", 2},  // 77 octets; the character moves down
        {"", 1},
    };
    for (const auto& r : rows) {
      CAPTURE(r.line.size());
      std::string out;
      appendFolded(out, r.line);
      checkFolding(out);
      std::size_t count = 0;
      for (std::size_t p = out.find("\r\n"); p != std::string::npos; p = out.find("\r\n", p + 2)) {
        ++count;
      }
      CHECK(count == r.physicalLines);
      CHECK(unfold(out) == r.line + "\r\n");
    }
  }

  TEST_CASE("calendar: input without a complete VCALENDAR is removed") {
    const std::string_view rows[] = {
        "",
        "BEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\n",
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\n",
        "BEGIN:VCARD\r\nFN:x\r\nEND:VCARD\r\n",
        "END:VCALENDAR\r\nBEGIN:VCALENDAR\r\n",
    };
    for (const auto in : rows) {
      CAPTURE(in);
      const PartOutput out = run(in);
      CHECK(disp(out) == "removed");
      CHECK(out.reason == "type.no_sanitizer");
      CHECK(out.bytes.empty());
    }
  }

  TEST_CASE("calendar: structure is repaired: stray ENDs ignored, open children closed") {
    const std::string in =
        "junk before\r\nBEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VTODO\r\nBEGIN:VEVENT\r\n"
        "UID:1\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT1M\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\ntrailing junk\r\n";
    const PartOutput out = run(in);
    CHECK(out.bytes ==
          "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\nBEGIN:VALARM\r\n"
          "ACTION:DISPLAY\r\nTRIGGER:-PT1M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    checkIdempotent(out);
  }

  TEST_CASE("calendar: LF-only input, lower-case names and tab folds are normalized") {
    const PartOutput out =
        run("begin:vcalendar\nversion:2.0\nbegin:vevent\nsummary:a\n\tb\nend:vevent\n"
            "end:vcalendar\n");
    CHECK(out.bytes ==
          "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:ab\r\nEND:VEVENT\r\n"
          "END:VCALENDAR\r\n");
    checkIdempotent(out);
  }

  TEST_CASE("calendar: limits: nesting depth, line length, content line count") {
    SUBCASE("nesting deeper than kMaxNesting is removed") {
      std::string in = "BEGIN:VCALENDAR\r\n";
      for (std::size_t i = 0; i < kMaxNesting; ++i) in += "BEGIN:X\r\n";
      in += "END:VCALENDAR\r\n";
      const PartOutput out = run(in);
      CHECK(disp(out) == "removed");
      CHECK(out.reason == "limit.depth");
    }
    SUBCASE("nesting at kMaxNesting is accepted") {
      std::string in = "BEGIN:VCALENDAR\r\n";
      for (std::size_t i = 0; i + 1 < kMaxNesting; ++i) in += "BEGIN:X\r\n";
      in += "END:VCALENDAR\r\n";
      const PartOutput out = run(in);
      CHECK(disp(out) == "rebuilt");
      CHECK(out.bytes == "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n");
    }
    SUBCASE("a line at kMaxLineBytes is kept, one octet more is dropped") {
      const std::string prefix = "DESCRIPTION:";
      const std::string atLimit = prefix + std::string(kMaxLineBytes - prefix.size(), 'x');
      PartOutput out = run(calendar(atLimit + "\r\n"));
      CHECK(disp(out) == "kept");
      CHECK(unfold(out.bytes).find(atLimit + "\r\n") != std::string::npos);
      out = run(calendar(atLimit + "x\r\n"));
      CHECK(disp(out) == "rebuilt");
      CHECK(hasFinding(out, "calendar.property_removed", "DESCRIPTION (too long)"));
      CHECK(out.bytes.find("DESCRIPTION") == std::string::npos);
    }
    SUBCASE("more than kMaxContentLines lines are cut and the calendar closed") {
      std::string in = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n";
      for (std::size_t i = 0; i < kMaxContentLines; ++i) in += "COMMENT:c\r\n";
      in += "END:VEVENT\r\nEND:VCALENDAR\r\n";
      const PartOutput out = run(in);
      CHECK(disp(out) == "rebuilt");
      CHECK(hasFinding(out, "limit.text_bytes"));
      const std::string tail = "COMMENT:c\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
      REQUIRE(out.bytes.size() > tail.size());
      CHECK(out.bytes.substr(out.bytes.size() - tail.size()) == tail);
    }
  }

  TEST_CASE("calendar: output file name keeps a calendar extension") {
    struct Row {
      std::vector<std::string> names;
      std::string_view expected;
    };
    const Row rows[] = {
        {{}, "invite.ics"},
        {{"meeting.ics"}, "meeting.ics"},
        {{"MEETING.ICS"}, "MEETING.ICS"},
        {{"old.vcs"}, "old.vcs"},
        {{"invite.html"}, "invite.html.ics"},
    };
    for (const auto& r : rows) {
      CHECK(run(calendar(""), r.names).filename == r.expected);
    }
  }

  TEST_CASE("calendar: handles the sniffed calendar type whatever was declared") {
    const CalendarSanitizer s;
    CHECK(s.handles("calendar", "text/calendar"));
    CHECK(s.handles("calendar", "application/ics"));
    CHECK_FALSE(s.handles("text", "text/calendar"));
    const Sanitizer* found = findSanitizer("calendar", "text/calendar");
    REQUIRE(found != nullptr);
    CHECK(found->name() == "calendar");
  }

  TEST_CASE("calendar: a passed deadline removes the part") {
    std::string body;
    for (int i = 0; i < 10000; ++i) body += "COMMENT:c\r\n";
    const std::string in = calendar(body);
    const core::Limits limits;
    PartInput pi;
    pi.bytes = in;
    pi.trueType = "calendar";
    pi.limits = &limits;
    pi.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
    const PartOutput out = CalendarSanitizer().sanitize(pi);
    CHECK(disp(out) == "removed");
    CHECK(out.reason == "limit.wall_time");
  }

  TEST_CASE("calendar: the postal-mime Google Calendar invitation is rebuilt") {
    const std::filesystem::path path =
        std::filesystem::path(MUGAI_THIRD_PARTY_DIR) / "postal-mime" / "calendar-event.eml";
    if (!std::filesystem::exists(path)) {
      MESSAGE("skipped: " << path.string() << " is absent");
      return;
    }
    GMimeStream* file = g_mime_stream_fs_open(path.c_str(), O_RDONLY, 0, nullptr);
    REQUIRE(file != nullptr);
    GMimeParser* parser = g_mime_parser_new_with_stream(file);
    GMimeMessage* message = g_mime_parser_construct_message(parser, nullptr);
    REQUIRE(message != nullptr);
    // The text/calendar alternative, transfer encoding (quoted-printable) removed.
    std::string ics;
    GMimePartIter* it = g_mime_part_iter_new(GMIME_OBJECT(message));
    do {
      GMimeObject* obj = g_mime_part_iter_get_current(it);
      if (obj && GMIME_IS_PART(obj) &&
          g_mime_content_type_is_type(g_mime_object_get_content_type(obj), "text", "calendar")) {
        GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(obj));
        GMimeStream* mem = g_mime_stream_mem_new();
        g_mime_data_wrapper_write_to_stream(content, mem);
        GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
        ics.assign(reinterpret_cast<const char*>(bytes->data), bytes->len);
        g_object_unref(mem);
        break;
      }
    } while (g_mime_part_iter_next(it));
    g_mime_part_iter_free(it);
    g_object_unref(message);
    g_object_unref(parser);
    g_object_unref(file);
    REQUIRE(ics.rfind("BEGIN:VCALENDAR", 0) == 0);

    const PartOutput out = run(ics);
    CHECK(disp(out) == "rebuilt");
    CHECK(hasFinding(out, "calendar.property_removed", "X-GOOGLE-CONFERENCE"));
    CHECK(hasFinding(out, "calendar.property_removed", "ATTENDEE;X-NUM-GUESTS (2)"));
    const std::string flat = unfold(out.bytes);
    CHECK(flat.find("ORGANIZER;CN=Andris Reinman:mailto:andris@postalsys.com\r\n") !=
          std::string::npos);
    CHECK(flat.find("SUMMARY:Test event \xE2\x8F\xB0\r\n") != std::string::npos);
    CHECK(flat.find("TZID:Europe/Tallinn\r\n") != std::string::npos);
    CHECK(flat.find("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n") != std::string::npos);
    CHECK(flat.find("Join with Google Meet: https://meet.google.com/yew-afgi-ynf") !=
          std::string::npos);
    CHECK(flat.find("ACTION:EMAIL") != std::string::npos);  // an EMAIL alarm without ATTACH
    CHECK(out.bytes.find("X-GOOGLE") == std::string::npos);
    checkFolding(out.bytes);
    checkIdempotent(out);
  }
}

}  // namespace mugai::sanitizers::calendar
