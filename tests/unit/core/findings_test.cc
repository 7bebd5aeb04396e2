// Tests for core/findings: the wording table is sorted, and every finding or reason code the
// pipeline and the sanitizers emit has its own Japanese and English wording.
//
// Two lists are checked: a hard-coded one (read from the sources when this test was written, so
// it fails if a row is deleted) and one scanned from the sources at run time (so a code added
// later without wording fails here too).
#include "core/findings.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>
#include <vector>

using mugai::core::codesAreSorted;
using mugai::core::describe;
using mugai::core::Disposition;
using mugai::core::dispositionName;
using mugai::core::isKnownCode;
using mugai::core::isNoticeWorthy;

namespace {

// Codes emitted by core/pipeline.cc and sanitizers/ (string literals), plus the HTML converter's
// documented codes (sanitizers/html/html_to_text.h).
const std::vector<std::string> kEmittedCodes = {
    "alternative.unused",        "archive.unsupported",        "calendar.attachment_removed",
    "calendar.html_removed",     "csv.formula_neutralized",    "encrypted.file",
    "encrypted.mail",            "encrypted.zip",              "error.internal",
    "error.sanitizer",           "error.self_verify",          "header.address_dropped",
    "header.date_invalid",       "header.duplicate",           "header.raw_8bit",
    "html.active_url_removed",   "html.base_removed",          "html.converted",
    "html.form_removed",         "html.meta_refresh_removed",  "html.script_removed",
    "limit.depth",               "limit.header_bytes",         "limit.html_bytes",
    "limit.html_depth",          "limit.message_bytes",        "limit.parts",
    "limit.text_bytes",          "limit.wall_time",            "message.external_body",
    "message.partial",           "mime.parser_critical",       "mime.parser_warning",
    "mime.unparseable",          "name.blocked_extension",     "related.image_dropped",
    "signature.dropped",         "smime.opaque_signed",        "text.bidi_neutralized",
    "text.charset_detected",     "text.charset_mislabelled",   "text.control_removed",
    "text.encoded_file_removed", "text.invalid_bytes",         "type.blocked",
    "type.executable",           "type.no_sanitizer",          "type.unsafe_text",
};

// Dotted literals in the sources that are file names or hosts, not codes.
const std::set<std::string> kFileExtensions = {
    "exe", "txt", "ics", "eml", "csv", "tsv", "html", "htm", "png",  "jpg", "jpeg", "gif",
    "pdf", "zip", "docx", "xlsx", "pptx", "docm", "xlsm", "pptm", "slk", "sh",  "iqy",  "dat",
    "bin", "vcs", "vcf", "xml",  "svg",  "js",   "bat",  "cmd",  "com", "scr", "lnk", "example",
    "jp",  "org", "net", "dll",  "rtf",  "doc",  "xls",  "ppt",  "odt", "ods", "odp", "md"};

bool isGeneric(const std::string& code) {
  const auto d = describe(code);
  return d.ja == describe("no.such_code_at_all").ja || d.en == describe("no.such_code_at_all").en;
}

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Sanitizer folders that were finished when this test was written: their codes are checked
// strictly. Folders added later are scanned by a separate (may_fail) case until their wording
// is in core/findings.cc.
const std::set<std::string> kFinishedFolders = {"text", "csv", "calendar", "html"};

/// Code-like string literals in core/pipeline.cc and sanitizers/**/*.cc (tests and fuzzers
/// excluded); with `onlyFinished`, only the folders in kFinishedFolders (and registry.cc).
/// Empty when the source tree is not available.
std::set<std::string> scannedCodes(bool onlyFinished) {
  const std::filesystem::path root(MUGAI_SOURCE_DIR);
  std::vector<std::filesystem::path> files;
  if (std::filesystem::exists(root / "core" / "pipeline.cc")) {
    files.push_back(root / "core" / "pipeline.cc");
  }
  if (std::filesystem::exists(root / "sanitizers")) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(root / "sanitizers")) {
      const std::string name = e.path().filename().string();
      if (!e.is_regular_file() || e.path().extension() != ".cc") continue;
      if (name.find("_test.cc") != std::string::npos || name.rfind("fuzz_", 0) == 0) continue;
      const auto rel = std::filesystem::relative(e.path(), root / "sanitizers");
      const std::string folder = rel.has_parent_path() ? rel.begin()->string() : "";
      if (onlyFinished && !folder.empty() && kFinishedFolders.count(folder) == 0) continue;
      files.push_back(e.path());
    }
  }
  const std::regex literal("\"([a-z][a-z0-9]*)\\.([a-z][a-z0-9_]*)\"");
  std::set<std::string> codes;
  for (const auto& f : files) {
    const std::string text = readFile(f);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), literal);
         it != std::sregex_iterator(); ++it) {
      if (kFileExtensions.count((*it)[2].str())) continue;
      codes.insert((*it)[1].str() + "." + (*it)[2].str());
    }
  }
  return codes;
}

}  // namespace

TEST_SUITE("findings") {
  TEST_CASE("findings: the wording table is sorted for its binary search") {
    CHECK(codesAreSorted());
  }

  TEST_CASE("findings: every emitted code has its own Japanese and English wording") {
    for (const auto& code : kEmittedCodes) {
      CAPTURE(code);
      const auto d = describe(code);
      CHECK_FALSE(d.ja.empty());
      CHECK_FALSE(d.en.empty());
      CHECK_FALSE(isGeneric(code));
      // The Japanese text is Japanese (has non-ASCII), the English text is ASCII.
      bool jaHasNonAscii = false;
      for (const char c : d.ja) jaHasNonAscii = jaHasNonAscii || static_cast<unsigned char>(c) >= 0x80;
      CHECK(jaHasNonAscii);
      for (const char c : d.en) CHECK(static_cast<unsigned char>(c) < 0x80);
    }
  }

  TEST_CASE("findings: codes found in the sources at run time all have wording") {
    const auto codes = scannedCodes(true);
    if (codes.empty()) {
      MESSAGE("source tree not found at MUGAI_SOURCE_DIR; skipped");
      return;
    }
    // The scan must at least see what the hard-coded list saw in the pipeline.
    CHECK(codes.count("type.executable") == 1);
    CHECK(codes.count("signature.dropped") == 1);
    CHECK(codes.count("text.bidi_neutralized") == 1);
    for (const auto& code : codes) {
      CAPTURE(code);
      CHECK_FALSE(isGeneric(code));
    }
  }

  TEST_CASE("findings: codes of every sanitizer folder have wording") {
    // A new rebuilder folder fails here until its codes have rows in core/findings.cc kRows
    // (without one the notice shows "その他の変更" / "other change").
    const auto codes = scannedCodes(false);
    if (codes.empty()) {
      MESSAGE("source tree not found at MUGAI_SOURCE_DIR; skipped");
      return;
    }
    for (const auto& code : codes) {
      CAPTURE(code);
      CHECK_FALSE(isGeneric(code));
    }
  }

  TEST_CASE("findings: unknown codes get a generic text and are shown to the reader") {
    const auto d = describe("zzz.never_registered");
    CHECK_FALSE(d.ja.empty());
    CHECK_FALSE(d.en.empty());
    CHECK(isNoticeWorthy("zzz.never_registered"));
    CHECK(isNoticeWorthy(""));
    CHECK_FALSE(describe("").en.empty());
    // A prefix of a real code is not that code.
    CHECK(isGeneric("type.exec"));
    CHECK(isGeneric("type.executable.x"));
  }

  TEST_CASE("findings: isKnownCode is true exactly for codes with their own wording") {
    for (const std::string& code : kEmittedCodes) {
      CAPTURE(code);
      CHECK(isKnownCode(code));
      CHECK(isKnownCode(code) == !isGeneric(code));
    }
    for (const char* unknown : {"", "zzz.never_registered", "type.exec", "type.executable.x"}) {
      CAPTURE(unknown);
      CHECK_FALSE(isKnownCode(unknown));
    }
  }

  TEST_CASE("findings: notice-worthiness separates changes from report-only facts") {
    struct Row {
      const char* code;
      bool notice;
    };
    const Row rows[] = {
        {"type.executable", true},         {"name.blocked_extension", true},
        {"html.converted", true},          {"html.script_removed", true},
        {"signature.dropped", true},       {"encrypted.mail", true},
        {"limit.parts", true},             {"text.bidi_neutralized", true},
        {"alternative.unused", false},     {"text.charset_detected", false},
        {"header.duplicate", false},       {"mime.parser_warning", false},
        {"type.mismatch", false},          {"text.invalid_bytes", false},
    };
    for (const auto& r : rows) {
      CAPTURE(std::string(r.code));
      CHECK(isNoticeWorthy(r.code) == r.notice);
    }
  }

  TEST_CASE("findings: disposition names are stable") {
    CHECK(dispositionName(Disposition::Kept) == "kept");
    CHECK(dispositionName(Disposition::Converted) == "converted");
    CHECK(dispositionName(Disposition::Rebuilt) == "rebuilt");
    CHECK(dispositionName(Disposition::Removed) == "removed");
    CHECK(dispositionName(Disposition::Container) == "container");
  }
}
