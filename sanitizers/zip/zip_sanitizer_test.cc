// Tests for the zip sanitizer: members through the dispatcher, refusals with their reasons, every
// limit at N and N+1, name decoding, the third-party archives, and one message end to end.
//
// Inputs are written with libzip in the test (and patched byte by byte where libzip refuses to
// write something hostile). Every rebuilt archive is re-opened with libzip, and its central
// directory is walked by a few independent lines here, so no check trusts the sanitizer's own
// findings or parser.
#include "sanitizers/zip/zip_sanitizer.h"

#include <doctest/doctest.h>
#include <gmime/gmime.h>
#include <zip.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "core/pipeline.h"
#include "core/policy.h"
#include "core/sniff.h"
#include "unit/test_support.h"

namespace mugai::sanitizers::zip {
namespace {

namespace fs = std::filesystem;
using core::Disposition;

// ---- Writing inputs -----------------------------------------------------------------------------

using M = mugai::testing::ZipMember;
using mugai::testing::buildZip;
using mugai::testing::peBytes;
using mugai::testing::readSource;

std::string text(std::size_t n, char c = 'a') {
  return std::string(n, c);
}

// ---- Patching (what libzip will not write)
// --------------------------------------------------------

std::uint32_t rd32(const std::string& s, std::size_t p) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(s[p])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[p + 1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[p + 2])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[p + 3])) << 24;
}
std::uint16_t rd16(const std::string& s, std::size_t p) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(s[p]) |
                                    static_cast<unsigned char>(s[p + 1]) << 8);
}
void wr16(std::string& s, std::size_t p, std::uint16_t v) {
  s[p] = static_cast<char>(v & 0xFF);
  s[p + 1] = static_cast<char>(v >> 8);
}
void wr32(std::string& s, std::size_t p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s[p + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

/// Offsets of the central directory headers and local headers of a simple (non-ZIP64) zip.
struct Layout {
  std::vector<std::size_t> central;
  std::vector<std::size_t> local;
  std::size_t eocd = 0;
};

Layout layoutOf(const std::string& z) {
  Layout l;
  l.eocd = z.rfind(std::string("PK\x05\x06", 4));
  REQUIRE(l.eocd != std::string::npos);
  const std::size_t n = rd16(z, l.eocd + 10);
  std::size_t p = rd32(z, l.eocd + 16);
  for (std::size_t i = 0; i < n; ++i) {
    REQUIRE(rd32(z, p) == 0x02014b50);
    l.central.push_back(p);
    l.local.push_back(rd32(z, p + 42));
    p += 46 + rd16(z, p + 28) + rd16(z, p + 30) + rd16(z, p + 32);
  }
  return l;
}

/// Replaces every occurrence of `from` with `to` (same length): renames an entry in both headers.
std::string replaceAll(std::string z, std::string_view from, std::string_view to) {
  REQUIRE(from.size() == to.size());
  for (std::size_t p = z.find(from); p != std::string::npos; p = z.find(from, p + 1)) {
    z.replace(p, from.size(), to);
  }
  return z;
}

/// Adds an Info-ZIP Unicode Path extra field (0x7075) to both headers of the only entry of `z`,
/// whose header name is `headerName`.
std::string withUnicodePath(std::string z, const std::string& headerName,
                            const std::string& utf8) {
  // The field holds the CRC-32 of the header name: take it from libzip, as the CRC of a stored
  // member whose content is that name.
  const std::string probe = buildZip({{"c", headerName, false}});
  std::string field("\x75\x70\0\0\x01", 5);
  wr16(field, 2, static_cast<std::uint16_t>(5 + utf8.size()));
  std::string crc(4, '\0');
  wr32(crc, 0, rd32(probe, layoutOf(probe).central[0] + 16));
  field += crc + utf8;
  const auto grow = static_cast<std::uint32_t>(field.size());
  // In the local header too, as writers do (libzip's consistency check compares the names it
  // reads from both headers).
  z.insert(30 + rd16(z, 26), field);
  wr16(z, 28, static_cast<std::uint16_t>(rd16(z, 28) + grow));
  wr32(z, z.size() - 22 + 16, rd32(z, z.size() - 22 + 16) + grow);
  const Layout l = layoutOf(z);
  const std::size_t c = l.central[0];
  z.insert(c + 46 + rd16(z, c + 28), field);
  wr16(z, c + 30, static_cast<std::uint16_t>(field.size()));
  const std::size_t eocd = z.size() - 22;
  wr32(z, eocd + 12, rd32(z, eocd + 12) + static_cast<std::uint32_t>(field.size()));
  return z;
}

// ---- Reading outputs independently
// ---------------------------------------------------------------

struct OutMember {
  std::string name;  // raw bytes as stored
  std::string data;
  std::uint16_t flags = 0;
  std::uint16_t method = 0;
  std::uint16_t time = 0;
  std::uint16_t date = 0;
  std::uint16_t centralExtra = 0;
  std::uint16_t localExtra = 0;
  std::uint16_t comment = 0;
};

/// Opens a rebuilt archive with libzip (consistency checks on) and walks its central directory.
std::vector<OutMember> inspect(const std::string& z) {
  std::vector<OutMember> out;
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(z.data(), z.size(), 0, &err);
  REQUIRE(src != nullptr);
  zip_t* za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err);
  CAPTURE(zip_error_strerror(&err));
  REQUIRE(za != nullptr);
  const zip_int64_t n = zip_get_num_entries(za, 0);
  int commentLen = -1;
  zip_get_archive_comment(za, &commentLen, ZIP_FL_ENC_RAW);
  CHECK(commentLen <= 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    OutMember m;
    m.name = zip_get_name(za, static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW);
    zip_file_t* f = zip_fopen_index(za, static_cast<zip_uint64_t>(i), 0);
    REQUIRE(f != nullptr);
    char buf[8192];
    zip_int64_t got = 0;
    while ((got = zip_fread(f, buf, sizeof buf)) > 0)
      m.data.append(buf, static_cast<std::size_t>(got));
    REQUIRE(got == 0);
    zip_fclose(f);
    out.push_back(std::move(m));
  }
  zip_discard(za);
  zip_error_fini(&err);
  if (out.empty()) return out;
  const Layout l = layoutOf(z);
  REQUIRE(l.central.size() == out.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::size_t c = l.central[i];
    out[i].flags = rd16(z, c + 8);
    out[i].method = rd16(z, c + 10);
    out[i].time = rd16(z, c + 12);
    out[i].date = rd16(z, c + 14);
    out[i].centralExtra = rd16(z, c + 30);
    out[i].comment = rd16(z, c + 32);
    out[i].localExtra = rd16(z, l.local[i] + 28);
  }
  return out;
}

std::vector<std::string> names(const std::vector<OutMember>& ms) {
  std::vector<std::string> out;
  for (const auto& m : ms) out.push_back(m.name);
  return out;
}

const OutMember* find(const std::vector<OutMember>& ms, std::string_view name) {
  for (const auto& m : ms) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

// ---- Running ------------------------------------------------------------------------------------

/// A stand-in for the pipeline's dispatcher with its essential rules: executables are removed,
/// zips come back here, text is kept as is (with a finding, to see findings carried over),
/// ".docm" is "rebuilt" as ".docx", anything else is removed. It counts its calls.
struct TestDispatch {
  int calls = 0;
  std::vector<unsigned> depths;

  PartOutput operator()(const PartInput& m) {
    ++calls;
    depths.push_back(m.depth);
    PartOutput out;
    const std::string family(core::familyOf(m.trueType));
    if (family == "executable") {
      out.reason = "type.executable";
      return out;
    }
    if (m.trueType == "zip") return ZipSanitizer().sanitize(m);
    if (m.trueType == "zip-encrypted") {
      out.reason = "encrypted.zip";
      return out;
    }
    const std::string& name = m.names.front();
    if (name.size() > 5 && name.substr(name.size() - 5) == ".docm") {
      out.disposition = Disposition::Rebuilt;
      out.filename = name.substr(0, name.size() - 5) + ".docx";
      out.bytes = std::string(m.bytes);
      out.findings.push_back({"test.macro_removed", "vba"});
      return out;
    }
    if (m.trueType == "text" || m.trueType == "empty") {
      out.disposition = Disposition::Kept;
      out.filename = name;
      out.contentType = "text/plain";
      out.bytes = std::string(m.bytes);
      out.findings.push_back({"test.kept", "ok"});
      return out;
    }
    out.reason = "type.no_sanitizer";
    return out;
  }
};

struct Result {
  PartOutput out;
  int dispatchCalls = 0;
  std::vector<unsigned> depths;
  double seconds = 0;
};

Result run(std::string_view bytes, const core::Limits& limits = core::Limits{},
           std::vector<std::string> names = {"archive.zip"}, unsigned depth = 0,
           std::chrono::steady_clock::time_point deadline = {}) {
  static const core::Policy policy = core::Policy::defaults();
  auto counter = std::make_shared<TestDispatch>();
  PartInput in;
  in.bytes = bytes;
  in.declaredType = "application/zip";
  in.trueType = "zip";
  in.names = std::move(names);
  in.limits = &limits;
  in.policy = &policy;
  in.depth = depth;
  in.deadline = deadline;
  in.dispatch = [counter](const PartInput& m) { return (*counter)(m); };
  const auto start = std::chrono::steady_clock::now();
  Result r;
  r.out = ZipSanitizer().sanitize(in);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.dispatchCalls = counter->calls;
  r.depths = counter->depths;
  return r;
}

std::string disp(const PartOutput& o) {
  return std::string(core::dispositionName(o.disposition));
}

bool hasFinding(const PartOutput& o, std::string_view kind, std::string_view detail) {
  for (const auto& f : o.findings) {
    if (f.kind == kind && f.detail == detail) return true;
  }
  return false;
}

bool hasKind(const PartOutput& o, std::string_view kind) {
  for (const auto& f : o.findings) {
    if (f.kind == kind) return true;
  }
  return false;
}

std::optional<std::string> readFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(f), {});
}

fs::path thirdParty() {
  return fs::path(MUGAI_THIRD_PARTY_DIR);
}

/// A chain of `levels` zips, the innermost holding leaf.txt; each named z<k>.zip inside its parent.
std::string nested(int levels) {
  std::string z = buildZip({{"leaf.txt", "leaf"}});
  for (int k = levels - 1; k >= 1; --k)
    z = buildZip({{"z" + std::to_string(k) + ".zip", z, false}});
  return z;
}

}  // namespace

TEST_SUITE("zip") {
  TEST_CASE("zip: a benign archive is rebuilt with its text, folder and nested zip") {
    const std::string inner = buildZip({{"b.txt", "inner text"}});
    const std::string z = buildZip({{"docs/", "", false, true},
                                    {"docs/a.txt", "hello zip", true},
                                    {"stored.txt", "stored bytes", false},
                                    {"inner.zip", inner, false}});
    const Result r = run(z);
    REQUIRE(disp(r.out) == "rebuilt");
    CHECK(r.out.contentType == "application/zip");
    CHECK(r.out.filename == "archive.zip");
    const auto ms = inspect(r.out.bytes);
    CHECK(names(ms) == std::vector<std::string>{"docs/", "docs/a.txt", "stored.txt", "inner.zip"});
    REQUIRE(find(ms, "docs/a.txt"));
    CHECK(find(ms, "docs/a.txt")->data == "hello zip");
    CHECK(find(ms, "stored.txt")->data == "stored bytes");
    const auto innerOut = inspect(find(ms, "inner.zip")->data);
    REQUIRE(innerOut.size() == 1);
    CHECK(innerOut[0].name == "b.txt");
    CHECK(innerOut[0].data == "inner text");
    // Members were dispatched one level down, the nested zip's member two levels down.
    CHECK(r.depths == std::vector<unsigned>{1, 1, 1, 2});
    // The member's own finding comes along, prefixed with its path.
    CHECK(hasFinding(r.out, "test.kept", "docs/a.txt: ok"));
    CHECK(hasFinding(r.out, "test.kept", "inner.zip: b.txt: ok"));
  }

  TEST_CASE("zip: the output is canonical: fixed time, no extra fields, no comments, UTF-8 flag") {
    const std::string z = buildZip({{"日本語/", "", false, true},
                                    {"日本語/資料.txt", "内容", true},
                                    {"plain.txt", text(1000), true}});
    const Result r = run(z);
    REQUIRE(disp(r.out) == "rebuilt");
    const auto ms = inspect(r.out.bytes);
    REQUIRE(ms.size() == 3);
    for (const auto& m : ms) {
      CAPTURE(m.name);
      CHECK(m.date == kDosDate);
      CHECK(m.time == kDosTime);
      CHECK(m.centralExtra == 0);
      CHECK(m.localExtra == 0);
      CHECK(m.comment == 0);
      CHECK((m.method == 0 || m.method == 8));
    }
    CHECK((ms[0].flags & 0x800) != 0);
    CHECK((ms[1].flags & 0x800) != 0);
    CHECK(ms[1].name == "日本語/資料.txt");
    CHECK(ms[2].method == 8);  // compressible text is deflated
    // Same input, same bytes; and the output sanitized again is unchanged.
    CHECK(run(z).out.bytes == r.out.bytes);
    CHECK(run(r.out.bytes).out.bytes == r.out.bytes);
  }

  TEST_CASE("zip: an executable member is removed and named, the rest is kept") {
    const std::string z = buildZip(
        {{"readme.txt", "read me"}, {"setup.exe", peBytes()}, {"tools/run.dat", peBytes()}});
    const Result r = run(z);
    REQUIRE(disp(r.out) == "rebuilt");
    const auto ms = inspect(r.out.bytes);
    CHECK(names(ms) == std::vector<std::string>{"readme.txt"});
    CHECK(hasFinding(r.out, "zip.member_removed", "setup.exe: type.executable"));
    CHECK(hasFinding(r.out, "zip.member_removed", "tools/run.dat: type.executable"));
  }

  TEST_CASE("zip: a renamed member keeps its folder, and a clash gets a number") {
    const std::string z = buildZip({{"w/a.docx", "already docx"}, {"w/a.docm", "macro doc"}});
    const Result r = run(z);
    REQUIRE(disp(r.out) == "rebuilt");
    const auto ms = inspect(r.out.bytes);
    // "a.docx" is text to the test dispatcher and is kept; "a.docm" comes back as "a.docx".
    CHECK(names(ms) == std::vector<std::string>{"w/a.docx", "w/a (2).docx"});
    CHECK(find(ms, "w/a (2).docx")->data == "macro doc");
    CHECK(hasFinding(r.out, "zip.member_renamed", "w/a.docm → w/a (2).docx"));
    CHECK(hasFinding(r.out, "test.macro_removed", "w/a.docm: vba"));
  }

  TEST_CASE("zip: unsafe names refuse the whole archive with a precise reason") {
    struct Row {
      std::string name;
      std::string_view reason;
    };
    const std::vector<Row> rows = {
        {"../evil.txt", "zip.path_traversal"},
        {"a/../../evil.txt", "zip.path_traversal"},
        {"/abs", "zip.path_traversal"},
        {"C:\\x", "zip.path_traversal"},
        {"C:x.txt", "zip.path_traversal"},
        {"a\\b", "zip.path_traversal"},
        {"a/.../b", "zip.path_traversal"},
        {"a/.. /b", "zip.path_traversal"},
        {"a/./b", "zip.bad_name"},
        {"a//b", "zip.bad_name"},
        {"a:stream", "zip.path_traversal"},  // "a:" is a drive to Windows
        {"ab:stream", "zip.bad_name"},
        {"CON.txt", "zip.bad_name"},
        {"dir/lpt1", "zip.bad_name"},
        {"bell\x07.txt", "zip.bad_name"},
        {"del\x7f.txt", "zip.bad_name"},
        {"report\xE2\x80\xAEtxt.exe", "zip.bad_name"},  // U+202E RIGHT-TO-LEFT OVERRIDE
        {"zero\xE2\x80\x8Bwidth.txt", "zip.bad_name"},
    };
    for (const Row& row : rows) {
      CAPTURE(row.name);
      // libzip will not write control characters: write a placeholder and patch it.
      std::string placeholder = row.name;
      for (char& c : placeholder) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '_';
      }
      const std::string z = replaceAll(buildZip({{"ok.txt", "fine"}, {placeholder, "payload"}}),
                                       placeholder, row.name);
      const Result r = run(z);
      CHECK(disp(r.out) == "removed");
      CHECK(r.out.reason == row.reason);
      CHECK(r.dispatchCalls == 0);  // refused before anything was inflated
    }
  }

  TEST_CASE("zip: a NUL in a name is refused") {
    std::string z = buildZip({{"aXb.txt", "x"}});
    z = replaceAll(z, "aXb.txt", std::string("a\0b.txt", 7));
    const Result r = run(z);
    CHECK(disp(r.out) == "removed");
    CHECK(r.out.reason == "zip.bad_name");
  }

  TEST_CASE("zip: duplicate names are refused, also by case, Unicode form and trailing dots") {
    struct Row {
      std::string a;
      std::string b;
    };
    const std::vector<Row> rows = {
        {"a.txt", "A.TXT"},
        {"\xE3\x81\x8C.txt", "\xE3\x81\x8B\xE3\x82\x99.txt"},  // が (NFC) and か + ゛ (NFD)
        {"a.txt", "a.txt."},
        {"a.txt", "a.txt "},
        {"dir", "dir/file.txt"},
        {"dir/file.txt", "DIR"},
        {"Ａ.txt", "ａ.txt"},  // full-width letters fold too
    };
    for (const Row& row : rows) {
      CAPTURE(row.a);
      CAPTURE(row.b);
      const Result r = run(buildZip({{row.a, "one"}, {row.b, "two"}}));
      CHECK(disp(r.out) == "removed");
      CHECK(r.out.reason == "zip.duplicate_names");
    }
    // Exact duplicates (libzip will not write them; patch the second name).
    std::string z = buildZip({{"same.txt", "one"}, {"SAMX.txt", "two"}});
    z = replaceAll(z, "SAMX.txt", "same.txt");
    const Result r = run(z);
    CHECK(disp(r.out) == "removed");
    CHECK(r.out.reason == "zip.duplicate_names");
    // A folder entry and files inside it are not duplicates.
    CHECK(disp(run(buildZip({{"d/", "", false, true}, {"d/x.txt", "x"}})).out) == "rebuilt");
  }

  TEST_CASE("zip: a symbolic link entry is refused") {
    const Result r =
        run(buildZip({{"ok.txt", "fine"}, {"link", "/etc/passwd", false, false, false, 0120777u}}));
    CHECK(disp(r.out) == "removed");
    CHECK(r.out.reason == "zip.symlink");
    // A regular Unix file mode is fine.
    CHECK(disp(run(buildZip({{"f.txt", "x", false, false, false, 0100600u}})).out) == "rebuilt");
  }

  TEST_CASE("zip: CP932 names from Japanese Windows are decoded and written as UTF-8") {
    // 資料/報告書.txt and 資料/ in CP932, no UTF-8 flag.
    const std::string dir = "\x8E\x91\x97\xBF/";
    const std::string file = dir + "\x95\xF1\x8D\x90\x8F\x91.txt";
    const std::string z =
        buildZip({{dir, "", false, true, true}, {file, "report", true, false, true}});
    // libzip really wrote them as raw bytes without the flag.
    REQUIRE(z.find(file) != std::string::npos);
    const Result r = run(z);
    REQUIRE(disp(r.out) == "rebuilt");
    const auto ms = inspect(r.out.bytes);
    CHECK(names(ms) == std::vector<std::string>{"資料/", "資料/報告書.txt"});
    for (const auto& m : ms) CHECK((m.flags & 0x800) != 0);
    CHECK(find(ms, "資料/報告書.txt")->data == "report");
    CHECK(hasKind(r.out, "zip.names_decoded_cp932"));
  }

  TEST_CASE("zip: names that are not CP932 fall back to CP437") {
    // "café.txt" and "naïve.txt" as DOS wrote them: 0x82 and 0x8B are CP437 é and ï. "naïve"
    // alone would read as CP932 (0x8B 0x76 is 久), but "caf\x82." is not CP932, and the
    // archive's names are decoded together.
    const std::string z = buildZip(
        {{"caf\x82.txt", "x", true, false, true}, {"na\x8Bve.txt", "y", true, false, true}});
    const Result r = run(z);
    REQUIRE(disp(r.out) == "rebuilt");
    CHECK(names(inspect(r.out.bytes)) == std::vector<std::string>{"café.txt", "naïve.txt"});
    CHECK(hasFinding(r.out, "zip.names_decoded_legacy", "CP437"));
  }

  TEST_CASE("zip: an Info-ZIP Unicode Path field is checked like the name it replaces") {
    // The header says "plain.txt"; a Unicode Path field (0x7075) says "../evil.txt". Readers
    // that honour the field would write outside the folder.
    const Result r = run(withUnicodePath(buildZip({{"plain.txt", "x", false}}), "plain.txt",
                                         "../evil.txt"));
    CHECK(disp(r.out) == "removed");
    CHECK(r.out.reason == "zip.path_traversal");
  }

  TEST_CASE("zip: a valid Info-ZIP Unicode Path field gives the name written") {
    // A legacy header name (here CP437 bytes that are not Japanese) with the UTF-8 name its
    // writer meant beside it: the UTF-8 name wins.
    const std::string raw = "r\x82sum\x82.txt";
    const Result r = run(withUnicodePath(buildZip({{raw, "x", false, false, true}}), raw,
                                         "履歴書.txt"));
    CAPTURE(r.out.findings.empty() ? "" : r.out.findings.back().detail);
    REQUIRE(disp(r.out) == "rebuilt");
    const auto ms = inspect(r.out.bytes);
    REQUIRE(ms.size() == 1);
    CHECK(ms[0].name == "履歴書.txt");
    CHECK(ms[0].centralExtra == 0);  // the field itself is not copied
    CHECK(ms[0].localExtra == 0);
  }

  TEST_CASE("zip: stored and deflated members both come through byte for byte") {
    std::string binary;
    for (int i = 0; i < 5000; ++i) binary += static_cast<char>('a' + (i * 7) % 26);
    const std::string z = buildZip({{"s.txt", binary, false}, {"d.txt", binary, true}});
    const Result r = run(z);
    REQUIRE(disp(r.out) == "rebuilt");
    const auto ms = inspect(r.out.bytes);
    REQUIRE(ms.size() == 2);
    CHECK(ms[0].data == binary);
    CHECK(ms[1].data == binary);
  }

  TEST_CASE("zip: max_archive_entries at N and N+1") {
    core::Limits limits;
    limits.maxArchiveEntries = 3;
    const std::vector<M> three = {{"a.txt", "a"}, {"b.txt", "b"}, {"c.txt", "c"}};
    CHECK(disp(run(buildZip(three), limits).out) == "rebuilt");
    std::vector<M> four = three;
    four.push_back({"d.txt", "d"});
    const Result r = run(buildZip(four), limits);
    CHECK(disp(r.out) == "removed");
    CHECK(r.out.reason == "zip.too_many_entries");
    CHECK(r.dispatchCalls == 0);
  }

  TEST_CASE("zip: max_archive_entry_bytes at N and N+1, declared and real") {
    core::Limits limits;
    limits.maxArchiveEntryBytes = 1000;
    CHECK(disp(run(buildZip({{"a.txt", text(1000)}}), limits).out) == "rebuilt");
    const Result declared = run(buildZip({{"a.txt", text(1001)}}), limits);
    CHECK(disp(declared.out) == "removed");
    CHECK(declared.out.reason == "zip.bomb");
    CHECK(declared.dispatchCalls == 0);

    // The header lies (says 500 bytes); the real count stops it while inflating.
    std::string z = buildZip({{"a.txt", text(5000)}});
    const Layout l = layoutOf(z);
    wr32(z, l.central[0] + 24, 500);
    wr32(z, l.local[0] + 22, 500);
    const Result lying = run(z, limits);
    CHECK(disp(lying.out) == "removed");
    CHECK(lying.out.reason == "zip.bomb");
    CHECK(hasFinding(lying.out, "zip.bomb", "a.txt: over max_archive_entry_bytes (1000)"));
    CHECK(lying.dispatchCalls == 0);
  }

  TEST_CASE("zip: max_archive_total_bytes at N and N+1") {
    core::Limits limits;
    limits.maxArchiveTotalBytes = 1200;
    const std::string z = buildZip({{"a.txt", text(600)}, {"b.txt", text(600, 'b')}});
    CHECK(disp(run(z, limits).out) == "rebuilt");
    limits.maxArchiveTotalBytes = 1199;
    const Result r = run(z, limits);
    CHECK(disp(r.out) == "removed");
    CHECK(r.out.reason == "zip.bomb");
  }

  TEST_CASE("zip: max_archive_total_bytes covers nested zips too") {
    // inner.zip (stored in the outer zip) holds 1000 bytes. Alone, each archive fits in 1100
    // bytes; together (the inner zip's bytes plus what it inflates to) they do not.
    const std::string inner = buildZip({{"big.txt", text(1000)}});
    const std::string z = buildZip({{"inner.zip", inner, false}});
    core::Limits limits;
    limits.maxArchiveTotalBytes = 1000 + inner.size();
    const Result fits = run(z, limits);
    REQUIRE(disp(fits.out) == "rebuilt");
    CHECK(names(inspect(fits.out.bytes)) == std::vector<std::string>{"inner.zip"});
    limits.maxArchiveTotalBytes = 1000 + inner.size() - 1;
    const Result over = run(z, limits);
    REQUIRE(disp(over.out) == "rebuilt");
    CHECK(inspect(over.out.bytes).empty());
    CHECK(hasFinding(over.out, "zip.member_removed", "inner.zip: zip.bomb"));
  }

  TEST_CASE("zip: max_compression_ratio at N and N+1, declared and real") {
    const std::string zeros(3u << 20, '\0');  // well above the exempt size
    const std::string z = buildZip({{"zeros.bin", zeros}});
    const Layout l = layoutOf(z);
    const std::uint64_t csize = rd32(z, l.central[0] + 20);
    const auto exact = static_cast<std::uint32_t>((zeros.size() + csize - 1) / csize);  // ceil
    core::Limits limits;
    limits.maxArchiveEntryBytes = 16u << 20;
    limits.maxCompressionRatio = exact;
    // zeros.bin is "unknown" binary to the test dispatcher and removed, but it was inflated.
    const Result fits = run(z, limits);
    CHECK(disp(fits.out) == "rebuilt");
    CHECK(fits.dispatchCalls == 1);
    limits.maxCompressionRatio = exact - 1;
    const Result declared = run(z, limits);
    CHECK(disp(declared.out) == "removed");
    CHECK(declared.out.reason == "zip.bomb");
    CHECK(declared.dispatchCalls == 0);
    // Declared small (under the exempt size): the ratio is caught on the real bytes.
    std::string lying = z;
    wr32(lying, l.central[0] + 24, 1000);
    wr32(lying, l.local[0] + 22, 1000);
    const Result real = run(lying, limits);
    CHECK(disp(real.out) == "removed");
    CHECK(hasFinding(real.out, "zip.bomb",
                     "zeros.bin: over max_compression_ratio (" + std::to_string(exact - 1) + ")"));
  }

  TEST_CASE("zip: small members are exempt from the ratio limit") {
    core::Limits limits;
    limits.maxCompressionRatio = 2;
    const Result r = run(buildZip({{"blank.txt", text(kRatioExemptBytes, ' ')}}), limits);
    CHECK(disp(r.out) == "rebuilt");
  }

  TEST_CASE("zip: max_archive_depth at N and N+1") {
    core::Limits limits;
    limits.maxArchiveDepth = 2;
    // Depths 0, 1, 2: all within the limit; the leaf text survives three archives deep.
    const Result ok = run(nested(3), limits);
    REQUIRE(disp(ok.out) == "rebuilt");
    const auto l1 = inspect(ok.out.bytes);
    REQUIRE(names(l1) == std::vector<std::string>{"z1.zip"});
    const auto l2 = inspect(l1[0].data);
    REQUIRE(names(l2) == std::vector<std::string>{"z2.zip"});
    CHECK(names(inspect(l2[0].data)) == std::vector<std::string>{"leaf.txt"});
    // Depth 3: the innermost zip is removed, its parent says why.
    const Result deep = run(nested(4), limits);
    REQUIRE(disp(deep.out) == "rebuilt");
    CHECK(hasFinding(deep.out, "zip.member_removed", "z1.zip: z2.zip: z3.zip: zip.too_deep"));
    const auto d2 = inspect(inspect(inspect(deep.out.bytes)[0].data)[0].data);
    CHECK(d2.empty());
    // The check itself, at the top: depth N is processed, N+1 is not.
    CHECK(disp(run(nested(1), limits, {"x.zip"}, 2).out) == "rebuilt");
    const Result top = run(nested(1), limits, {"x.zip"}, 3);
    CHECK(top.out.reason == "zip.too_deep");
  }

  TEST_CASE("zip: overlapping entries (a zbsm-style bomb) are refused before inflating") {
    // a's compressed size grows over b's local header, in both headers: the two entries share
    // bytes, as every entry of zbsm.zip shares one deflate stream.
    std::string z = buildZip({{"a.txt", text(100)}, {"b.txt", text(100)}});
    const Layout l = layoutOf(z);
    const std::uint32_t grown = rd32(z, l.central[0] + 20) + 10;
    wr32(z, l.central[0] + 20, grown);
    wr32(z, l.local[0] + 18, grown);
    const Result r = run(z);
    CHECK(disp(r.out) == "removed");
    CHECK(r.out.reason == "zip.bomb");
    CHECK(r.dispatchCalls == 0);
  }

  TEST_CASE("zip: bytes before, between or after the entries are refused") {
    const std::string z = buildZip({{"a.txt", "a"}, {"b.txt", "b"}});
    const Result before = run("MZ-stub" + z);
    CHECK(before.out.reason == "zip.junk_data");
    const Result after = run(z + "trailing");
    CHECK(after.out.reason == "zip.junk_data");
    // A gap between the two entries: shift the second entry and the directory by 5 bytes.
    const Layout l = layoutOf(z);
    std::string gap = z;
    gap.insert(l.local[1], "JUNK!");
    const std::size_t eocd = gap.rfind(std::string("PK\x05\x06", 4));
    wr32(gap, eocd + 16, rd32(gap, eocd + 16) + 5);
    wr32(gap, layoutOf(gap).central[1] + 42, static_cast<std::uint32_t>(l.local[1] + 5));
    const Result between = run(gap);
    CHECK(between.out.reason == "zip.junk_data");
  }

  TEST_CASE("zip: local headers must agree with the central directory") {
    std::string z = buildZip({{"name.txt", "x", false}});
    const Layout l = layoutOf(z);
    std::string renamed = z;
    renamed[l.local[0] + 30] = 'N';  // local "Name.txt", central "name.txt"
    CHECK(run(renamed).out.reason == "zip.name_mismatch");
    std::string crc = z;
    crc[l.local[0] + 14] ^= 1;
    CHECK(run(crc).out.reason == "zip.header_mismatch");
  }

  TEST_CASE("zip: encrypted entries remove the archive as encrypted.zip") {
    std::string z = buildZip({{"a.txt", "a", false}});
    const Layout l = layoutOf(z);
    wr16(z, l.central[0] + 8, rd16(z, l.central[0] + 8) | 1);
    wr16(z, l.local[0] + 6, rd16(z, l.local[0] + 6) | 1);
    const Result r = run(z);
    CHECK(disp(r.out) == "removed");
    CHECK(r.out.reason == "encrypted.zip");
  }

  TEST_CASE("zip: methods other than stored and deflate are refused") {
    std::string z = buildZip({{"a.txt", text(100)}});
    const Layout l = layoutOf(z);
    wr16(z, l.central[0] + 10, 12);
    wr16(z, l.local[0] + 8, 12);
    const Result r = run(z);
    CHECK(r.out.reason == "zip.unsupported_method");
    CHECK(hasFinding(r.out, "zip.unsupported_method", "bzip2"));
  }

  TEST_CASE("zip: an empty archive comes out as an empty archive") {
    const std::string empty("PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22);
    const Result r = run(empty);
    REQUIRE(disp(r.out) == "rebuilt");
    CHECK(inspect(r.out.bytes).empty());
  }

  TEST_CASE("zip: an archive whose members are all removed still comes out, listing them") {
    const Result r = run(buildZip({{"d/", "", false, true}, {"d/x.exe", peBytes()}}));
    REQUIRE(disp(r.out) == "rebuilt");
    CHECK(names(inspect(r.out.bytes)) == std::vector<std::string>{"d/"});
    CHECK(hasFinding(r.out, "zip.member_removed", "d/x.exe: type.executable"));
  }

  TEST_CASE("zip: garbage, truncation and a passed deadline never crash") {
    const std::string z = buildZip({{"a.txt", text(300)}, {"b.txt", "b"}});
    for (std::size_t cut = 0; cut < z.size(); cut += 7) {
      const Result r = run(z.substr(0, cut));
      CAPTURE(cut);
      CHECK(disp(r.out) == "removed");
    }
    CHECK(run("PK\x03\x04 not a zip").out.reason == "zip.invalid");
    const Result late = run(z, core::Limits{}, {"a.zip"}, 0,
                            std::chrono::steady_clock::now() - std::chrono::seconds(1));
    CHECK(late.out.reason == "limit.wall_time");
    PartInput noDispatch;
    const core::Limits limits;
    noDispatch.bytes = z;
    noDispatch.limits = &limits;
    CHECK(ZipSanitizer().sanitize(noDispatch).reason == "error.sanitizer");
  }

  TEST_CASE("zip: the output name ends in .zip") {
    const std::string z = buildZip({{"a.txt", "a"}});
    CHECK(run(z, core::Limits{}, {"Data.ZIP"}).out.filename == "Data.ZIP");
    CHECK(run(z, core::Limits{}, {"data.bin"}).out.filename == "data.bin.zip");
    CHECK(run(z, core::Limits{}, {}).out.filename == "archive.zip");
  }

  TEST_CASE("zip: end to end, a zip attachment loses its executable and keeps its text") {
    // A real (minimal) .docm with a macro part: the OOXML rebuilder turns it into a .docx.
    const std::string rt = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    const auto relsXml = [](const std::string& rows) {
      return "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/"
             "package/2006/relationships\">" + rows + "</Relationships>";
    };
    const std::string docm = buildZip(
        {{"[Content_Types].xml",
          "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/"
          "content-types\"><Default Extension=\"rels\" ContentType=\"application/"
          "vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" "
          "ContentType=\"application/xml\"/><Override PartName=\"/word/document.xml\" "
          "ContentType=\"application/vnd.ms-word.document.macroEnabled.main+xml\"/></Types>"},
         {"_rels/.rels", relsXml("<Relationship Id=\"rId1\" Type=\"" + rt +
                                 "/officeDocument\" Target=\"word/document.xml\"/>")},
         {"word/document.xml",
          "<?xml version=\"1.0\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/"
          "wordprocessingml/2006/main\"><w:body><w:p><w:r><w:t>マクロ文書の本文</w:t></w:r></w:p>"
          "</w:body></w:document>"},
         {"word/_rels/document.xml.rels",
          relsXml("<Relationship Id=\"rId1\" Type=\"http://schemas.microsoft.com/office/2006/"
                  "relationships/vbaProject\" Target=\"vbaProject.bin\"/>")},
         {"word/vbaProject.bin", "VBA"}});
    REQUIRE(core::sniff(docm, core::Limits{}) == "docm");
    const std::string z =
        buildZip({{"報告.txt", "本文です"}, {"tool.exe", peBytes()}, {"macro.docm", docm, false}});
    gchar* b64 = g_base64_encode(reinterpret_cast<const guchar*>(z.data()), z.size());
    std::string body(b64);
    g_free(b64);
    std::string lines;
    for (std::size_t i = 0; i < body.size(); i += 76) lines += body.substr(i, 76) + "\r\n";
    const std::string msg =
        "From: a@example.jp\r\nTo: b@example.jp\r\nSubject: zip\r\nMessage-ID: <z@example.jp>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"BB\"\r\n\r\n"
        "--BB\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsee attached\r\n"
        "--BB\r\nContent-Type: application/zip; name=\"files.zip\"\r\n"
        "Content-Disposition: attachment; filename=\"files.zip\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" +
        lines + "--BB--\r\n";
    const core::Policy policy = core::Policy::defaults();
    const core::Outcome o = core::sanitizeMessage(msg, policy);
    REQUIRE(o.delivered);
    CHECK(core::verifyOutput(o.message, policy.limits) == "");

    // Find the zip in the output with GMime and read it with libzip.
    GMimeStream* stream = g_mime_stream_mem_new_with_buffer(o.message.data(), o.message.size());
    GMimeParser* parser = g_mime_parser_new_with_stream(stream);
    GMimeMessage* message = g_mime_parser_construct_message(parser, nullptr);
    REQUIRE(message != nullptr);
    std::string zipOut;
    std::string zipName;
    std::string zipType;
    GMimePartIter* it = g_mime_part_iter_new(GMIME_OBJECT(message));
    do {
      GMimeObject* cur = g_mime_part_iter_get_current(it);
      if (cur == nullptr || !GMIME_IS_PART(cur)) continue;
      const char* fn = g_mime_part_get_filename(GMIME_PART(cur));
      if (fn == nullptr || std::string_view(fn).find(".zip") == std::string_view::npos) continue;
      zipName = fn;
      GMimeContentType* ct = g_mime_object_get_content_type(cur);
      zipType = std::string(g_mime_content_type_get_media_type(ct)) + "/" +
                g_mime_content_type_get_media_subtype(ct);
      GMimeStream* mem = g_mime_stream_mem_new();
      g_mime_data_wrapper_write_to_stream(g_mime_part_get_content(GMIME_PART(cur)), mem);
      GByteArray* arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
      zipOut.assign(reinterpret_cast<const char*>(arr->data), arr->len);
      g_object_unref(mem);
    } while (g_mime_part_iter_next(it));
    g_mime_part_iter_free(it);
    g_object_unref(message);
    g_object_unref(parser);
    g_object_unref(stream);

    CHECK(zipName == "files.zip");
    CHECK(zipType == "application/zip");
    REQUIRE(!zipOut.empty());
    const auto ms = inspect(zipOut);
    std::vector<std::string> got = names(ms);
    REQUIRE(find(ms, "報告.txt"));
    CHECK(find(ms, "報告.txt")->data == "本文です");
    for (const auto& n : got) {
      CAPTURE(n);
      CHECK(n.find(".exe") == std::string::npos);
      CHECK(n.find(".docm") == std::string::npos);
    }
    // The docm is inside as a macro-free docx: re-open it and look.
    const OutMember* docx = find(ms, "macro.docx");
    REQUIRE(docx != nullptr);
    CHECK(core::sniff(docx->data, core::Limits{}) == "docx");
    const auto parts = inspect(docx->data);
    bool textFound = false;
    for (const auto& part : parts) {
      CAPTURE(part.name);
      CHECK(part.name.find("vbaProject") == std::string::npos);
      CHECK(part.data.find("macroEnabled") == std::string::npos);
      if (part.name == "word/document.xml") {
        textFound = part.data.find("マクロ文書の本文") != std::string::npos;
      }
    }
    CHECK(textFound);
    // The report says which members went and why, and the archive was rebuilt by us.
    bool exeNamed = false;
    bool zipRebuilt = false;
    bool docmRenamed = false;
    for (const auto& p : o.report.parts) {
      if (p.sanitizer == "zip" && p.disposition == Disposition::Rebuilt) zipRebuilt = true;
      for (const auto& f : p.findings) {
        if (f.kind == "zip.member_removed" && f.detail == "tool.exe: type.executable")
          exeNamed = true;
        if (f.kind == "zip.member_renamed" && f.detail == "macro.docm → macro.docx")
          docmRenamed = true;
      }
    }
    CHECK(zipRebuilt);
    CHECK(exeNamed);
    CHECK(docmRenamed);
  }
}

// Third-party corpora. The suite is named exactly "third-party": doctest matches -ts/-tse against
// the whole suite name, and ctest runs "unit" with -tse=third-party, "corpus" with -ts=third-party.
TEST_SUITE("third-party") {

  TEST_CASE("zip: the real zbsm.zip bomb and zip-slip.zip are refused quickly") {
    const fs::path dir = thirdParty() / "recursive-extractor";
    if (!fs::exists(dir)) {
      MESSAGE("third-party corpus absent, skipped: " << dir);
      return;
    }
    const auto bomb = readFile(dir / "zbsm.zip");
    REQUIRE(bomb);
    const Result r = run(*bomb);
    CHECK(disp(r.out) == "removed");
    CHECK(r.out.reason == "zip.bomb");
    // Stopped by the overlap check, in the parser, before libzip inflates anything.
    REQUIRE(!r.out.findings.empty());
    CHECK(r.out.findings.back().detail.rfind("overlapping entries", 0) == 0);
    CHECK(r.dispatchCalls == 0);
    CHECK(r.seconds < 0.5);
    const auto slip = readFile(dir / "zip-slip.zip");
    REQUIRE(slip);
    CHECK(run(*slip).out.reason == "zip.path_traversal");
  }

  TEST_CASE("zip: libzip's test archives") {
    const fs::path dir = thirdParty() / "libzip";
    if (!fs::exists(dir)) {
      MESSAGE("third-party corpus absent, skipped: " << dir);
      return;
    }
    struct Row {
      std::string_view file;
      std::string_view reason;  // "" = rebuilt
    };
    const std::vector<Row> rows = {
        {"encrypt.zip", "encrypted.zip"},
        {"encrypt-aes256.zip", "encrypted.zip"},
        {"junk-at-start.zip", "zip.junk_data"},
        {"filename_duplicate.zip", "zip.duplicate_names"},
        {"incons-local-filename.zip", "zip.name_mismatch"},
        {"incons-central-crc.zip", "zip.header_mismatch"},
        {"incons-eocd-magic-bad.zip", "zip.invalid"},
        {"testfile-lzma.zip", "zip.unsupported_method"},
        {"testfile-zstd.zip", "zip.unsupported_method"},
        {"testbzip2.zip", "zip.unsupported_method"},
        {"multidisk.zip", "zip.multidisk"},
        {"bogus.zip", "zip.invalid"},
        {"testfile-truncated.zip", "zip.invalid"},
        {"test-cp437.zip", "zip.bad_name"},  // its names hold control characters 0x01–0x1F
        {"testempty.zip", ""},
        {"streamed.zip", ""},
        {"zip64.zip", ""},
        {"test.zip", ""},
        {"test-utf8.zip", ""},
    };
    for (const Row& row : rows) {
      CAPTURE(row.file);
      const auto bytes = readFile(dir / row.file);
      REQUIRE(bytes);
      const Result r = run(*bytes);
      if (row.reason.empty()) {
        CHECK(disp(r.out) == "rebuilt");
        if (r.out.disposition == Disposition::Rebuilt) inspect(r.out.bytes);
      } else {
        CHECK(disp(r.out) == "removed");
        CHECK(r.out.reason == row.reason);
      }
    }
    const auto utf8 = readFile(dir / "test-utf8.zip");
    const auto ms = inspect(run(*utf8).out.bytes);
    REQUIRE(ms.size() == 1);
    CHECK(ms[0].name == "ÄÖÜäöüßćçĉéèêëē");
    CHECK((ms[0].flags & 0x800) != 0);
    const auto streamed = inspect(run(*readFile(dir / "streamed.zip")).out.bytes);
    REQUIRE(streamed.size() == 1);
    CHECK(streamed[0].name == "-");
  }

  TEST_CASE("zip: Tika's archives: zip of zip, GBK names, encrypted, data descriptors") {
    const fs::path dir = thirdParty() / "tika" / "archives";
    if (!fs::exists(dir)) {
      MESSAGE("third-party corpus absent, skipped: " << dir);
      return;
    }
    const auto zoz = readFile(dir / "test-zip-of-zip.zip");
    REQUIRE(zoz);
    const Result nestedZip = run(*zoz);
    REQUIRE(disp(nestedZip.out) == "rebuilt");
    const auto outer = inspect(nestedZip.out.bytes);
    REQUIRE(names(outer) == std::vector<std::string>{"html-within-zip.zip"});
    // The inner zip holds only an HTML file, which the test dispatcher removes.
    CHECK(inspect(outer[0].data).empty());
    CHECK(nestedZip.dispatchCalls == 2);

    const auto gbk = readFile(dir / "gbk.zip");
    REQUIRE(gbk);
    const Result g = run(*gbk);
    REQUIRE(disp(g.out) == "rebuilt");
    const auto gms = inspect(g.out.bytes);
    REQUIRE(gms.size() == 2);
    CHECK(gms[0].name == "审计压缩包文件检索测试/");
    CHECK(gms[1].name == "审计压缩包文件检索测试/集团邮件审计系统2021年自动巡检需求文档_V4.0.doc");
    CHECK(hasFinding(g.out, "zip.names_decoded_legacy", "GB18030"));

    const auto enc = readFile(dir / "testZipEncrypted.zip");
    REQUIRE(enc);
    CHECK(run(*enc).out.reason == "encrypted.zip");

    // Its central directory's offsets leave out the data descriptors, so they point 16 and 32
    // bytes before the real local headers: a streaming reader and a directory reader see
    // different archives.
    const auto dd = readFile(dir / "testZip_with_DataDescriptor.zip");
    REQUIRE(dd);
    CHECK(run(*dd).out.reason == "zip.junk_data");
  }
}

}  // namespace mugai::sanitizers::zip
