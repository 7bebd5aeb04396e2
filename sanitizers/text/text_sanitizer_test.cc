// Tests for sanitizers/text: decoding, neutralizing controls and bidi overrides, cutting
// uuencode/BinHex/yEnc blocks, the text size limit, and idempotence.
#include "sanitizers/text/text_sanitizer.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "core/charset.h"

using mugai::core::Findings;
using mugai::core::Limits;
using mugai::sanitizers::text::neutralize;
using mugai::sanitizers::text::sanitizePlainText;

namespace {

bool has(const Findings& f, std::string_view kind) {
  return std::any_of(f.begin(), f.end(), [&](const auto& x) { return x.kind == kind; });
}

std::size_t count(const Findings& f, std::string_view kind) {
  return static_cast<std::size_t>(
      std::count_if(f.begin(), f.end(), [&](const auto& x) { return x.kind == kind; }));
}

std::string detailOf(const Findings& f, std::string_view kind) {
  for (const auto& x : f) {
    if (x.kind == kind) return x.detail;
  }
  return "<none>";
}

// Output of `uuencode` for a small fake PE file (two 45-byte lines and a short one).
const std::string kUuData =
    "M35J0 %1H:7,@<')O9W)A;2!C86YN;W0@8F4@<G5N(&EN($1/4R!M;V1E+@ !\n"
    "M O]-6I  5&AI<R!P<F]G<F%M(&-A;FYO=\"!B92!R=6X@:6X@1$]3(&UO9&4N\n"
    "$  $\"_P  \n"
    "`\n";

const std::string kBase64Data =
    "TVqQAFRoaXMgcHJvZ3JhbSBjYW5ub3QgYmUgcnVuIGluIERPUyBtb2RlLgABAv9NWpAAVGhpcyBw\n"
    "cm9ncmFtIGNhbm5vdCBiZSBydW4gaW4gRE9TIG1vZGUuAAEC/w==\n";

// BinHex 4.0 streams whose headers name "test.exe", "aaaa.txt" (run-length coded) and
// "Résumé.doc" (Mac Roman).
const std::string kBinHexTestExe = "#(4PFh3ZCAKP!&4&@&4dG(Kd!!!!!!!&!!!!!\")dD'9XE'm!!!";
const std::string kBinHexRle = "#''3\"#jdH(3!9%9B9(4dH(3!!!!!!!8!!!!!%M4SC@aXE`!!";
const std::string kBinHexResume = "#P+1Fh9YMLjNEf-!9%9B9(4dH(3!!!!!!!8!!!!!%M4SC@aXE`!!";

}  // namespace

TEST_SUITE("text") {
  TEST_CASE("text: clean UTF-8 passes unchanged, with tabs, trailing spaces and emoji") {
    const std::string in = "件名について\n\tインデント  \n末尾の空白   \n絵文字 😀👍🏽 👨‍👩‍👧\n";
    const auto r = sanitizePlainText(in, "utf-8", Limits{});
    CHECK(r.utf8 == in);
    CHECK(r.charset == "UTF-8");
    CHECK(r.findings.empty());
    CHECK(r.cut.empty());
  }

  TEST_CASE("text: line endings become LF") {
    const auto r = sanitizePlainText("a\r\nb\rc\n\r\nd\r", "us-ascii", Limits{});
    CHECK(r.utf8 == "a\nb\nc\n\nd\n");
    CHECK(r.findings.empty());
  }

  TEST_CASE("text: Japanese charsets decode and report mislabels and detection") {
    struct Row {
      const char* what;
      std::string bytes;
      const char* label;
      const char* utf8;
      const char* finding;  ///< expected charset finding, or nullptr
      const char* charset;
    };
    const std::string sjis = "\x82\xB1\x82\xF1\x82\xC9\x82\xBF\x82\xCD\r\n";  // こんにちは
    const Row rows[] = {
        {"ISO-2022-JP", "\x1B$BF|K\\8l\x1B(B\r\n", "ISO-2022-JP", "日本語\n", nullptr,
         "ISO-2022-JP"},
        {"ISO-2022-JP vendor characters", "\x1B$B\x2D\x21\x2D\x6A\x7C\x62\x1B(B",
         "iso-2022-jp", "①㈱髙", nullptr, "ISO-2022-JP"},
        {"CP932 labelled shift_jis", "\x87\x40\xFB\xFC\x87\x8A", "shift_jis", "①髙㈱", nullptr,
         "CP932"},
        {"Shift_JIS labelled us-ascii", sjis, "us-ascii", "こんにちは\n",
         "text.charset_mislabelled", "CP932"},
        {"UTF-8 labelled iso-2022-jp", "こんにちは", "iso-2022-jp", "こんにちは",
         "text.charset_mislabelled", "UTF-8"},
        {"missing label", sjis, "", "こんにちは\n", "text.charset_detected", "CP932"},
        {"missing label, ASCII (RFC 2045 default)", "hello\n", "", "hello\n", nullptr,
         "US-ASCII"},
    };
    for (const Row& row : rows) {
      CAPTURE(row.what);
      const auto r = sanitizePlainText(row.bytes, row.label, Limits{});
      CHECK(r.utf8 == row.utf8);
      CHECK(r.charset == row.charset);
      if (row.finding != nullptr) {
        CHECK(detailOf(r.findings, row.finding) == row.charset);
        CHECK(r.findings.size() == 1);
      } else {
        CHECK(r.findings.empty());
      }
    }
  }

  TEST_CASE("text: invalid bytes become U+FFFD and are counted once") {
    const auto r = sanitizePlainText("ok\xFF\xFE then \xE3\x81", "utf-8", Limits{});
    CHECK(r.utf8 == "ok\xEF\xBF\xBD\xEF\xBF\xBD then \xEF\xBF\xBD");
    CHECK(count(r.findings, "text.invalid_bytes") == 1);
    CHECK(detailOf(r.findings, "text.invalid_bytes") == "4");
  }

  TEST_CASE("text: NUL, C0 and C1 controls are removed, TAB and LF kept") {
    const std::string in("a\0b\x01\x1B[31mc\td\x7F\xC2\x85\xC2\x9B" "e\n", 19);
    const auto r = sanitizePlainText(in, "utf-8", Limits{});
    CHECK(r.utf8 == "ab[31mc\tde\n");
    CHECK(count(r.findings, "text.control_removed") == 1);
    CHECK_FALSE(has(r.findings, "text.bidi_neutralized"));
  }

  TEST_CASE("text: bidi overrides, isolates and marks are removed, one finding in all") {
    const auto r = sanitizePlainText(
        "invoice\u202Efdp.exe \u202A\u202B\u202C\u202D \u2066\u2067\u2068\u2069 \u200E\u200F"
        "\u061C end",
        "utf-8", Limits{});
    CHECK(r.utf8 == "invoicefdp.exe    end");
    CHECK(count(r.findings, "text.bidi_neutralized") == 1);
    CHECK(r.findings.size() == 1);
  }

  TEST_CASE("text: neutralize is shared with HTML and reports each kind of change once") {
    std::string s = "x\r\n\u202E\u202E\x01\x02y\xFF";
    Findings f;
    neutralize(s, f);
    CHECK(s == "x\ny\xEF\xBF\xBD");
    CHECK(count(f, "text.bidi_neutralized") == 1);
    CHECK(count(f, "text.control_removed") == 1);
    CHECK(count(f, "text.invalid_bytes") == 1);
    Findings again;
    std::string t = s;
    neutralize(t, again);
    CHECK(t == s);
    CHECK(again.empty());
  }

  TEST_CASE("text: uuencode, BinHex and yEnc blocks are cut and named") {
    struct Row {
      const char* what;
      std::string body;
      const char* encoding;
      const char* name;
      const char* line;  ///< the replacement line
    };
    std::string yenc = "=ybegin part=1 line=128 size=20 name=payload.exe\n";
    for (int i = 0; i < 3; ++i) yenc += std::string("\x80\xFF\xE3\x1B\x00\xC2 yenc", 10) + "\n";
    yenc += "=yend size=20 part=1 pcrc32=12345678\n";
    const Row rows[] = {
        {"uuencode", "begin 644 evil.exe\n" + kUuData + "end\n", "uuencode", "evil.exe",
         "[削除された添付ファイル (uuencode): evil.exe]"},
        {"uuencode with a 4-digit mode and CRLF", "begin 0755 run.sh\r\n" + kUuData + "end\r\n",
         "uuencode", "run.sh", "[削除された添付ファイル (uuencode): run.sh]"},
        {"uuencode -m (base64)", "begin-base64 644 evil.exe\n" + kBase64Data + "====\n",
         "uuencode", "evil.exe", "[削除された添付ファイル (uuencode): evil.exe]"},
        {"uuencode without end line", "begin 644 cut.bin\n" + kUuData, "uuencode", "cut.bin",
         "[削除された添付ファイル (uuencode): cut.bin]"},
        {"BinHex", "(This file must be converted with BinHex 4.0)\n\n:" + kBinHexTestExe + ":\n",
         "binhex", "test.exe", "[削除された添付ファイル (binhex): test.exe]"},
        {"BinHex with a run-length coded name",
         "(This file must be converted with BinHex 4.0)\n:" + kBinHexRle + ":\n", "binhex",
         "aaaa.txt", "[削除された添付ファイル (binhex): aaaa.txt]"},
        {"BinHex with a Mac Roman name",
         "(This file must be converted with BinHex 4.0)\n:" + kBinHexResume + ":\n", "binhex",
         "Résumé.doc", "[削除された添付ファイル (binhex): Résumé.doc]"},
        {"yEnc with 8-bit payload", yenc, "yenc", "payload.exe",
         "[削除された添付ファイル (yenc): payload.exe]"},
        {"uuencode name with a bidi override",
         "begin 644 invoice\u202Etxt.exe\n" + kUuData + "end\n", "uuencode", "invoicetxt.exe",
         "[削除された添付ファイル (uuencode): invoicetxt.exe]"},
        {"uuencode name with a zero-width space", "begin 644 a\u200Bb.exe\n" + kUuData + "end\n",
         "uuencode", "a\u200Bb.exe", "[削除された添付ファイル (uuencode): a<U+200B>b.exe]"},
    };
    for (const Row& row : rows) {
      CAPTURE(row.what);
      const std::string in = "前文です。\n" + row.body + "後文です。\n";
      const auto r = sanitizePlainText(in, "utf-8", Limits{});
      CHECK(r.utf8 == "前文です。\n" + std::string(row.line) + "\n後文です。\n");
      REQUIRE(r.cut.size() == 1);
      CHECK(r.cut[0].encoding == row.encoding);
      CHECK(r.cut[0].name == row.name);
      CHECK(count(r.findings, "text.encoded_file_removed") == 1);
      CHECK(detailOf(r.findings, "text.encoded_file_removed") == row.name);
      CHECK_FALSE(has(r.findings, "text.invalid_bytes"));
      CHECK_FALSE(has(r.findings, "text.charset_mislabelled"));
    }
  }

  TEST_CASE("text: a uuencode block in a Shift_JIS body keeps the Japanese name") {
    // こんにちは, then a block named 資料.exe, in Shift_JIS.
    const std::string in = "\x82\xB1\x82\xF1\x82\xC9\x82\xBF\x82\xCD\n"
                           "begin 644 \x8E\x91\x97\xBF.exe\n" +
                           kUuData + "end\n";
    const auto r = sanitizePlainText(in, "shift_jis", Limits{});
    CHECK(r.utf8 == "こんにちは\n[削除された添付ファイル (uuencode): 資料.exe]\n");
    REQUIRE(r.cut.size() == 1);
    CHECK(r.cut[0].name == "資料.exe");
  }

  TEST_CASE("text: several blocks in one body are each cut and reported") {
    const std::string in = "begin 644 a.exe\n" + kUuData + "end\nmiddle\nbegin 644 b.exe\n" +
                           kUuData + "end\n";
    const auto r = sanitizePlainText(in, "us-ascii", Limits{});
    CHECK(r.utf8 ==
          "[削除された添付ファイル (uuencode): a.exe]\nmiddle\n"
          "[削除された添付ファイル (uuencode): b.exe]\n");
    REQUIRE(r.cut.size() == 2);
    CHECK(r.cut[1].name == "b.exe");
    CHECK(count(r.findings, "text.encoded_file_removed") == 2);
  }

  TEST_CASE("text: prose that only looks like a block's start is not cut") {
    const char* rows[] = {
        "begin 644 is the file mode we use\nand then the text continues as prose.\nend\n",
        "begin the meeting at 10:00\nend\n",
        "begin 644 report.txt\nHello there, this is not uuencoded.\nend\n",
        "begin 12 items\nM is for mother\n",
        "begin 644\nM35J0\n",
        "beginning 644 name\nM35J0 %1H:7,@<')O9W)A;2!C86YN;W0@8F4@<G5N(&EN($1/4R!M;V1E+@ !\n",
        "(This file must be converted with BinHex 4.0) is what old Macs said.\nNothing follows.\n",
        "(This file must be converted with BinHex 4.0)\n\nplain text: not a stream\n",
        "=ybegin is how yEnc starts, says the FAQ\nname=nothing\n",
        "begin-base64 644 x\nthis is prose.\n",
    };
    for (const char* in : rows) {
      CAPTURE(in);
      const auto r = sanitizePlainText(in, "us-ascii", Limits{});
      CHECK(r.utf8 == in);
      CHECK(r.cut.empty());
      CHECK(r.findings.empty());
    }
  }

  TEST_CASE("text: the text limit cuts at N+1 bytes, not at N") {
    Limits limits;
    limits.maxTextBytes = 64;
    const std::string atLimit(64, 'a');
    const auto ok = sanitizePlainText(atLimit, "us-ascii", limits);
    CHECK(ok.utf8 == atLimit);
    CHECK_FALSE(has(ok.findings, "limit.text_bytes"));

    const auto over = sanitizePlainText(atLimit + "b", "us-ascii", limits);
    CHECK(over.utf8 == atLimit);
    CHECK(detailOf(over.findings, "limit.text_bytes") == "64");

    // The cut never splits a character.
    const auto jp = sanitizePlainText(std::string(63, 'a') + "あ", "utf-8", limits);
    CHECK(jp.utf8 == std::string(63, 'a'));
    CHECK(has(jp.findings, "limit.text_bytes"));
    CHECK_FALSE(has(jp.findings, "text.invalid_bytes"));

    // A huge input is bounded before decoding and still reported.
    const auto huge = sanitizePlainText(std::string(10u << 20, 'x'), "us-ascii", limits);
    CHECK(huge.utf8 == std::string(64, 'x'));
    CHECK(has(huge.findings, "limit.text_bytes"));
  }

  TEST_CASE("text: sanitizing sanitized text changes nothing and reports nothing") {
    const std::string inputs[] = {
        "plain\r\ntext\twith tabs  \n",
        "\x1B$BF|K\\8l\x1B(B\r\n\x1B(I123\x1B(B\n",
        "\x82\xB1\x82\xF1\x82\xC9\x82\xBF\x82\xCD\x87\x40",
        "invoice\u202Efdp.exe\x01\xC2\x85",
        "bad \xFF bytes \xE3\x81",
        "\x01\xEF\xBB\xBF\xEF\xBB\xBF" "bom after a control",
        "begin 644 evil.exe\n" + kUuData + "end\ntrailer",
        "begin 644 x\nM\x01" "35J0 %1H:7,@<')O9W)A;2!C86YN;W0@8F4@<G5N(&EN($1/4R!M;V1E+@ !\nend\n",
        "(This file must be converted with BinHex 4.0)\n:" + kBinHexTestExe + ":\n",
        "=ybegin line=128 size=3 name=y.bin\n\x80\x81\x82\n=yend size=3\n",
        "絵文字 😀 と 全角 ～ 〜\n",
    };
    for (const std::string& in : inputs) {
      CAPTURE(in);
      const auto first = sanitizePlainText(in, "", Limits{});
      const auto second = sanitizePlainText(first.utf8, "utf-8", Limits{});
      CHECK(second.utf8 == first.utf8);
      CHECK(second.findings.empty());
      CHECK(second.cut.empty());
    }
  }

  // Speed belongs to bench/; here a large body only has to come through intact.
  TEST_CASE("text: a 1 MB body comes through intact apart from line endings") {
    std::string ascii;
    while (ascii.size() < (1u << 20)) ascii += "The quick brown fox jumps over the lazy dog.\r\n";
    std::string japanese;
    while (japanese.size() < (1u << 20)) japanese += "日本語のメール本文です。絵文字😀も含みます。\n";
    for (const std::string* body : {&ascii, &japanese}) {
      const auto r = sanitizePlainText(*body, "utf-8", Limits{});
      std::string expected = *body;
      std::erase(expected, '\r');
      CHECK(r.utf8 == expected);
      CHECK(r.findings.empty());
    }
  }

}
