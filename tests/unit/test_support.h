// Helpers shared by the unit tests (tests/unit/** and the tests inside sanitizers/*): inputs the
// tests build (a minimal PE image, zip archives written with libzip) and the third-party corpus
// scaffolding. Test-only: included by *_test.cc files, never by the library.
#pragma once

#include <doctest/doctest.h>
#include <zip.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mugai::testing {

/// A minimal PE image: DOS header with e_lfanew = 0x40, then "PE\0\0".
inline std::string peBytes() {
  std::string s(0x40, '\0');
  s[0] = 'M';
  s[1] = 'Z';
  s[0x3C] = 0x40;
  s += std::string("PE\0\0", 4);
  s += std::string(64, '\x90');
  return s;
}

/// One member of an archive written by buildZip().
struct ZipMember {
  std::string name;
  std::string data;
  bool deflate = true;
  bool dir = false;
  bool rawName = false;  // write the name bytes as they are (no UTF-8 flag): legacy encodings
  std::optional<std::uint32_t> unixMode = std::nullopt;
  zip_uint16_t encryption = ZIP_EM_NONE;  // any other method: encrypted with "secret"
};

/// The whole content of a libzip source (test data only: bounded by what the test wrote).
inline std::string readSource(zip_source_t* src) {
  zip_stat_t st;
  zip_stat_init(&st);
  REQUIRE(zip_source_stat(src, &st) == 0);
  REQUIRE(zip_source_open(src) == 0);
  std::string out(static_cast<std::size_t>(st.size), '\0');
  REQUIRE(zip_source_read(src, out.data(), out.size()) == static_cast<zip_int64_t>(out.size()));
  zip_source_close(src);
  return out;
}

/// An in-memory zip written by libzip, members in order, with a fixed timestamp.
inline std::string buildZip(const std::vector<ZipMember>& members) {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(nullptr, 0, 0, &err);
  REQUIRE(src != nullptr);
  zip_t* za = zip_open_from_source(src, ZIP_TRUNCATE, &err);
  REQUIRE(za != nullptr);
  zip_source_keep(src);
  for (const ZipMember& m : members) {
    const zip_flags_t enc = m.rawName ? ZIP_FL_ENC_GUESS : ZIP_FL_ENC_UTF_8;
    zip_int64_t idx = -1;
    if (m.dir) {
      idx = zip_dir_add(za, m.name.c_str(), enc);
    } else {
      zip_source_t* s = zip_source_buffer(za, m.data.data(), m.data.size(), 0);
      REQUIRE(s != nullptr);
      idx = zip_file_add(za, m.name.c_str(), s, enc);
    }
    CAPTURE(m.name);
    REQUIRE(idx >= 0);
    const auto i = static_cast<zip_uint64_t>(idx);
    zip_set_file_compression(za, i, m.deflate && !m.dir ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    zip_file_set_dostime(za, i, 0x6000, 0x5821, 0);
    if (m.unixMode) zip_file_set_external_attributes(za, i, 0, ZIP_OPSYS_UNIX, *m.unixMode << 16);
    if (m.encryption != ZIP_EM_NONE) {
      REQUIRE(zip_file_set_encryption(za, i, m.encryption, "secret") == 0);
    }
  }
  REQUIRE(zip_close(za) == 0);
  std::string out = readSource(src);
  zip_source_free(src);
  zip_error_fini(&err);
  return out;
}

/// `text` as a raw deflate stream (no zlib header, as in a zip entry), written by zlib at `level`:
/// a compressor other than the one the writer under test uses.
inline std::string rawDeflate(const std::string& text, int level = 9) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string packed(deflateBound(&zs, static_cast<uLong>(text.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(packed.data());
  zs.avail_out = static_cast<uInt>(packed.size());
  const int rc = deflate(&zs, Z_FINISH);
  packed.resize(zs.total_out);
  deflateEnd(&zs);
  REQUIRE(rc == Z_STREAM_END);
  return packed;
}

/// CRC-32 of `s`, by zlib.
inline std::uint32_t crcOf(std::string_view s) {
  return static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

/// A whole file (test inputs only).
inline std::string readFile(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

/// The third-party corpus (../shared/corpus/third-party, or `sub` inside it), or nullopt after
/// telling doctest the test is skipped: tests that use it skip cleanly when it is absent.
inline std::optional<std::filesystem::path> thirdPartyRoot(std::string_view sub = {}) {
  const std::filesystem::path root(MUGAI_THIRD_PARTY_DIR);
  if (!std::filesystem::is_directory(sub.empty() ? root : root / sub)) {
    MESSAGE("third-party corpus absent: " << root.string() << ": skipped");
    return std::nullopt;
  }
  return root;
}

}  // namespace mugai::testing
