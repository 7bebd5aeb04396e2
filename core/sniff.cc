// True-type sniffing (see sniff.h).
//
// The checks run in a fixed order, and the order is part of the contract:
//   1. empty input;
//   2. disk images, whose signatures sit deep in the file (ISO 9660/UDF volume descriptors at
//      32 KiB, the DMG "koly" trailer, the VHD footer) and whose first bytes may be anything;
//   3. magic numbers at offset 0, executables first; zip and OLE2 containers are then opened
//      (zip: central directory through libzip; OLE2: the directory tree, parsed by hand) to
//      name what they carry;
//   4. "%PDF-" anywhere in the first 1024 bytes (Acrobat accepts a header that late, so junk in
//      front of it must not hide a PDF);
//   5. text-like content after a BOM: RTF, PGP/PKCS#7 armor, markup (XML, SVG, HTML by a
//      WHATWG-style sniff), iCalendar, vCard, RFC 5322 headers, then plain text;
//   6. "unknown".
// Every read is bounds-checked, every scan has a named bound, and nothing here throws: the
// public functions catch everything and answer "unknown" / false.
#include "core/sniff.h"

#include <zip.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mugai::core {
namespace {

using namespace std::string_view_literals;

// ---- Bounds -------------------------------------------------------------------------------

constexpr std::size_t kPdfHeaderWindow = 1024;  ///< Acrobat finds "%PDF-" this far in
constexpr std::size_t kTextSample = 8192;       ///< bytes looked at by the text-like checks
constexpr std::size_t kMaxHeaderLines = 64;     ///< header lines looked at by the eml check
constexpr std::size_t kMaxMarkupSteps = 64;     ///< comments/PIs/doctypes skipped before a tag
constexpr std::size_t kMaxContentTypesBytes = 1u << 20;  ///< [Content_Types].xml read at most
constexpr std::size_t kMaxMimetypeBytes = 256;           ///< ODF "mimetype" entry read at most
constexpr std::uint64_t kZipEntriesPerPart = 10;  ///< zip entries examined = maxParts × this
constexpr std::uint64_t kMinZipEntriesExamined = 16;
constexpr std::size_t kMaxCfbDirSectors = 1024;     ///< OLE2 directory sectors followed
constexpr std::size_t kMaxCfbRootChildren = 4096;   ///< OLE2 top-level entries examined
constexpr std::size_t kUdfDescriptorsScanned = 16;  ///< 2 KiB volume descriptors from 32 KiB
constexpr std::size_t kPkcs7OidWindow = 32;         ///< bytes after the SEQUENCE tag searched

// ---- Byte helpers -------------------------------------------------------------------------

std::uint8_t byteAt(std::string_view d, std::size_t i) {
  return i < d.size() ? static_cast<std::uint8_t>(d[i]) : 0;
}

// Little/big-endian reads; bytes past the end read as zero, so callers check sizes first when
// zero would be meaningful.
std::uint16_t le16(std::string_view d, std::size_t off) {
  return static_cast<std::uint16_t>(byteAt(d, off) | (byteAt(d, off + 1) << 8));
}
std::uint32_t le32(std::string_view d, std::size_t off) {
  return static_cast<std::uint32_t>(byteAt(d, off)) |
         (static_cast<std::uint32_t>(byteAt(d, off + 1)) << 8) |
         (static_cast<std::uint32_t>(byteAt(d, off + 2)) << 16) |
         (static_cast<std::uint32_t>(byteAt(d, off + 3)) << 24);
}
std::uint32_t be32(std::string_view d, std::size_t off) {
  return (static_cast<std::uint32_t>(byteAt(d, off)) << 24) |
         (static_cast<std::uint32_t>(byteAt(d, off + 1)) << 16) |
         (static_cast<std::uint32_t>(byteAt(d, off + 2)) << 8) |
         static_cast<std::uint32_t>(byteAt(d, off + 3));
}

bool hasAt(std::string_view d, std::size_t off, std::string_view magic) {
  return off <= d.size() && d.size() - off >= magic.size() && d.substr(off, magic.size()) == magic;
}

char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equalsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(a[i]) != lowerAscii(b[i])) return false;
  }
  return true;
}

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && equalsNoCase(s.substr(0, prefix.size()), prefix);
}

bool endsWithNoCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && equalsNoCase(s.substr(s.size() - suffix.size()), suffix);
}

// `needle` must be lower case. Quadratic in the worst case, so only used on bounded samples.
bool containsNoCase(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  if (hay.size() < needle.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (lowerAscii(hay[i]) != needle[0]) continue;
    if (equalsNoCase(hay.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

std::string_view skipSpace(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && isSpace(s[i])) ++i;
  return s.substr(i);
}

// ---- Disk images --------------------------------------------------------------------------

std::optional<std::string_view> sniffDiskImage(std::string_view d) {
  // UDF volume recognition sequence: 2 KiB descriptors from 32 KiB, identifier at +1. "NSR0x"
  // marks UDF proper; an ISO/UDF bridge also carries "CD001", and UDF wins because that is
  // what a modern OS mounts.
  bool sawBea = false;
  for (std::size_t k = 0; k < kUdfDescriptorsScanned; ++k) {
    const std::size_t off = 32769 + k * 2048;
    if (off + 5 > d.size()) break;
    if (hasAt(d, off, "NSR02") || hasAt(d, off, "NSR03")) return "udf"sv;
    if (hasAt(d, off, "BEA01")) sawBea = true;
  }
  for (const std::size_t off : {std::size_t{32769}, std::size_t{34817}, std::size_t{37633}}) {
    if (hasAt(d, off, "CD001")) return "iso9660"sv;
  }
  if (sawBea) return "udf"sv;
  if (d.size() >= 512 && hasAt(d, d.size() - 512, "koly")) return "dmg"sv;
  // A dynamic VHD starts with a copy of its footer; a fixed one has it only at the end (511
  // bytes long in images made by very old Virtual PC versions). VHDX starts with "vhdxfile".
  if (hasAt(d, 0, "conectix") || hasAt(d, 0, "vhdxfile")) return "vhd"sv;
  if (d.size() >= 512 && hasAt(d, d.size() - 512, "conectix")) return "vhd"sv;
  if (d.size() >= 511 && hasAt(d, d.size() - 511, "conectix")) return "vhd"sv;
  return std::nullopt;
}

// ---- OLE2 / compound file -----------------------------------------------------------------

constexpr std::uint32_t kCfbMaxRegularSector = 0xFFFFFFFA;
constexpr std::uint32_t kCfbNoStream = 0xFFFFFFFF;
constexpr std::size_t kCfbHeaderDifatEntries = 109;
constexpr std::size_t kCfbDirEntrySize = 128;

// Reads the names of the root storage's children: the directory chain is followed through the
// FAT (located via the DIFAT), then the root's red-black tree is walked through left/right
// sibling links. Children of sub-storages are not visited on purpose: a .doc that embeds a
// workbook has "Workbook" one level down, and must still be a "doc".
class CompoundFile {
 public:
  explicit CompoundFile(std::string_view d) : d_(d) {}

  bool topLevelNames(std::vector<std::string>& names) {
    if (d_.size() < 512) return false;
    const std::uint16_t shift = le16(d_, 0x1E);
    if (shift != 9 && shift != 12) return false;
    shift_ = shift;
    sectorSize_ = std::size_t{1} << shift;

    std::vector<std::uint32_t> dirSectors;
    std::uint32_t sec = le32(d_, 0x30);
    while (sec < kCfbMaxRegularSector && dirSectors.size() < kMaxCfbDirSectors) {
      if (!sector(sec)) break;
      dirSectors.push_back(sec);
      if (!nextSector(sec, sec)) break;
    }
    if (dirSectors.empty()) return false;

    const std::size_t perSector = sectorSize_ / kCfbDirEntrySize;
    const std::size_t count = dirSectors.size() * perSector;
    const auto entry = [&](std::uint32_t did) -> std::optional<std::string_view> {
      if (did >= count) return std::nullopt;
      const auto s = sector(dirSectors[did / perSector]);
      const std::size_t off = (did % perSector) * kCfbDirEntrySize;
      if (!s || s->size() < off + kCfbDirEntrySize) return std::nullopt;
      return s->substr(off, kCfbDirEntrySize);
    };

    const auto root = entry(0);
    if (!root || byteAt(*root, 0x42) != 5) return false;
    std::vector<bool> seen(count, false);
    std::vector<std::uint32_t> stack{le32(*root, 0x4C)};
    std::size_t visited = 0;
    while (!stack.empty() && visited < kMaxCfbRootChildren) {
      const std::uint32_t did = stack.back();
      stack.pop_back();
      if (did == kCfbNoStream || did >= count || seen[did]) continue;  // cycles end here
      seen[did] = true;
      ++visited;
      const auto e = entry(did);
      if (!e) continue;
      stack.push_back(le32(*e, 0x44));
      stack.push_back(le32(*e, 0x48));
      const std::uint8_t type = byteAt(*e, 0x42);
      if (type == 1 || type == 2) names.push_back(entryName(*e));
    }
    return true;
  }

 private:
  // The sector's bytes (fewer than a full sector when the file is truncated), or nothing.
  std::optional<std::string_view> sector(std::uint32_t sec) const {
    const std::uint64_t off = (std::uint64_t{sec} + 1) << shift_;
    if (off >= d_.size()) return std::nullopt;
    return d_.substr(static_cast<std::size_t>(off), sectorSize_);
  }

  // Sector number of the k-th FAT sector: the header holds the first 109, a chain of DIFAT
  // sectors the rest (each ends with the number of the next).
  bool fatSectorNumber(std::uint32_t k, std::uint32_t& out) const {
    if (k < kCfbHeaderDifatEntries) {
      out = le32(d_, 0x4C + 4 * std::size_t{k});
      return out < kCfbMaxRegularSector;
    }
    const std::size_t perDifat = sectorSize_ / 4 - 1;
    const std::size_t idx = k - kCfbHeaderDifatEntries;
    std::uint32_t dif = le32(d_, 0x44);
    // `k` comes from a sector that was inside the buffer, so the hop count is bounded by the
    // input size divided by (sector size)³/16: a handful of hops.
    for (std::size_t hop = idx / perDifat;; --hop) {
      if (dif >= kCfbMaxRegularSector) return false;
      const auto s = sector(dif);
      if (!s || s->size() < sectorSize_) return false;
      if (hop == 0) {
        out = le32(*s, 4 * (idx % perDifat));
        return out < kCfbMaxRegularSector;
      }
      dif = le32(*s, 4 * perDifat);
    }
  }

  bool nextSector(std::uint32_t sec, std::uint32_t& out) const {
    const std::size_t perFat = sectorSize_ / 4;
    std::uint32_t fat = 0;
    if (!fatSectorNumber(static_cast<std::uint32_t>(sec / perFat), fat)) return false;
    const auto s = sector(fat);
    const std::size_t off = 4 * (sec % perFat);
    if (!s || s->size() < off + 4) return false;
    out = le32(*s, off);
    return true;
  }

  // UTF-16LE name as ASCII; other characters become '?', which matches none of our names.
  static std::string entryName(std::string_view e) {
    std::size_t len = le16(e, 0x40);
    if (len > 64) len = 64;
    std::string name;
    for (std::size_t i = 0; i + 1 < len; i += 2) {
      const std::uint16_t u = le16(e, i);
      if (u == 0) break;
      name.push_back(u < 0x80 ? static_cast<char>(u) : '?');
    }
    return name;
  }

  std::string_view d_;
  unsigned shift_ = 9;
  std::size_t sectorSize_ = 512;
};

std::string_view sniffCompoundFile(std::string_view d) {
  std::vector<std::string> names;
  CompoundFile cfb(d);
  bool encrypted = false, word = false, excel = false, powerpoint = false, outlook = false;
  if (cfb.topLevelNames(names)) {
    // CFB names compare case-insensitively (MS-CFB 2.6.4).
    for (const auto& n : names) {
      if (equalsNoCase(n, "EncryptedPackage")) encrypted = true;
      if (equalsNoCase(n, "WordDocument")) word = true;
      if (equalsNoCase(n, "Workbook") || equalsNoCase(n, "Book")) excel = true;
      if (equalsNoCase(n, "PowerPoint Document")) powerpoint = true;
      if (startsWithNoCase(n, "__substg1.0_")) outlook = true;
    }
  } else {
    // The tree is unusable, yet Office may still open the file: look for the names in every
    // 128-byte slot where a directory entry could sit (sectors are 512 or 4096 bytes, so every
    // entry starts at a multiple of 128). Linear in the input, and no match inside stream data
    // that merely contains the words.
    const auto nameIs = [&](std::size_t off, std::string_view name) {
      const std::size_t len = le16(d, off + 0x40);
      if (len != name.size() * 2 + 2) return false;
      for (std::size_t k = 0; k < name.size(); ++k) {
        if (lowerAscii(static_cast<char>(le16(d, off + 2 * k))) != lowerAscii(name[k]) ||
            byteAt(d, off + 2 * k + 1) != 0) {
          return false;
        }
      }
      return true;
    };
    for (std::size_t off = 512; off + kCfbDirEntrySize <= d.size(); off += kCfbDirEntrySize) {
      encrypted = encrypted || nameIs(off, "EncryptedPackage");
      word = word || nameIs(off, "WordDocument");
      excel = excel || nameIs(off, "Workbook") || nameIs(off, "Book");
      powerpoint = powerpoint || nameIs(off, "PowerPoint Document");
      if (!outlook && le16(d, off + 0x40) > 24) {
        outlook = true;
        for (std::size_t k = 0; k < 12 && outlook; ++k) {
          outlook = byteAt(d, off + 2 * k) == static_cast<std::uint8_t>("__substg1.0_"[k]) &&
                    byteAt(d, off + 2 * k + 1) == 0;
        }
      }
    }
  }
  // An encrypted OOXML package is the only one of another family, so it is decided first.
  if (encrypted) return "ooxml-encrypted";
  if (word) return "doc";
  if (excel) return "xls";
  if (powerpoint) return "ppt";
  if (outlook) return "msg";
  return "cfb";
}

// ---- Zip containers -----------------------------------------------------------------------

struct ZipCloser {
  zip_t* za;
  ~ZipCloser() { zip_discard(za); }
};

// Reads at most `maxBytes` of entry `idx`, decompressing only that much. A read error after
// some data keeps what was read: the decision needs the beginning of the entry, not its CRC.
std::string readZipEntry(zip_t* za, zip_uint64_t idx, std::size_t maxBytes) {
  std::string out;
  zip_file_t* f = zip_fopen_index(za, idx, 0);
  if (f == nullptr) return out;
  char buf[16384];
  while (out.size() < maxBytes) {
    const std::size_t want = std::min(sizeof buf, maxBytes - out.size());
    const zip_int64_t n = zip_fread(f, buf, want);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  zip_fclose(f);
  return out;
}

// Main-part content types (lower case) of the OOXML kinds that have their own token.
constexpr std::pair<std::string_view, std::string_view> kOoxmlMainTypes[] = {
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml", "docx"},
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml", "dotx"},
    {"application/vnd.ms-word.document.macroenabled.main+xml", "docm"},
    {"application/vnd.ms-word.template.macroenabledtemplate.main+xml", "dotm"},
    {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", "xlsx"},
    {"application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml", "xltx"},
    {"application/vnd.ms-excel.sheet.macroenabled.main+xml", "xlsm"},
    {"application/vnd.ms-excel.template.macroenabled.main+xml", "xltm"},
    {"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml", "pptx"},
    {"application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml", "ppsx"},
    {"application/vnd.openxmlformats-officedocument.presentationml.template.main+xml", "potx"},
    {"application/vnd.ms-powerpoint.presentation.macroenabled.main+xml", "pptm"},
    {"application/vnd.ms-powerpoint.slideshow.macroenabled.main+xml", "ppsm"},
    {"application/vnd.ms-powerpoint.template.macroenabled.main+xml", "potm"},
};

// The token named by [Content_Types].xml: exactly one known main-part type among the
// ContentType="…" attribute values, else "ooxml" (another OPC kind such as xlsb, add-ins or XPS,
// an unreadable entry, or an ambiguous package declaring two main parts). The scan is linear:
// a megabyte of repeated near-matches must not cost more than a megabyte.
std::string_view ooxmlKind(std::string_view xml) {
  constexpr std::string_view kAttr = "contenttype";
  constexpr std::size_t kMaxValue = 256;  // longer values are none of ours
  std::string_view found;
  std::size_t i = 0;
  while (i + kAttr.size() <= xml.size()) {
    std::size_t at = i;
    while (at < xml.size() && lowerAscii(xml[at]) != 'c') ++at;
    if (at + kAttr.size() > xml.size()) break;
    i = at + 1;
    if (!equalsNoCase(xml.substr(at, kAttr.size()), kAttr)) continue;
    std::size_t j = at + kAttr.size();
    while (j < xml.size() && isSpace(xml[j])) ++j;
    if (j >= xml.size() || xml[j] != '=') continue;
    ++j;
    while (j < xml.size() && isSpace(xml[j])) ++j;
    if (j >= xml.size() || (xml[j] != '"' && xml[j] != '\'')) continue;
    const char quote = xml[j++];
    const std::string_view rest = xml.substr(j, std::min(kMaxValue, xml.size() - j));
    const std::size_t end = rest.find(quote);
    if (end == std::string_view::npos) continue;
    const std::string_view value = rest.substr(0, end);
    i = j + end + 1;
    for (const auto& [type, token] : kOoxmlMainTypes) {
      if (!equalsNoCase(value, type)) continue;
      if (!found.empty() && found != token) return "ooxml";
      found = token;
    }
  }
  return found.empty() ? "ooxml"sv : found;
}

std::string_view sniffZip(std::string_view d, const Limits& limits) {
  zip_error_t err;
  zip_error_init(&err);
  // freep = 0: libzip reads the caller's buffer in place, nothing is copied.
  zip_source_t* src = zip_source_buffer_create(d.data(), d.size(), 0, &err);
  if (src == nullptr) {
    zip_error_fini(&err);
    return "zip";
  }
  zip_t* za = zip_open_from_source(src, ZIP_RDONLY, &err);
  zip_error_fini(&err);
  if (za == nullptr) {
    // On failure the source stays ours. A zip libzip refuses is still a zip: the zip
    // sanitizer decides what to do with it.
    zip_source_free(src);
    return "zip";
  }
  const ZipCloser closer{za};

  const zip_int64_t total = zip_get_num_entries(za, 0);
  const std::uint64_t bound =
      std::max<std::uint64_t>(kMinZipEntriesExamined, std::uint64_t{limits.maxParts} *
                                                          kZipEntriesPerPart);
  const std::uint64_t n = total < 0 ? 0 : std::min<std::uint64_t>(std::uint64_t(total), bound);

  bool encrypted = false, manifestMf = false, javaClass = false, androidManifest = false,
       classesDex = false;
  std::optional<zip_uint64_t> contentTypes, mimetype;
  for (zip_uint64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(za, i, ZIP_FL_ENC_RAW, &st) != 0) continue;
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
      encrypted = true;
    }
    if (!(st.valid & ZIP_STAT_NAME) || st.name == nullptr) continue;
    const std::string_view name(st.name);
    // OPC part names are case-insensitive; so, for the checks that matter, is Java.
    if (equalsNoCase(name, "[Content_Types].xml") && !contentTypes) contentTypes = i;
    if (name == "mimetype" && !mimetype) mimetype = i;
    if (equalsNoCase(name, "META-INF/MANIFEST.MF")) manifestMf = true;
    if (endsWithNoCase(name, ".class")) javaClass = true;
    if (equalsNoCase(name, "AndroidManifest.xml")) androidManifest = true;
    if (equalsNoCase(name, "classes.dex")) classesDex = true;
  }

  // Encrypted entries cannot be inspected, so nothing else about the archive can be trusted.
  if (encrypted) return "zip-encrypted";
  // Executable content outranks a document reading of the same bytes: a docx that is also a
  // runnable jar is a polyglot and is named by its more dangerous face.
  if (androidManifest && classesDex) return "apk";
  if (manifestMf || javaClass) return "jar";
  if (contentTypes) return ooxmlKind(readZipEntry(za, *contentTypes, kMaxContentTypesBytes));
  // ODF puts "mimetype" first; LibreOffice opens the package whatever its position, so the
  // position is not required here.
  if (mimetype) {
    const std::string type = readZipEntry(za, *mimetype, kMaxMimetypeBytes);
    if (startsWithNoCase(type, "application/vnd.oasis.opendocument.")) return "odf";
  }
  return "zip";
}

// ---- Other binary formats -----------------------------------------------------------------

// Fat Mach-O and Java class files share 0xCAFEBABE. The next big-endian word is the number of
// architectures in a fat binary (a handful) but minor<<16|major in a class file (major ≥ 45).
std::string_view sniffCafeBabe(std::string_view d) {
  if (d.size() < 8) return "java-class";
  const std::uint32_t v = be32(d, 4);
  return (v >= 1 && v <= 30) ? "macho"sv : "java-class"sv;
}

bool isBmp(std::string_view d) {
  if (d.size() < 26 || !hasAt(d, 0, "BM")) return false;
  const std::uint32_t dib = le32(d, 14);
  constexpr std::uint32_t kDibSizes[] = {12, 16, 40, 52, 56, 64, 108, 124};
  if (std::find(std::begin(kDibSizes), std::end(kDibSizes), dib) == std::end(kDibSizes)) {
    return false;
  }
  return le32(d, 10) >= 14 + dib;  // pixel data comes after both headers
}

bool isIco(std::string_view d) {
  if (d.size() < 22 || !hasAt(d, 0, "\0\0\1\0"sv)) return false;
  const std::uint16_t count = le16(d, 4);
  if (count == 0) return false;
  const std::uint8_t reserved = byteAt(d, 6 + 3);
  const std::uint16_t planes = le16(d, 6 + 4);
  return reserved == 0 && planes <= 1 && le32(d, 6 + 12) >= 6 + 16u * count;
}

bool isBzip2(std::string_view d) {
  if (!hasAt(d, 0, "BZh") || d.size() < 4 || d[3] < '1' || d[3] > '9') return false;
  if (d.size() < 10) return true;
  // A block header (BCD pi) or an end-of-stream marker (BCD sqrt pi) follows the level.
  return hasAt(d, 4, "\x31\x41\x59\x26\x53\x59") || hasAt(d, 4, "\x17\x72\x45\x38\x50\x90");
}

bool isLzh(std::string_view d) {
  if (d.size() < 7 || d[2] != '-' || d[3] != 'l' || d[6] != '-') return false;
  return d[4] == 'h' || d[4] == 'z';
}

// DER/BER ContentInfo: SEQUENCE, then OID 1.2.840.113549.1.7.{2 signed, 3 enveloped,
// 4 signed-and-enveloped} near the start.
bool isPkcs7Der(std::string_view d) {
  if (byteAt(d, 0) != 0x30) return false;
  constexpr std::string_view kOid = "\x06\x09\x2A\x86\x48\x86\xF7\x0D\x01\x07"sv;
  const std::string_view head = d.substr(0, std::min(d.size(), kPkcs7OidWindow));
  for (std::size_t pos = head.find(kOid); pos != std::string_view::npos;
       pos = head.find(kOid, pos + 1)) {
    const std::uint8_t kind = byteAt(head, pos + kOid.size());
    if (kind >= 2 && kind <= 4) return true;
  }
  return false;
}

std::optional<std::string_view> sniffMagic(std::string_view d, const Limits& limits) {
  // Executables and shortcuts first: when bytes could be read two ways, the more dangerous
  // reading names them.
  if (hasAt(d, 0, "MZ")) return "pe";  // with or without a valid e_lfanew → "PE\0\0"
  if (hasAt(d, 0, "\x7F" "ELF")) return "elf";
  if (hasAt(d, 0, "\xFE\xED\xFA\xCE") || hasAt(d, 0, "\xCE\xFA\xED\xFE") ||
      hasAt(d, 0, "\xFE\xED\xFA\xCF") || hasAt(d, 0, "\xCF\xFA\xED\xFE") ||
      hasAt(d, 0, "\xCA\xFE\xBA\xBF")) {
    return "macho";
  }
  if (hasAt(d, 0, "\xCA\xFE\xBA\xBE")) return sniffCafeBabe(d);
  if (hasAt(d, 0, "#!")) return "script";
  if (hasAt(d, 0, "\x4C\0\0\0\x01\x14\x02\0"sv)) return "lnk";
  if (hasAt(d, 0, "\0asm"sv)) return "wasm";
  if (hasAt(d, 0, "ITSF")) return "chm";

  if (hasAt(d, 0, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")) return sniffCompoundFile(d);
  if (hasAt(d, 0, "PK\3\4") || hasAt(d, 0, "PK\5\6") || hasAt(d, 0, "PK\7\x08")) {
    return sniffZip(d, limits);
  }
  if (hasAt(d, 0, "%PDF-")) return "pdf";
  // Word reads "{\rt" as RTF; the final "f" is not checked, and attackers know it.
  if (hasAt(d, 0, "{\\rt")) return "rtf";

  if (hasAt(d, 0, "\x89PNG\r\n\x1A\n")) return "png";
  if (hasAt(d, 0, "\xFF\xD8\xFF")) return "jpeg";
  if (hasAt(d, 0, "GIF87a") || hasAt(d, 0, "GIF89a")) return "gif";
  if (hasAt(d, 0, "RIFF") && hasAt(d, 8, "WEBP")) return "webp";
  if (hasAt(d, 0, "II*\0"sv) || hasAt(d, 0, "MM\0*"sv) || hasAt(d, 0, "II+\0"sv) ||
      hasAt(d, 0, "MM\0+"sv)) {
    return "tiff";
  }
  if (isBmp(d)) return "bmp";
  if (isIco(d)) return "ico";

  if (hasAt(d, 0, "Rar!\x1A\x07")) return "rar";
  if (hasAt(d, 0, "7z\xBC\xAF\x27\x1C")) return "7z";
  if (hasAt(d, 0, "\x1F\x8B\x08")) return "gzip";
  if (isBzip2(d)) return "bzip2";
  if (hasAt(d, 0, "\xFD" "7zXZ\0"sv)) return "xz";
  if (hasAt(d, 0, "\x28\xB5\x2F\xFD")) return "zstd";
  if (isLzh(d)) return "lzh";
  if (hasAt(d, 0, "MSCF\0\0\0\0"sv)) return "cab";
  if (hasAt(d, 257, "ustar")) return "tar";
  if (hasAt(d, 0, "\x78\x9F\x3E\x22")) return "tnef";
  // OneNote section {7B5C52E4-D88C-4DA7-AEB1-5378D02996D3} and table of contents
  // {43FF2FA1-EFD9-4C76-9EE2-10EA5722765F}, as stored (little-endian GUID fields).
  if (hasAt(d, 0, "\xE4\x52\x5C\x7B\x8C\xD8\xA7\x4D\xAE\xB1\x53\x78\xD0\x29\x96\xD3") ||
      hasAt(d, 0, "\xA1\x2F\xFF\x43\xD9\xEF\x76\x4C\x9E\xE2\x10\xEA\x57\x22\x76\x5F")) {
    return "onenote";
  }
  if (isPkcs7Der(d)) return "pkcs7";
  return std::nullopt;
}

// ---- Text-like content --------------------------------------------------------------------

// The first kTextSample bytes after any BOM, in an ASCII-compatible form: UTF-16 is narrowed
// (characters above U+007F become 0x80) so that one set of checks serves every encoding.
struct TextSample {
  std::string narrowed;   // only for UTF-16
  std::string_view text;  // what the checks read
  bool utf16 = false;
  bool hasBom = false;
  bool hasNul = false;
  std::size_t controls = 0;  // C0 controls other than TAB LF FF CR ESC
};

bool isTextControl(std::uint32_t c) {
  return c < 0x20 && c != '\t' && c != '\n' && c != '\f' && c != '\r' && c != 0x1B;
}

TextSample takeTextSample(std::string_view d) {
  TextSample s;
  const bool le = hasAt(d, 0, "\xFF\xFE");
  const bool be = hasAt(d, 0, "\xFE\xFF");
  if (le || be) {
    s.utf16 = s.hasBom = true;
    const std::string_view body = d.substr(2, std::min(d.size() - 2, kTextSample));
    s.narrowed.reserve(body.size() / 2);
    for (std::size_t i = 0; i + 1 < body.size(); i += 2) {
      const std::uint32_t u = le ? le16(body, i)
                                 : static_cast<std::uint32_t>((byteAt(body, i) << 8) |
                                                              byteAt(body, i + 1));
      if (u == 0) s.hasNul = true;
      if (isTextControl(u)) ++s.controls;
      s.narrowed.push_back(u < 0x80 ? static_cast<char>(u) : '\x80');
    }
    s.text = s.narrowed;
    return s;
  }
  std::size_t start = 0;
  if (hasAt(d, 0, "\xEF\xBB\xBF")) {
    start = 3;
    s.hasBom = true;
  }
  s.text = d.substr(start, std::min(d.size() - start, kTextSample));
  for (const char c : s.text) {
    const auto u = static_cast<std::uint8_t>(c);
    if (u == 0) s.hasNul = true;
    if (isTextControl(u)) ++s.controls;
  }
  return s;
}

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == ':' || c == '_' || c == '-' || c == '.';
}

// Element name at `s[i]` (just after '<') when it is followed by whitespace, '>', '/' or the
// end of the sample; empty otherwise.
std::string_view tagNameAt(std::string_view s, std::size_t i) {
  std::size_t j = i;
  while (j < s.size() && isNameChar(s[j])) ++j;
  if (j == i) return {};
  if (j < s.size() && !isSpace(s[j]) && s[j] != '>' && s[j] != '/') return {};
  return s.substr(i, j - i);
}

std::string_view localName(std::string_view name) {
  const auto colon = name.rfind(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

// Elements whose appearance first in a document makes a browser (or a mail client) render it
// as HTML: the WHATWG sniffing list plus common body-level tags.
bool isHtmlTag(std::string_view name) {
  constexpr std::string_view kTags[] = {
      "html", "head", "body", "script", "iframe", "table", "div", "a", "p", "br", "font",
      "style", "title", "b", "h1", "h2", "h3", "h4", "h5", "h6", "meta", "link", "form",
      "img", "base", "frameset", "frame", "object", "embed", "applet", "center", "span", "i",
      "u", "em", "strong", "ul", "ol", "li", "pre", "hr", "noscript", "template", "input",
      "button", "textarea", "xmp", "plaintext", "marquee", "blockquote", "section", "article"};
  for (const auto t : kTags) {
    if (equalsNoCase(name, t)) return true;
  }
  return false;
}

// Markup that is not the root reading decides: XHTML in any element (browsers run namespaced
// XHTML script inside any XML document), then an svg element, else plain XML.
std::string_view xmlFlavour(std::string_view s) {
  if (containsNoCase(s, "http://www.w3.org/1999/xhtml")) return "html";
  if (containsNoCase(s, "http://www.w3.org/2000/svg")) return "svg";
  for (std::size_t i = s.find('<'); i != std::string_view::npos; i = s.find('<', i + 1)) {
    if (equalsNoCase(localName(tagNameAt(s, i + 1)), "svg")) return "svg";
  }
  return "xml";
}

// "html", "svg", "xml" when `s` (leading whitespace removed) starts like markup, else empty.
// Walks the prolog (XML declaration, processing instructions, comments, doctype) to the first
// element and names the document by it.
std::string_view sniffMarkup(std::string_view s) {
  bool xmlish = false, sawComment = false;
  std::size_t i = 0;
  for (std::size_t step = 0; step < kMaxMarkupSteps; ++step) {
    while (i < s.size() && isSpace(s[i])) ++i;
    if (i >= s.size() || s[i] != '<') break;
    const std::string_view rest = s.substr(i);
    if (hasAt(rest, 0, "<?")) {
      if (startsWithNoCase(rest, "<?xml")) xmlish = true;
      const auto end = s.find("?>", i + 2);
      i = end == std::string_view::npos ? s.size() : end + 2;
      continue;
    }
    if (hasAt(rest, 0, "<!--")) {
      sawComment = true;
      const auto end = s.find("-->", i + 4);
      i = end == std::string_view::npos ? s.size() : end + 3;
      continue;
    }
    if (startsWithNoCase(rest, "<!doctype")) {
      std::size_t j = i + 9;
      while (j < s.size() && isSpace(s[j])) ++j;
      const std::string_view name = tagNameAt(s, j);
      if (equalsNoCase(name, "html")) return "html";
      if (equalsNoCase(localName(name), "svg")) return "svg";
      xmlish = true;
      // Skip an internal subset, which may itself contain '>'.
      const auto close = s.find_first_of("[>", i + 9);
      if (close == std::string_view::npos) {
        i = s.size();
      } else if (s[close] == '[') {
        const auto end = s.find("]", close);
        const auto gt = end == std::string_view::npos ? end : s.find('>', end);
        i = gt == std::string_view::npos ? s.size() : gt + 1;
      } else {
        i = close + 1;
      }
      continue;
    }
    const std::string_view name = tagNameAt(s, i + 1);
    if (name.empty()) break;
    const std::string_view local = localName(name);
    if (equalsNoCase(local, "svg")) return "svg";
    if (equalsNoCase(local, "html")) return "html";
    if (xmlish) return xmlFlavour(s);
    // WHATWG: a leading comment already makes the document HTML.
    if (sawComment || isHtmlTag(name)) return "html";
    return {};
  }
  if (xmlish) return xmlFlavour(s);
  if (sawComment) return "html";
  return {};
}

// RFC 5322: the text opens with a run of header fields (an mbox "From " line may precede) and
// either at least two distinct fields of a real message are among them, or one is a
// Content-Type naming a multipart or message body. The latter catches bare MIME entities
// ("Content-Type: multipart/mixed; boundary=…"): a mail client opening one as .eml shows its
// parts, so it must not pass as plain text.
bool looksLikeMessage(std::string_view t) {
  constexpr std::string_view kFields[] = {"from",         "to",          "subject",
                                          "date",         "message-id",  "received",
                                          "mime-version", "return-path", "content-type"};
  unsigned seen = 0;
  bool container = false;
  std::size_t pos = 0;
  if (hasAt(t, 0, "From ")) {
    const auto eol = t.find('\n');
    if (eol == std::string_view::npos) return false;
    pos = eol + 1;
  }
  bool first = true;
  for (std::size_t lines = 0; pos < t.size() && lines < kMaxHeaderLines; ++lines) {
    const auto eol = t.find('\n', pos);
    std::string_view line = t.substr(pos, eol == std::string_view::npos ? t.npos : eol - pos);
    pos = eol == std::string_view::npos ? t.size() : eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header block
    // Lenient readers (and some archived samples) tolerate lines of blanks before the header.
    if (first && skipSpace(line).empty()) continue;
    if (line[0] == ' ' || line[0] == '\t') {
      if (first) return false;  // a continuation cannot open a message
      continue;
    }
    first = false;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) break;
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    const bool valid = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return static_cast<std::uint8_t>(c) > 32 && static_cast<std::uint8_t>(c) < 127;
    });
    if (!valid) break;
    for (std::size_t k = 0; k < std::size(kFields); ++k) {
      if (equalsNoCase(name, kFields[k])) seen |= 1u << k;
    }
    if (equalsNoCase(name, "content-type")) {
      const std::string_view value = skipSpace(line.substr(colon + 1));
      if (startsWithNoCase(value, "multipart/") || startsWithNoCase(value, "message/")) {
        container = true;
      }
    }
  }
  int distinct = 0;
  for (unsigned b = seen; b != 0; b &= b - 1) ++distinct;
  return container || distinct >= 2;
}

std::string_view sniffText(std::string_view d) {
  const TextSample sample = takeTextSample(d);
  const std::string_view t = sample.text;
  if (hasAt(t, 0, "#!")) return "script";
  const std::string_view s = skipSpace(t);
  if (hasAt(s, 0, "{\\rt")) return "rtf";
  if (hasAt(s, 0, "-----BEGIN PGP")) return "pgp";
  if (hasAt(s, 0, "-----BEGIN PKCS7") || hasAt(s, 0, "-----BEGIN CMS")) return "pkcs7";
  if (const auto markup = sniffMarkup(s); !markup.empty()) return markup;
  if (startsWithNoCase(s, "BEGIN:VCALENDAR")) return "calendar";
  if (startsWithNoCase(s, "BEGIN:VCARD")) return "vcard";
  if (looksLikeMessage(t)) return "eml";
  // Text: no NUL (UTF-16 has been narrowed already, so its NULs are real U+0000) and at most
  // 1 % C0 controls. High bytes are any legacy encoding (Shift_JIS, EUC-JP) or UTF-8, and ESC
  // is ISO-2022-JP; none of them make text binary.
  if (sample.hasNul) return "unknown";
  const std::size_t n = t.size();
  if (n == 0) return sample.hasBom ? "text" : "unknown";
  if (sample.controls * 100 > n) return "unknown";
  return "text";
}

std::string_view sniffImpl(std::string_view d, const Limits& limits, bool latePdf) {
  if (d.empty()) return "empty";
  if (const auto disk = sniffDiskImage(d)) return *disk;
  if (const auto magic = sniffMagic(d, limits)) return *magic;
  if (latePdf && d.substr(0, kPdfHeaderWindow).find("%PDF-") != std::string_view::npos) {
    return "pdf";
  }
  return sniffText(d);
}

// ---- Families and names -------------------------------------------------------------------

constexpr std::pair<std::string_view, std::string_view> kFamilies[] = {
    {"empty", "other"},         {"text", "text"},
    {"html", "html"},           {"xml", "other"},
    {"svg", "html"},            {"rtf", "office-legacy"},
    {"calendar", "calendar"},   {"vcard", "calendar"},
    {"eml", "mail"},            {"pdf", "pdf"},
    {"png", "image"},           {"jpeg", "image"},
    {"gif", "image"},           {"bmp", "image"},
    {"webp", "image"},          {"tiff", "image"},
    {"ico", "image"},           {"zip", "archive"},
    {"zip-encrypted", "encrypted"}, {"docx", "document"},
    {"docm", "document"},       {"dotx", "document"},
    {"dotm", "document"},       {"xlsx", "document"},
    {"xlsm", "document"},       {"xltx", "document"},
    {"xltm", "document"},       {"pptx", "document"},
    {"pptm", "document"},       {"potx", "document"},
    {"potm", "document"},       {"ppsx", "document"},
    {"ppsm", "document"},       {"ooxml", "document"},
    {"odf", "document"},        {"jar", "executable"},
    {"apk", "executable"},      {"cfb", "office-legacy"},
    {"doc", "office-legacy"},   {"xls", "office-legacy"},
    {"ppt", "office-legacy"},   {"msg", "office-legacy"},
    {"ooxml-encrypted", "encrypted"}, {"pe", "executable"},
    {"elf", "executable"},      {"macho", "executable"},
    {"java-class", "executable"}, {"script", "script"},
    {"lnk", "shortcut"},        {"iso9660", "disk-image"},
    {"udf", "disk-image"},      {"dmg", "disk-image"},
    {"vhd", "disk-image"},      {"rar", "archive"},
    {"7z", "archive"},          {"gzip", "archive"},
    {"bzip2", "archive"},       {"xz", "archive"},
    {"zstd", "archive"},        {"lzh", "archive"},
    {"cab", "archive"},         {"tar", "archive"},
    {"tnef", "mail"},           {"onenote", "office-legacy"},
    {"chm", "executable"},      {"wasm", "executable"},
    {"pkcs7", "encrypted"},     {"pgp", "encrypted"},
    {"unknown", "other"},
};

constexpr auto kTokens = [] {
  std::array<std::string_view, std::size(kFamilies)> t{};
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = kFamilies[i].first;
  return t;
}();

// Extensions (lower case) that are never delivered whatever the content: Windows executables
// and installers, script hosts, shortcuts and URL/search handlers, disk images that mount as
// drives, compiled help, OneNote, Office add-ins and query files, Unix/mobile executables and
// scripts, and HTML-like files (HTML attachments are removed by policy). Archives are not here:
// their content is sniffed and sanitized.
constexpr std::string_view kDangerousExtensions[] = {
    // Windows executables, libraries, installers, control panel, drivers.
    "exe", "com", "scr", "pif", "cpl", "msi", "msp", "mst", "msu", "dll", "sys", "drv", "ocx",
    "appx", "appxbundle", "msix", "msixbundle", "application", "appref-ms", "xbap", "vsto",
    "gadget", "diagcab", "msc", "reg", "inf", "ins", "isp", "jnlp",
    // Script hosts.
    "bat", "cmd", "ps1", "psm1", "psd1", "ps1xml", "ps2", "ps2xml", "psc1", "psc2", "vb",
    "vbs", "vbe", "js", "jse", "ws", "wsf", "wsh", "wsc", "wsb", "hta", "sct", "msh", "msh1",
    "msh2", "mshxml", "msh1xml", "msh2xml", "shb", "shs", "bas",
    // Java and other runtimes.
    "jar", "class",
    // Shortcuts and shell handlers.
    "lnk", "url", "website", "scf", "settingcontent-ms", "library-ms", "search-ms",
    "searchconnector-ms", "desktop", "theme", "themepack", "rdp",
    // Disk images.
    "iso", "img", "vhd", "vhdx", "dmg",
    // Help, OneNote, Office add-ins and data-connection files.
    "chm", "hlp", "one", "onepkg", "xll", "xla", "xlam", "ppa", "ppam", "iqy", "slk", "dqy",
    "rqy", "oqy", "ade", "adp", "mde", "accde",
    // Unix, mobile and interpreted scripts.
    "sh", "bash", "csh", "ksh", "command", "py", "pyw", "pyc", "pyz", "pl", "rb", "php", "apk",
    "ipa", "app",
    // HTML-like content.
    "html", "htm", "xhtml", "xht", "shtml", "mht", "mhtml", "svg", "svgz"};

// Characters a mail client or a file system may drop or not show at the end of a name, as
// UTF-8: NBSP, Mongolian vowel separator, zero-width and bidi marks, embeddings/overrides,
// word joiner and invisible operators, isolates, ideographic space, BOM, fullwidth full stop.
constexpr std::string_view kInvisibleSuffixes[] = {
    "\xC2\xA0",     "\xE1\xA0\x8E", "\xE2\x80\x8B", "\xE2\x80\x8C", "\xE2\x80\x8D",
    "\xE2\x80\x8E", "\xE2\x80\x8F", "\xE2\x80\xAA", "\xE2\x80\xAB", "\xE2\x80\xAC",
    "\xE2\x80\xAD", "\xE2\x80\xAE", "\xE2\x81\xA0", "\xE2\x81\xA1", "\xE2\x81\xA2",
    "\xE2\x81\xA3", "\xE2\x81\xA4", "\xE2\x81\xA6", "\xE2\x81\xA7", "\xE2\x81\xA8",
    "\xE2\x81\xA9", "\xE3\x80\x80", "\xEF\xBB\xBF", "\xEF\xBC\x8E"};

// One file name after dropping what Windows drops (trailing dots and spaces) and what the
// reader cannot see (kInvisibleSuffixes).
std::string_view visibleEnd(std::string_view name) {
  for (bool changed = true; changed && !name.empty();) {
    changed = false;
    const char last = name.back();
    if (last == '.' || last == ' ' || last == '\t' || last == '\r' || last == '\n' ||
        last == '\0') {
      name.remove_suffix(1);
      changed = true;
      continue;
    }
    for (const auto suffix : kInvisibleSuffixes) {
      if (name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
        name.remove_suffix(suffix.size());
        changed = true;
        break;
      }
    }
  }
  return name;
}

bool dangerousFinalExtension(std::string_view name) {
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return false;
  const std::string_view ext = name.substr(dot + 1);
  for (const auto e : kDangerousExtensions) {
    if (equalsNoCase(ext, e)) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string_view> nameReadings(std::string_view name) {
  // Only the last path component names the file.
  if (const auto slash = name.find_last_of("/\\"); slash != std::string_view::npos) {
    name = name.substr(slash + 1);
  }
  std::vector<std::string_view> readings{visibleEnd(name)};
  // NTFS reads "a.exe:stream" and "a.exe::$DATA" as (a stream of) a.exe, while a client that
  // replaces the colon saves "a_stream" under the full name: both readings are judged.
  if (const auto colon = name.find(':'); colon != std::string_view::npos) {
    readings.push_back(visibleEnd(name.substr(0, colon)));
  }
  return readings;
}

namespace {

bool dangerousExtension(std::string_view name) {
  for (const auto reading : nameReadings(name)) {
    if (dangerousFinalExtension(reading)) return true;
  }
  return false;
}

}  // namespace

std::string sniff(std::string_view bytes, const Limits& limits) {
  try {
    return std::string(sniffImpl(bytes, limits, true));
  } catch (...) {
    // Only allocation can fail in here; an unnamed type is removed downstream.
    return "unknown";
  }
}

std::string sniffBody(std::string_view bytes, const Limits& limits) {
  try {
    return std::string(sniffImpl(bytes, limits, false));
  } catch (...) {
    return "unknown";
  }
}

std::string_view familyOf(std::string_view token) {
  for (const auto& [t, family] : kFamilies) {
    if (t == token) return family;
  }
  return "other";
}

std::span<const std::string_view> sniffTokens() { return kTokens; }

bool hasDangerousExtension(std::string_view name) {
  try {
    return dangerousExtension(name);
  } catch (...) {
    return true;  // only allocation can fail; fail closed all the same
  }
}

}  // namespace mugai::core
