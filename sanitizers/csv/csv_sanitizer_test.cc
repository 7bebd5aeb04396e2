// Tests for the CSV/TSV sanitizer: formula neutralization, RFC 4180 round trips, decoding,
// output metadata, idempotence and the third-party DDE sample.
#include "sanitizers/csv/csv_sanitizer.h"

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"

namespace mugai::sanitizers::csv {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

PartOutput run(std::string_view bytes, std::string_view declared = "text/csv",
               std::string_view charset = "utf-8", std::vector<std::string> names = {}) {
  static const core::Limits limits;
  PartInput in;
  in.bytes = bytes;
  in.declaredType = declared;
  in.charset = charset;
  in.trueType = "text";
  in.names = std::move(names);
  in.limits = &limits;
  return CsvSanitizer().sanitize(in);
}

// The output without its byte-order mark (checked separately).
std::string body(const PartOutput& out) {
  REQUIRE(out.bytes.substr(0, kBom.size()) == kBom);
  return out.bytes.substr(kBom.size());
}

// The disposition as its report word, so that a failed check prints something readable.
std::string disp(const PartOutput& out) {
  return std::string(core::dispositionName(out.disposition));
}

bool hasFinding(const PartOutput& out, std::string_view kind, std::string_view detail) {
  for (const auto& f : out.findings) {
    if (f.kind == kind && f.detail == detail) return true;
  }
  return false;
}

}  // namespace

TEST_SUITE("csv") {
  TEST_CASE("csv: formula-like cells get an apostrophe, numbers and phone numbers do not") {
    struct Row {
      std::string_view cell;
      bool formula;
    };
    const Row rows[] = {
        {"=cmd|'/c calc'!A0", true},
        {"@SUM(A1)", true},
        {"+A1", true},
        {"-A1", true},
        {"=1+2", true},
        {"  =1+2", true},
        {"\t42", true},
        {"\r42", true},
        {"-2+3+cmd|' /C calc'!A0", true},
        {"+1+HYPERLINK(\"http://example.com\")", true},
        {"\xEF\xBC\x9D\x31+2", true},   // full-width ＝, then "1+2"
        {"\xEF\xBC\xA0SUM(A1)", true},  // full-width ＠
        {"\xE3\x80\x80=1", true},       // ideographic space, then '='
        {"\xC2\xA0@x", true},           // no-break space, then '@'
        {"\xEF\xBB\xBF=1", true},       // U+FEFF, then '='
        {"  \t1", true},
        {"-5", false},
        {"+81-3-1234-5678", false},
        {"-", false},
        {"+", false},
        {"-.5", false},
        {"- item", false},
        {"3-4", false},
        {"a=b", false},
        {"'=1+2", false},
        {"", false},
        {"   ", false},
        {"\xEF\xBC\x8D\xEF\xBC\x95", false},  // full-width －５
        {"\xE6\x9D\xB1\xE4\xBA\xAC", false},  // 東京
    };
    for (const auto& r : rows) {
      CAPTURE(r.cell);
      CHECK(isFormulaLike(r.cell) == r.formula);
    }
  }

  TEST_CASE("csv: files are re-serialized canonically with formulas neutralized") {
    struct Row {
      std::string_view input;
      std::string_view expected;
      std::size_t neutralized;
    };
    const Row rows[] = {
        {"=cmd|'/c calc'!A0\n", "'=cmd|'/c calc'!A0\n", 1},
        {"@SUM(A1),+A1,-5,+81-3-1234-5678,-\n", "'@SUM(A1),'+A1,-5,+81-3-1234-5678,-\n", 2},
        {"a,\"b,c\",\"d\"\"e\"\n", "a,\"b,c\",\"d\"\"e\"\n", 0},
        {"\"line1\nline2\",x\n", "\"line1\nline2\",x\n", 0},
        {"\"line1\r\nline2\",x\r\n", "\"line1\nline2\",x\n", 0},
        {"a,b\r\nc,d\r\n", "a,b\nc,d\n", 0},
        {"\"=HYPERLINK(\"\"http://evil\"\",\"\"click\"\")\",2\n",
         "\"'=HYPERLINK(\"\"http://evil\"\",\"\"click\"\")\",2\n", 1},
        {"\"=1+2\"\n", "'=1+2\n", 1},
        {"a,b", "a,b\n", 0},
        {"a,", "a,\n", 0},
        {"a\n\nb\n", "a\n\nb\n", 0},
        {"\"a\",\"b\"\n", "a,b\n", 0},
        {"a\"b,c\n", "\"a\"\"b\",c\n", 0},
        {"\"abc\ndef", "\"abc\ndef\"\n", 0},
        {"\"ab\"cd,e\n", "abcd,e\n", 0},
        {"sep=;\n=1;b\n", "sep=;\n'=1;b\n", 1},
        {"\xEF\xBB\xBF=1,2\n", "'=1,2\n", 1},
        {"", "", 0},
        {"\n", "\n", 0},
        {",,\n", ",,\n", 0},
        // A first cell that starts with U+FEFF (after the BOM) stays quoted so that the next
        // pass does not take it for the byte-order mark (found by fuzzing).
        {"\"\xEF\xBB\xBF"
         "abc\",d\n",
         "\"\xEF\xBB\xBF"
         "abc\",d\n",
         0},
        {"\"\xEF\xBB\xBF\tx\"\n", "'\xEF\xBB\xBF\tx\n", 1},
    };
    for (const auto& r : rows) {
      CAPTURE(r.input);
      const PartOutput out = run(r.input);
      CHECK(body(out) == r.expected);
      if (r.neutralized > 0) {
        CHECK(disp(out) == "rebuilt");
        CHECK(hasFinding(out, "csv.formula_neutralized", std::to_string(r.neutralized)));
      } else {
        CHECK(disp(out) == "kept");
      }
      // Idempotence: the output is a fixed point.
      const PartOutput again = run(out.bytes);
      CHECK(again.bytes == out.bytes);
      CHECK(disp(again) == "kept");
    }
  }

  TEST_CASE("csv: tab-separated values keep the tab delimiter") {
    const PartOutput out = run("=1\t\"x\ty\"\tz,w\n", "text/tab-separated-values");
    CHECK(body(out) == "'=1\t\"x\ty\"\tz,w\n");
    CHECK(out.contentType == "text/tab-separated-values");
    CHECK(out.filename == "data.tsv");
    CHECK(run(out.bytes, "text/tab-separated-values").bytes == out.bytes);
  }

  TEST_CASE("csv: Shift_JIS files are decoded to UTF-8 with their Japanese headers intact") {
    // "氏名,住所,電話番号\n山田太郎,東京都千代田区,03-1234-5678\n" in Shift_JIS.
    const std::string sjis =
        "\x8E\x81\x96\xBC\x2C\x8F\x5A\x8F\x8A\x2C\x93\x64\x98\x62\x94\xD4\x8D\x86\x0A\x8E\x52"
        "\x93\x63\x91\xBE\x98\x59\x2C\x93\x8C\x8B\x9E\x93\x73\x90\xE7\x91\xE3\x93\x63\x8B\xE6"
        "\x2C\x30\x33\x2D\x31\x32\x33\x34\x2D\x35\x36\x37\x38\x0A";
    const PartOutput out = run(sjis, "text/csv", "Shift_JIS", {"名簿.csv"});
    CHECK(body(out) == "氏名,住所,電話番号\n山田太郎,東京都千代田区,03-1234-5678\n");
    CHECK(out.charset == "utf-8");
    CHECK(out.filename == "名簿.csv");
    CHECK(disp(out) == "kept");
  }

  TEST_CASE("csv: output metadata: content type, charset, file name") {
    struct Row {
      std::string_view declared;
      std::vector<std::string> names;
      std::string_view type;
      std::string_view filename;
    };
    const Row rows[] = {
        {"text/csv", {}, "text/csv", "data.csv"},
        {"application/csv", {"a.CSV"}, "text/csv", "a.CSV"},
        {"text/comma-separated-values", {"list.txt"}, "text/csv", "list.txt"},
        {"text/csv", {"evil.slk"}, "text/csv", "evil.slk.csv"},
        {"text/csv", {"query.iqy"}, "text/csv", "query.iqy.csv"},
        {"text/tab-separated-values", {"t.tsv"}, "text/tab-separated-values", "t.tsv"},
        {"text/tab-separated-values", {"t.dat"}, "text/tab-separated-values", "t.dat.tsv"},
    };
    for (const auto& r : rows) {
      CAPTURE(r.declared);
      const PartOutput out = run("a,b\n", r.declared, "utf-8", r.names);
      CHECK(out.contentType == r.type);
      CHECK(out.charset == "utf-8");
      CHECK(out.filename == r.filename);
    }
  }

  TEST_CASE("csv: handles text declared as a CSV or TSV type, nothing else") {
    const CsvSanitizer s;
    CHECK(s.handles("text", "text/csv"));
    CHECK(s.handles("text", "text/comma-separated-values"));
    CHECK(s.handles("text", "application/csv"));
    CHECK(s.handles("text", "text/tab-separated-values"));
    CHECK_FALSE(s.handles("text", "text/plain"));
    CHECK_FALSE(s.handles("html", "text/csv"));
    CHECK_FALSE(s.handles("zip", "text/csv"));
    const Sanitizer* found = findSanitizer("text", "text/csv");
    REQUIRE(found != nullptr);
    CHECK(found->name() == "csv");
  }

  TEST_CASE("csv: a passed deadline removes the part instead of running on") {
    std::string big;
    for (int i = 0; i < 10000; ++i) big += "a,";
    const core::Limits limits;
    PartInput in;
    in.bytes = big;
    in.declaredType = "text/csv";
    in.trueType = "text";
    in.limits = &limits;
    in.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
    const PartOutput out = CsvSanitizer().sanitize(in);
    CHECK(disp(out) == "removed");
    CHECK(out.reason == "limit.wall_time");
  }

  TEST_CASE("csv: the oletools DDE sample comes out with no cell starting with '='") {
    const std::filesystem::path path =
        std::filesystem::path(MUGAI_THIRD_PARTY_DIR) / "oletools" / "dde-in-csv.csv";
    if (!std::filesystem::exists(path)) {
      MESSAGE("skipped: " << path.string() << " is absent");
      return;
    }
    std::ifstream f(path, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    REQUIRE(data.find('=') != std::string::npos);  // the sample really is a formula
    const PartOutput out = run(data, "text/csv", "", {"dde-in-csv.csv"});
    CHECK(disp(out) == "rebuilt");
    CHECK(hasFinding(out, "csv.formula_neutralized", "1"));
    const std::string b = body(out);
    // A cell starts at the beginning, after a newline, after a comma, or after an opening quote.
    for (std::size_t i = 0; i < b.size(); ++i) {
      const bool cellStart = i == 0 || b[i - 1] == '\n' || b[i - 1] == ',' ||
                             (b[i - 1] == '"' && (i == 1 || b[i - 2] == ',' || b[i - 2] == '\n'));
      if (cellStart) CHECK(b[i] != '=');
    }
    CHECK(b.rfind("'=cmd|", 0) == 0);
  }
}

}  // namespace mugai::sanitizers::csv
