// Tests for core/notice: when a notice is written, how untrusted names are shown, duplicate
// merging, the cap on the list, and the layout (Japanese first, the original ID in both halves).
//
// Reports are built by hand so each case shows exactly which record produces which line.
#include "core/notice.h"

#include <doctest/doctest.h>

#include <string>

#include "core/charset.h"

using mugai::core::buildNotice;
using mugai::core::Disposition;
using mugai::core::needsNotice;
using mugai::core::PartRecord;
using mugai::core::Policy;
using mugai::core::Report;

namespace {

Report baseReport() {
  Report r;
  r.inputSha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  r.originalId = mugai::core::originalIdFor(r.inputSha256);
  r.delivered = true;
  return r;
}

PartRecord removedPart(std::string name, std::string reason, std::string path = "1.2") {
  PartRecord p;
  p.path = std::move(path);
  p.declaredType = "application/octet-stream";
  p.trueType = "pe";
  if (!name.empty()) p.names.push_back(std::move(name));
  p.disposition = Disposition::Removed;
  p.reason = std::move(reason);
  return p;
}

PartRecord keptText() {
  PartRecord p;
  p.path = "1.1";
  p.declaredType = "text/plain";
  p.trueType = "text";
  p.disposition = Disposition::Kept;
  p.sanitizer = "text";
  p.outputType = "text/plain";
  p.findings.push_back({"text.charset_detected", "CP932"});
  return p;
}

std::size_t countOf(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1)) ++n;
  return n;
}

/// The Japanese half and the English half of a notice.
std::pair<std::string, std::string> halves(const std::string& notice) {
  const auto en = notice.find("---- Mugai sanitizing notice ----");
  REQUIRE(en != std::string::npos);
  return {notice.substr(0, en), notice.substr(en)};
}

}  // namespace

TEST_SUITE("notice") {
  TEST_CASE("notice: a report where everything was kept needs no notice") {
    Report r = baseReport();
    PartRecord container;
    container.path = "1";
    container.declaredType = "multipart/alternative";
    container.trueType = "multipart";
    container.disposition = Disposition::Container;
    r.parts.push_back(container);
    r.parts.push_back(keptText());
    r.parts.push_back(removedPart("", "alternative.unused", "1.2"));  // report-only removal
    r.messageFindings.push_back({"header.duplicate", "From"});
    r.messageFindings.push_back({"mime.parser_warning", "x"});
    CHECK_FALSE(needsNotice(r));
    CHECK(buildNotice(r, Policy::defaults()).empty());
  }

  TEST_CASE("notice: removals, conversions and notice-worthy findings each need a notice") {
    {
      Report r = baseReport();
      r.parts.push_back(removedPart("a.exe", "type.executable"));
      CHECK(needsNotice(r));
    }
    {
      Report r = baseReport();
      PartRecord html;
      html.path = "1";
      html.declaredType = "text/html";
      html.disposition = Disposition::Converted;
      html.sanitizer = "html";
      r.parts.push_back(html);
      CHECK(needsNotice(r));
    }
    {
      Report r = baseReport();
      PartRecord t = keptText();
      t.findings.push_back({"text.bidi_neutralized", ""});
      r.parts.push_back(t);
      CHECK(needsNotice(r));
    }
    {
      Report r = baseReport();
      r.messageFindings.push_back({"mime.parser_critical", "conflicting_header"});
      CHECK(needsNotice(r));
      const std::string n = buildNotice(r, Policy::defaults());
      CHECK(n.find("メール全体: ") != std::string::npos);
      CHECK(n.find("whole message: ") != std::string::npos);
    }
  }

  TEST_CASE("notice: notice = off writes nothing even when something changed") {
    Report r = baseReport();
    r.parts.push_back(removedPart("a.exe", "type.executable"));
    Policy p = Policy::defaults();
    p.notice = false;
    CHECK(buildNotice(r, p).empty());
  }

  TEST_CASE("notice: Japanese comes first, the original ID and contact are in both halves") {
    Report r = baseReport();
    r.parts.push_back(removedPart("請求書.exe", "type.executable"));
    Policy p = Policy::defaults();
    p.contact = "情報政策課 (内線 1234)";
    const std::string n = buildNotice(r, p);
    REQUIRE_FALSE(n.empty());
    const auto [ja, en] = halves(n);
    CHECK(n.find("無害化のお知らせ") < n.find("Mugai sanitizing notice"));
    CHECK(ja.find("「請求書.exe」: " + std::string(mugai::core::describe("type.executable").ja)) !=
          std::string::npos);
    CHECK(en.find("\"請求書.exe\": " + std::string(mugai::core::describe("type.executable").en)) !=
          std::string::npos);
    CHECK(countOf(ja, r.originalId) == 1);
    CHECK(countOf(en, r.originalId) == 1);
    CHECK(r.originalId == "MG-0123456789abcdef0123");
    CHECK(countOf(ja, p.contact) == 1);
    CHECK(countOf(en, p.contact) == 1);
    // LF line endings, ends with a blank line.
    CHECK(n.find('\r') == std::string::npos);
    REQUIRE(n.size() >= 2);
    CHECK(n.compare(n.size() - 2, 2, "\n\n") == 0);
  }

  TEST_CASE("notice: bidi and control characters in names are shown as escapes") {
    struct Row {
      std::string name;
      std::string shown;
    };
    const Row rows[] = {
        {"invoice\xE2\x80\xAEtxt.exe", "invoice<U+202E>txt.exe"},
        {"a\nFAKE LINE.exe", "a<U+000A>FAKE LINE.exe"},
        {"tab\there.exe", "tab<U+0009>here.exe"},
        {"zero\xE2\x80\x8Bwidth.exe", "zero<U+200B>width.exe"},
        {std::string("nul\0.exe", 8), "nul<U+0000>.exe"},
    };
    for (const auto& row : rows) {
      CAPTURE(row.name);
      // What the charset module itself produces, so the notice and escapeForDisplay agree.
      CHECK(mugai::core::escapeForDisplay(row.name) == row.shown);
      Report r = baseReport();
      r.parts.push_back(removedPart(row.name, "name.blocked_extension"));
      const std::string n = buildNotice(r, Policy::defaults());
      CHECK(n.find("「" + row.shown + "」") != std::string::npos);
      CHECK(n.find("\"" + row.shown + "\"") != std::string::npos);
      CHECK(n.find("\xE2\x80\xAE") == std::string::npos);
      CHECK(n.find("\nFAKE LINE") == std::string::npos);
      CHECK(n.find('\t') == std::string::npos);
      CHECK(n.find('\0') == std::string::npos);
    }
  }

  TEST_CASE("notice: identical lines are merged with a count") {
    Report r = baseReport();
    for (int i = 0; i < 3; ++i) r.parts.push_back(removedPart("a.exe", "type.executable"));
    r.parts.push_back(removedPart("b.exe", "type.executable"));
    const std::string n = buildNotice(r, Policy::defaults());
    const auto [ja, en] = halves(n);
    CHECK(countOf(ja, "「a.exe」") == 1);
    CHECK(ja.find("「a.exe」: " + std::string(mugai::core::describe("type.executable").ja) +
                  " (3 件)") != std::string::npos);
    CHECK(en.find(" (3 times)") != std::string::npos);
    CHECK(countOf(ja, "「b.exe」") == 1);
    CHECK(countOf(ja, "件)") == 1);  // b.exe appears once: no count
  }

  TEST_CASE("notice: a long list is capped with the number of lines left out") {
    Report r = baseReport();
    for (int i = 0; i < 40; ++i) {
      r.parts.push_back(removedPart("file" + std::to_string(i) + ".exe", "type.executable"));
    }
    const std::string n = buildNotice(r, Policy::defaults());
    const auto [ja, en] = halves(n);
    CHECK(countOf(ja, "\n・") == 31);  // 30 lines and the "ほか" line
    CHECK(ja.find("・ほか 10 件\n") != std::string::npos);
    CHECK(en.find("- and 10 more\n") != std::string::npos);
    CHECK(ja.find("「file29.exe」") != std::string::npos);
    CHECK(ja.find("「file30.exe」") == std::string::npos);
    CHECK(countOf(n, r.originalId) == 2);  // still present after a capped list
  }

  TEST_CASE("notice: parts inside an attached message are introduced as such") {
    Report r = baseReport();
    PartRecord p = removedPart("inner.exe", "type.executable", "1.2.m.2");
    p.inAttachedMessage = true;
    r.parts.push_back(p);
    const std::string n = buildNotice(r, Policy::defaults());
    CHECK(n.find("添付メール内の「inner.exe」") != std::string::npos);
    CHECK(n.find("in an attached message, \"inner.exe\"") != std::string::npos);
  }

  TEST_CASE("notice: unnamed parts and bodies are described, not left blank") {
    Report r = baseReport();
    PartRecord html;
    html.path = "1.2";
    html.declaredType = "text/html";
    html.trueType = "html";
    html.disposition = Disposition::Converted;
    html.sanitizer = "html";
    html.findings.push_back({"html.converted", ""});
    r.parts.push_back(html);
    PartRecord unnamed = removedPart("", "type.no_sanitizer", "1.3");
    unnamed.declaredType = "application/x-\xE2\x80\xAEodd";
    r.parts.push_back(unnamed);
    const std::string n = buildNotice(r, Policy::defaults());
    CHECK(n.find("本文: " + std::string(mugai::core::describe("html.converted").ja)) !=
          std::string::npos);
    CHECK(n.find("the body: ") != std::string::npos);
    CHECK(n.find("名前のないパート (application/x-<U+202E>odd)") != std::string::npos);
    CHECK(n.find("an unnamed part (application/x-<U+202E>odd)") != std::string::npos);
  }

  TEST_CASE("notice: a long name is shortened without breaking a character") {
    // Regression (was a bug): displayName cuts the escaped name at byte 117 and then repairUtf8
    // turns the cut character into U+FFFD, so the notice shows "…日本語�..." (notice.cc, displayName).
    // Cut on a character boundary (and not inside a "<U+XXXX>" escape).
    std::string name = "a";
    for (int i = 0; i < 80; ++i) name += "長";
    name += ".exe";
    Report r = baseReport();
    r.parts.push_back(removedPart(name, "type.executable"));
    const std::string n = buildNotice(r, Policy::defaults());
    CHECK(n.find("...") != std::string::npos);
    CHECK(n.find("\xEF\xBF\xBD") == std::string::npos);
  }

  TEST_CASE("notice: long names are shortened in the notice") {
    std::string name;
    for (int i = 0; i < 200; ++i) name += "x";
    name += ".exe";
    Report r = baseReport();
    r.parts.push_back(removedPart(name, "type.executable"));
    const std::string n = buildNotice(r, Policy::defaults());
    CHECK(n.find(name) == std::string::npos);
    CHECK(n.find(name.substr(0, 117) + "...") != std::string::npos);
  }

  TEST_CASE("notice: a file removed from inside an archive is named, with the reason") {
    Report r = baseReport();
    PartRecord zip;
    zip.path = "1.2";
    zip.declaredType = "application/zip";
    zip.trueType = "zip";
    zip.names.push_back("会議資料.zip");
    zip.disposition = Disposition::Rebuilt;
    zip.sanitizer = "zip";
    zip.findings.push_back({"zip.member_removed", "資料/setup\xE2\x80\xAE" "exe.txt: type.executable"});
    zip.findings.push_back({"zip.member_renamed", "資料/見積.docm → 資料/見積.docx"});
    zip.findings.push_back({"zip.member_removed", "odd name without a code"});
    r.parts.push_back(zip);
    const std::string n = buildNotice(r, Policy::defaults());
    const auto [ja, en] = halves(n);
    CAPTURE(n);
    // The member, its bidi override escaped, and the reason's own wording.
    CHECK(ja.find("「会議資料.zip」: ZIP 内のファイルを削除しました: 「資料/setup<U+202E>exe.txt」 "
                  "(実行ファイル") != std::string::npos);
    CHECK(en.find("\"資料/setup<U+202E>exe.txt\" (executables") != std::string::npos);
    CHECK(ja.find("「資料/見積.docm → 資料/見積.docx」") != std::string::npos);
    // A detail that is not "<member>: <code>" is still shown whole, escaped.
    CHECK(ja.find("「odd name without a code」") != std::string::npos);
    CHECK(n.find("\xE2\x80\xAE") == std::string::npos);
  }
}
