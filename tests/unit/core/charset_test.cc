// Tests for core/charset: decoding Japanese and other mail charsets without garbling, label
// validation and detection, ISO-2022-JP output, UTF-8 repair and display escaping.
//
// Japanese inputs are written as byte literals produced outside this code (Python's codecs and
// the JIS/Shift_JIS tables), and expectations are UTF-8 literals, so a test never compares the
// decoder with itself.
#include "core/charset.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

using mugai::core::canonicalCharset;
using mugai::core::decodeToUtf8;
using mugai::core::detectCharset;
using mugai::core::encodeFromUtf8;
using mugai::core::escapeForDisplay;
using mugai::core::repairUtf8;

namespace {

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The body of an RFC 5322 message (after the first empty line), CRLF or LF.
std::string bodyOf(const std::string& message) {
  std::size_t pos = message.find("\r\n\r\n");
  if (pos != std::string::npos) return message.substr(pos + 4);
  pos = message.find("\n\n");
  return pos == std::string::npos ? std::string() : message.substr(pos + 2);
}

}  // namespace

TEST_SUITE("charset") {
  TEST_CASE("charset: Japanese and other labelled text decodes to the expected UTF-8") {
    struct Row {
      const char* what;
      std::string bytes;
      const char* label;
      const char* utf8;
      const char* charset;
      bool labelUsed;
    };
    const Row rows[] = {
        {"ISO-2022-JP kanji and katakana",
         "\x1B$BF|K\\8l%F%-%9%H\x1B(B", "iso-2022-jp", "日本語テキスト", "ISO-2022-JP", true},
        {"ISO-2022-JP half-width kana via ESC ( I", "A\x1B(I123\x1B(BZ", "ISO-2022-JP",
         "Aｱｲｳ" "Z", "ISO-2022-JP", true},
        {"ISO-2022-JP half-width kana via SO/SI", "A\x0E" "123\x0FZ", "iso-2022-jp",
         "Aｱｲｳ" "Z", "ISO-2022-JP", true},
        // NEC row 13 (①, ㈱) and NEC-selected IBM row 92 (髙), as CP50220 writes them.
        {"ISO-2022-JP with NEC/IBM vendor characters", "\x1B$B\x2D\x21\x2D\x6A\x7C\x62\x1B(B",
         "iso-2022-jp", "①㈱髙", "ISO-2022-JP", true},
        {"ISO-2022-JP with ESC ( J JIS-Roman", "\x1B$B$\"\x1B(Jabc\\~", "iso-2022-jp",
         "あabc\\~", "ISO-2022-JP", true},
        {"ISO-2022-JP with JIS X 0212 (ESC $ ( D)", "\x1B$(D\x30\x21\x1B(B", "iso-2022-jp-1",
         "丂", "ISO-2022-JP", true},
        // 髙 here is the IBM extension code 0xFBFC, not the NEC-selected 0xEEE0.
        {"CP932 vendor characters labelled shift_jis", "\x87\x40\xFB\xFC\x87\x8A", "shift_jis",
         "①髙㈱", "CP932", true},
        {"CP932 NEC-selected 髙 labelled Shift_JIS", "\xEE\xE0", "Shift_JIS", "髙", "CP932",
         true},
        {"Shift_JIS text", "\x82\xB1\x82\xF1\x82\xC9\x82\xBF\x82\xCD\x81\x41\x90\xA2\x8A\x45",
         "x-sjis", "こんにちは、世界", "CP932", true},
        {"EUC-JP text", "\xA4\xB3\xA4\xF3\xA4\xCB\xA4\xC1\xA4\xCF\xA1\xA2\xC0\xA4\xB3\xA6",
         "euc-jp", "こんにちは、世界", "EUC-JP-MS", true},
        {"EUC-JP half-width kana and NEC row 13", "\x8E\xB1\xAD\xA1", "EUC-JP", "ｱ①",
         "EUC-JP-MS", true},
        {"UTF-8", "caf\xC3\xA9 \xE6\x97\xA5\xF0\x9F\x98\x80", "utf-8", "café 日😀", "UTF-8",
         true},
        {"ISO-8859-1 is read as its superset CP1252", "caf\xE9 \x80", "iso-8859-1", "café €",
         "CP1252", true},
        {"KOI8-R through iconv", "\xF0\xD2\xC9\xD7\xC5\xD4", "koi8-r", "Привет", "KOI8-R",
         true},
        {"UTF-7 through iconv", "Hi +ZeVnLIqe-", "utf-7", "Hi 日本語", "UTF-7", true},
        {"UTF-16 with BOM", std::string("\xFF\xFE\x42\x30\x44\x30", 6), "utf-16", "あい",
         "UTF-16", true},
        {"a leading UTF-8 BOM is stripped", "\xEF\xBB\xBFhello", "utf-8", "hello", "UTF-8",
         true},
        {"plain ASCII with an ISO-2022-JP label", "hello", "iso-2022-jp", "hello",
         "ISO-2022-JP", true},
    };
    for (const Row& row : rows) {
      CAPTURE(row.what);
      const auto d = decodeToUtf8(row.bytes, row.label);
      CHECK(d.utf8 == row.utf8);
      CHECK(d.charset == row.charset);
      CHECK(d.labelUsed == row.labelUsed);
      CHECK(d.invalidBytes == 0);
    }
  }

  TEST_CASE("charset: a wrong or missing label is detected from the bytes") {
    struct Row {
      const char* what;
      std::string bytes;
      const char* label;
      const char* utf8;
      const char* charset;
    };
    const std::string sjis =
        "\x82\xB1\x82\xF1\x82\xC9\x82\xBF\x82\xCD\x81\x41\x90\xA2\x8A\x45";  // こんにちは、世界
    const std::string euc = "\xA4\xB3\xA4\xF3\xA4\xCB\xA4\xC1\xA4\xCF\xA1\xA2\xC0\xA4\xB3\xA6";
    const std::string jis = "\x1B$BF|K\\8l%F%-%9%H\x1B(B";  // 日本語テキスト
    const std::string utf8 = "こんにちは、世界";
    const Row rows[] = {
        {"UTF-8 labelled ISO-2022-JP", utf8, "iso-2022-jp", "こんにちは、世界", "UTF-8"},
        {"Shift_JIS labelled us-ascii", sjis, "us-ascii", "こんにちは、世界", "CP932"},
        {"Shift_JIS labelled iso-8859-1", sjis, "iso-8859-1", "こんにちは、世界", "CP932"},
        {"EUC-JP labelled shift_jis", euc, "shift_jis", "こんにちは、世界", "EUC-JP-MS"},
        {"Shift_JIS labelled euc-jp", sjis, "euc-jp", "こんにちは、世界", "CP932"},
        {"UTF-8 labelled shift_jis", utf8, "shift_jis", "こんにちは、世界", "UTF-8"},
        {"UTF-8 labelled iso-8859-1", "caf\xC3\xA9", "iso-8859-1", "café", "UTF-8"},
        {"ISO-2022-JP labelled us-ascii", jis, "us-ascii", "日本語テキスト", "ISO-2022-JP"},
        {"ISO-2022-JP labelled utf-8", jis, "utf-8", "日本語テキスト", "ISO-2022-JP"},
        {"missing label, Shift_JIS", sjis, "", "こんにちは、世界", "CP932"},
        {"missing label, EUC-JP", euc, "", "こんにちは、世界", "EUC-JP-MS"},
        {"missing label, ISO-2022-JP", jis, "", "日本語テキスト", "ISO-2022-JP"},
        {"missing label, UTF-8", utf8, "", "こんにちは、世界", "UTF-8"},
        {"unknown label, Shift_JIS", sjis, "x-unknown", "こんにちは、世界", "CP932"},
        {"an 8-bit byte in US-ASCII is read as CP1252", "a\x80" "b", "us-ascii", "a€b", "CP1252"},
        {"Latin-1 labelled UTF-8",
         "Gr\xFC\xDF" "e aus M\xFCnchen, sch\xF6ne Gr\xFC\xDF" "e und caf\xE9 cr\xE8me", "utf-8",
         "Grüße aus München, schöne Grüße und café crème", "CP1252"},
    };
    for (const Row& row : rows) {
      CAPTURE(row.what);
      const auto d = decodeToUtf8(row.bytes, row.label);
      CHECK(d.utf8 == row.utf8);
      CHECK(d.charset == row.charset);
      CHECK_FALSE(d.labelUsed);
      CHECK(d.invalidBytes == 0);
    }
  }

  TEST_CASE("charset: invalid bytes become U+FFFD, are counted, and decoding goes on") {
    struct Row {
      const char* what;
      std::string bytes;
      const char* label;
      const char* utf8;
      std::size_t invalid;
    };
    const Row rows[] = {
        {"stray bytes in UTF-8 Japanese",
         "\xE6\x97\xA5\xE6\x9C\xAC\xFF\xE8\xAA\x9E\xE3\x81\xA7\xE3\x81\x99\xC3", "utf-8",
         "日本\xEF\xBF\xBD語です\xEF\xBF\xBD", 2},
        {"truncated UTF-8 sequence at the end", "\xE3\x81\x82\xE3\x81\x84\xE3\x81", "utf-8",
         "あい\xEF\xBF\xBD", 2},
        {"truncated Shift_JIS character at the end", "\x82\xA0\x82\xA2\x82\xA4\x82", "shift_jis",
         "あいう\xEF\xBF\xBD", 1},
        {"truncated EUC-JP character at the end", "\xA4\xA2\xA4\xA4\xA4\xA6\xA4", "euc-jp",
         "あいう\xEF\xBF\xBD", 1},
        {"truncated ISO-2022-JP two-byte character", "\x1B$B$\"$$$\x1B(B", "iso-2022-jp",
         "あい\xEF\xBF\xBD", 1},
        {"unassigned JIS X 0208 cell", "\x1B$B\x22\x2F\x1B(Bx", "iso-2022-jp", "\xEF\xBF\xBDx",
         2},
        {"unknown escape sequence", "a\x1B$Zb", "iso-2022-jp", "a\xEF\xBF\xBD$Zb", 1},
    };
    for (const Row& row : rows) {
      CAPTURE(row.what);
      const auto d = decodeToUtf8(row.bytes, row.label);
      CHECK(d.utf8 == row.utf8);
      CHECK(d.invalidBytes == row.invalid);
      CHECK_FALSE(d.labelUsed);
    }
  }

  TEST_CASE("charset: NUL and other control bytes survive decoding (removal is the caller's)") {
    const std::string bytes("a\0b\x01" "c", 5);
    for (const char* label : {"utf-8", "us-ascii", "shift_jis", "iso-2022-jp", "euc-jp"}) {
      CAPTURE(label);
      const auto d = decodeToUtf8(bytes, label);
      CHECK(d.utf8 == bytes);
      CHECK(d.invalidBytes == 0);
    }
  }

  TEST_CASE("charset: hostile bytes under every label yield valid UTF-8") {
    std::string all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
    all += "\x1B$B\x1B$(D\x1B(I\x1B$A\x1B$(C\x1B.A\x1BN\x1B.F\x1BN\xFF\x1B";
    for (const char* label : {"", "utf-8", "us-ascii", "shift_jis", "iso-2022-jp", "euc-jp",
                              "utf-7", "utf-16", "utf-32", "gb2312", "big5", "ks_c_5601-1987",
                              "iso-8859-1", "koi8-r", "nonsense"}) {
      CAPTURE(label);
      auto d = decodeToUtf8(all, label);
      CHECK(repairUtf8(d.utf8) == 0);
      CHECK_FALSE(d.charset.empty());
    }
  }

  TEST_CASE("charset: labels map to the supersets mail really uses") {
    struct Row {
      const char* label;
      const char* canonical;
    };
    const Row rows[] = {
        {"shift_jis", "CP932"},         {"X-SJIS", "CP932"},
        {"ms_kanji", "CP932"},          {"Windows-31J", "CP932"},
        {"iso-2022-jp", "ISO-2022-JP"}, {" \"ISO-2022-JP\" ", "ISO-2022-JP"},
        {"iso-2022-jp*ja", "ISO-2022-JP"}, {"CP50220", "ISO-2022-JP"},
        {"euc-jp", "EUC-JP-MS"},        {"utf8", "UTF-8"},
        {"UTF-8", "UTF-8"},             {"us-ascii", "US-ASCII"},
        {"ascii", "US-ASCII"},          {"ANSI_X3.4-1968", "US-ASCII"},
        {"ks_c_5601-1987", "CP949"},    {"gb2312", "GB18030"},
        {"iso-8859-1", "CP1252"},       {"latin1", "CP1252"},
        {"windows-1252", "CP1252"},     {"utf-7", "UTF-7"},
        {"iso-8859-15", "ISO-8859-15"}, {"koi8-r", "KOI8-R"},
        {"", ""},                       {"x-unknown", ""},
        {"unknown-8bit", ""},           {"char", ""},
        {"wchar_t", ""},                {"utf-8//TRANSLIT", ""},
        {"../../etc/passwd", ""},
    };
    for (const Row& row : rows) {
      CAPTURE(row.label);
      CHECK(canonicalCharset(row.label) == row.canonical);
    }
  }

  TEST_CASE("charset: detection order is ASCII, ISO-2022-JP, UTF-8, CP932/EUC-JP, uchardet") {
    struct Row {
      const char* what;
      std::string bytes;
      const char* charset;
    };
    const Row rows[] = {
        {"empty", "", "US-ASCII"},
        {"ASCII", "hello\r\nworld", "US-ASCII"},
        {"ISO-2022-JP escapes", "\x1B$B$\"\x1B(B", "ISO-2022-JP"},
        {"UTF-8", "\xE3\x81\x82\xE3\x81\x84", "UTF-8"},
        {"Shift_JIS", "\x82\xB1\x82\xF1\x82\xC9\x82\xBF\x82\xCD", "CP932"},
        {"EUC-JP", "\xA4\xB3\xA4\xF3\xA4\xCB\xA4\xC1\xA4\xCF", "EUC-JP-MS"},
        {"KOI8-R by uchardet",
         "\xF0\xD2\xC9\xD7\xC5\xD4, \xCB\xC1\xCB \xC4\xC5\xCC\xC1? \xFC\xD4\xCF "
         "\xD4\xC5\xD3\xD4\xCF\xD7\xCF\xC5 \xD3\xCF\xCF\xC2\xDD\xC5\xCE\xC9\xC5.",
         "KOI8-R"},
        {"Latin-1 by uchardet", "Gr\xFC\xDF" "e aus M\xFCnchen, sch\xF6ne Gr\xFC\xDF" "e",
         "CP1252"},
        // Kanji without kana: a short subject. Too short for uchardet, which says CP1252.
        {"short kanji-only Shift_JIS", "\x93\xFA\x96\x7B\x8C\xEA", "CP932"},
        {"short kanji-only Shift_JIS after ASCII", "Re: \x93\xFA\x96\x7B\x8C\xEA", "CP932"},
        {"short kanji-only EUC-JP", "\xC6\xFC\xCB\xDC\xB8\xEC", "EUC-JP-MS"},
        // ...but Latin text whose accented letters happen to pair up as CP932 kanji is not.
        {"Latin-1 that is also clean CP932", "\xE9l\xE8ve", "CP1252"},
    };
    for (const Row& row : rows) {
      CAPTURE(row.what);
      CHECK(detectCharset(row.bytes) == row.charset);
    }
    // Whatever uchardet makes of it, English with CP1252 apostrophes is not Japanese, although
    // it decodes cleanly as CP932 (’m and ’r pair up as level-1 kanji).
    for (const char* latin : {"I\x92m sure you\x92re right", "\xE9l\xE8ve \xE0 l'\xE9" "cole"}) {
      CAPTURE(latin);
      const std::string cs = detectCharset(latin);
      CHECK(cs != "CP932");
      CHECK(cs != "EUC-JP-MS");
    }
  }

  TEST_CASE("charset: ISO-2022-JP output is JIS X 0208 and ends in ASCII mode") {
    const auto jis = encodeFromUtf8("日本語 test\n", "ISO-2022-JP");
    REQUIRE(jis.has_value());
    CHECK(*jis == "\x1B$BF|K\\8l\x1B(B test\n");

    const auto tail = encodeFromUtf8("末尾", "iso-2022-jp");
    REQUIRE(tail.has_value());
    CHECK(tail->ends_with("\x1B(B"));
    CHECK(*tail == "\x1B$BKvHx\x1B(B");

    // Both Unicode readings of JIS 0x2141 (WAVE DASH and CP932's FULLWIDTH TILDE) encode.
    CHECK(encodeFromUtf8("〜", "ISO-2022-JP") == std::optional<std::string>("\x1B$B!A\x1B(B"));
    CHECK(encodeFromUtf8("～", "ISO-2022-JP") == std::optional<std::string>("\x1B$B!A\x1B(B"));

    // Not in JIS X 0208: vendor characters, half-width kana, emoji, and ESC itself.
    for (const char* s : {"①", "㈱", "髙", "ｱ", "😀", "é", "a\x1B" "b"}) {
      CAPTURE(s);
      CHECK_FALSE(encodeFromUtf8(s, "ISO-2022-JP").has_value());
    }
  }

  TEST_CASE("charset: text encoded to ISO-2022-JP decodes back unchanged") {
    for (const char* s : {"", "plain ASCII\n", "日本語のテキスト。\nふたつめの行\n",
                          "全角ＡＢＣ　記号「」・ー…", "漢字とカタカナ、ABC と 123"}) {
      CAPTURE(s);
      const auto jis = encodeFromUtf8(s, "ISO-2022-JP");
      REQUIRE(jis.has_value());
      for (const char c : *jis) CHECK(static_cast<unsigned char>(c) < 0x80);
      const auto back = decodeToUtf8(*jis, "iso-2022-jp");
      CHECK(back.utf8 == s);
      CHECK(back.invalidBytes == 0);
    }
  }

  TEST_CASE("charset: UTF-8 output is the text with invalid sequences repaired") {
    CHECK(encodeFromUtf8("日本語", "UTF-8") == std::optional<std::string>("日本語"));
    CHECK(encodeFromUtf8("a\xFF", "utf-8") == std::optional<std::string>("a\xEF\xBF\xBD"));
    CHECK_FALSE(encodeFromUtf8("x", "no-such-charset").has_value());
  }

  TEST_CASE("charset: repairUtf8 replaces each maximal invalid subpart once") {
    struct Row {
      std::string in;
      std::string out;
      std::size_t replaced;
    };
    const Row rows[] = {
        {"plain", "plain", 0},
        {"日本😀", "日本😀", 0},
        {"a\xFF" "b", "a\xEF\xBF\xBD" "b", 1},
        {"\xC0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD", 2},                  // overlong NUL
        {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 3},  // surrogate
        {"\xF0\x9F\x98", "\xEF\xBF\xBD", 1},                          // truncated emoji
        {"\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 4},
        {"\xE3\x81x", "\xEF\xBF\xBDx", 1},
    };
    for (const Row& row : rows) {
      std::string s = row.in;
      CHECK(repairUtf8(s) == row.replaced);
      CHECK(s == row.out);
    }
  }

  TEST_CASE("charset: escapeForDisplay makes invisible and reordering characters visible") {
    struct Row {
      std::string in;
      const char* out;
    };
    const Row rows[] = {
        {"invoice\u202Efdp.exe", "invoice<U+202E>fdp.exe"},
        {"a\u202Ab\u202Bc\u202Cd\u202De", "a<U+202A>b<U+202B>c<U+202C>d<U+202D>e"},
        {"\u2066x\u2067y\u2068z\u2069", "<U+2066>x<U+2067>y<U+2068>z<U+2069>"},
        {"\u200E\u200F\u061C", "<U+200E><U+200F><U+061C>"},
        {"tab\there\nline", "tab<U+0009>here<U+000A>line"},
        {std::string("nul\0", 4), "nul<U+0000>"},
        {"del\x7F", "del<U+007F>"},
        {"c1\u0085\u009B", "c1<U+0085><U+009B>"},
        {"\uFEFFbom", "<U+FEFF>bom"},
        {"ls\u2028ps\u2029", "ls<U+2028>ps<U+2029>"},
        {"zw\u200B\u200C\u200D", "zw<U+200B><U+200C><U+200D>"},
        {"tag\U000E0041", "tag<U+E0041>"},
        {"日本語 ファイル.pdf 😀", "日本語 ファイル.pdf 😀"},
        {"bad\xFF", "bad\xEF\xBF\xBD"},
    };
    for (const Row& row : rows) {
      CAPTURE(row.out);
      CHECK(escapeForDisplay(row.in) == row.out);
    }
  }

  TEST_CASE("charset: real Japanese messages from the third-party corpus decode") {
    const std::filesystem::path root = MUGAI_THIRD_PARTY_DIR;
    const auto sjisPath = root / "mikel-mail/multi_charset/japanese_shift_jis.eml";
    const auto jisPath = root / "mimekit/messages/japanese.txt";
    if (!std::filesystem::exists(sjisPath) || !std::filesystem::exists(jisPath)) {
      MESSAGE("third-party corpus absent; skipping");
      return;
    }
    const auto sjis = decodeToUtf8(bodyOf(readFile(sjisPath)), "Shift_JIS");
    CHECK(sjis.charset == "CP932");
    CHECK(sjis.invalidBytes == 0);
    CHECK(sjis.utf8.starts_with("あいうえお"));
    CHECK(sjis.utf8.find("メール") != std::string::npos);

    const auto jis = decodeToUtf8(bodyOf(readFile(jisPath)), "ISO-2022-JP");
    CHECK(jis.charset == "ISO-2022-JP");
    CHECK(jis.invalidBytes == 0);
    CHECK(jis.utf8.find("日本語が") != std::string::npos);
    CHECK(jis.utf8.find("正常に") != std::string::npos);
    CHECK(jis.utf8.find("送れているか") != std::string::npos);
    CHECK(jis.utf8.find("テスト.") != std::string::npos);
    // Unlabelled, the same bytes are still recognised.
    CHECK(detectCharset(bodyOf(readFile(jisPath))) == "ISO-2022-JP");
    CHECK(detectCharset(bodyOf(readFile(sjisPath))) == "CP932");
  }
}
