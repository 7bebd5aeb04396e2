// Tests for core/zip_writer: the archives it writes are read back with libzip (an independent
// reader, in its strict consistency mode) and judged by what libzip reports.
#include "core/zip_writer.h"

#include <doctest/doctest.h>
#include <zip.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "unit/test_support.h"

using mugai::core::ZipWriter;
using mugai::testing::crcOf;
using mugai::testing::rawDeflate;

namespace {

struct ReadEntry {
  std::string name;
  std::string data;
  std::uint16_t method = 0;
  std::uint32_t crc = 0;
  std::uint64_t compSize = 0;
};

std::vector<ReadEntry> readBack(const std::string& z) {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(z.data(), z.size(), 0, &err);
  REQUIRE(src != nullptr);
  zip_t* za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err);
  REQUIRE_MESSAGE(za != nullptr, zip_error_strerror(&err));
  std::vector<ReadEntry> out;
  const zip_int64_t n = zip_get_num_entries(za, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    REQUIRE(zip_stat_index(za, static_cast<zip_uint64_t>(i), 0, &st) == 0);
    ReadEntry e;
    e.name = st.name;
    e.method = st.comp_method;
    e.crc = st.crc;
    e.compSize = st.comp_size;
    e.data.resize(st.size);
    zip_file_t* f = zip_fopen_index(za, static_cast<zip_uint64_t>(i), 0);
    REQUIRE(f != nullptr);
    if (st.size > 0) {
      REQUIRE(zip_fread(f, e.data.data(), st.size) == static_cast<zip_int64_t>(st.size));
    }
    char more = 0;
    CHECK(zip_fread(f, &more, 1) == 0);  // libzip checks the CRC-32 at the end
    zip_fclose(f);
    out.push_back(std::move(e));
  }
  zip_discard(za);
  zip_error_fini(&err);
  return out;
}

std::string repeated(std::size_t n) {
  std::string s;
  while (s.size() < n) s += "<w:p><w:r><w:t>無害化 mail text</w:t></w:r></w:p>";
  s.resize(n);
  return s;
}

// Bytes deflate cannot shrink (a linear congruential sequence).
std::string noise(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 12345;
  for (char& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

}  // namespace

TEST_SUITE("core/zip_writer") {
  TEST_CASE("entries read back with libzip: names, content, methods, CRC") {
    ZipWriter w;
    const std::string xml = repeated(20000);
    const std::string rnd = noise(5000);
    w.add("[Content_Types].xml", xml, true);
    w.add("word/media/image1.png", rnd, true);  // deflate would not shrink it: stored
    w.add("tiny.txt", "x", true);
    w.add("empty.txt", "", true);
    w.add("stored.xml", xml, false);
    CHECK(w.size() == 5);
    const std::string z = w.finish();
    CHECK(w.size() == 0);
    const auto e = readBack(z);
    REQUIRE(e.size() == 5);
    CHECK(e[0].name == "[Content_Types].xml");
    CHECK(e[0].data == xml);
    CHECK(e[0].method == ZIP_CM_DEFLATE);
    CHECK(e[0].compSize < xml.size() / 4);
    CHECK(e[1].data == rnd);
    CHECK(e[1].method == ZIP_CM_STORE);
    CHECK(e[2].data == "x");
    CHECK(e[3].data.empty());
    CHECK(e[4].data == xml);
    CHECK(e[4].method == ZIP_CM_STORE);
    for (const auto& x : e) {
      CHECK(x.crc == crcOf(x.data));
    }
  }

  TEST_CASE("a non-ASCII name carries the UTF-8 flag; ASCII names do not") {
    ZipWriter w;
    w.add("報告書.txt", "a", false);
    w.add("plain.txt", "b", false);
    const std::string z = w.finish();
    // General-purpose flags of the two local headers (offset 6).
    const auto flags = [&](std::size_t at) {
      return static_cast<unsigned>(static_cast<unsigned char>(z[at + 6])) |
             static_cast<unsigned>(static_cast<unsigned char>(z[at + 7])) << 8;
    };
    const std::size_t second = 30 + std::string("報告書.txt").size() + 1;
    CHECK(flags(0) == 0x800);
    CHECK(flags(second) == 0);
    const auto e = readBack(z);
    REQUIRE(e.size() == 2);
    CHECK(e[0].name == "報告書.txt");
  }

  TEST_CASE("compressed data is copied as given") {
    // Deflated by zlib (a different compressor), then handed over as a raw stream.
    const std::string text = repeated(10000);
    const std::string packed = rawDeflate(text);
    const std::uint32_t crc = crcOf(text);
    ZipWriter w;
    w.addCompressed("a.xml", 8, packed, crc, text.size());
    w.addCompressed("b.bin", 0, "stored", 0x5643F90Bu, 6);  // CRC-32 of "stored"
    const std::string z = w.finish();
    CHECK(z.find(packed) != std::string::npos);
    const auto e = readBack(z);
    REQUIRE(e.size() == 2);
    CHECK(e[0].data == text);
    CHECK(e[0].compSize == packed.size());
    CHECK(e[1].data == "stored");
    CHECK_THROWS_AS(w.addCompressed("c", 12, "x", 0, 1), std::invalid_argument);
    CHECK_THROWS_AS(w.addCompressed("c", 0, "xy", 0, 1), std::invalid_argument);
  }

  TEST_CASE("the same entries give the same bytes") {
    const auto build = [] {
      ZipWriter w;
      w.add("a.xml", repeated(3000), true);
      w.add("b.png", noise(300), false);
      return w.finish();
    };
    CHECK(build() == build());
  }

  TEST_CASE("a name given twice, or again in another ASCII case, is refused") {
    ZipWriter w;
    w.add("word/_rels/document.xml.rels", "<Relationships/>", true);
    CHECK_THROWS_AS(w.add("word/_rels/document.xml.rels", "x", false), std::invalid_argument);
    CHECK_THROWS_AS(w.addCompressed("WORD/_rels/Document.xml.rels", 0, "x", 0x8CDC1683u, 1),
                    std::invalid_argument);
    w.add("word/_rels/", "", false);  // a folder of that name is another entry
    CHECK(readBack(w.finish()).size() == 2);
    // After finish() the writer starts over, names included.
    w.add("word/_rels/document.xml.rels", "again", false);
    CHECK(readBack(w.finish()).size() == 1);
  }

  TEST_CASE("names the classic format cannot hold are refused") {
    ZipWriter w;
    CHECK_THROWS_AS(w.add("", "x", false), std::length_error);
    CHECK_THROWS_AS(w.add(std::string(0xFFFF, 'a'), "x", false), std::length_error);
    w.add(std::string(0xFFFE, 'a'), "x", false);  // the longest name that fits
    CHECK(readBack(w.finish()).size() == 1);
  }

  TEST_CASE("Unix modes on request: files 0644, folders 0755; MS-DOS otherwise") {
    const auto modes = [](const std::string& z) {
      zip_error_t err;
      zip_error_init(&err);
      zip_source_t* src = zip_source_buffer_create(z.data(), z.size(), 0, &err);
      zip_t* za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err);
      REQUIRE(za != nullptr);
      std::vector<std::pair<int, std::uint32_t>> out;
      for (zip_uint64_t i = 0; i < static_cast<zip_uint64_t>(zip_get_num_entries(za, 0)); ++i) {
        zip_uint8_t opsys = 0;
        zip_uint32_t attributes = 0;
        REQUIRE(zip_file_get_external_attributes(za, i, 0, &opsys, &attributes) == 0);
        out.emplace_back(opsys, attributes);
      }
      zip_discard(za);
      zip_error_fini(&err);
      return out;
    };
    ZipWriter unixStyle(1, true);
    unixStyle.add("folder/", "", false);
    unixStyle.add("folder/a.txt", "text", true);
    const auto u = modes(unixStyle.finish());
    REQUIRE(u.size() == 2);
    CHECK(u[0].first == ZIP_OPSYS_UNIX);
    CHECK((u[0].second >> 16) == 040755u);
    CHECK((u[0].second & 0x10u) != 0);  // the MS-DOS folder bit too
    CHECK(u[1].first == ZIP_OPSYS_UNIX);
    CHECK((u[1].second >> 16) == 0100644u);
    ZipWriter dosStyle;
    dosStyle.add("a.xml", "<a/>", true);
    const auto d = modes(dosStyle.finish());
    REQUIRE(d.size() == 1);
    CHECK(d[0].first == ZIP_OPSYS_DOS);
    CHECK(d[0].second == 0);
  }

  TEST_CASE("an empty archive is a valid one") {
    ZipWriter w;
    const std::string z = w.finish();
    CHECK(z.size() == 22);
    CHECK(readBack(z).empty());
  }
}
