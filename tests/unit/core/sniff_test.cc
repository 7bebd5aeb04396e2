// Tests for core/sniff: crafted byte strings per token, zip packages and OLE2 files built in the
// test, limits at N and N+1, every prefix of the samples (for ASan), real files from the
// third-party corpus, familyOf and hasDangerousExtension.
#include "core/sniff.h"

#include <doctest/doctest.h>
#include <zip.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/limits.h"
#include "unit/test_support.h"

namespace {

using mugai::core::familyOf;
using mugai::core::hasDangerousExtension;
using mugai::core::Limits;
using mugai::core::sniff;
using mugai::core::sniffTokens;
using namespace std::string_literals;

std::string sniffOf(const std::string& bytes) { return sniff(bytes, Limits{}); }

bool isToken(std::string_view t) {
  const auto tokens = sniffTokens();
  return std::find(tokens.begin(), tokens.end(), t) != tokens.end();
}

std::string le16(std::uint16_t v) {
  return {static_cast<char>(v & 0xFF), static_cast<char>(v >> 8)};
}
std::string le32(std::uint32_t v) { return le16(v & 0xFFFF) + le16(v >> 16); }

std::string padTo(std::string s, std::size_t n, char fill = '\0') {
  if (s.size() < n) s.append(n - s.size(), fill);
  return s;
}

// Writes `s` at `off` in a zero-filled buffer of at least `size` bytes.
std::string placeAt(std::size_t off, const std::string& s, std::size_t size) {
  std::string out(std::max(size, off + s.size()), '\0');
  out.replace(off, s.size(), s);
  return out;
}

// ---- In-memory zip archives built with libzip ----------------------------------------------

struct ZipEntry {
  std::string name;
  std::string data;
  bool store = false;
};

// An archive of `entries`, each optionally encrypted with `method` (ZIP_EM_NONE for plain).
std::string makeZip(const std::vector<ZipEntry>& entries, zip_uint16_t method = ZIP_EM_NONE) {
  std::vector<mugai::testing::ZipMember> members;
  for (const ZipEntry& e : entries) {
    mugai::testing::ZipMember m{e.name, e.data, !e.store};
    m.encryption = method;
    members.push_back(std::move(m));
  }
  return mugai::testing::buildZip(members);
}

std::string contentTypes(const std::string& mainType) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n"
         "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
         "<Default Extension=\"rels\" "
         "ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
         "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
         "<Override PartName=\"/main.xml\" ContentType=\"" +
         mainType + "\"/></Types>";
}

std::string ooxmlPackage(const std::string& mainType) {
  return makeZip({{"[Content_Types].xml", contentTypes(mainType)},
                  {"_rels/.rels", "<Relationships/>"},
                  {"main.xml", "<document/>"}});
}

// ---- Tiny OLE2 compound files --------------------------------------------------------------

constexpr std::uint32_t kNoStream = 0xFFFFFFFF;
constexpr std::uint32_t kEndOfChain = 0xFFFFFFFE;

struct DirEntry {
  std::string name;
  std::uint8_t type = 2;  // 1 storage, 2 stream, 5 root
  std::uint32_t left = kNoStream, right = kNoStream, child = kNoStream;
};

// A version 3 compound file (512-byte sectors): sector 0 is the FAT, sectors 1.. hold the
// directory entries (four per sector, chained through the FAT). Streams are all empty, which is
// enough for a sniffer that only reads names.
std::string makeCfb(const std::vector<DirEntry>& entries) {
  const std::size_t dirSectors = (entries.size() + 3) / 4;
  std::string header = "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"s + std::string(16, '\0');
  header += le16(0x3E) + le16(3) + le16(0xFFFE) + le16(9) + le16(6) + std::string(6, '\0');
  header += le32(0) + le32(1) + le32(1) + le32(0) + le32(4096);  // dirs, FATs, 1st dir, txn
  header += le32(kEndOfChain) + le32(0) + le32(kEndOfChain) + le32(0);  // mini FAT, DIFAT
  header += le32(0);                                                   // FAT is sector 0
  while (header.size() < 512) header += le32(0xFFFFFFFF);

  std::string fat = le32(0xFFFFFFFD);  // sector 0: the FAT itself
  for (std::size_t i = 1; i <= dirSectors; ++i) {
    fat += le32(i == dirSectors ? kEndOfChain : static_cast<std::uint32_t>(i + 1));
  }
  fat = padTo(fat, 512, '\xFF');

  std::string dir;
  for (const auto& e : entries) {
    std::string name;
    for (const char c : e.name) name += std::string{c, '\0'};
    name += std::string(2, '\0');
    std::string rec = padTo(name, 64);
    rec += le16(static_cast<std::uint16_t>(e.name.size() * 2 + 2));
    rec += std::string{static_cast<char>(e.type), '\1'};
    rec += le32(e.left) + le32(e.right) + le32(e.child);
    rec = padTo(rec, 116);
    rec += le32(kEndOfChain) + le32(0) + le32(0);
    dir += rec;
  }
  dir = padTo(dir, dirSectors * 512);
  return header + fat + dir;
}

// Root plus the given top-level streams, linked as a right-leaning chain of siblings.
std::string cfbWithStreams(const std::vector<std::string>& names) {
  std::vector<DirEntry> entries{{"Root Entry", 5, kNoStream, kNoStream, 1}};
  for (std::size_t i = 0; i < names.size(); ++i) {
    DirEntry e{names[i]};
    if (i + 1 < names.size()) e.right = static_cast<std::uint32_t>(i + 2);
    entries.push_back(e);
  }
  return makeCfb(entries);
}

// ---- Crafted samples ----------------------------------------------------------------------

struct Row {
  const char* what;
  std::string bytes;
  const char* expected;
};

std::vector<Row> binaryRows() {
  const std::string peHeader = placeAt(0x3C, le32(0x40), 0x40) + "PE\0\0"s + std::string(20, 0);
  return {
      {"zero bytes", "", "empty"},
      {"PE with a valid e_lfanew", "MZ" + peHeader.substr(2), "pe"},
      {"bare MZ", "MZ", "pe"},
      {"ELF", "\x7F" "ELF\x02\x01\x01"s + std::string(9, '\0'), "elf"},
      {"Mach-O 32 big-endian", "\xFE\xED\xFA\xCE\0\0\0\x07"s, "macho"},
      {"Mach-O 64 little-endian", "\xCF\xFA\xED\xFE\x07\0\0\x01"s, "macho"},
      {"Mach-O fat, 2 architectures", "\xCA\xFE\xBA\xBE\0\0\0\x02"s + std::string(40, 0),
       "macho"},
      {"Java class, major 52", "\xCA\xFE\xBA\xBE\0\0\0\x34"s, "java-class"},
      {"Java class with preview minor 0xFFFF", "\xCA\xFE\xBA\xBE\xFF\xFF\0\x41"s, "java-class"},
      {"shebang", "#!/bin/sh\necho hi\n", "script"},
      {"shebang after a UTF-8 BOM", "\xEF\xBB\xBF#!/usr/bin/env python3\n", "script"},
      {"Windows shortcut",
       "\x4C\0\0\0\x01\x14\x02\0\0\0\0\0\xC0\0\0\0\0\0\0\x46"s + std::string(56, '\0'), "lnk"},
      {"PDF at offset 0", "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n", "pdf"},
      {"PDF after junk", "garbage\x01\x02 before the header\n%PDF-1.4\n1 0 obj\n"s, "pdf"},
      {"PDF header at byte 1019", std::string(1019, ' ') + "%PDF-1.4\n", "pdf"},
      {"PDF header at byte 1020 is too late", std::string(1020, ' ') + "%PDF-1.4\n", "text"},
      {"PNG", "\x89PNG\r\n\x1A\n\0\0\0\x0DIHDR"s, "png"},
      {"JPEG", "\xFF\xD8\xFF\xE0\0\x10JFIF\0"s, "jpeg"},
      {"GIF87a", "GIF87a\x01\0\x01\0"s, "gif"},
      {"GIF89a", "GIF89a\x01\0\x01\0"s, "gif"},
      {"BMP with a 40-byte DIB header",
       "BM"s + le32(70) + le32(0) + le32(54) + le32(40) + le32(1) + le32(1) + std::string(30, 0),
       "bmp"},
      {"BM text is not a bitmap", "BMW owners club newsletter\n", "text"},
      {"WebP", "RIFF\x24\0\0\0WEBPVP8 "s, "webp"},
      {"RIFF that is not WebP", "RIFF\x24\0\0\0WAVEfmt "s, "unknown"},
      {"TIFF little-endian", "II*\0\x08\0\0\0"s, "tiff"},
      {"TIFF big-endian", "MM\0*\0\0\0\x08"s, "tiff"},
      {"ICO", "\0\0\1\0\1\0"s + "\x10\x10\0\0\1\0\x20\0"s + le32(0x100) + le32(22) +
                  std::string(8, '\0'),
       "ico"},
      {"ISO 9660 at 32769", placeAt(32769, "CD001\x01", 34000), "iso9660"},
      {"ISO 9660 at 34817", placeAt(34817, "CD001\x01", 36000), "iso9660"},
      {"ISO 9660 at 37633", placeAt(37633, "CD001\x01", 38000), "iso9660"},
      {"UDF (NSR02)", placeAt(32769 + 2048, "NSR02", 36000), "udf"},
      {"UDF bridge wins over ISO 9660",
       placeAt(32769, "CD001", 40000).replace(32769 + 4096, 5, "NSR03"), "udf"},
      {"DMG trailer", placeAt(2048 - 512, "koly\0\0\0\x04\0\0\x02\0"s, 2048), "dmg"},
      {"fixed VHD footer", placeAt(4096 - 512, "conectix", 4096), "vhd"},
      {"dynamic VHD header", "conectix\0\0\0\x02"s, "vhd"},
      {"VHDX", "vhdxfile" + std::string(8, '\0'), "vhd"},
      {"RAR 4", "Rar!\x1A\x07\x00\xCF\x90\x73"s, "rar"},
      {"RAR 5", "Rar!\x1A\x07\x01\x00"s, "rar"},
      {"7z", "7z\xBC\xAF\x27\x1C\0\x04"s, "7z"},
      {"gzip", "\x1F\x8B\x08\0\0\0\0\0\0\x03"s, "gzip"},
      {"bzip2", "BZh91AY&SY\x01\x02"s, "bzip2"},
      {"bzip2, empty stream", "BZh9\x17\x72\x45\x38\x50\x90\0\0\0\0"s, "bzip2"},
      {"BZh text is not bzip2", "BZh9 is a nice name for a cat\n", "text"},
      {"xz", "\xFD" "7zXZ\0\0\x04"s, "xz"},
      {"zstd", "\x28\xB5\x2F\xFD\x04\x00"s, "zstd"},
      {"LZH", "\x20\x00-lh5-\x10\0\0\0"s, "lzh"},
      {"CAB", "MSCF\0\0\0\0\x10\0\0\0"s, "cab"},
      {"tar", placeAt(257, "ustar\0" "00"s, 512), "tar"},
      {"TNEF", "\x78\x9F\x3E\x22\x01\0\x01\x06\x90"s, "tnef"},
      {"OneNote section",
       "\xE4\x52\x5C\x7B\x8C\xD8\xA7\x4D\xAE\xB1\x53\x78\xD0\x29\x96\xD3"s + std::string(8, 0),
       "onenote"},
      {"CHM", "ITSF\x03\0\0\0\x60\0\0\0"s, "chm"},
      {"WebAssembly", "\0asm\x01\0\0\0"s, "wasm"},
      {"RTF", "{\\rtf1\\ansi\\deff0 hello}", "rtf"},
      {"RTF as Word reads it (no f)", "{\\rt\\ansi hello}", "rtf"},
      {"PKCS#7 signedData",
       "\x30\x82\x01\x00\x06\x09\x2A\x86\x48\x86\xF7\x0D\x01\x07\x02\xA0\x82"s, "pkcs7"},
      {"PKCS#7 envelopedData, indefinite length",
       "\x30\x80\x06\x09\x2A\x86\x48\x86\xF7\x0D\x01\x07\x03\xA0\x80"s, "pkcs7"},
      {"another DER SEQUENCE (a certificate)", "\x30\x82\x03\x00\x30\x82\x02\x00\xA0\x03"s,
       "unknown"},
      {"PGP armor", "-----BEGIN PGP MESSAGE-----\n\nhQEMA\n", "pgp"},
      {"PKCS#7 PEM", "-----BEGIN PKCS7-----\nMIIB\n", "pkcs7"},
      {"binary garbage", "\x13\x37\x00\xFE\x01\x02\x03\x04\x99\x00\x00\x7F"s, "unknown"},
      {"control characters without NUL", "\x01\x02\x03\x04\x05\x06" "abc\x07\x08"s, "unknown"},
  };
}

std::string utf16le(std::string_view s) {
  std::string out = "\xFF\xFE";
  for (const char c : s) out += std::string{c, '\0'};
  return out;
}

std::string utf16be(std::string_view s) {
  std::string out = "\xFE\xFF";
  for (const char c : s) out += std::string{'\0', c};
  return out;
}

std::vector<Row> textRows() {
  return {
      {"ASCII text", "Hello, world.\n", "text"},
      {"only whitespace", " \r\n\t\n", "text"},
      {"UTF-8 Japanese", "\xE3\x81\x93\xE3\x82\x93\xE3\x81\xAB\xE3\x81\xA1\xE3\x81\xAF\n", "text"},
      {"ISO-2022-JP Japanese", "\x1B$B$3$s$K$A$O\x1B(B\r\n\x1B$B@$3&\x1B(B\r\n", "text"},
      {"Shift_JIS Japanese", "\x82\xB1\x82\xF1\x82\xC9\x82\xBF\x82\xCD\r\n\x90\xA2\x8A\x45\r\n",
       "text"},
      {"EUC-JP Japanese", "\xA4\xB3\xA4\xF3\xA4\xCB\xA4\xC1\xA4\xCF\n", "text"},
      {"UTF-16LE text with BOM", utf16le("plain words\r\n"), "text"},
      {"UTF-16BE text with BOM", utf16be("plain words\r\n"), "text"},
      {"NUL in text", "abc\0def"s, "unknown"},
      {"HTML doctype", "<!DOCTYPE html>\n<html><body>x</body></html>", "html"},
      {"HTML doctype, lower case", "<!doctype html><p>x", "html"},
      {"upper-case HTML after whitespace", "\r\n  <HTML>\n<BODY>x", "html"},
      {"html with attributes", "<html\n lang=\"ja\">", "html"},
      {"head", "<head><title>x</title>", "html"},
      {"body", "<body onload=x()>", "html"},
      {"script", "<script>alert(1)</script>", "html"},
      {"iframe", "<iframe src=\"https://e.example/\">", "html"},
      {"table", "<table><tr><td>1</td></tr></table>", "html"},
      {"div", "<div>x</div>", "html"},
      {"anchor", "<a href=\"x\">link</a>", "html"},
      {"paragraph", "<p>hello", "html"},
      {"line break, self-closed", "<br/>hello", "html"},
      {"font", "<font color=red>x</font>", "html"},
      {"style", "<style>p{}</style>", "html"},
      {"title", "<title>x</title>", "html"},
      {"bold", "<b>bold</b>", "html"},
      {"leading comment", "<!-- saved from url=(0014)about:internet -->\n<x>", "html"},
      {"HTML behind a UTF-8 BOM", "\xEF\xBB\xBF<html><body>x", "html"},
      {"HTML in UTF-16LE", utf16le("<html><body>x</body></html>"), "html"},
      {"not a tag: <ab>", "<ab> is not an element\n", "text"},
      {"not a tag: <3", "<3 you\n", "text"},
      {"SVG root", "<svg xmlns=\"http://www.w3.org/2000/svg\"><script/></svg>", "svg"},
      {"SVG after declaration and comment",
       "<?xml version=\"1.0\"?>\n<!-- Generator: Illustrator -->\n<svg width=\"1\">", "svg"},
      {"SVG doctype", "<?xml version=\"1.0\"?><!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" "
                      "\"x.dtd\"><svg>", "svg"},
      {"SVG after a comment, no declaration", "<!-- icon -->\n<svg viewBox=\"0 0 1 1\">", "svg"},
      {"prefixed SVG inside XML",
       "<?xml version=\"1.0\"?><doc><s:svg xmlns:s=\"x\"></s:svg></doc>", "svg"},
      {"XML", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<invoice><total>1</total></invoice>",
       "xml"},
      {"XML with a non-HTML doctype", "<!DOCTYPE note SYSTEM \"note.dtd\">\n<note/>", "xml"},
      {"XML with an internal subset containing >",
       "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \">\">]><r>&a;</r>", "xml"},
      {"XHTML with a declaration",
       "<?xml version=\"1.0\"?>\n<html xmlns=\"http://www.w3.org/1999/xhtml\">", "html"},
      {"XHTML namespace inside other XML",
       "<?xml version=\"1.0\"?><r><x:script xmlns:x=\"http://www.w3.org/1999/xhtml\">"
       "alert(1)</x:script></r>",
       "html"},
      {"iCalendar", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "calendar"},
      {"iCalendar, lower case", "begin:vcalendar\nend:vcalendar\n", "calendar"},
      {"vCard", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:X\r\nEND:VCARD\r\n", "vcard"},
      {"message headers",
       "From: a@example.jp\r\nTo: b@example.jp\r\nSubject: hi\r\n\r\nbody\r\n", "eml"},
      {"trace headers with folding",
       "Received: from x\r\n\tby y; Mon, 1 Jan 2024 00:00:00 +0900\r\nMessage-ID: <1@x>\r\n\r\n",
       "eml"},
      {"mbox separator, then headers",
       "From a@example.jp Mon Jan  1 00:00:00 2024\nFrom: a@example.jp\nDate: x\n\nbody\n", "eml"},
      {"bare MIME entity with a multipart body",
       "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n", "eml"},
      {"a line of blanks before the headers", "    \r\nFrom: a@example.jp\r\nTo: b\r\n\r\n", "eml"},
      {"one known header only", "Subject: minutes\nX-Note: draft\n\nbody\n", "text"},
      {"headers not at the start", "Hello\nFrom: a\nTo: b\n\n", "text"},
      {"continuation line first", " From: a\nTo: b\n\n", "text"},
  };
}

void checkRows(const std::vector<Row>& rows) {
  for (const auto& row : rows) {
    CAPTURE(row.what);
    CHECK(sniffOf(row.bytes) == row.expected);
  }
}

std::filesystem::path thirdParty() { return std::filesystem::path(MUGAI_THIRD_PARTY_DIR); }

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string data(static_cast<std::size_t>(std::filesystem::file_size(p)), '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<std::size_t>(in.gcount()));
  return data;
}

}  // namespace

TEST_SUITE("sniff") {
  TEST_CASE("sniff: magic numbers name binary formats, executables included") {
    checkRows(binaryRows());
  }

  TEST_CASE("sniff: text-like content is told apart as text, markup, calendar or mail") {
    checkRows(textRows());
  }

  TEST_CASE("sniff: an OOXML package is named by the main part in [Content_Types].xml") {
    const std::pair<const char*, const char*> kinds[] = {
        {"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
         "docx"},
        {"application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
         "dotx"},
        {"application/vnd.ms-word.document.macroEnabled.main+xml", "docm"},
        {"application/vnd.ms-word.template.macroEnabledTemplate.main+xml", "dotm"},
        {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", "xlsx"},
        {"application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
         "xltx"},
        {"application/vnd.ms-excel.sheet.macroEnabled.main+xml", "xlsm"},
        {"application/vnd.ms-excel.template.macroEnabled.main+xml", "xltm"},
        {"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
         "pptx"},
        {"application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml",
         "ppsx"},
        {"application/vnd.openxmlformats-officedocument.presentationml.template.main+xml",
         "potx"},
        {"application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml", "pptm"},
        {"application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml", "ppsm"},
        {"application/vnd.ms-powerpoint.template.macroEnabled.main+xml", "potm"},
        {"APPLICATION/VND.MS-WORD.DOCUMENT.MACROENABLED.MAIN+XML", "docm"},
        {"application/vnd.ms-excel.sheet.binary.macroEnabled.main", "ooxml"},
        {"application/vnd.ms-excel.addin.macroEnabled.main+xml", "ooxml"},
        {"application/xml", "ooxml"},
    };
    for (const auto& [type, token] : kinds) {
      const auto& typeShown = type;  // clang 14 cannot capture a structured binding
      CAPTURE(typeShown);
      CHECK(sniffOf(ooxmlPackage(type)) == token);
    }
  }

  TEST_CASE("sniff: only ContentType attribute values count, in either quote style") {
    const std::string docm = "application/vnd.ms-word.document.macroEnabled.main+xml";
    CHECK(sniffOf(makeZip({{"[Content_Types].xml",
                            "<Types><Override PartName='/d.xml' ContentType = '" + docm +
                                "'/></Types>"}})) == "docm");
    // The type mentioned outside an attribute (here in a comment) names nothing.
    CHECK(sniffOf(makeZip({{"[Content_Types].xml", "<Types><!-- " + docm + " --></Types>"}})) ==
          "ooxml");
  }

  TEST_CASE("sniff: a megabyte of near-matches in [Content_Types].xml is still recognised") {
    // Runs of the first letters of the searched words, and attributes whose values never close:
    // a search restarting at every candidate letter took a third of a second on such input.
    // No clock here (timings live in bench/); a quadratic scan shows in ctest's TIMEOUT.
    std::string noise(1u << 18, 'a');
    noise += std::string(1u << 18, 'c');
    while (noise.size() < (1u << 20)) noise += "ContentType=\"" + std::string(250, 'x');
    CHECK(sniffOf(makeZip({{"[Content_Types].xml", noise}})) == "ooxml");
  }

  TEST_CASE("sniff: a package declaring two different main parts is plain ooxml") {
    const std::string types =
        contentTypes("application/vnd.openxmlformats-officedocument.wordprocessingml.document."
                     "main+xml") +
        "<Override PartName=\"/x.xml\" ContentType=\"application/"
        "vnd.ms-excel.sheet.macroEnabled.main+xml\"/>";
    CHECK(sniffOf(makeZip({{"[Content_Types].xml", types}})) == "ooxml");
  }

  TEST_CASE("sniff: [Content_Types].xml is read up to 1 MiB and no further") {
    const std::string type =
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml";
    constexpr std::size_t kBound = 1u << 20;
    // The attribute's closing quote is the last byte read (N) or the first one not read (N+1).
    const std::string attr = "<Override PartName=\"/d.xml\" ContentType=\"" + type + "\"";
    const std::string atBound = std::string(kBound - attr.size(), ' ') + attr + "/>";
    const std::string pastBound = " " + atBound;
    CHECK(sniffOf(makeZip({{"[Content_Types].xml", atBound}})) == "docx");
    CHECK(sniffOf(makeZip({{"[Content_Types].xml", pastBound}})) == "ooxml");
  }

  TEST_CASE("sniff: ODF, JAR and APK are recognised inside zips; others stay zip") {
    CHECK(sniffOf(makeZip({{"mimetype", "application/vnd.oasis.opendocument.text", true},
                           {"content.xml", "<office:document-content/>"},
                           {"META-INF/manifest.xml", "<manifest/>"}})) == "odf");
    CHECK(sniffOf(makeZip({{"mimetype", "application/epub+zip", true},
                           {"content.opf", "<package/>"}})) == "zip");
    CHECK(sniffOf(makeZip({{"META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n"},
                           {"a/B.txt", "x"}})) == "jar");
    CHECK(sniffOf(makeZip({{"readme.txt", "x"}, {"com/example/Main.class", "\xCA\xFE"}})) ==
          "jar");
    CHECK(sniffOf(makeZip({{"AndroidManifest.xml", "\x03\0\x08\0"s},
                           {"classes.dex", "dex\n035\0"s},
                           {"META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n"}})) == "apk");
    CHECK(sniffOf(makeZip({{"photo.jpg", "\xFF\xD8\xFF"}, {"notes.txt", "hello"}})) == "zip");
  }

  TEST_CASE("sniff: a docx that is also a jar is named jar") {
    CHECK(sniffOf(makeZip(
              {{"[Content_Types].xml",
                contentTypes("application/vnd.openxmlformats-officedocument.wordprocessingml."
                             "document.main+xml")},
               {"META-INF/MANIFEST.MF", "Main-Class: Evil\r\n"}})) == "jar");
  }

  TEST_CASE("sniff: any encrypted entry makes the zip zip-encrypted") {
    const std::vector<ZipEntry> docx = {
        {"[Content_Types].xml",
         contentTypes("application/vnd.openxmlformats-officedocument.wordprocessingml.document."
                      "main+xml")},
        {"word/document.xml", "<w:document/>"}};
    if (zip_encryption_method_supported(ZIP_EM_AES_256, 1) != 0) {
      CHECK(sniffOf(makeZip(docx, ZIP_EM_AES_256)) == "zip-encrypted");
    } else {
      MESSAGE("libzip cannot write AES-256 here; the corpus test covers AES");
    }
    CHECK(sniffOf(makeZip({{"secret.txt", "PPAP"}}, ZIP_EM_TRAD_PKWARE)) == "zip-encrypted");
  }

  TEST_CASE("sniff: the number of zip entries examined is bounded by maxParts") {
    // maxParts = 2 → 20 entries examined; the jar manifest at index 19 is seen, at 20 it is not.
    Limits limits;
    limits.maxParts = 2;
    for (const std::size_t fillers : {std::size_t{19}, std::size_t{20}}) {
      std::vector<ZipEntry> entries;
      for (std::size_t i = 0; i < fillers; ++i) {
        entries.push_back({"f" + std::to_string(i) + ".txt", "x"});
      }
      entries.push_back({"META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n"});
      CAPTURE(fillers);
      CHECK(sniff(makeZip(entries), limits) == (fillers == 19 ? "jar" : "zip"));
    }
  }

  TEST_CASE("sniff: zips libzip cannot open are still zip") {
    CHECK(sniffOf("PK\5\6"s + std::string(18, '\0')) == "zip");  // empty archive
    CHECK(sniffOf("PK\3\4 this is not a zip archive at all"s) == "zip");
    CHECK(sniffOf("PK\7\x08"s + std::string(40, '\x42')) == "zip");
    std::string truncated = ooxmlPackage("application/xml");
    truncated.resize(truncated.size() / 2);
    CHECK(sniffOf(truncated) == "zip");
  }

  TEST_CASE("sniff: OLE2 files are named by their top-level streams") {
    CHECK(sniffOf(cfbWithStreams({"WordDocument", "1Table"})) == "doc");
    CHECK(sniffOf(cfbWithStreams({"Workbook"})) == "xls");
    CHECK(sniffOf(cfbWithStreams({"Book"})) == "xls");
    CHECK(sniffOf(cfbWithStreams({"Current User", "PowerPoint Document"})) == "ppt");
    CHECK(sniffOf(cfbWithStreams({"__substg1.0_0037001F", "__properties_version1.0"})) == "msg");
    CHECK(sniffOf(cfbWithStreams({"EncryptionInfo", "EncryptedPackage"})) == "ooxml-encrypted");
    CHECK(sniffOf(cfbWithStreams({"Contents", "\x05SummaryInformation"})) == "cfb");
    CHECK(sniffOf(cfbWithStreams({"workbook"})) == "xls");  // names are case-insensitive
  }

  TEST_CASE("sniff: streams inside an embedded storage do not rename the file") {
    // A Word document embedding a workbook, and a generic file embedding a Word document.
    const std::vector<DirEntry> docWithXls = {{"Root Entry", 5, kNoStream, kNoStream, 1},
                                              {"WordDocument", 2, kNoStream, 2},
                                              {"ObjectPool", 1, kNoStream, kNoStream, 3},
                                              {"Workbook", 2}};
    CHECK(sniffOf(makeCfb(docWithXls)) == "doc");
    const std::vector<DirEntry> cfbWithDoc = {{"Root Entry", 5, kNoStream, kNoStream, 1},
                                              {"Embedding", 1, kNoStream, kNoStream, 2},
                                              {"WordDocument", 2}};
    CHECK(sniffOf(makeCfb(cfbWithDoc)) == "cfb");
  }

  TEST_CASE("sniff: broken OLE2 structures terminate and fall back to a name search") {
    // Sibling links that form a cycle: the walk stops, the names are still found.
    std::vector<DirEntry> cyclic = {{"Root Entry", 5, kNoStream, kNoStream, 1},
                                    {"Workbook", 2, 2, 2},
                                    {"Other", 2, 1, 1}};
    CHECK(sniffOf(makeCfb(cyclic)) == "xls");
    // Two directory sectors whose FAT chain loops back on itself.
    std::string looped = cfbWithStreams({"PowerPoint Document", "a", "b", "c", "d", "e", "f"});
    looped.replace(512 + 4 * 2, 4, le32(1));  // sector 2 → sector 1 → sector 2 …
    CHECK(sniffOf(looped) == "ppt");
    // An unusable header (bad sector shift): the bounded byte search names it.
    std::string badShift = cfbWithStreams({"WordDocument"});
    badShift.replace(0x1E, 2, le16(77));
    CHECK(sniffOf(badShift) == "doc");
    // Only the signature: nothing to name, still an OLE2 file.
    CHECK(sniffOf("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"s) == "cfb");
    // A directory sector number far beyond the end of the file.
    std::string farDir = cfbWithStreams({"Workbook"});
    farDir.replace(0x30, 4, le32(0x7FFFFFF0));
    CHECK(sniffOf(farDir) == "xls");  // via the fallback search
  }

  TEST_CASE("sniff: every prefix of every sample is named by a token, the same way twice") {
    // Truncation is the commonest corruption; under ASan this also proves no read past the end.
    std::vector<std::string> samples;
    for (const auto& r : binaryRows()) {
      if (r.bytes.size() <= 4096) samples.push_back(r.bytes);
    }
    for (const auto& r : textRows()) samples.push_back(r.bytes);
    samples.push_back(cfbWithStreams({"WordDocument", "1Table"}));
    samples.push_back(ooxmlPackage("application/vnd.ms-word.document.macroEnabled.main+xml"));
    for (const auto& s : samples) {
      for (std::size_t n = 0; n <= s.size(); ++n) {
        const std::string prefix = s.substr(0, n);
        const std::string first = sniffOf(prefix);
        if (!isToken(first) || first != sniffOf(prefix)) {
          FAIL_CHECK("bad or unstable token '" << first << "' for a prefix of " << n << " bytes");
          break;
        }
      }
    }
    CHECK(sniffOf(samples.back()) == "docm");
  }

  TEST_CASE("sniff: real files from the third-party corpus get the right token") {
    const auto root = thirdParty();
    if (!std::filesystem::is_directory(root)) {
      MESSAGE("third-party corpus absent: " << root.string());
      return;
    }
    const std::pair<const char*, const char*> files[] = {
        {"tika/office/testWORD_macros.docm", "docm"},
        {"tika/office/testEXCEL_macro.xlsm", "xlsm"},
        {"tika/office/testPPT_macros.pptm", "pptm"},
        {"tika/office/testWORD_macros.doc", "doc"},
        {"tika/office/EmbeddedPDF.docx", "docx"},
        {"tika/office/testEXCEL_embeddedPDF_windows.xlsx", "xlsx"},
        {"tika/office/test-outlook.msg", "msg"},
        {"poi/SimpleMacro.xls", "xls"},
        {"poi/SimpleMacro.docm", "docm"},
        {"poi/SimpleMacro.xlsm", "xlsm"},
        {"poi/SimpleMacro.pptm", "pptm"},
        {"poi/WithEmbeded.xlsx", "xlsx"},
        {"poi/invalid.xlsx", "zip"},
        {"poi/bug52400-winmail-simple.dat", "tnef"},
        {"poi/bug53475-password-is-pass.docx", "ooxml-encrypted"},
        {"poi/protected_passtika.xlsx", "ooxml-encrypted"},
        {"poi/attachment_test_msg.msg", "msg"},
        {"oletools/encrypted.docx", "ooxml-encrypted"},
        {"oletools/sample_with_vba.ppt", "ppt"},
        {"oletools/excel4_sample_macro.xls", "xls"},
        {"oletools/issue_251.rtf", "rtf"},
        {"oletools/embedded-simple-2007.pptx", "pptx"},
        {"oletools/embedded-simple-2007.xlsx", "xlsx"},
        {"oletools/harmless-clean.docm", "docm"},
        {"oletools/oleform-PR314.docm", "docm"},
        {"oletools/dde-in-csv.csv", "text"},
        {"calamine/pass_protected.xlsx", "ooxml-encrypted"},
        {"calamine/vba.xlsm", "xlsm"},
        {"calamine/issue281.xlsm", "xlsm"},
        {"libzip/encrypt.zip", "zip-encrypted"},
        {"libzip/encrypt-aes256.zip", "zip-encrypted"},
        {"libzip/testempty.zip", "zip"},
        {"libzip/zip64.zip", "zip"},
        {"libzip/test.zip", "zip"},
        {"tika/archives/testZipEncrypted.zip", "zip-encrypted"},
        {"recursive-extractor/zbsm.zip", "zip"},
        {"qpdf/issue-100.pdf", "pdf"},  // one byte of junk before %PDF-
        {"tika/images/testJPEG_EXIF.jpg", "jpeg"},
        {"tika/images/testPNG.png", "png"},
        {"tika/images/testSVG.svg", "svg"},
        {"python-email/python.gif", "gif"},
        {"tika/html/testHTML_charset_utf16le.html", "html"},
        {"tika/html/testHTMLBadScript.html", "html"},
        {"tika/mail/testRFC822_base64", "eml"},
        {"tika/mail/testRFC822_i18nheaders", "eml"},
    };
    std::size_t checked = 0;
    for (const auto& [rel, token] : files) {
      const auto path = root / rel;
      if (!std::filesystem::is_regular_file(path)) {
        MESSAGE("missing from the corpus: " << rel);
        continue;
      }
      const auto& relShown = rel;  // clang 14 cannot capture a structured binding
      CAPTURE(relShown);
      CHECK(sniffOf(readFile(path)) == token);
      ++checked;
    }
    // Whole folders: every docx of mammoth and python-docx, every PDF of the PDF corpora.
    const std::pair<const char*, const char*> folders[] = {
        {"mammoth", "docx"}, {"python-docx", "docx"}, {"format-corpus", "pdf"},
        {"pdfjs", "pdf"},    {"tika/pdf", "pdf"}};
    for (const auto& [dir, token] : folders) {
      if (!std::filesystem::is_directory(root / dir)) continue;
      for (const auto& entry : std::filesystem::directory_iterator(root / dir)) {
        if (entry.path().extension() != "."s + token) continue;
        CAPTURE(entry.path().string());
        CHECK(sniffOf(readFile(entry.path())) == token);
        ++checked;
      }
    }
    CHECK(checked > 40);
  }

  TEST_CASE("familyOf: every token has its family") {
    const std::pair<const char*, const char*> expected[] = {
        {"text", "text"},          {"html", "html"},           {"svg", "html"},
        {"xml", "other"},          {"rtf", "office-legacy"},   {"calendar", "calendar"},
        {"vcard", "calendar"},     {"eml", "mail"},            {"tnef", "mail"},
        {"pdf", "pdf"},            {"png", "image"},           {"ico", "image"},
        {"zip", "archive"},        {"tar", "archive"},         {"zip-encrypted", "encrypted"},
        {"ooxml-encrypted", "encrypted"}, {"pkcs7", "encrypted"}, {"pgp", "encrypted"},
        {"docx", "document"},      {"ppsm", "document"},       {"ooxml", "document"},
        {"odf", "document"},       {"jar", "executable"},      {"apk", "executable"},
        {"pe", "executable"},      {"java-class", "executable"}, {"wasm", "executable"},
        {"chm", "executable"},     {"script", "script"},       {"lnk", "shortcut"},
        {"iso9660", "disk-image"}, {"vhd", "disk-image"},      {"doc", "office-legacy"},
        {"msg", "office-legacy"},  {"cfb", "office-legacy"},   {"onenote", "office-legacy"},
        {"empty", "other"},        {"unknown", "other"},       {"no-such-token", "other"},
    };
    for (const auto& [token, family] : expected) {
      const auto& tokenShown = token;  // clang 14 cannot capture a structured binding
      CAPTURE(tokenShown);
      CHECK(familyOf(token) == family);
    }
    // Only the three tokens that name nothing in particular fall into "other".
    std::set<std::string_view> others;
    for (const auto t : sniffTokens()) {
      if (familyOf(t) == "other") others.insert(t);
    }
    CHECK(others == std::set<std::string_view>{"empty", "unknown", "xml"});
    CHECK(sniffTokens().size() == 69);
  }

  TEST_CASE("hasDangerousExtension: the last extension decides, whatever the disguise") {
    const std::pair<std::string, bool> rows[] = {
        {"a.EXE", true},
        {"a.exe. ", true},
        {"a.exe...  . ", true},
        {"report.pdf.exe", true},
        {"setup.msi", true},
        {"run.PS1", true},
        {"invoice.js", true},
        {"page.HTM", true},
        {"pic.svg", true},
        {"disk.iso", true},
        {"notes.one", true},
        {"help.chm", true},
        {"addin.xlam", true},
        {"link.url", true},
        {"x.settingcontent-ms", true},
        {"archive.tar.sh", true},
        {"a.exe::$DATA", true},
        {"a.exe:Zone.Identifier", true},
        {"report:2024.exe", true},
        {"C:\\Users\\x\\a.scr", true},
        {"photo\xE2\x80\xAEgpj.exe", true},      // RLO: shows as photoexe.jpg
        {"a.exe\xE2\x80\x8B", true},             // trailing zero-width space
        {"a.exe\xE3\x80\x80", true},             // trailing ideographic space
        {"x.txt", false},
        {"x.docx", false},
        {"x.docm", false},
        {"x.pdf", false},
        {"x.zip", false},
        {"x.cab", false},
        {"exe", false},
        {"", false},
        {"...", false},
        {"dir.exe/readme", false},
        {"report.exe.pdf", false},
        {"\xE8\xAB\x8B\xE6\xB1\x82\xE6\x9B\xB8.xlsx", false},  // 請求書.xlsx
    };
    for (const auto& [name, dangerous] : rows) {
      const auto& nameShown = name;  // clang 14 cannot capture a structured binding
      CAPTURE(nameShown);
      CHECK(hasDangerousExtension(name) == dangerous);
    }
  }
}
