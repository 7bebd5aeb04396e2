// Zip rebuilding: our own bounded structure check first, then libzip to inflate and to write.
#include "sanitizers/zip/zip_sanitizer.h"

#include <glib.h>
#include <zip.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/charset.h"
#include "core/sniff.h"
#include "core/zip_writer.h"

namespace mugai::sanitizers::zip {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint32_t kSigLocal = 0x04034b50;
constexpr std::uint32_t kSigCentral = 0x02014b50;
constexpr std::uint32_t kSigEnd = 0x06054b50;
constexpr std::uint32_t kSigZip64End = 0x06064b50;
constexpr std::uint32_t kSigZip64Locator = 0x07064b50;
constexpr std::uint32_t kSigDescriptor = 0x08074b50;
constexpr std::string_view kEndSigBytes("PK\x05\x06", 4);

constexpr std::uint64_t kEndSize = 22;
constexpr std::uint64_t kCentralSize = 46;
constexpr std::uint64_t kLocalSize = 30;
constexpr std::uint64_t kLocatorSize = 20;
constexpr std::uint64_t kZip64EndMin = 56;
constexpr std::uint64_t kMaxCommentBytes = 0xFFFF;

constexpr std::uint16_t kFlagEncrypted = 0x0001;
constexpr std::uint16_t kFlagDescriptor = 0x0008;
constexpr std::uint16_t kFlagStrongEncryption = 0x0040;
constexpr std::uint16_t kFlagUtf8 = 0x0800;
constexpr std::uint16_t kFlagMaskedHeaders = 0x2000;
constexpr std::uint16_t kMethodStore = 0;
constexpr std::uint16_t kMethodDeflate = 8;
constexpr std::uint16_t kMethodAes = 99;
constexpr std::uint16_t kExtraZip64 = 0x0001;
constexpr std::uint16_t kExtraUnicodePath = 0x7075;

// A path longer than any file system accepts is not a benign name.
constexpr std::size_t kMaxNameBytes = 1024;
// Members are read in pieces of this size, so that a limit is noticed at most one piece late.
constexpr std::size_t kChunk = 64 * 1024;
// Fast deflate: the gateway's time matters more than a few percent of size.
constexpr int kDeflateLevel = 1;
// " (2)" … " (N)" are tried when a renamed member clashes with another name.
constexpr int kMaxRenameTries = 64;

// ---- Refusals ---------------------------------------------------------------------------------

struct Refusal {
  std::string reason;
  std::string detail;
};

using Check = std::optional<Refusal>;

Check refuse(std::string reason, std::string detail) {
  return Refusal{std::move(reason), std::move(detail)};
}

// ---- The byte budget shared by nested zips ----------------------------------------------------

// A zip nested in a zip comes back to sanitize() through the dispatcher on the same thread. The
// outermost call owns the budget; nested calls charge it too, so maxArchiveTotalBytes bounds the
// inflation of the whole tree of one attachment, not of each archive separately (a 42.zip-style
// tree of small bombs is stopped after one archive's worth of bytes).
struct Budget {
  std::uint64_t limit = 0;
  std::uint64_t used = 0;
};

thread_local Budget* tBudget = nullptr;

class BudgetScope {
 public:
  explicit BudgetScope(std::uint64_t limit) {
    if (tBudget == nullptr) {
      own_.limit = limit;
      tBudget = &own_;
      owner_ = true;
    }
  }
  ~BudgetScope() {
    if (owner_) tBudget = nullptr;
  }
  BudgetScope(const BudgetScope&) = delete;
  BudgetScope& operator=(const BudgetScope&) = delete;
  Budget& budget() { return *tBudget; }

 private:
  Budget own_;
  bool owner_ = false;
};

// ---- Bounded little-endian reads ----------------------------------------------------------------

class Bytes {
 public:
  explicit Bytes(std::string_view d) : d_(d) {}
  std::uint64_t size() const { return d_.size(); }
  bool has(std::uint64_t pos, std::uint64_t n) const {
    return pos <= d_.size() && n <= d_.size() - pos;
  }
  // Callers check has() first; out-of-range reads return 0 rather than touching memory.
  std::uint16_t u16(std::uint64_t pos) const {
    if (!has(pos, 2)) return 0;
    return static_cast<std::uint16_t>(byte(pos) | (byte(pos + 1) << 8));
  }
  std::uint32_t u32(std::uint64_t pos) const {
    if (!has(pos, 4)) return 0;
    return static_cast<std::uint32_t>(u16(pos)) | (static_cast<std::uint32_t>(u16(pos + 2)) << 16);
  }
  std::uint64_t u64(std::uint64_t pos) const {
    if (!has(pos, 8)) return 0;
    return static_cast<std::uint64_t>(u32(pos)) | (static_cast<std::uint64_t>(u32(pos + 4)) << 32);
  }
  std::string_view view(std::uint64_t pos, std::uint64_t n) const {
    if (!has(pos, n)) return {};
    return d_.substr(static_cast<std::size_t>(pos), static_cast<std::size_t>(n));
  }

 private:
  unsigned byte(std::uint64_t pos) const {
    return static_cast<unsigned char>(d_[static_cast<std::size_t>(pos)]);
  }
  std::string_view d_;
};

// ---- Small helpers ----------------------------------------------------------------------------

std::uint32_t crc32(std::string_view s) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (const char ch : s) c = table[(c ^ static_cast<unsigned char>(ch)) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

// True when `inflated` is more than `ratio` times `compressed` (a zero compressed size counts as
// one byte), without overflowing.
bool overRatio(std::uint64_t inflated, std::uint64_t compressed, std::uint64_t ratio) {
  const std::uint64_t c = std::max<std::uint64_t>(compressed, 1);
  const std::uint64_t q = inflated / c;
  return q > ratio || (q == ratio && inflated % c != 0);
}

bool isAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c & 0x80) == 0; });
}

bool validUtf8(std::string_view s) {
  return g_utf8_validate(s.data(), static_cast<gssize>(s.size()), nullptr);
}

char lowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool endsWithNoCase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (std::size_t i = 0; i < suffix.size(); ++i) {
    if (lowerAscii(s[s.size() - suffix.size() + i]) != suffix[i]) return false;
  }
  return true;
}

// GLib allocations as std::string; empty on failure (invalid UTF-8 never reaches here).
std::string takeGString(gchar* p) {
  if (p == nullptr) return {};
  std::string s(p);
  g_free(p);
  return s;
}

std::string nfc(std::string_view utf8) {
  return takeGString(
      g_utf8_normalize(utf8.data(), static_cast<gssize>(utf8.size()), G_NORMALIZE_NFC));
}

std::string fold(std::string_view utf8) {
  const std::string n = nfc(utf8);
  return takeGString(g_utf8_casefold(n.data(), static_cast<gssize>(n.size())));
}

// Windows drops trailing dots and spaces from every path component ("a.txt. " is "a.txt").
std::string_view stripTrailingDotsSpaces(std::string_view comp) {
  while (!comp.empty() && (comp.back() == '.' || comp.back() == ' ')) comp.remove_suffix(1);
  return comp;
}

std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(path.substr(start));
      return out;
    }
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
}

std::string_view baseName(std::string_view path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view folderOf(std::string_view path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash + 1);
}

// The comparison key of a path: what Windows and macOS would treat as the same file.
std::string pathKey(std::string_view path) {
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  std::string key;
  for (const std::string_view comp : splitPath(path)) {
    if (!key.empty()) key += '/';
    key += fold(stripTrailingDotsSpaces(comp));
  }
  return key;
}

bool isDeviceName(std::string_view comp) {
  // The part before the first dot, without trailing spaces, is what Windows compares.
  std::string stem(comp.substr(0, comp.find('.')));
  while (!stem.empty() && stem.back() == ' ') stem.pop_back();
  for (char& c : stem) c = lowerAscii(c);
  static constexpr std::array<std::string_view, 6> kPlain = {"con", "prn",    "aux",
                                                             "nul", "conin$", "conout$"};
  if (std::find(kPlain.begin(), kPlain.end(), stem) != kPlain.end()) return true;
  return stem.size() == 4 && (stem.rfind("com", 0) == 0 || stem.rfind("lpt", 0) == 0) &&
         stem[3] >= '1' && stem[3] <= '9';
}

// Code points a name must not contain: controls, and the invisible marks that make a name read
// differently from what it is (bidi overrides: "txt.exe" shown as "exe.txt").
bool forbiddenCodePoint(gunichar c) {
  if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) return true;
  if (c == 0x061C || c == 0x180E || c == 0xFEFF) return true;
  if (c >= 0x200B && c <= 0x200F) return true;
  if (c >= 0x202A && c <= 0x202E) return true;
  if (c >= 0x2060 && c <= 0x206F) return true;
  return false;
}

// Why `name` (valid UTF-8) could not be extracted safely and unambiguously, or nothing.
Check checkName(std::string_view name, bool isDir) {
  if (name.empty() || name == "/") return refuse("zip.bad_name", "(empty name)");
  if (name.size() > kMaxNameBytes) return refuse("zip.bad_name", "name too long");
  for (const char* p = name.data(); p < name.data() + name.size(); p = g_utf8_next_char(p)) {
    if (forbiddenCodePoint(g_utf8_get_char(p))) {
      return refuse("zip.bad_name", "control or invisible character in a name");
    }
  }
  if (name.find('\\') != std::string_view::npos) return refuse("zip.path_traversal", "backslash");
  if (name.front() == '/') return refuse("zip.path_traversal", "absolute path");
  if (name.size() >= 2 && name[1] == ':' &&
      ((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z'))) {
    return refuse("zip.path_traversal", "drive letter");
  }
  if (name.find(':') != std::string_view::npos) {
    return refuse("zip.bad_name", "colon in a name (alternate data stream)");
  }
  std::string_view body = name;
  if (isDir) body.remove_suffix(1);
  for (const std::string_view comp : splitPath(body)) {
    if (stripTrailingDotsSpaces(comp).empty()) {
      if (comp.find("..") != std::string_view::npos) {
        return refuse("zip.path_traversal", "\"..\" path component");
      }
      return refuse("zip.bad_name", "empty, \".\" or blank path component");
    }
    if (isDeviceName(comp)) return refuse("zip.bad_name", "Windows device name");
  }
  return std::nullopt;
}

// ---- The structure ----------------------------------------------------------------------------

struct Entry {
  std::uint16_t madeBy = 0;
  std::uint16_t flags = 0;
  std::uint16_t method = 0;
  std::uint32_t crc = 0;
  std::uint64_t csize = 0;
  std::uint64_t usize = 0;
  std::uint64_t offset = 0;
  std::uint32_t external = 0;
  std::string_view rawName;
  std::string_view extra;  // central directory extra fields
  std::uint16_t localFlags = 0;
  std::uint64_t dataStart = 0;
  std::uint64_t dataEnd = 0;
  bool isDir = false;
  std::string path;     // UTF-8, NFC: the name we extract and write
  std::string altPath;  // another name a reader may show (Info-ZIP Unicode Path field), or ""
  std::string unicodeName;  // a valid Unicode Path field's name as stored (libzip reports it)
};

struct Archive {
  std::uint64_t cdOffset = 0;
  std::uint64_t cdSize = 0;
  std::vector<Entry> entries;
};

// The value of extra field `id` in `extra`, or nullopt. A malformed tail ends the walk: writers
// such as zipalign pad with zeros, which must not make a benign archive unreadable.
std::optional<std::string_view> findExtra(std::string_view extra, std::uint16_t id) {
  const Bytes b(extra);
  std::uint64_t pos = 0;
  while (b.has(pos, 4)) {
    const std::uint16_t fid = b.u16(pos);
    const std::uint16_t len = b.u16(pos + 2);
    if (!b.has(pos + 4, len)) return std::nullopt;
    if (fid == id) return b.view(pos + 4, len);
    pos += 4 + len;
  }
  return std::nullopt;
}

std::string methodName(std::uint16_t m) {
  switch (m) {
    case 1:
      return "shrink";
    case 6:
      return "implode";
    case 9:
      return "deflate64";
    case 12:
      return "bzip2";
    case 14:
      return "lzma";
    case 93:
      return "zstd";
    case 95:
      return "xz";
    case 96:
      return "jpeg";
    case 97:
      return "wavpack";
    case 98:
      return "ppmd";
    default:
      return "method " + std::to_string(m);
  }
}

class Parser {
 public:
  Parser(std::string_view d, const core::Limits& limits) : b_(d), limits_(limits) {}

  Check parse(Archive& a) {
    if (auto r = endRecord(a)) return r;
    if (auto r = centralDirectory(a)) return r;
    for (const Entry& e : a.entries) {
      if ((e.flags & (kFlagEncrypted | kFlagStrongEncryption | kFlagMaskedHeaders)) ||
          e.method == kMethodAes) {
        return refuse("encrypted.zip", std::string(e.rawName));
      }
    }
    for (const Entry& e : a.entries) {
      if (e.method != kMethodStore && e.method != kMethodDeflate) {
        return refuse("zip.unsupported_method", methodName(e.method));
      }
    }
    for (Entry& e : a.entries) {
      if (auto r = localHeader(e)) return r;
    }
    if (auto r = layout(a)) return r;
    return declaredSizes(a);
  }

 private:
  // The end of central directory record (and its ZIP64 form): where the directory is, how many
  // entries it has. Exactly one end record may end the file.
  Check endRecord(Archive& a) {
    const std::uint64_t n = b_.size();
    if (n < kEndSize) return refuse("zip.invalid", "too short for a zip");
    const std::uint64_t lowest =
        n > kEndSize + kMaxCommentBytes ? n - kEndSize - kMaxCommentBytes : 0;
    std::vector<std::uint64_t> fitting;
    bool anySignature = false;
    for (std::uint64_t p = n - kEndSize + 1; p-- > lowest;) {
      if (b_.u32(p) != kSigEnd) continue;
      anySignature = true;
      if (p + kEndSize + b_.u16(p + 20) == n) fitting.push_back(p);
    }
    if (fitting.empty()) {
      return anySignature ? refuse("zip.junk_data", "bytes after the end record")
                          : refuse("zip.invalid", "no end of central directory record");
    }
    if (fitting.size() > 1) return refuse("zip.invalid", "more than one end record");
    const std::uint64_t e = fitting.front();
    const std::string_view comment = b_.view(e + kEndSize, b_.u16(e + 20));
    if (comment.find(kEndSigBytes) != std::string_view::npos) {
      return refuse("zip.invalid", "an end record signature inside the archive comment");
    }
    std::uint64_t disk = b_.u16(e + 4);
    std::uint64_t cdDisk = b_.u16(e + 6);
    std::uint64_t entriesHere = b_.u16(e + 8);
    std::uint64_t entries = b_.u16(e + 10);
    std::uint64_t cdSize = b_.u32(e + 12);
    std::uint64_t cdOffset = b_.u32(e + 16);
    std::uint64_t cdLimit = e;  // where the central directory must end

    if (e >= kLocatorSize && b_.u32(e - kLocatorSize) == kSigZip64Locator) {
      const std::uint64_t loc = e - kLocatorSize;
      const std::uint32_t locDisk = b_.u32(loc + 4);
      const std::uint64_t recPos = b_.u64(loc + 8);
      const std::uint32_t totalDisks = b_.u32(loc + 16);
      if (locDisk != 0 || totalDisks > 1) return refuse("zip.multidisk", "ZIP64 locator");
      if (!b_.has(recPos, kZip64EndMin) || b_.u32(recPos) != kSigZip64End) {
        return refuse("zip.invalid", "ZIP64 end record missing");
      }
      const std::uint64_t recSize = b_.u64(recPos + 4);
      if (recSize < kZip64EndMin - 12 || recSize > loc || recPos + 12 + recSize != loc) {
        return refuse("zip.junk_data", "bytes around the ZIP64 end record");
      }
      const std::uint64_t disk64 = b_.u32(recPos + 16);
      const std::uint64_t cdDisk64 = b_.u32(recPos + 20);
      const std::uint64_t here64 = b_.u64(recPos + 24);
      const std::uint64_t entries64 = b_.u64(recPos + 32);
      const std::uint64_t cdSize64 = b_.u64(recPos + 40);
      const std::uint64_t cdOffset64 = b_.u64(recPos + 48);
      // Fields the old record does not mark as "see ZIP64" must agree, or two readers would see
      // two different directories.
      const auto agree = [](std::uint64_t old, std::uint64_t maxOld, std::uint64_t v64) {
        return old == maxOld || old == v64;
      };
      if (!agree(disk, 0xFFFF, disk64) || !agree(cdDisk, 0xFFFF, cdDisk64) ||
          !agree(entriesHere, 0xFFFF, here64) || !agree(entries, 0xFFFF, entries64) ||
          !agree(cdSize, 0xFFFFFFFF, cdSize64) || !agree(cdOffset, 0xFFFFFFFF, cdOffset64)) {
        return refuse("zip.invalid", "the end record and the ZIP64 end record disagree");
      }
      disk = disk64;
      cdDisk = cdDisk64;
      entriesHere = here64;
      entries = entries64;
      cdSize = cdSize64;
      cdOffset = cdOffset64;
      cdLimit = recPos;
    } else if (cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF) {
      return refuse("zip.invalid", "ZIP64 values without a ZIP64 end record");
    }
    if (disk != 0 || cdDisk != 0 || entriesHere != entries) {
      return refuse("zip.multidisk", "the archive spans several disks");
    }
    if (entries > limits_.maxArchiveEntries) {
      return refuse("zip.too_many_entries", std::to_string(entries) +
                                                " entries (max_archive_entries " +
                                                std::to_string(limits_.maxArchiveEntries) + ")");
    }
    if (cdOffset > cdLimit || cdSize > cdLimit - cdOffset) {
      return refuse("zip.invalid", "central directory outside the file");
    }
    if (cdOffset + cdSize != cdLimit) {
      // The directory does not end where the end record starts: either everything is shifted
      // by bytes prepended to the archive (a self-extractor stub, a polyglot) or something sits
      // between the directory and the end record. Readers disagree on both.
      const std::uint64_t shifted = cdLimit - cdSize;
      if (b_.u32(shifted) == kSigCentral) {
        return refuse("zip.junk_data", "bytes before the first entry");
      }
      return refuse("zip.junk_data", "bytes between the central directory and the end record");
    }
    if (entries * kCentralSize > cdSize)
      return refuse("zip.invalid", "central directory too small");
    a.cdOffset = cdOffset;
    a.cdSize = cdSize;
    a.entries.reserve(static_cast<std::size_t>(entries));
    a.entries.resize(static_cast<std::size_t>(entries));
    return std::nullopt;
  }

  Check centralDirectory(Archive& a) {
    std::uint64_t pos = a.cdOffset;
    const std::uint64_t end = a.cdOffset + a.cdSize;
    for (Entry& e : a.entries) {
      if (!b_.has(pos, kCentralSize) || pos + kCentralSize > end || b_.u32(pos) != kSigCentral) {
        return refuse("zip.invalid", "broken central directory");
      }
      e.madeBy = b_.u16(pos + 4);
      e.flags = b_.u16(pos + 8);
      e.method = b_.u16(pos + 10);
      e.crc = b_.u32(pos + 16);
      e.csize = b_.u32(pos + 20);
      e.usize = b_.u32(pos + 24);
      const std::uint16_t nameLen = b_.u16(pos + 28);
      const std::uint16_t extraLen = b_.u16(pos + 30);
      const std::uint16_t commentLen = b_.u16(pos + 32);
      std::uint64_t disk = b_.u16(pos + 34);
      e.external = b_.u32(pos + 38);
      e.offset = b_.u32(pos + 42);
      const std::uint64_t varLen = std::uint64_t{nameLen} + extraLen + commentLen;
      if (pos + kCentralSize + varLen > end)
        return refuse("zip.invalid", "broken central directory");
      e.rawName = b_.view(pos + kCentralSize, nameLen);
      e.extra = b_.view(pos + kCentralSize + nameLen, extraLen);
      if (e.usize == 0xFFFFFFFF || e.csize == 0xFFFFFFFF || e.offset == 0xFFFFFFFF ||
          disk == 0xFFFF) {
        const auto z = findExtra(e.extra, kExtraZip64);
        if (!z) return refuse("zip.invalid", "ZIP64 extra field missing");
        const Bytes zb(*z);
        std::uint64_t zp = 0;
        const auto next64 = [&](std::uint64_t& v) {
          if (!zb.has(zp, 8)) return false;
          v = zb.u64(zp);
          zp += 8;
          return true;
        };
        if ((e.usize == 0xFFFFFFFF && !next64(e.usize)) ||
            (e.csize == 0xFFFFFFFF && !next64(e.csize)) ||
            (e.offset == 0xFFFFFFFF && !next64(e.offset))) {
          return refuse("zip.invalid", "ZIP64 extra field too short");
        }
        if (disk == 0xFFFF) {
          if (!zb.has(zp, 4)) return refuse("zip.invalid", "ZIP64 extra field too short");
          disk = zb.u32(zp);
        }
      }
      if (disk != 0) return refuse("zip.multidisk", "an entry starts on another disk");
      e.isDir = !e.rawName.empty() && e.rawName.back() == '/';
      pos += kCentralSize + varLen;
    }
    if (pos != end)
      return refuse("zip.invalid", "central directory size does not match its entries");
    return std::nullopt;
  }

  // The local header must say what the central directory says: a streaming reader (and many
  // scanners) use the local header alone.
  Check localHeader(Entry& e) {
    const std::uint64_t p = e.offset;
    const std::string name(e.rawName);
    if (!b_.has(p, kLocalSize) || b_.u32(p) != kSigLocal) {
      return refuse("zip.invalid", "no local header for " + name);
    }
    e.localFlags = b_.u16(p + 6);
    const std::uint16_t method = b_.u16(p + 8);
    const std::uint32_t crc = b_.u32(p + 14);
    std::uint64_t csize = b_.u32(p + 18);
    std::uint64_t usize = b_.u32(p + 22);
    const std::uint16_t nameLen = b_.u16(p + 26);
    const std::uint16_t extraLen = b_.u16(p + 28);
    if (!b_.has(p + kLocalSize, std::uint64_t{nameLen} + extraLen)) {
      return refuse("zip.invalid", "local header past the end for " + name);
    }
    if (b_.view(p + kLocalSize, nameLen) != e.rawName) {
      return refuse("zip.name_mismatch", name);
    }
    if ((e.localFlags & kFlagEncrypted) != 0) return refuse("encrypted.zip", name);
    if (method != e.method || (e.localFlags & kFlagUtf8) != (e.flags & kFlagUtf8)) {
      return refuse("zip.header_mismatch", name);
    }
    if ((e.localFlags & kFlagDescriptor) == 0) {
      if (usize == 0xFFFFFFFF || csize == 0xFFFFFFFF) {
        const auto z = findExtra(b_.view(p + kLocalSize + nameLen, extraLen), kExtraZip64);
        if (!z) return refuse("zip.header_mismatch", name);
        const Bytes zb(*z);
        const std::uint64_t need = (usize == 0xFFFFFFFF ? 8 : 0) + (csize == 0xFFFFFFFF ? 8 : 0);
        if (!zb.has(0, need)) return refuse("zip.header_mismatch", name);
        std::uint64_t zp = 0;
        if (usize == 0xFFFFFFFF) {
          usize = zb.u64(zp);
          zp += 8;
        }
        if (csize == 0xFFFFFFFF) csize = zb.u64(zp);
      }
      if (crc != e.crc || csize != e.csize || usize != e.usize) {
        return refuse("zip.header_mismatch", name);
      }
    }
    e.dataStart = p + kLocalSize + nameLen + extraLen;
    if (!b_.has(e.dataStart, e.csize))
      return refuse("zip.invalid", "entry data past the end: " + name);
    e.dataEnd = e.dataStart + e.csize;
    return std::nullopt;
  }

  // The length of a data descriptor that fills exactly `gap` bytes after `e`'s data and repeats
  // the central directory's values, or 0.
  bool descriptorFits(const Entry& e, std::uint64_t gap) const {
    const std::uint64_t q = e.dataEnd;
    if (gap != 12 && gap != 16 && gap != 20 && gap != 24) return false;
    const bool withSig = gap == 16 || gap == 24;
    if (withSig && b_.u32(q) != kSigDescriptor) return false;
    const std::uint64_t at = q + (withSig ? 4 : 0);
    const bool wide = gap == 20 || gap == 24;
    const std::uint64_t c = wide ? b_.u64(at + 4) : b_.u32(at + 4);
    const std::uint64_t u = wide ? b_.u64(at + 12) : b_.u32(at + 8);
    return b_.u32(at) == e.crc && c == e.csize && u == e.usize;
  }

  // Entries must tile the space before the central directory: no overlap (a bomb that makes
  // every entry inflate the same stream), and no gap (a hidden local header that a streaming
  // reader would extract and we would not see).
  Check layout(const Archive& a) const {
    std::vector<const Entry*> order;
    order.reserve(a.entries.size());
    for (const Entry& e : a.entries) order.push_back(&e);
    std::sort(order.begin(), order.end(),
              [](const Entry* x, const Entry* y) { return x->offset < y->offset; });
    if (order.empty()) {
      if (a.cdOffset != 0) return refuse("zip.junk_data", "bytes before the central directory");
      return std::nullopt;
    }
    if (order.front()->offset != 0) return refuse("zip.junk_data", "bytes before the first entry");
    for (std::size_t k = 0; k < order.size(); ++k) {
      const Entry& e = *order[k];
      const bool last = k + 1 == order.size();
      const std::uint64_t next = last ? a.cdOffset : order[k + 1]->offset;
      if (e.dataEnd > next || (!last && e.offset == next)) {
        if (last) return refuse("zip.invalid", "entry data runs into the central directory");
        return refuse("zip.bomb", "overlapping entries: " + std::string(e.rawName) + ", " +
                                      std::string(order[k + 1]->rawName));
      }
      const std::uint64_t gap = next - e.dataEnd;
      if ((e.localFlags & kFlagDescriptor) != 0) {
        if (!descriptorFits(e, gap)) {
          return refuse("zip.header_mismatch", "data descriptor of " + std::string(e.rawName));
        }
      } else if (gap != 0) {
        return refuse("zip.junk_data", "bytes after " + std::string(e.rawName));
      }
    }
    return std::nullopt;
  }

  // Declared sizes are not trusted for safety (inflation counts the real bytes), but a
  // declaration over a limit is refused at once, before anything is inflated.
  Check declaredSizes(const Archive& a) const {
    std::uint64_t total = 0;
    for (const Entry& e : a.entries) {
      const std::string name(e.rawName);
      if (e.isDir && (e.usize != 0 || e.csize != 0)) {
        return refuse("zip.invalid", "a folder entry with content: " + name);
      }
      if (e.method == kMethodStore && e.csize != e.usize) {
        return refuse("zip.header_mismatch", "stored entry sizes differ: " + name);
      }
      if (e.usize > limits_.maxArchiveEntryBytes) {
        return refuse("zip.bomb", "declared size over max_archive_entry_bytes: " + name);
      }
      total += e.usize;
      if (total > limits_.maxArchiveTotalBytes) {
        return refuse("zip.bomb", "declared total over max_archive_total_bytes");
      }
      if (e.usize > kRatioExemptBytes && overRatio(e.usize, e.csize, limits_.maxCompressionRatio)) {
        return refuse("zip.bomb", "declared ratio over max_compression_ratio: " + name);
      }
    }
    return std::nullopt;
  }

  Bytes b_;
  const core::Limits& limits_;
};

// ---- Names ------------------------------------------------------------------------------------

// Charsets a legacy (unflagged) name may be in when detection names them; anything else falls
// back to CP932 (Japanese Windows, by far the most common origin here) or CP437 (the standard).
bool acceptableLegacyCharset(std::string_view cs) {
  return cs == "CP932" || cs == "EUC-JP-MS" || cs == "GB18030" || cs == "BIG5" ||
         cs == "BIG5-HKSCS" || cs == "CP949" || cs == "EUC-KR";
}

struct NameDecision {
  std::string charset;  // for unflagged non-ASCII names; empty when there are none
};

// Decides one charset for every unflagged non-ASCII name together: one name is too short to
// detect reliably, the archive as a whole was written by one program on one system.
NameDecision decideLegacyCharset(const Archive& a) {
  std::string joined;
  for (const Entry& e : a.entries) {
    if ((e.flags & kFlagUtf8) != 0 || isAscii(e.rawName)) continue;
    joined.append(e.rawName);
    joined += '\n';
  }
  NameDecision d;
  if (joined.empty()) return d;
  if (validUtf8(joined)) {
    d.charset = "UTF-8";
    return d;
  }
  const std::string detected = core::detectCharset(joined);
  if (acceptableLegacyCharset(detected)) {
    const core::Decoded dec = core::decodeToUtf8(joined, detected);
    if (dec.invalidBytes == 0 && dec.charset == detected) {
      d.charset = detected;
      return d;
    }
  }
  const core::Decoded cp932 = core::decodeToUtf8(joined, "CP932");
  if (cp932.invalidBytes == 0 && cp932.charset == "CP932") {
    d.charset = "CP932";
    return d;
  }
  d.charset = "CP437";
  return d;
}

Check decodeNames(Archive& a, core::Findings& findings) {
  const NameDecision decision = decideLegacyCharset(a);
  std::size_t legacy = 0;
  for (Entry& e : a.entries) {
    // Checked on the raw bytes: C strings (libzip's, and the extractors') end at a NUL.
    if (e.rawName.find('\0') != std::string_view::npos)
      return refuse("zip.bad_name", "NUL in a name");
    std::string decoded;
    const bool isLegacy = (e.flags & kFlagUtf8) == 0 && !isAscii(e.rawName);
    if (!isLegacy) {
      if (!validUtf8(e.rawName)) {
        return refuse("zip.bad_name", "a name marked UTF-8 is not UTF-8");
      }
      decoded = std::string(e.rawName);
    } else {
      decoded = core::decodeToUtf8(e.rawName, decision.charset).utf8;
    }
    // The Info-ZIP Unicode Path field gives a second, UTF-8 name. Readers that honour it show
    // it, others show the header name: both are checked and both go to the dispatcher, and the
    // one the field's writer meant (when its checksum matches the header name) is written.
    std::string unicode;
    bool unicodeValid = false;
    if (const auto up = findExtra(e.extra, kExtraUnicodePath); up && up->size() >= 5) {
      const Bytes ub(*up);
      unicode = std::string(up->substr(5));
      unicodeValid = ub.view(0, 1) == std::string_view("\x01", 1) && validUtf8(unicode) &&
                     ub.u32(1) == crc32(e.rawName);
      if (!validUtf8(unicode)) return refuse("zip.bad_name", "a Unicode Path field is not UTF-8");
    }
    if (unicodeValid) e.unicodeName = unicode;
    if (isLegacy && !unicodeValid) ++legacy;
    std::string primary = unicodeValid ? unicode : decoded;
    std::string other = unicodeValid ? decoded : unicode;
    e.path = nfc(primary);
    e.altPath = other.empty() ? std::string() : nfc(other);
    if (e.altPath == e.path) e.altPath.clear();
    if (e.path.empty()) return refuse("zip.bad_name", "(empty name)");
    if ((e.path.back() == '/') != e.isDir ||
        (!e.altPath.empty() && (e.altPath.back() == '/') != e.isDir)) {
      return refuse("zip.bad_name", e.path + ": the names disagree on being a folder");
    }
  }
  if (legacy > 0) {
    if (decision.charset == "CP932") {
      findings.push_back({"zip.names_decoded_cp932", std::to_string(legacy)});
    } else {
      findings.push_back({"zip.names_decoded_legacy", decision.charset});
    }
  }
  return std::nullopt;
}

bool isSymlink(const Entry& e) {
  const std::uint32_t mode = e.external >> 16;
  if ((mode & 0xF000) == 0xA000) return true;
  // FILE_ATTRIBUTE_REPARSE_POINT from a Windows-made entry.
  const unsigned host = e.madeBy >> 8;
  const bool dosFamily = host == 0 || host == 10 || host == 11 || host == 14;
  return dosFamily && (e.external & 0x400) != 0;
}

// Every folder and file a path occupies, as comparison keys; used to find duplicates in the
// input and clashes among output names.
class PathSpace {
 public:
  /// False when `path` (a file, or a folder when it ends in '/') collides with what is there.
  bool add(std::string_view path) {
    const bool dir = !path.empty() && path.back() == '/';
    const std::string key = pathKey(path);
    if (files_.count(key) || (!dir && folders_.count(key)) || (dir && explicitDirs_.count(key))) {
      return false;
    }
    // Every parent must be free of files.
    std::vector<std::string> parents;
    for (std::size_t slash = key.find('/'); slash != std::string::npos;
         slash = key.find('/', slash + 1)) {
      parents.push_back(key.substr(0, slash));
    }
    for (const auto& p : parents) {
      if (files_.count(p)) return false;
    }
    for (auto& p : parents) folders_.insert(std::move(p));
    if (dir) {
      folders_.insert(key);
      explicitDirs_.insert(key);
    } else {
      files_.insert(key);
    }
    return true;
  }
  bool free(std::string_view path) const {
    const std::string key = pathKey(path);
    if (files_.count(key) || folders_.count(key)) return false;
    for (std::size_t slash = key.find('/'); slash != std::string::npos;
         slash = key.find('/', slash + 1)) {
      if (files_.count(key.substr(0, slash))) return false;
    }
    return true;
  }

 private:
  std::set<std::string> files_;
  std::set<std::string> folders_;
  std::set<std::string> explicitDirs_;
};

Check checkNames(const Archive& a) {
  PathSpace space;
  for (const Entry& e : a.entries) {
    for (const std::string* n : {&e.path, &e.altPath}) {
      if (n->empty()) continue;
      const bool dir = n->back() == '/';
      if (auto r = checkName(*n, dir)) {
        r->detail = *n + ": " + r->detail;
        return r;
      }
    }
    if (isSymlink(e)) return refuse("zip.symlink", e.path);
    if (!space.add(e.path)) return refuse("zip.duplicate_names", e.path);
  }
  return std::nullopt;
}

// ---- libzip ---------------------------------------------------------------------------------

struct ZipCloser {
  zip_t* za = nullptr;
  ~ZipCloser() {
    if (za != nullptr) zip_discard(za);
  }
};

struct SourceCloser {
  zip_source_t* src = nullptr;
  ~SourceCloser() {
    if (src != nullptr) zip_source_free(src);
  }
};

struct FileCloser {
  zip_file_t* f = nullptr;
  ~FileCloser() {
    if (f != nullptr) zip_fclose(f);
  }
};

std::string libzipError(zip_error_t* err) {
  const char* s = zip_error_strerror(err);
  return s != nullptr ? s : "libzip error";
}

// libzip must see the archive we checked: the same entries, names, methods and sizes.
Check crossCheck(zip_t* za, const Archive& a) {
  if (zip_get_num_entries(za, 0) != static_cast<zip_int64_t>(a.entries.size())) {
    return refuse("zip.invalid", "libzip counts a different number of entries");
  }
  for (std::size_t i = 0; i < a.entries.size(); ++i) {
    const Entry& e = a.entries[i];
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(za, i, ZIP_FL_ENC_RAW, &st) != 0 || st.name == nullptr ||
        (std::string_view(st.name) != e.rawName && std::string_view(st.name) != e.unicodeName) ||
        (st.valid & (ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD)) !=
            (ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD) ||
        st.size != e.usize || st.comp_size != e.csize ||
        st.comp_method != static_cast<zip_uint16_t>(e.method)) {
      return refuse("zip.invalid", "libzip reads entry " + std::to_string(i) + " differently");
    }
  }
  return std::nullopt;
}

struct OutEntry {
  std::string path;  // ends in '/' for a folder
  std::string bytes;
  bool store = false;
};

bool alreadyCompressed(std::string_view type) {
  return type == "image/png" || type == "image/jpeg" || type == "image/gif" ||
         type == "application/zip" || type.find("openxmlformats") != std::string_view::npos;
}

// Writes the new archive into memory (core/zip_writer: libdeflate, one compressor for every
// entry, Unix modes 0644/0755). Returns nullopt, with `error` set, when it cannot be written.
std::optional<std::string> writeArchive(const std::vector<OutEntry>& entries, std::string& error) {
  try {
    core::ZipWriter zip(kDeflateLevel, true);
    for (const OutEntry& o : entries) {
      const bool dir = !o.path.empty() && o.path.back() == '/';
      zip.add(o.path, dir ? std::string_view() : std::string_view(o.bytes), !dir && !o.store);
    }
    return zip.finish();
  } catch (const std::logic_error& e) {
    // length_error past the classic limits, or invalid_argument for a duplicate name (which
    // PathSpace should have made impossible): see zip_writer.h.
    error = e.what();
    return std::nullopt;
  }
}

// ---- The sanitizer ------------------------------------------------------------------------------

class Run {
 public:
  explicit Run(const PartInput& in) : in_(in), limits_(*in.limits) {}

  PartOutput go() {
    if (in_.depth > limits_.maxArchiveDepth) {
      return removed({"zip.too_deep", "depth " + std::to_string(in_.depth) +
                                          " (max_archive_depth " +
                                          std::to_string(limits_.maxArchiveDepth) + ")"});
    }
    if (!in_.dispatch) return removed({"error.sanitizer", "no dispatcher for archive members"});
    if (late()) return removed({"limit.wall_time", ""});
    BudgetScope scope(limits_.maxArchiveTotalBytes);
    budget_ = &scope.budget();

    Archive a;
    if (auto r = Parser(in_.bytes, limits_).parse(a)) return removed(std::move(*r));
    if (auto r = decodeNames(a, out_.findings)) return removed(std::move(*r));
    if (auto r = checkNames(a)) return removed(std::move(*r));
    if (budget_->used > budget_->limit) {
      return removed({"zip.bomb", "max_archive_total_bytes used up by enclosing archives"});
    }

    zip_error_t err;
    zip_error_init(&err);
    // freep = 0: libzip reads the caller's buffer in place; the PartInput outlives the archive.
    SourceCloser src{zip_source_buffer_create(in_.bytes.data(), in_.bytes.size(), 0, &err)};
    if (src.src == nullptr) {
      const std::string msg = libzipError(&err);
      zip_error_fini(&err);
      return removed({"zip.invalid", msg});
    }
    ZipCloser za{zip_open_from_source(src.src, ZIP_RDONLY | ZIP_CHECKCONS, &err)};
    if (za.za == nullptr) {
      const std::string msg = libzipError(&err);
      zip_error_fini(&err);
      return removed({"zip.invalid", msg});
    }
    zip_error_fini(&err);
    src.src = nullptr;  // the archive owns the source now
    if (auto r = crossCheck(za.za, a)) return removed(std::move(*r));

    std::vector<OutEntry> written;
    PathSpace space;
    for (std::size_t i = 0; i < a.entries.size(); ++i) {
      if (late()) return removed({"limit.wall_time", a.entries[i].path});
      if (auto r = member(za.za, i, a.entries[i], space, written)) return removed(std::move(*r));
    }
    zip_discard(za.za);  // its memory is not needed while writing
    za.za = nullptr;

    std::string error;
    auto bytes = writeArchive(written, error);
    if (!bytes) return removed({"error.sanitizer", "writing the archive: " + error});
    out_.disposition = core::Disposition::Rebuilt;
    out_.contentType = "application/zip";
    out_.filename = outputName();
    out_.bytes = std::move(*bytes);
    return std::move(out_);
  }

 private:
  bool late() const { return in_.deadline != Clock::time_point{} && Clock::now() > in_.deadline; }

  PartOutput removed(Refusal r) {
    PartOutput out;
    out.disposition = core::Disposition::Removed;
    out.reason = r.reason;
    out.findings = std::move(out_.findings);
    // Structural refusals quote raw, possibly non-UTF-8 names.
    core::repairUtf8(r.detail);
    out.findings.push_back({std::move(r.reason), std::move(r.detail)});
    return out;
  }

  std::string outputName() const {
    if (in_.names.empty() || in_.names.front().empty()) return "archive.zip";
    const std::string& n = in_.names.front();
    return endsWithNoCase(n, ".zip") ? n : n + ".zip";
  }

  // Inflates one member with every limit counted on the real bytes.
  Check inflate(zip_t* za, std::size_t index, const Entry& e, std::string& data) {
    FileCloser f{zip_fopen_index(za, index, 0)};
    if (f.f == nullptr) return refuse("zip.invalid", e.path + ": " + zip_strerror(za));
    data.reserve(static_cast<std::size_t>(e.usize));
    buf_.resize(kChunk);
    while (true) {
      const zip_int64_t n = zip_fread(f.f, buf_.data(), buf_.size());
      if (n < 0) return refuse("zip.invalid", e.path + ": " + zip_file_strerror(f.f));
      if (n == 0) break;
      const auto got = static_cast<std::uint64_t>(n);
      data.append(buf_.data(), static_cast<std::size_t>(n));
      total_ += got;
      budget_->used += got;
      if (data.size() > limits_.maxArchiveEntryBytes) {
        return refuse("zip.bomb", e.path + ": over max_archive_entry_bytes (" +
                                      std::to_string(limits_.maxArchiveEntryBytes) + ")");
      }
      if (total_ > limits_.maxArchiveTotalBytes) {
        return refuse("zip.bomb", "over max_archive_total_bytes (" +
                                      std::to_string(limits_.maxArchiveTotalBytes) + ")");
      }
      if (budget_->used > budget_->limit) {
        return refuse("zip.bomb", "over max_archive_total_bytes (" +
                                      std::to_string(budget_->limit) + ") with nested archives");
      }
      if (data.size() > kRatioExemptBytes &&
          overRatio(data.size(), e.csize, limits_.maxCompressionRatio)) {
        return refuse("zip.bomb", e.path + ": over max_compression_ratio (" +
                                      std::to_string(limits_.maxCompressionRatio) + ")");
      }
      if (late()) return refuse("limit.wall_time", e.path);
    }
    if (data.size() != e.usize) {
      return refuse("zip.invalid", e.path + ": size differs from the declared size");
    }
    return std::nullopt;
  }

  Check member(zip_t* za, std::size_t index, const Entry& e, PathSpace& space,
               std::vector<OutEntry>& written) {
    if (e.isDir) {
      // A renamed file can take a folder's name ("a.docx" from "a.docm" beside "a.docx/").
      if (!space.add(e.path)) {
        out_.findings.push_back({"zip.member_removed", e.path + ": zip.duplicate_names"});
        return std::nullopt;
      }
      written.push_back({e.path, {}, true});
      return std::nullopt;
    }
    std::string data;
    if (auto r = inflate(za, index, e, data)) return r;

    PartInput m;
    m.bytes = data;
    m.declaredType = "application/octet-stream";
    m.charset = "";
    const std::string trueType = core::sniff(data, limits_);
    m.trueType = trueType;
    m.names = {std::string(baseName(e.path)), e.path};
    if (!e.altPath.empty()) {
      m.names.push_back(std::string(baseName(e.altPath)));
      m.names.push_back(e.altPath);
    }
    m.limits = in_.limits;
    m.policy = in_.policy;
    m.depth = in_.depth + 1;
    m.deadline = in_.deadline;
    m.dispatch = in_.dispatch;
    PartOutput r = in_.dispatch(m);

    const auto carry = [&](core::Findings& fs) {
      for (auto& f : fs) {
        out_.findings.push_back(
            {std::move(f.kind), f.detail.empty() ? e.path : e.path + ": " + f.detail});
      }
    };
    if (r.disposition == core::Disposition::Removed) {
      out_.findings.push_back({"zip.member_removed", e.path + ": " + r.reason});
      carry(r.findings);
      return std::nullopt;
    }
    std::string fileName = r.filename.empty() ? std::string(baseName(e.path)) : r.filename;
    // The dispatcher's name is a base name; anything that still looks like a path is not used.
    if (fileName.find('/') != std::string::npos || fileName.find('\\') != std::string::npos) {
      fileName = std::string(baseName(e.path));
    }
    std::string outPath = std::string(folderOf(e.path)) + nfc(fileName);
    if (checkName(outPath, false) || !space.free(outPath)) {
      const std::size_t dot = fileName.find_last_of('.');
      const std::string stem =
          dot == std::string::npos || dot == 0 ? fileName : fileName.substr(0, dot);
      const std::string ext = stem.size() == fileName.size() ? "" : fileName.substr(dot);
      bool found = false;
      for (int k = 2; k <= kMaxRenameTries && !found; ++k) {
        const std::string candidate =
            std::string(folderOf(e.path)) + nfc(stem + " (" + std::to_string(k) + ")" + ext);
        if (!checkName(candidate, false) && space.free(candidate)) {
          outPath = candidate;
          found = true;
        }
      }
      if (!found) {
        out_.findings.push_back({"zip.member_removed", e.path + ": zip.duplicate_names"});
        carry(r.findings);
        return std::nullopt;
      }
    }
    space.add(outPath);
    if (outPath != e.path)
      out_.findings.push_back({"zip.member_renamed", e.path + " → " + outPath});
    carry(r.findings);
    const bool store = r.bytes.size() < 64 || alreadyCompressed(r.contentType);
    written.push_back({std::move(outPath), std::move(r.bytes), store});
    return std::nullopt;
  }

  const PartInput& in_;
  const core::Limits& limits_;
  Budget* budget_ = nullptr;
  std::uint64_t total_ = 0;
  std::vector<char> buf_;
  PartOutput out_;
};

}  // namespace

bool ZipSanitizer::handles(std::string_view trueType, std::string_view /*declaredType*/) const {
  return trueType == "zip";
}

PartOutput ZipSanitizer::sanitize(const PartInput& in) const {
  try {
    if (in.limits == nullptr) {
      PartOutput out;
      out.reason = "error.sanitizer";
      out.findings.push_back({"error.sanitizer", "no limits given"});
      return out;
    }
    return Run(in).go();
  } catch (const std::exception& e) {
    PartOutput out;
    out.reason = "error.sanitizer";
    out.findings.push_back({"error.sanitizer", e.what()});
    return out;
  } catch (...) {
    PartOutput out;
    out.reason = "error.sanitizer";
    out.findings.push_back({"error.sanitizer", "unknown error"});
    return out;
  }
}

MUGAI_REGISTER_SANITIZER(ZipSanitizer)

}  // namespace mugai::sanitizers::zip
