// text/plain: decode, neutralize, cut embedded binaries (see text_sanitizer.h for the contract).
//
// The order is decode → limit → neutralize → cut. Cutting runs on neutralized text so that a
// second pass finds exactly what the first left (a control character hidden in a uuencode line
// must not make the block appear only after it is removed): sanitizing sanitized text is a
// no-op. yEnc payload lines are raw 8-bit bytes; they are dropped before decoding so that they
// neither sway charset detection nor count as invalid bytes, and the =ybegin/=yend frame left
// behind is cut after decoding like the other blocks.
#include "sanitizers/text/text_sanitizer.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/charset.h"

namespace mugai::sanitizers::text {
namespace {

// More blocks than this in one body are still cut, but reported as one summary line.
constexpr std::size_t kMaxReportedBlocks = 200;
// A declared file name longer than this is shortened (it is only ever shown).
constexpr std::size_t kMaxNameBytes = 255;

struct Line {
  std::size_t begin = 0;
  std::size_t end = 0;   ///< excluding the LF
  std::size_t next = 0;  ///< start of the following line (size() at the end)
};

Line lineAt(std::string_view text, std::size_t pos) {
  Line l;
  l.begin = pos;
  const std::size_t nl = text.find('\n', pos);
  if (nl == std::string_view::npos) {
    l.end = text.size();
    l.next = text.size();
  } else {
    l.end = nl;
    l.next = nl + 1;
  }
  return l;
}

std::string_view view(std::string_view text, const Line& l) {
  return text.substr(l.begin, l.end - l.begin);
}

std::string_view trimRight(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

/// Shortens a UTF-8 name at a character boundary.
std::string boundedName(std::string_view name) {
  if (name.size() <= kMaxNameBytes) return std::string(name);
  std::size_t cut = kMaxNameBytes;
  while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
  return std::string(name.substr(0, cut)) + "…";
}

// ---------------------------------------------------------------------------------------------
// uuencode ("begin 644 name" … "end") and its base64 form ("begin-base64 644 name" … "====")

/// Parses `begin[-base64] MODE NAME` where MODE is 3–4 octal digits.
bool parseUuBegin(std::string_view line, bool* base64, std::string_view* name) {
  std::string_view rest;
  if (line.starts_with("begin-base64 ")) {
    *base64 = true;
    rest = line.substr(13);
  } else if (line.starts_with("begin ")) {
    *base64 = false;
    rest = line.substr(6);
  } else {
    return false;
  }
  std::size_t digits = 0;
  while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '7') ++digits;
  if (digits < 3 || digits > 4 || digits >= rest.size() || rest[digits] != ' ') return false;
  *name = trimRight(rest.substr(digits + 1));
  return !name->empty();
}

/// A uuencoded data line: a length character, then groups of four characters in 0x20–0x60 that
/// carry that many bytes. Trailing spaces may have been stripped in transit, so the line may be
/// shorter than the length says, but not by more than a group's worth of padding.
bool isUuDataLine(std::string_view line, bool first) {
  if (line.empty()) return false;
  for (const char c : line) {
    if (c < 0x20 || c > 0x60) return false;
  }
  const std::size_t len = static_cast<std::size_t>((line[0] - 0x20) & 0x3F);
  if (first && len == 0) return false;
  const std::size_t expected = (len + 2) / 3 * 4;
  const std::size_t actual = line.size() - 1;
  return actual <= expected + 2 && actual + 4 >= expected && (len == 0 || actual >= 2);
}

bool isBase64DataLine(std::string_view line) {
  if (line.empty() || line.size() % 4 != 0) return false;
  return std::all_of(line.begin(), line.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/' || c == '=';
  });
}

/// The uuencode block starting at `start`, if there is one: its end (start of the line after
/// it) and the declared name.
bool findUuBlock(std::string_view text, const Line& start, std::size_t* blockEnd,
                 std::string_view* name, std::string* encoding) {
  bool base64 = false;
  if (!parseUuBegin(trimRight(view(text, start)), &base64, name)) return false;
  Line l = lineAt(text, start.next);
  const std::string_view firstData = trimRight(view(text, l));
  if (start.next >= text.size()) return false;
  if (base64 ? !isBase64DataLine(firstData) : !isUuDataLine(firstData, true)) return false;
  *encoding = "uuencode";
  std::size_t end = l.next;
  while (l.next < text.size()) {
    l = lineAt(text, l.next);
    const std::string_view s = trimRight(view(text, l));
    if (base64 ? s == "====" : s == "end") {
      end = l.next;
      break;
    }
    if (base64 ? isBase64DataLine(s) : isUuDataLine(s, false)) {
      end = l.next;
      continue;
    }
    // An empty line is uuencode's zero-length line with its space stripped, when "end" follows.
    if (!base64 && s.empty() && l.next < text.size() &&
        trimRight(view(text, lineAt(text, l.next))) == "end") {
      end = lineAt(text, l.next).next;
      break;
    }
    break;  // something else: the block was truncated; cut what was data
  }
  *blockEnd = end;
  return true;
}

// ---------------------------------------------------------------------------------------------
// BinHex 4.0

constexpr std::string_view kBinHexAlphabet =
    "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";

int binHexValue(char c) {
  const std::size_t pos = kBinHexAlphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

/// The file name inside a BinHex stream: decode 6-bit groups, undo the 0x90 run-length coding,
/// then read the length-prefixed name (Mac Roman).
std::string binHexName(std::string_view data) {
  std::string raw;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : data) {
    if (c == ':') break;
    const int v = binHexValue(c);
    if (v < 0) continue;  // line breaks
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      raw.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
    if (raw.size() >= 200) break;  // a name is at most 63 bytes, even with runs expanded
  }
  std::string plain;
  for (std::size_t i = 0; i < raw.size() && plain.size() < 80; ++i) {
    const auto b = static_cast<unsigned char>(raw[i]);
    if (b != 0x90 || i + 1 >= raw.size()) {
      plain.push_back(static_cast<char>(b));
      continue;
    }
    const auto count = static_cast<unsigned char>(raw[++i]);
    if (count == 0) {
      plain.push_back(static_cast<char>(0x90));
    } else if (!plain.empty()) {
      for (unsigned k = 1; k < count && plain.size() < 80; ++k) plain.push_back(plain.back());
    }
  }
  if (plain.empty()) return {};
  const std::size_t n = static_cast<unsigned char>(plain[0]);
  if (n == 0 || n > 63 || plain.size() < 1 + n) return {};
  return core::decodeToUtf8(std::string_view(plain).substr(1, n), "MACINTOSH").utf8;
}

bool findBinHexBlock(std::string_view text, const Line& start, std::size_t* blockEnd,
                     std::string* name) {
  if (!view(text, start).starts_with("(This file must be converted with BinHex")) return false;
  // The encoded stream starts with ':' within a few lines (blank lines may come between).
  Line l = start;
  bool found = false;
  for (int k = 0; k < 4 && l.next < text.size(); ++k) {
    l = lineAt(text, l.next);
    const std::string_view s = trimRight(view(text, l));
    if (s.empty()) continue;
    found = s.size() >= 2 && s[0] == ':' && binHexValue(s[1]) >= 0;
    break;
  }
  if (!found) return false;
  const std::size_t dataBegin = l.begin + 1;
  std::size_t end = l.next;
  bool closed = false;
  while (true) {
    const std::string_view s = trimRight(view(text, l));
    const std::size_t from = l.begin == dataBegin - 1 ? 1 : 0;
    bool ok = true;
    for (std::size_t i = from; i < s.size(); ++i) {
      if (s[i] == ':') {
        closed = true;
        break;
      }
      if (binHexValue(s[i]) < 0) {
        ok = false;
        break;
      }
    }
    if (!ok) break;  // not BinHex any more: cut what was
    end = l.next;
    if (closed || l.next >= text.size()) break;
    l = lineAt(text, l.next);
  }
  *name = binHexName(text.substr(dataBegin, end - dataBegin));
  *blockEnd = end;
  return true;
}

// ---------------------------------------------------------------------------------------------
// yEnc

/// `=ybegin … line=N size=N name=NAME`: the keywords every encoder writes; name runs to the end.
bool parseYBegin(std::string_view line, std::string_view* name) {
  if (!line.starts_with("=ybegin ")) return false;
  const std::size_t pos = line.find(" name=");
  if (pos == std::string_view::npos) return false;
  const std::string_view head = line.substr(0, pos);
  if (head.find(" line=") == std::string_view::npos ||
      head.find(" size=") == std::string_view::npos) {
    return false;
  }
  *name = trimRight(line.substr(pos + 6));
  return true;
}

bool findYencBlock(std::string_view text, const Line& start, std::size_t* blockEnd,
                   std::string_view* name) {
  if (!parseYBegin(trimRight(view(text, start)), name)) return false;
  std::size_t pos = start.next;
  while (pos < text.size()) {
    const Line l = lineAt(text, pos);
    if (view(text, l).starts_with("=yend")) {
      *blockEnd = l.next;
      return true;
    }
    pos = l.next;
  }
  *blockEnd = text.size();  // never closed: everything after =ybegin is payload
  return true;
}

/// Drops the payload lines of yEnc blocks from the raw bytes (the frame lines stay). Returns
/// false and leaves `out` alone when there is nothing to drop.
bool stripYencPayload(std::string_view raw, std::string* out) {
  if (raw.find("=ybegin ") == std::string_view::npos) return false;
  bool changed = false;
  std::size_t copied = 0;
  std::size_t pos = 0;
  while (pos < raw.size()) {
    const Line l = lineAt(raw, pos);
    std::string_view name;
    if (!parseYBegin(trimRight(view(raw, l)), &name)) {
      pos = l.next;
      continue;
    }
    std::size_t payloadEnd = raw.size();
    std::size_t q = l.next;
    while (q < raw.size()) {
      const Line d = lineAt(raw, q);
      if (view(raw, d).starts_with("=yend")) {
        payloadEnd = d.begin;
        break;
      }
      q = d.next;
    }
    if (payloadEnd > l.next) {
      out->append(raw.data() + copied, l.next - copied);
      copied = payloadEnd;
      changed = true;
    }
    pos = payloadEnd;
    if (payloadEnd < raw.size()) pos = lineAt(raw, payloadEnd).next;
  }
  if (!changed) return false;
  out->append(raw.data() + copied, raw.size() - copied);
  return true;
}

// ---------------------------------------------------------------------------------------------

std::string placeholder(std::string_view encoding, std::string_view name) {
  std::string s = "[削除された添付ファイル (";
  s.append(encoding);
  s.append(")");
  if (!name.empty()) {
    s.append(": ");
    s.append(core::escapeForDisplay(name));
  }
  s.append("]");
  return s;
}

/// Cuts every encoded-file block out of LF-terminated, neutralized text.
void cutEncodedBlocks(std::string& text, std::vector<CutBlock>& cut, core::Findings& findings) {
  // Cheap test first: every block starts a line with one of these.
  const std::string_view all = text;
  if (all.find("begin") == std::string_view::npos &&
      all.find("(This file must be converted with BinHex") == std::string_view::npos &&
      all.find("=ybegin ") == std::string_view::npos) {
    return;
  }
  std::string out;
  bool any = false;
  std::size_t copied = 0;
  std::size_t unreported = 0;
  std::size_t pos = 0;
  while (pos < all.size()) {
    const Line l = lineAt(all, pos);
    const char first = l.end > l.begin ? all[l.begin] : '\0';
    std::size_t blockEnd = 0;
    std::string encoding;
    std::string name;
    bool found = false;
    if (first == 'b') {
      std::string_view n;
      found = findUuBlock(all, l, &blockEnd, &n, &encoding);
      name = n;
    } else if (first == '(') {
      found = findBinHexBlock(all, l, &blockEnd, &name);
      encoding = "binhex";
    } else if (first == '=') {
      std::string_view n;
      found = findYencBlock(all, l, &blockEnd, &n);
      name = n;
      encoding = "yenc";
    }
    if (!found) {
      pos = l.next;
      continue;
    }
    any = true;
    name = boundedName(name);
    out.append(all.data() + copied, l.begin - copied);
    out.append(placeholder(encoding, name));
    if (blockEnd > 0 && all[blockEnd - 1] == '\n') out.push_back('\n');
    copied = blockEnd;
    pos = blockEnd;
    if (cut.size() < kMaxReportedBlocks) {
      findings.push_back({"text.encoded_file_removed", name});
      cut.push_back({std::move(encoding), std::move(name)});
    } else {
      ++unreported;
    }
  }
  if (!any) return;
  out.append(all.data() + copied, all.size() - copied);
  if (unreported > 0) {
    findings.push_back(
        {"text.encoded_file_removed", "+" + std::to_string(unreported) + " more"});
  }
  text.swap(out);
}

/// Cuts UTF-8 text to at most `max` bytes without splitting a character.
void cutAtBoundary(std::string& s, std::size_t max) {
  if (s.size() <= max) return;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
}

}  // namespace

namespace {

/// Bytes at which neutralizing may change something: C0 controls other than TAB and LF, DEL,
/// and the lead bytes of C1 controls (C2), ARABIC LETTER MARK (D8) and the bidi controls (E2).
constexpr std::array<bool, 256> kInteresting = [] {
  std::array<bool, 256> t{};
  for (int b = 0; b < 0x20; ++b) t[static_cast<std::size_t>(b)] = b != '\t' && b != '\n';
  t[0x7F] = t[0xC2] = t[0xD8] = t[0xE2] = true;
  return t;
}();

/// E2 80 8E/8F (LRM, RLM), E2 80 AA–AE (LRE, RLE, PDF, LRO, RLO), E2 81 A6–A9 (LRI, RLI, FSI,
/// PDI): the bidi controls that start with E2.
bool isBidiControlTail(unsigned char b1, unsigned char b2) {
  if (b1 == 0x80) return b2 == 0x8E || b2 == 0x8F || (b2 >= 0xAA && b2 <= 0xAE);
  return b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9;
}

/// neutralize() on text already known to be valid UTF-8.
void neutralizeValid(std::string& utf8, core::Findings& findings) {
  bool controls = false;
  bool bidi = false;
  // Everything this pass changes shrinks or keeps the text, so it compacts in place; runs of
  // unchanged bytes are moved only once something before them was dropped.
  const std::size_t n = utf8.size();
  char* d = utf8.data();
  const auto* u = reinterpret_cast<const unsigned char*>(d);
  std::size_t w = 0;
  std::size_t i = 0;
  while (i < n) {
    std::size_t run = i;
    while (run < n && !kInteresting[u[run]]) ++run;
    if (run > i) {
      if (w != i) std::memmove(d + w, d + i, run - i);
      w += run - i;
      i = run;
      if (i >= n) break;
    }
    const unsigned char b = u[i];
    std::size_t drop = 0;  // bytes to remove at i (0: keep the byte)
    if (b == '\r') {
      d[w++] = '\n';
      i += (i + 1 < n && d[i + 1] == '\n') ? 2 : 1;
      continue;
    }
    if (b < 0x80) {  // other C0 controls, NUL, DEL
      controls = true;
      drop = 1;
    } else if (b == 0xC2 && i + 1 < n && u[i + 1] <= 0x9F) {  // C1: C2 80–9F
      controls = true;
      drop = 2;
    } else if (b == 0xD8 && i + 1 < n && u[i + 1] == 0x9C) {  // ARABIC LETTER MARK
      bidi = true;
      drop = 2;
    } else if (b == 0xE2 && i + 2 < n && isBidiControlTail(u[i + 1], u[i + 2])) {
      bidi = true;
      drop = 3;
    }
    if (drop > 0) {
      i += drop;
    } else {
      d[w++] = d[i++];
    }
  }
  utf8.resize(w);
  if (bidi) findings.push_back({"text.bidi_neutralized", {}});
  if (controls) findings.push_back({"text.control_removed", {}});
}

}  // namespace

void neutralize(std::string& utf8, core::Findings& findings) {
  try {
    const std::size_t repaired = core::repairUtf8(utf8);
    if (repaired > 0) findings.push_back({"text.invalid_bytes", std::to_string(repaired)});
    neutralizeValid(utf8, findings);
  } catch (...) {
    // Only memory exhaustion gets here: an empty text is the safe answer.
    utf8.clear();
    findings.push_back({"error.sanitizer", "text"});
  }
}

TextResult sanitizePlainText(std::string_view bytes, std::string_view charsetLabel,
                             const core::Limits& limits) {
  TextResult r;
  try {
    const std::uint64_t maxText = limits.maxTextBytes;
    bool limitHit = false;
    // No charset needs more than four input bytes per output byte (UTF-32), so input beyond
    // that cannot fit in the limit; decoding it would be wasted work.
    if (maxText < (static_cast<std::uint64_t>(1) << 60) && bytes.size() > maxText * 4 + 4) {
      bytes = bytes.substr(0, static_cast<std::size_t>(maxText * 4 + 4));
      limitHit = true;
    }
    std::string stripped;
    if (stripYencPayload(bytes, &stripped)) bytes = stripped;

    core::Decoded d = core::decodeToUtf8(bytes, charsetLabel);
    const std::string canonicalLabel = core::canonicalCharset(charsetLabel);
    const bool asciiDefault = charsetLabel.find_first_not_of(" \t\"") == std::string_view::npos &&
                              d.charset == "US-ASCII";  // RFC 2045's default: nothing detected
    if (!canonicalLabel.empty()) {
      if (d.charset != canonicalLabel) {
        r.findings.push_back({"text.charset_mislabelled", d.charset});
      }
    } else if (!asciiDefault) {
      r.findings.push_back({"text.charset_detected", d.charset});
    }
    if (d.invalidBytes > 0) {
      r.findings.push_back({"text.invalid_bytes", std::to_string(d.invalidBytes)});
    }
    if (d.utf8.size() > maxText) {
      cutAtBoundary(d.utf8, static_cast<std::size_t>(maxText));
      limitHit = true;
    }
    neutralizeValid(d.utf8, r.findings);  // decodeToUtf8 output is valid UTF-8
    // A BOM that only became leading when controls before it were removed goes too, or a
    // second pass would strip it and not be a no-op.
    while (d.utf8.starts_with("\xEF\xBB\xBF")) d.utf8.erase(0, 3);
    cutEncodedBlocks(d.utf8, r.cut, r.findings);
    if (limitHit) r.findings.push_back({"limit.text_bytes", std::to_string(maxText)});
    r.utf8 = std::move(d.utf8);
    r.charset = std::move(d.charset);
  } catch (...) {
    // Only memory exhaustion gets here; an empty text with the error is the safe answer.
    r = TextResult{};
    r.findings.push_back({"error.sanitizer", "text"});
  }
  return r;
}

}  // namespace mugai::sanitizers::text
