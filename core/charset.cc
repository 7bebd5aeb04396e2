// Charsets: decoding mail text to UTF-8 and back (see charset.h for the contract).
//
// The Japanese multibyte charsets are decoded by our own table-driven decoders, not by iconv:
// glibc's ISO-2022-JP rejects the half-width kana and the NEC/IBM vendor rows that Japanese
// mailers really send (CP50220 semantics), its EUC-JP-MS maps the NEC-selected IBM rows
// (0xF9–0xFC) to the private use area, and table lookups are several times faster than iconv,
// which matters because detection decodes the same bytes as CP932 and as EUC-JP. The tables
// are built once from glibc's own CP932 and EUC-JP-MS converters, so the mappings are the
// platform's; only the framing is ours.
// Everything else goes through iconv with per-byte error recovery.
#include "core/charset.h"

#include <iconv.h>
#include <uchardet/uchardet.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <unordered_map>

namespace mugai::core {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
constexpr unsigned char kEsc = 0x1B;
// Detection looks at no more than this much input: enough to be sure, bounded in time.
constexpr std::size_t kDetectSample = 256u << 10;

// ---------------------------------------------------------------------------------------------
// UTF-8 helpers

/// Length of the valid UTF-8 sequence at p (1–4, code point in *cp), or the negated length of
/// the maximal invalid subpart there (Unicode "best practice" for U+FFFD substitution).
[[gnu::always_inline]] inline int utf8Step(const unsigned char* p, std::size_t n, char32_t* cp) {
  const unsigned char b0 = p[0];
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  // Fast path for the commonest non-ASCII shape in Japanese mail: a 3-byte sequence outside
  // the E0/ED special cases.
  if (b0 >= 0xE1 && b0 <= 0xEF && b0 != 0xED && n >= 3 && (p[1] & 0xC0) == 0x80 &&
      (p[2] & 0xC0) == 0x80) {
    *cp = (static_cast<char32_t>(b0 & 0x0F) << 12) | (static_cast<char32_t>(p[1] & 0x3F) << 6) |
          (p[2] & 0x3F);
    return 3;
  }
  int len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  char32_t v = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    v = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    v = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    v = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return -1;
  }
  for (int i = 1; i < len; ++i) {
    if (static_cast<std::size_t>(i) >= n) return -i;
    const unsigned char b = p[i];
    if (b < lo || b > hi) return -i;
    lo = 0x80;
    hi = 0xBF;
    v = (v << 6) | (b & 0x3F);
  }
  *cp = v;
  return len;
}

[[gnu::always_inline]] inline void appendUtf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    const char b[2] = {static_cast<char>(0xC0 | (c >> 6)), static_cast<char>(0x80 | (c & 0x3F))};
    out.append(b, 2);
  } else if (c < 0x10000) {
    const char b[3] = {static_cast<char>(0xE0 | (c >> 12)),
                       static_cast<char>(0x80 | ((c >> 6) & 0x3F)),
                       static_cast<char>(0x80 | (c & 0x3F))};
    out.append(b, 3);
  } else {
    const char b[4] = {static_cast<char>(0xF0 | (c >> 18)),
                       static_cast<char>(0x80 | ((c >> 12) & 0x3F)),
                       static_cast<char>(0x80 | ((c >> 6) & 0x3F)),
                       static_cast<char>(0x80 | (c & 0x3F))};
    out.append(b, 4);
  }
}

/// Index of the first byte >= 0x80 at or after `from` (or size()); eight bytes at a time,
/// because most mail text is ASCII and this runs over every body.
std::size_t skipAscii(std::string_view s, std::size_t from) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = from;
  const std::size_t n = s.size();
  while (i + 8 <= n) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w & 0x8080808080808080ull) break;
    i += 8;
  }
  while (i < n && p[i] < 0x80) ++i;
  return i;
}

struct Utf8Check {
  bool valid = true;
  bool multibyte = false;  ///< at least one valid sequence of 2+ bytes
};

Utf8Check checkUtf8(std::string_view s) {
  Utf8Check r;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = 0;
  while ((i = skipAscii(s, i)) < s.size()) {
    char32_t cp;
    const int k = utf8Step(p + i, s.size() - i, &cp);
    if (k < 0) {
      r.valid = false;
      return r;
    }
    r.multibyte = true;
    i += static_cast<std::size_t>(k);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Decoder results

struct RawDecode {
  std::string utf8;
  std::size_t invalid = 0;  ///< input bytes replaced by U+FFFD
  bool nonStrict = false;   ///< decoded, but with leniency the label does not allow (8-bit JIS)
  bool ok = true;           ///< false when the converter could not even be opened
  std::size_t level1 = 0;   ///< JIS X 0208 level-1 (common) kanji seen, CP932/EUC-JP only
  std::size_t level2 = 0;   ///< JIS X 0208 level-2 (rare) kanji seen, CP932/EUC-JP only
  bool clean() const { return ok && invalid == 0 && !nonStrict; }
};

RawDecode decodeUtf8(std::string_view in) {
  RawDecode r;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  std::size_t i = 0;
  std::size_t copied = 0;
  while ((i = skipAscii(in, i)) < in.size()) {
    char32_t cp;
    const int k = utf8Step(p + i, in.size() - i, &cp);
    if (k > 0) {
      i += static_cast<std::size_t>(k);
      continue;
    }
    if (r.utf8.empty()) r.utf8.reserve(in.size() + 16);
    r.utf8.append(in.data() + copied, i - copied);
    r.utf8.append(kReplacement);
    r.invalid += static_cast<std::size_t>(-k);
    i += static_cast<std::size_t>(-k);
    copied = i;
  }
  if (copied == 0) {
    r.utf8.assign(in);
  } else {
    r.utf8.append(in.data() + copied, in.size() - copied);
  }
  return r;
}

RawDecode decodeAscii(std::string_view in) {
  RawDecode r;
  if (skipAscii(in, 0) == in.size()) {
    r.utf8.assign(in);
    return r;
  }
  r.utf8.reserve(in.size() + 16);
  for (const char c : in) {
    if (static_cast<unsigned char>(c) < 0x80) {
      r.utf8.push_back(c);
    } else {
      r.utf8.append(kReplacement);
      ++r.invalid;
    }
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// iconv

class Iconv {
 public:
  Iconv(const char* to, const char* from) : cd_(iconv_open(to, from)) {}
  ~Iconv() {
    if (ok()) iconv_close(cd_);
  }
  Iconv(const Iconv&) = delete;
  Iconv& operator=(const Iconv&) = delete;
  bool ok() const { return cd_ != reinterpret_cast<iconv_t>(-1); }
  iconv_t get() const { return cd_; }
  void reset() { iconv(cd_, nullptr, nullptr, nullptr, nullptr); }

 private:
  iconv_t cd_;
};

/// Converts with glibc, replacing each byte iconv rejects by U+FFFD and carrying on.
RawDecode decodeIconv(std::string_view in, const std::string& charset) {
  RawDecode r;
  Iconv cd("UTF-8", charset.c_str());
  if (!cd.ok()) {
    r.ok = false;
    return r;
  }
  std::string& out = r.utf8;
  out.resize(in.size() * 2 + 64);
  std::size_t used = 0;
  char* src = const_cast<char*>(in.data());  // iconv's signature; it never writes the input
  std::size_t srcLeft = in.size();
  bool flushing = false;
  while (true) {
    char* dst = out.data() + used;
    std::size_t dstLeft = out.size() - used;
    const std::size_t rc = flushing ? iconv(cd.get(), nullptr, nullptr, &dst, &dstLeft)
                                    : iconv(cd.get(), &src, &srcLeft, &dst, &dstLeft);
    used = static_cast<std::size_t>(dst - out.data());
    if (rc != static_cast<std::size_t>(-1)) {
      if (flushing) break;
      flushing = true;  // emit any pending state (UTF-7 and friends)
      continue;
    }
    const int err = errno;
    if (err == E2BIG) {
      out.resize(out.size() * 2 + 64);
      continue;
    }
    if (flushing) break;
    if (err == EILSEQ && srcLeft > 0) {
      if (out.size() - used < kReplacement.size()) out.resize(out.size() * 2 + 64);
      std::memcpy(out.data() + used, kReplacement.data(), kReplacement.size());
      used += kReplacement.size();
      ++src;
      --srcLeft;
      ++r.invalid;
      continue;
    }
    // EINVAL: an incomplete sequence ends the input; anything else is treated the same way.
    if (srcLeft > 0) {
      if (out.size() - used < kReplacement.size()) out.resize(out.size() * 2 + 64);
      std::memcpy(out.data() + used, kReplacement.data(), kReplacement.size());
      used += kReplacement.size();
      r.invalid += srcLeft;
      srcLeft = 0;
    }
    cd.reset();
    break;
  }
  out.resize(used);
  // A converter is trusted to produce UTF-8, but the output is a contract: check it.
  if (!checkUtf8(out).valid) {
    RawDecode fixed = decodeUtf8(out);
    r.utf8 = std::move(fixed.utf8);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// 94×94 tables for the ISO-2022 and EUC framings, built once from glibc's converters.

constexpr std::size_t kCells94 = std::size_t{94} * 94;
using Table94 = std::array<char32_t, kCells94>;

/// The one code point `len` bytes convert to with `cd` (to UTF-32LE), or 0 when they are
/// invalid, incomplete, or more than one character.
char32_t convertOne(Iconv& cd, const unsigned char* bytes, std::size_t len) {
  unsigned char in[4];
  std::memcpy(in, bytes, std::min<std::size_t>(len, sizeof in));
  unsigned char outBuf[16];
  char* src = reinterpret_cast<char*>(in);
  std::size_t srcLeft = std::min<std::size_t>(len, sizeof in);
  char* dst = reinterpret_cast<char*>(outBuf);
  std::size_t dstLeft = sizeof outBuf;
  cd.reset();
  const std::size_t rc = iconv(cd.get(), &src, &srcLeft, &dst, &dstLeft);
  if (rc == static_cast<std::size_t>(-1) || srcLeft != 0 || sizeof outBuf - dstLeft != 4) return 0;
  const char32_t v = static_cast<char32_t>(outBuf[0]) | (static_cast<char32_t>(outBuf[1]) << 8) |
                     (static_cast<char32_t>(outBuf[2]) << 16) |
                     (static_cast<char32_t>(outBuf[3]) << 24);
  return v == 0xFFFD || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) ? 0 : v;
}

/// Converts each cell's byte encoding (made by `encode`) with `charset` and keeps the result
/// when it is exactly one code point.
template <typename Encode>
void fillTable(Table94& t, const char* charset, Encode encode, bool onlyEmpty) {
  Iconv cd("UTF-32LE", charset);
  if (!cd.ok()) return;
  for (int r = 0; r < 94; ++r) {
    for (int c = 0; c < 94; ++c) {
      char32_t& slot = t[static_cast<std::size_t>(r) * 94 + static_cast<std::size_t>(c)];
      if (onlyEmpty && slot != 0) continue;
      unsigned char in[4];
      const std::size_t inLen = encode(r + 0x21, c + 0x21, in);
      slot = convertOne(cd, in, inLen);
    }
  }
}

/// JIS row/cell bytes (0x21–0x7E each) to their Shift_JIS pair.
void jisToSjis(int j1, int j2, unsigned char* out) {
  const int s1 = ((j1 + 1) >> 1) + (j1 <= 0x5E ? 0x70 : 0xB0);
  const int s2 = j2 + ((j1 & 1) ? (j2 >= 0x60 ? 0x20 : 0x1F) : 0x7E);
  out[0] = static_cast<unsigned char>(s1);
  out[1] = static_cast<unsigned char>(s2);
}

/// JIS X 0208 as Japanese mailers use it: CP932's reading (NEC row 13, NEC-selected IBM rows
/// 89–92, Microsoft's ～ for 0x2141), with EUC-JP-MS's user-defined rows as a fallback.
const Table94& jis0208() {
  static const Table94 table = [] {
    Table94 t{};
    fillTable(
        t, "CP932",
        [](int j1, int j2, unsigned char* out) {
          jisToSjis(j1, j2, out);
          return std::size_t{2};
        },
        false);
    fillTable(
        t, "EUC-JP-MS",
        [](int j1, int j2, unsigned char* out) {
          out[0] = static_cast<unsigned char>(j1 | 0x80);
          out[1] = static_cast<unsigned char>(j2 | 0x80);
          return std::size_t{2};
        },
        true);
    return t;
  }();
  return table;
}

/// JIS X 0212 (and the IBM extensions EUC-JP-MS puts in its rows), as reached by 0x8F in EUC-JP
/// and ESC $ ( D in ISO-2022-JP-1/2.
const Table94& jis0212() {
  static const Table94 table = [] {
    Table94 t{};
    fillTable(
        t, "EUC-JP-MS",
        [](int j1, int j2, unsigned char* out) {
          out[0] = 0x8F;
          out[1] = static_cast<unsigned char>(j1 | 0x80);
          out[2] = static_cast<unsigned char>(j2 | 0x80);
          return std::size_t{3};
        },
        false);
    return t;
  }();
  return table;
}

template <int kWhich>
const Table94& euc94(const char* charset) {
  static const Table94 table = [charset] {
    Table94 t{};
    fillTable(
        t, charset,
        [](int j1, int j2, unsigned char* out) {
          out[0] = static_cast<unsigned char>(j1 | 0x80);
          out[1] = static_cast<unsigned char>(j2 | 0x80);
          return std::size_t{2};
        },
        false);
    return t;
  }();
  return table;
}
const Table94& gb2312() { return euc94<1>("EUC-CN"); }
const Table94& ksc5601() { return euc94<2>("EUC-KR"); }

/// The upper half (0xA0–0xFF) of an ISO 8859 part, for ISO-2022-JP-2's G2 single shifts.
template <int kWhich>
const std::array<char32_t, 96>& upper96(const char* charset) {
  static const std::array<char32_t, 96> table = [charset] {
    std::array<char32_t, 96> t{};
    Iconv cd("UTF-32LE", charset);
    if (!cd.ok()) return t;
    for (int i = 0; i < 96; ++i) {
      const auto in = static_cast<unsigned char>(0xA0 + i);
      t[static_cast<std::size_t>(i)] = convertOne(cd, &in, 1);
    }
    return t;
  }();
  return table;
}

char32_t lookup94(const Table94& t, unsigned char b1, unsigned char b2) {
  const unsigned r = (b1 & 0x7Fu) - 0x21u;
  const unsigned c = (b2 & 0x7Fu) - 0x21u;
  if (r >= 94 || c >= 94) return 0;
  return t[r * 94 + c];
}

// ---------------------------------------------------------------------------------------------
// ISO-2022-JP (CP50220/CP50221/ISO-2022-JP-1/-2 superset)

enum class G0 { Ascii, Kana, Jis0208, Jis0212, Gb2312, Ksc5601, Unknown94x94 };
enum class G2 { None, Latin1, Greek };

/// True when `in` holds an ISO-2022-JP designation of a non-ASCII set: the evidence that the
/// bytes are ISO-2022-JP whatever the label says.
bool hasJapaneseEscapes(std::string_view in) {
  std::size_t i = 0;
  while ((i = in.find(static_cast<char>(kEsc), i)) != std::string_view::npos) {
    const std::string_view rest = in.substr(i + 1, 3);
    if (rest.starts_with("$B") || rest.starts_with("$@") || rest.starts_with("(I") ||
        rest.starts_with("$(D") || rest.starts_with("$(Q") || rest.starts_with("$(O") ||
        rest.starts_with("$(B")) {
      return true;
    }
    ++i;
  }
  return false;
}

RawDecode decodeIso2022Jp(std::string_view in) {
  RawDecode r;
  std::string& out = r.utf8;
  out.reserve(in.size() + in.size() / 2 + 16);
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  G0 g0 = G0::Ascii;
  G2 g2 = G2::None;
  bool shifted = false;  // SO/SI: JIS X 0201 kana in G1, as some mailers send it
  auto bad = [&](std::size_t count) {
    out.append(kReplacement);
    r.invalid += count;
  };
  std::size_t i = 0;
  while (i < n) {
    const unsigned char b = p[i];
    if (b == kEsc) {
      const std::string_view rest(in.data() + i + 1, std::min<std::size_t>(3, n - i - 1));
      std::size_t len = 0;
      if (rest.starts_with("(B") || rest.starts_with("(J") || rest.starts_with("(H")) {
        // JIS-Roman is decoded as ASCII, as every Japanese mailer does (0x5C stays a backslash).
        g0 = G0::Ascii;
        len = 3;
      } else if (rest.starts_with("(I")) {
        g0 = G0::Kana;
        len = 3;
      } else if (rest.starts_with("$@") || rest.starts_with("$B")) {
        g0 = G0::Jis0208;
        len = 3;
      } else if (rest.starts_with("$A")) {
        g0 = G0::Gb2312;
        len = 3;
      } else if (rest.starts_with("$(@") || rest.starts_with("$(B") || rest.starts_with("$(Q") ||
                 rest.starts_with("$(O")) {
        // JIS X 0213 plane 1 is a superset of JIS X 0208: its 0208 part decodes; the rest
        // becomes U+FFFD.
        g0 = G0::Jis0208;
        len = 4;
      } else if (rest.starts_with("$(D")) {
        g0 = G0::Jis0212;
        len = 4;
      } else if (rest.starts_with("$(C")) {
        g0 = G0::Ksc5601;
        len = 4;
      } else if (rest.starts_with("$(P")) {
        g0 = G0::Unknown94x94;
        len = 4;
      } else if (rest.starts_with("&@")) {
        len = 3;  // JIS X 0208-1990 announcer; the ESC $ B that follows does the work
      } else if (rest.starts_with(".A")) {
        g2 = G2::Latin1;
        len = 3;
      } else if (rest.starts_with(".F")) {
        g2 = G2::Greek;
        len = 3;
      } else if (rest.starts_with("N") && rest.size() >= 2 && g2 != G2::None) {
        const unsigned char c = static_cast<unsigned char>(rest[1]);
        if (c >= 0x20 && c < 0x80) {
          const char32_t v = g2 == G2::Latin1 ? char32_t{c} + 0x80
                                              : upper96<1>("ISO-8859-7")[c - 0x20u];
          if (v != 0) {
            appendUtf8(out, v);
          } else {
            bad(3);
          }
          i += 3;
          continue;
        }
      }
      if (len == 0) {
        bad(1);  // unknown or truncated escape: the ESC alone is invalid, the rest is text
        ++i;
      } else {
        i += len;
      }
      continue;
    }
    if (b == 0x0E) {
      shifted = true;
      ++i;
      continue;
    }
    if (b == 0x0F) {
      shifted = false;
      ++i;
      continue;
    }
    if (b >= 0x80) {
      // 8-bit bytes are outside ISO-2022-JP. Raw JIS8 kana (0xA1–0xDF) are decoded so that a
      // detected ISO-2022-JP body that carries them is still readable; a label alone does not
      // justify them (the bytes may be UTF-8), hence nonStrict.
      r.nonStrict = true;
      if (b >= 0xA1 && b <= 0xDF) {
        appendUtf8(out, 0xFF61 + (b - 0xA1u));
      } else {
        bad(1);
      }
      ++i;
      continue;
    }
    if (b < 0x21 || b == 0x7F) {
      out.push_back(static_cast<char>(b));  // controls and space pass in every mode
      ++i;
      continue;
    }
    if (shifted || g0 == G0::Kana) {
      if (b <= 0x5F) {
        appendUtf8(out, 0xFF61 + (b - 0x21u));
      } else {
        bad(1);
      }
      ++i;
      continue;
    }
    if (g0 == G0::Ascii) {
      out.push_back(static_cast<char>(b));
      ++i;
      continue;
    }
    // A two-byte set.
    if (i + 1 >= n || p[i + 1] < 0x21 || p[i + 1] > 0x7E) {
      bad(1);
      ++i;
      continue;
    }
    char32_t v = 0;
    switch (g0) {
      case G0::Jis0208: v = lookup94(jis0208(), b, p[i + 1]); break;
      case G0::Jis0212: v = lookup94(jis0212(), b, p[i + 1]); break;
      case G0::Gb2312: v = lookup94(gb2312(), b, p[i + 1]); break;
      case G0::Ksc5601: v = lookup94(ksc5601(), b, p[i + 1]); break;
      default: break;
    }
    if (v != 0) {
      appendUtf8(out, v);
    } else {
      bad(2);
    }
    i += 2;
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// EUC-JP (EUC-JP-MS / CP51932 superset)

RawDecode decodeEucJp(std::string_view in) {
  RawDecode r;
  std::string& out = r.utf8;
  out.reserve(in.size() + in.size() / 2 + 16);
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  auto bad = [&](std::size_t count) {
    out.append(kReplacement);
    r.invalid += count;
  };
  auto isEuc = [](unsigned char c) { return c >= 0xA1 && c <= 0xFE; };
  std::size_t i = 0;
  while (i < n) {
    const std::size_t ascii = skipAscii(in, i);
    if (ascii > i) {
      out.append(in.data() + i, ascii - i);
      i = ascii;
      if (i >= n) break;
    }
    const unsigned char b = p[i];
    if (b == 0x8E) {
      if (i + 1 < n && p[i + 1] >= 0xA1 && p[i + 1] <= 0xDF) {
        appendUtf8(out, 0xFF61 + (p[i + 1] - 0xA1u));
        i += 2;
      } else {
        bad(1);
        ++i;
      }
    } else if (b == 0x8F) {
      if (i + 2 < n && isEuc(p[i + 1]) && isEuc(p[i + 2])) {
        const char32_t v = lookup94(jis0212(), p[i + 1], p[i + 2]);
        if (v != 0) {
          appendUtf8(out, v);
        } else {
          bad(3);
        }
        i += 3;
      } else {
        bad(1);
        ++i;
      }
    } else if (isEuc(b) && i + 1 < n && isEuc(p[i + 1])) {
      const char32_t v = lookup94(jis0208(), b, p[i + 1]);
      if (v != 0) {
        appendUtf8(out, v);
        r.level1 += b >= 0xB0 && b <= 0xCF;
        r.level2 += b >= 0xD0 && b <= 0xF4;
      } else {
        bad(2);
      }
      i += 2;
    } else {
      bad(1);
      ++i;
    }
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// CP932 (Shift_JIS with the NEC and IBM extensions)

bool isSjisLead(unsigned char c) { return (c >= 0x81 && c <= 0x9F) || (c >= 0xE0 && c <= 0xFC); }
bool isSjisTrail(unsigned char c) { return c >= 0x40 && c <= 0xFC && c != 0x7F; }
std::size_t sjisIndex(unsigned char lead, unsigned char trail) {
  const std::size_t l = lead <= 0x9F ? lead - 0x81u : lead - 0xE0u + 31;
  return l * 189 + (trail - 0x40u);
}

constexpr std::size_t kSjisCells = std::size_t{60} * 189;

/// Every two-byte CP932 character (60 lead bytes × 189 trail positions), from glibc's CP932.
/// A table, not iconv, because this decoder also runs twice per unlabelled message in detection.
const std::array<char32_t, kSjisCells>& cp932Table() {
  static const std::array<char32_t, kSjisCells> table = [] {
    std::array<char32_t, kSjisCells> t{};
    Iconv cd("UTF-32LE", "CP932");
    if (!cd.ok()) return t;
    for (int lead = 0x81; lead <= 0xFC; ++lead) {
      if (!isSjisLead(static_cast<unsigned char>(lead))) continue;
      for (int trail = 0x40; trail <= 0xFC; ++trail) {
        if (!isSjisTrail(static_cast<unsigned char>(trail))) continue;
        const unsigned char in[2] = {static_cast<unsigned char>(lead),
                                     static_cast<unsigned char>(trail)};
        t[sjisIndex(in[0], in[1])] = convertOne(cd, in, 2);
      }
    }
    return t;
  }();
  return table;
}

RawDecode decodeCp932(std::string_view in) {
  const auto& table = cp932Table();
  RawDecode r;
  std::string& out = r.utf8;
  out.reserve(in.size() + in.size() / 2 + 16);
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n) {
    const std::size_t ascii = skipAscii(in, i);
    if (ascii > i) {
      out.append(in.data() + i, ascii - i);
      i = ascii;
      if (i >= n) break;
    }
    const unsigned char b = p[i];
    if (b >= 0xA1 && b <= 0xDF) {
      appendUtf8(out, 0xFF61 + (b - 0xA1u));
      ++i;
    } else if (isSjisLead(b) && i + 1 < n && isSjisTrail(p[i + 1])) {
      const char32_t v = table[sjisIndex(b, p[i + 1])];
      if (v != 0) {
        appendUtf8(out, v);
        r.level1 += b >= 0x88 && b <= 0x98;
        r.level2 += (b >= 0x99 && b <= 0x9F) || (b >= 0xE0 && b <= 0xEA);
      } else {
        out.append(kReplacement);
        r.invalid += 2;
      }
      i += 2;
    } else {
      out.append(kReplacement);  // 0x80, 0xA0, 0xFD–0xFF, or a lead without its trail byte
      ++r.invalid;
      ++i;
    }
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Labels

std::string lowerTrimmed(std::string_view label) {
  auto isSpace = [](char c) {
    return c == ' ' || c == '\t' || c == '"' || c == '\'' || c == '\r' || c == '\n';
  };
  while (!label.empty() && isSpace(label.front())) label.remove_prefix(1);
  while (!label.empty() && isSpace(label.back())) label.remove_suffix(1);
  // RFC 2231 lets a language tag follow the charset ("iso-2022-jp*ja").
  if (const std::size_t star = label.find('*'); star != std::string_view::npos) {
    label = label.substr(0, star);
  }
  std::string s;
  if (label.size() > 64) return s;
  for (const char c : label) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == ':' || c == '+';
    if (!ok) return {};
    s.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  return s;
}

struct Alias {
  std::string_view label;
  std::string_view canonical;
};

// Labels we map to a real-world superset or to our own decoders. Anything else iconv knows is
// accepted under its own (upper-cased) name.
constexpr Alias kAliases[] = {
    {"shift_jis", "CP932"},        {"shift-jis", "CP932"},      {"sjis", "CP932"},
    {"x-sjis", "CP932"},           {"ms_kanji", "CP932"},       {"csshiftjis", "CP932"},
    {"windows-31j", "CP932"},      {"cswindows31j", "CP932"},   {"cp932", "CP932"},
    {"ms932", "CP932"},            {"x-ms-cp932", "CP932"},     {"ibm-943", "CP932"},
    {"shift_jisx0213", "CP932"},   {"shift_jis-2004", "CP932"}, {"x-sjis-docomo", "CP932"},
    {"x-sjis-kddi", "CP932"},      {"x-sjis-softbank", "CP932"}, {"sjis-win", "CP932"},
    {"iso-2022-jp", "ISO-2022-JP"}, {"csiso2022jp", "ISO-2022-JP"},
    {"iso-2022-jp-1", "ISO-2022-JP"}, {"iso-2022-jp-2", "ISO-2022-JP"},
    {"csiso2022jp2", "ISO-2022-JP"}, {"iso-2022-jp-3", "ISO-2022-JP"},
    {"iso-2022-jp-2004", "ISO-2022-JP"}, {"iso-2022-jp-ms", "ISO-2022-JP"},
    {"cp50220", "ISO-2022-JP"},    {"cp50221", "ISO-2022-JP"},  {"cp50222", "ISO-2022-JP"},
    {"jis", "ISO-2022-JP"},        {"x-iso-2022-jp-kddi", "ISO-2022-JP"},
    {"euc-jp", "EUC-JP-MS"},       {"eucjp", "EUC-JP-MS"},      {"x-euc-jp", "EUC-JP-MS"},
    {"x-euc", "EUC-JP-MS"},        {"ujis", "EUC-JP-MS"},
    {"cseucpkdfmtjapanese", "EUC-JP-MS"},
    {"eucjp-ms", "EUC-JP-MS"},     {"euc-jp-ms", "EUC-JP-MS"},  {"eucjp-win", "EUC-JP-MS"},
    {"eucjp-open", "EUC-JP-MS"},   {"cp51932", "EUC-JP-MS"},    {"euc-jisx0213", "EUC-JP-MS"},
    {"utf-8", "UTF-8"},            {"utf8", "UTF-8"},           {"unicode-1-1-utf-8", "UTF-8"},
    {"x-unicode20utf8", "UTF-8"},  {"unicode-2-0-utf-8", "UTF-8"},
    {"us-ascii", "US-ASCII"},      {"ascii", "US-ASCII"},       {"ansi_x3.4-1968", "US-ASCII"},
    {"ansi_x3.4-1986", "US-ASCII"}, {"iso646-us", "US-ASCII"},  {"us", "US-ASCII"},
    {"csascii", "US-ASCII"},       {"cp367", "US-ASCII"},       {"ibm367", "US-ASCII"},
    {"iso-ir-6", "US-ASCII"},      {"iso_646.irv:1991", "US-ASCII"},
    {"ks_c_5601-1987", "CP949"},   {"ks_c_5601-1989", "CP949"}, {"ks_c_5601", "CP949"},
    {"ksc5601", "CP949"},          {"ksc_5601", "CP949"},       {"euc-kr", "CP949"},
    {"cseuckr", "CP949"},          {"korean", "CP949"},         {"windows-949", "CP949"},
    {"cp949", "CP949"},            {"uhc", "CP949"},
    {"gb2312", "GB18030"},         {"csgb2312", "GB18030"},     {"gbk", "GB18030"},
    {"cp936", "GB18030"},          {"x-gbk", "GB18030"},        {"gb18030", "GB18030"},
    {"euc-cn", "GB18030"},         {"x-euc-cn", "GB18030"},     {"chinese", "GB18030"},
    {"windows-936", "GB18030"},    {"gb_2312-80", "GB18030"},
    {"big5", "BIG5-HKSCS"},        {"big5-hkscs", "BIG5-HKSCS"}, {"x-x-big5", "BIG5-HKSCS"},
    {"cn-big5", "BIG5-HKSCS"},     {"csbig5", "BIG5-HKSCS"},    {"cp950", "BIG5-HKSCS"},
    {"iso-8859-1", "CP1252"},      {"iso8859-1", "CP1252"},     {"iso_8859-1", "CP1252"},
    {"latin1", "CP1252"},          {"l1", "CP1252"},            {"cp819", "CP1252"},
    {"ibm819", "CP1252"},          {"csisolatin1", "CP1252"},   {"iso-ir-100", "CP1252"},
    {"windows-1252", "CP1252"},    {"cp1252", "CP1252"},        {"x-cp1252", "CP1252"},
    {"iso_8859-1:1987", "CP1252"},
    {"iso-8859-9", "CP1254"},      {"latin5", "CP1254"},        {"windows-1254", "CP1254"},
    {"iso-8859-11", "CP874"},      {"tis-620", "CP874"},        {"windows-874", "CP874"},
    {"utf-7", "UTF-7"},            {"utf7", "UTF-7"},           {"unicode-1-1-utf-7", "UTF-7"},
    {"csunicode11utf7", "UTF-7"},  {"x-unicode20utf7", "UTF-7"},
    {"utf-16", "UTF-16"},          {"unicode", "UTF-16"},       {"utf-16le", "UTF-16LE"},
    {"utf-16be", "UTF-16BE"},      {"utf-32", "UTF-32"},        {"utf-32le", "UTF-32LE"},
    {"utf-32be", "UTF-32BE"},
};

// Names iconv accepts but that mean "whatever this machine uses": never a mail charset.
constexpr std::string_view kRejected[] = {"char", "wchar_t", "internal", "ucs-4-internal"};

bool isUnicodeOrIso2022(const std::string& cs) {
  return cs == "UTF-8" || cs == "UTF-7" || cs.starts_with("UTF-16") || cs.starts_with("UTF-32") ||
         cs.starts_with("UCS-") || cs.starts_with("ISO-2022");
}

RawDecode decodeAs(std::string_view in, const std::string& canonical) {
  if (canonical == "UTF-8") return decodeUtf8(in);
  if (canonical == "US-ASCII") return decodeAscii(in);
  if (canonical == "ISO-2022-JP") return decodeIso2022Jp(in);
  if (canonical == "EUC-JP-MS") return decodeEucJp(in);
  if (canonical == "CP932") return decodeCp932(in);
  return decodeIconv(in, canonical);
}

// ---------------------------------------------------------------------------------------------
// Detection

struct JapaneseScore {
  std::size_t nonAscii = 0;  ///< non-ASCII code points
  std::size_t kana = 0;      ///< hiragana and full-width katakana
  std::size_t kanji = 0;
  std::size_t halfKana = 0;
  std::size_t odd = 0;    ///< private use, C1 controls, U+FFFD: what mis-decoding produces
  std::size_t other = 0;  ///< anything else outside kana, kanji, CJK symbols, full-width forms
  std::size_t inRuns = 0;  ///< Japanese characters with a Japanese neighbour
  /// Enough kana among the non-ASCII characters to be Japanese prose.
  bool kanaRich() const { return kana >= 1 && kana * 6 >= nonAscii; }
  /// Japanese prose, and not the debris of a wrong charset.
  bool japanese() const { return kanaRich() && odd * 20 <= nonAscii; }
  /// Kanji without kana, as in a short subject ("日本語"). A Latin text misread as CP932 also
  /// yields kanji, but one per accented letter, each between ASCII letters ("élève"); real
  /// Japanese has its characters side by side.
  bool kanjiText() const {
    return halfKana == 0 && odd == 0 && other * 10 <= nonAscii && inRuns >= 2 &&
           inRuns * 2 >= nonAscii;
  }
  long value() const {
    return static_cast<long>(kana * 3 + kanji) - static_cast<long>(halfKana + odd * 4);
  }
};

JapaneseScore scoreJapanese(std::string_view utf8) {
  JapaneseScore s;
  const auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
  std::size_t i = 0;
  std::size_t run = 0;  // length of the current run of adjacent Japanese characters
  std::size_t runEnd = 0;
  auto closeRun = [&] {
    if (run >= 2) s.inRuns += run;
    run = 0;
  };
  while ((i = skipAscii(utf8, i)) < utf8.size()) {
    if (i != runEnd) closeRun();  // ASCII came between
    char32_t c = 0xFFFD;
    const int k = utf8Step(p + i, utf8.size() - i, &c);
    i += static_cast<std::size_t>(k > 0 ? k : -k);
    if (k < 0) c = 0xFFFD;
    ++s.nonAscii;
    bool japanese = true;
    if ((c >= 0x3041 && c <= 0x309F) || (c >= 0x30A1 && c <= 0x30FF)) {
      ++s.kana;
    } else if ((c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
               (c >= 0xF900 && c <= 0xFAFF)) {
      ++s.kanji;
    } else if ((c >= 0x3000 && c <= 0x303F) || (c >= 0xFF01 && c <= 0xFF60) ||
               (c >= 0xFFE0 && c <= 0xFFE6)) {
      // CJK symbols and full-width forms: Japanese, but counted as neither kana nor kanji
    } else {
      japanese = false;
      if (c >= 0xFF61 && c <= 0xFF9F) {
        ++s.halfKana;
      } else if ((c >= 0xE000 && c <= 0xF8FF) || (c >= 0x80 && c <= 0x9F) || c == 0xFFFD) {
        ++s.odd;
      } else {
        ++s.other;
      }
    }
    if (japanese) {
      ++run;
    } else {
      closeRun();
    }
    runEnd = i;
  }
  closeRun();
  return s;
}

/// How much a detection result is worth against a declared label that fails.
enum class Strength {
  Weak,     ///< statistics (uchardet) or the CP1252 default
  Likely,   ///< CP932/EUC-JP that decodes and reads as Japanese
  Certain,  ///< a BOM, clean ISO-2022-JP escapes, or valid multibyte UTF-8
};

struct Detection {
  std::string charset;
  Strength strength = Strength::Weak;
};

/// A sample that ends at a line boundary, so a cut never splits a multibyte character.
std::string_view detectionSample(std::string_view bytes) {
  if (bytes.size() <= kDetectSample) return bytes;
  std::string_view s = bytes.substr(0, kDetectSample);
  const std::size_t nl = s.rfind('\n');
  if (nl != std::string_view::npos && nl > kDetectSample / 2) s = s.substr(0, nl + 1);
  return s;
}

struct JapaneseCandidate {
  std::string charset;
  JapaneseScore score;
  std::size_t invalid = 0;
};

/// CP932 or EUC-JP, whichever decodes (nearly) cleanly and reads as Japanese; empty if neither.
/// With `kanjiOnly`, a clean reading that is kanji text without kana also counts (detection of
/// unlabelled bytes; never used to override a label that decodes cleanly).
std::optional<JapaneseCandidate> japaneseMultibyte(std::string_view sample, bool requireClean,
                                                   bool kanjiOnly) {
  std::size_t highBytes = 0;
  for (const char c : sample) highBytes += static_cast<unsigned char>(c) >= 0x80;
  std::optional<JapaneseCandidate> best;
  for (const char* cs : {"CP932", "EUC-JP-MS"}) {
    const RawDecode d = decodeAs(sample, cs);
    if (!d.ok) continue;
    if (requireClean ? d.invalid != 0 : d.invalid * 50 > highBytes) continue;
    JapaneseCandidate cand{cs, scoreJapanese(d.utf8), d.invalid};
    // Kanji-only text must also be mostly level-1 (common) kanji: Latin-1 accented letters
    // read as CP932 land in level 2 (é = 0xE9 is a level-2 lead byte).
    const bool kanjiText = kanjiOnly && d.invalid == 0 && cand.score.kanjiText() &&
                           d.level2 * 10 <= d.level1;
    if (!cand.score.japanese() && !kanjiText) continue;
    const long v = cand.score.value() - static_cast<long>(cand.invalid * 8);
    if (!best || v > best->score.value() - static_cast<long>(best->invalid * 8)) best = cand;
  }
  return best;
}

std::string uchardetGuess(std::string_view sample) {
  std::unique_ptr<uchardet, void (*)(uchardet_t)> ud(uchardet_new(), uchardet_delete);
  if (!ud) return {};
  if (uchardet_handle_data(ud.get(), sample.data(), sample.size()) != 0) return {};
  uchardet_data_end(ud.get());
  const char* name = uchardet_get_charset(ud.get());
  if (name == nullptr || *name == '\0') return {};
  return canonicalCharset(name);
}

Detection detectInternal(std::string_view bytes) {
  const std::string_view sample = detectionSample(bytes);
  if (sample.size() >= 2 && ((static_cast<unsigned char>(sample[0]) == 0xFF &&
                              static_cast<unsigned char>(sample[1]) == 0xFE) ||
                             (static_cast<unsigned char>(sample[0]) == 0xFE &&
                              static_cast<unsigned char>(sample[1]) == 0xFF))) {
    return {"UTF-16", Strength::Certain};
  }
  const bool sevenBit = skipAscii(sample, 0) == sample.size();
  const bool escapes = hasJapaneseEscapes(sample);
  if (escapes) {
    const RawDecode d = decodeIso2022Jp(sample);
    if (d.invalid == 0) return {"ISO-2022-JP", Strength::Certain};
  }
  if (sevenBit) return {"US-ASCII", Strength::Certain};
  const Utf8Check u = checkUtf8(sample);
  if (u.valid) return {"UTF-8", Strength::Certain};
  if (auto jp = japaneseMultibyte(sample, false, true)) {
    return {jp->charset, Strength::Likely};
  }
  std::string guess = uchardetGuess(sample);
  if (!guess.empty() && guess != "US-ASCII") return {guess, Strength::Weak};
  return {"CP1252", Strength::Weak};
}

void stripLeadingBoms(std::string& s) {
  std::size_t k = 0;
  while (s.compare(k, 3, "\xEF\xBB\xBF") == 0) k += 3;
  if (k > 0) s.erase(0, k);
}

std::string_view prefixOf(std::string_view s, std::size_t max) {
  return s.size() <= max ? s : s.substr(0, max);
}

std::size_t highByteCount(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s) n += static_cast<unsigned char>(c) >= 0x80;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Encoding to ISO-2022-JP

/// Code point → JIS X 0208 row/cell (0x2121–0x7E7E), for the cells JIS X 0208 itself defines.
/// Both glibc's JIS reading and CP932's (～, ∥, －, ￠, ￡, ￢) map to the same cell.
const std::unordered_map<char32_t, std::uint16_t>& jis0208Reverse() {
  static const std::unordered_map<char32_t, std::uint16_t> map = [] {
    Table94 strict{};
    fillTable(
        strict, "EUC-JP",
        [](int j1, int j2, unsigned char* out) {
          out[0] = static_cast<unsigned char>(j1 | 0x80);
          out[1] = static_cast<unsigned char>(j2 | 0x80);
          return std::size_t{2};
        },
        false);
    std::unordered_map<char32_t, std::uint16_t> m;
    m.reserve(std::size_t{14000});
    const Table94& ms = jis0208();
    for (int pass = 0; pass < 2; ++pass) {
      for (std::size_t idx = 0; idx < strict.size(); ++idx) {
        const std::size_t row = idx / 94 + 1;
        if (strict[idx] == 0 || row > 84) continue;
        const auto code = static_cast<std::uint16_t>(((row + 0x20) << 8) | (idx % 94 + 0x21));
        m.emplace(pass == 0 ? strict[idx] : ms[idx], code);
      }
    }
    m.erase(0);
    return m;
  }();
  return map;
}

std::optional<std::string> encodeIso2022Jp(std::string_view utf8) {
  const auto& reverse = jis0208Reverse();
  std::string out;
  out.reserve(utf8.size() + 16);
  const auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
  bool jis = false;
  std::size_t i = 0;
  while (i < utf8.size()) {
    char32_t c;
    const int k = utf8Step(p + i, utf8.size() - i, &c);
    if (k < 0) return std::nullopt;
    i += static_cast<std::size_t>(k);
    if (c < 0x80) {
      // ESC, SO and SI would change the meaning of what follows.
      if (c == kEsc || c == 0x0E || c == 0x0F) return std::nullopt;
      if (jis) {
        out.append("\x1B(B");
        jis = false;
      }
      out.push_back(static_cast<char>(c));
      continue;
    }
    const auto it = reverse.find(c);
    if (it == reverse.end()) return std::nullopt;
    if (!jis) {
      out.append("\x1B$B");
      jis = true;
    }
    out.push_back(static_cast<char>(it->second >> 8));
    out.push_back(static_cast<char>(it->second & 0xFF));
  }
  if (jis) out.append("\x1B(B");
  return out;
}

bool isEscapedForDisplay(char32_t c) {
  if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) return true;
  switch (c) {
    case 0x00AD: case 0x061C: case 0x180E: case 0x2028: case 0x2029: case 0xFEFF:
      return true;
    default: break;
  }
  return (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
         (c >= 0x2060 && c <= 0x2064) || (c >= 0x2066 && c <= 0x206F) ||
         (c >= 0xFFF9 && c <= 0xFFFB) || (c >= 0xE0000 && c <= 0xE007F);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string canonicalCharset(std::string_view label) {
  const std::string l = lowerTrimmed(label);
  if (l.empty()) return {};
  for (const Alias& a : kAliases) {
    if (a.label == l) return std::string(a.canonical);
  }
  for (const std::string_view r : kRejected) {
    if (r == l) return {};
  }
  std::string upper = l;
  for (char& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  Iconv probe("UTF-8", upper.c_str());
  if (!probe.ok()) return {};
  return upper;
}

std::string detectCharset(std::string_view bytes) {
  try {
    return detectInternal(bytes).charset;
  } catch (...) {
    return "CP1252";
  }
}

Decoded decodeToUtf8(std::string_view bytes, std::string_view label) {
  try {
    const std::string canonical = canonicalCharset(label);
    auto finish = [&](RawDecode&& d, const std::string& cs) {
      Decoded result;
      result.utf8 = std::move(d.utf8);
      result.charset = cs;
      result.invalidBytes = d.invalid;
      result.labelUsed = !canonical.empty() && cs == canonical && d.invalid == 0;
      stripLeadingBoms(result.utf8);
      return result;
    };
    RawDecode labelled;
    if (!canonical.empty()) labelled = decodeAs(bytes, canonical);
    if (canonical.empty() || !labelled.ok) {
      const Detection det = detectInternal(bytes);
      RawDecode d = decodeAs(bytes, det.charset);
      if (!d.ok) return finish(decodeAs(bytes, "CP1252"), "CP1252");
      return finish(std::move(d), det.charset);
    }
    if (labelled.clean()) {
      // A label that decodes cleanly can still be wrong: single-byte charsets accept any
      // bytes, and CP932 accepts most EUC-JP and UTF-8. Only strong evidence overrides it.
      if (isUnicodeOrIso2022(canonical) && canonical != "UTF-8") {
        return finish(std::move(labelled), canonical);
      }
      const std::string_view sample = detectionSample(bytes);
      std::string better;
      if (hasJapaneseEscapes(sample) && skipAscii(sample, 0) == sample.size()) {
        if (decodeIso2022Jp(sample).clean()) better = "ISO-2022-JP";
      } else if (canonical != "UTF-8" && highByteCount(sample) > 0) {
        const Utf8Check u = checkUtf8(sample);
        if (u.valid && u.multibyte) {
          better = "UTF-8";
        } else if ((canonical != "CP932" && canonical != "EUC-JP-MS") ||
                   !scoreJapanese(prefixOf(labelled.utf8, 2 * kDetectSample)).japanese()) {
          // The label's reading is not Japanese; maybe the other Japanese charset's is.
          if (auto jp = japaneseMultibyte(sample, true, false);
              jp && jp->charset != canonical) {
            better = jp->charset;
          }
        }
      }
      if (!better.empty() && better != canonical) {
        RawDecode d = decodeAs(bytes, better);
        if (d.invalid == 0) return finish(std::move(d), better);
      }
      return finish(std::move(labelled), canonical);
    }
    // The label does not fit the bytes: take the detected charset if it does better.
    // US-ASCII is never a better answer: it only means the errors are in 7-bit framing (a
    // broken ISO-2022-JP escape), which the label's own decoder reads best.
    const Detection det = detectInternal(bytes);
    if (det.charset != canonical && det.charset != "US-ASCII") {
      RawDecode d = decodeAs(bytes, det.charset);
      // Anything short of certain replaces a label only when most of the label's non-ASCII
      // bytes were errors: a few stray bytes in real UTF-8 must not turn it into Latin-1, nor
      // into the CP932 reading of UTF-8 (縺ゅ), which also looks Japanese.
      const std::size_t high = highByteCount(bytes);
      const bool labelHopeless = high > 0 && labelled.invalid * 2 > high;
      const bool certain = det.strength == Strength::Certain;
      // Japanese detection beats a label whose reading is not Japanese at all (Shift_JIS
      // labelled iso-8859-1), but not a Japanese reading with a few errors.
      const bool likely =
          det.strength == Strength::Likely && !scoreJapanese(labelled.utf8).kanaRich();
      if (d.ok && ((d.invalid == 0 && (certain || likely || labelHopeless)) ||
                   (certain && d.invalid * 10 <= labelled.invalid))) {
        return finish(std::move(d), det.charset);
      }
    }
    // Detection agrees with the label (or found nothing better): the label's reading stands,
    // with its U+FFFDs. For ISO-2022-JP this also accepts raw 8-bit kana beside the escapes.
    return finish(std::move(labelled), canonical);
  } catch (...) {
    // Out of memory is the only way here; return what is certainly valid.
    Decoded result;
    result.charset = "US-ASCII";
    result.invalidBytes = bytes.size();
    return result;
  }
}

std::optional<std::string> encodeFromUtf8(std::string_view utf8, std::string_view charset) {
  try {
    std::string canonical = canonicalCharset(charset);
    if (canonical.empty()) return std::nullopt;
    if (canonical == "UTF-8") {
      std::string s(utf8);
      repairUtf8(s);
      return s;
    }
    if (canonical == "ISO-2022-JP") return encodeIso2022Jp(utf8);
    if (canonical == "US-ASCII") {
      if (skipAscii(utf8, 0) != utf8.size()) return std::nullopt;
      return std::string(utf8);
    }
    if (!checkUtf8(utf8).valid) return std::nullopt;
    Iconv cd(canonical.c_str(), "UTF-8");
    if (!cd.ok()) return std::nullopt;
    std::string out(utf8.size() * 2 + 64, '\0');
    char* src = const_cast<char*>(utf8.data());
    std::size_t srcLeft = utf8.size();
    std::size_t used = 0;
    bool flushing = false;
    while (true) {
      char* dst = out.data() + used;
      std::size_t dstLeft = out.size() - used;
      const std::size_t rc = flushing ? iconv(cd.get(), nullptr, nullptr, &dst, &dstLeft)
                                      : iconv(cd.get(), &src, &srcLeft, &dst, &dstLeft);
      used = static_cast<std::size_t>(dst - out.data());
      if (rc == static_cast<std::size_t>(-1)) {
        if (errno != E2BIG) return std::nullopt;
        out.resize(out.size() * 2);
        continue;
      }
      // glibc counts irreversible conversions in rc; those would change the text.
      if (rc != 0) return std::nullopt;
      if (flushing) break;
      flushing = true;
    }
    out.resize(used);
    return out;
  } catch (...) {
    return std::nullopt;
  }
}

std::size_t repairUtf8(std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = 0;
  // Fast path: nothing to repair, nothing allocated.
  while ((i = skipAscii(s, i)) < s.size()) {
    char32_t cp;
    const int k = utf8Step(p + i, s.size() - i, &cp);
    if (k < 0) break;
    i += static_cast<std::size_t>(k);
  }
  if (i >= s.size()) return 0;
  std::string out;
  out.reserve(s.size() + 16);
  out.append(s, 0, i);
  std::size_t replaced = 0;
  while (i < s.size()) {
    const std::size_t ascii = skipAscii(s, i);
    out.append(s, i, ascii - i);
    i = ascii;
    if (i >= s.size()) break;
    char32_t cp;
    const int k = utf8Step(p + i, s.size() - i, &cp);
    if (k > 0) {
      out.append(s, i, static_cast<std::size_t>(k));
      i += static_cast<std::size_t>(k);
    } else {
      out.append(kReplacement);
      ++replaced;
      i += static_cast<std::size_t>(-k);
    }
  }
  s.swap(out);
  return replaced;
}

std::string escapeForDisplay(std::string_view utf8) {
  std::string out;
  try {
    out.reserve(utf8.size() + 16);
    const auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
    std::size_t i = 0;
    while (i < utf8.size()) {
      char32_t c;
      const int k = utf8Step(p + i, utf8.size() - i, &c);
      if (k < 0) {
        out.append(kReplacement);
        i += static_cast<std::size_t>(-k);
        continue;
      }
      if (isEscapedForDisplay(c)) {
        static constexpr char kHex[] = "0123456789ABCDEF";
        out.append("<U+");
        int digits = c > 0xFFFF ? (c > 0xFFFFF ? 6 : 5) : 4;
        while (digits-- > 0) out.push_back(kHex[(c >> (4 * digits)) & 0xF]);
        out.push_back('>');
      } else {
        out.append(utf8.data() + i, static_cast<std::size_t>(k));
      }
      i += static_cast<std::size_t>(k);
    }
  } catch (...) {
    out.clear();
  }
  return out;
}

}  // namespace mugai::core
