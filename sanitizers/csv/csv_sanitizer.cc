// CSV/TSV rebuilding: decode, parse RFC 4180 field by field, neutralize formulas, re-serialize.
#include "sanitizers/csv/csv_sanitizer.h"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/charset.h"
#include "sanitizers/text/text_sanitizer.h"

namespace mugai::sanitizers::csv {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";
// Checking the clock costs a syscall-free read but is still not free; every few thousand fields
// is often enough for a linear pass.
constexpr std::size_t kDeadlineEvery = 4096;

constexpr std::array kCsvTypes =
    std::to_array<std::string_view>({"text/csv", "text/comma-separated-values", "application/csv"});
constexpr std::string_view kTsvType = "text/tab-separated-values";

bool isDigit(char c) { return c >= '0' && c <= '9'; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool endsWithNoCase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (std::size_t i = 0; i < suffix.size(); ++i) {
    if (lower(s[s.size() - suffix.size() + i]) != suffix[i]) return false;
  }
  return true;
}

// The code point starting at s[i] when it is one of the few non-ASCII characters the formula
// check cares about (all three bytes long in UTF-8); 0 otherwise.
std::uint32_t wideAt(std::string_view s, std::size_t i) {
  if (i + 1 < s.size() && s[i] == '\xC2' && s[i + 1] == '\xA0') return 0xA0;
  if (i + 2 >= s.size()) return 0;
  const auto b0 = static_cast<unsigned char>(s[i]);
  const auto b1 = static_cast<unsigned char>(s[i + 1]);
  const auto b2 = static_cast<unsigned char>(s[i + 2]);
  if (b0 != 0xE3 && b0 != 0xEF) return 0;
  if ((b1 & 0xC0) != 0x80 || (b2 & 0xC0) != 0x80) return 0;
  return ((b0 & 0x0Fu) << 12) | ((b1 & 0x3Fu) << 6) | (b2 & 0x3Fu);
}

// Width in bytes of a full-width digit (U+FF10..U+FF19) at s[i], or 0.
std::size_t fullWidthDigitAt(std::string_view s, std::size_t i) {
  const std::uint32_t cp = wideAt(s, i);
  return (cp >= 0xFF10 && cp <= 0xFF19) ? 3 : 0;
}

bool needsQuoting(std::string_view cell, char delimiter) {
  for (const char c : cell) {
    if (c == delimiter || c == '"' || c == '\n' || c == '\r') return true;
  }
  return false;
}

// Output file name: keep an extension a spreadsheet reads as delimited text, otherwise append
// one, because the extension (not the MIME type) decides how the recipient's desktop opens it.
std::string outputName(const std::vector<std::string>& names, bool tsv) {
  const std::string_view ext = tsv ? ".tsv" : ".csv";
  if (names.empty() || names[0].empty()) return tsv ? "data.tsv" : "data.csv";
  const std::string& n = names[0];
  if (endsWithNoCase(n, ".csv") || endsWithNoCase(n, ".tsv") || endsWithNoCase(n, ".txt")) {
    return n;
  }
  return n + std::string(ext);
}

// Decodes and neutralizes like text::sanitizePlainText, but without its cutting of uuencode,
// BinHex and yEnc blocks. Those are recognised by whole lines, and re-quoting changes lines, so
// a block missed in the input could appear in the output (and the reverse): the output would
// not be a fixed point. A block inside a spreadsheet cell is inert text anyway; mail clients
// decode such blocks in message bodies, not inside attached files.
text::TextResult decode(std::string_view bytes, std::string_view label,
                        const core::Limits& limits) {
  text::TextResult r;
  const std::uint64_t maxText = limits.maxTextBytes;
  bool limitHit = false;
  // No charset needs more than four input bytes per output byte, so input beyond that cannot
  // fit in the limit.
  if (maxText < (std::uint64_t{1} << 60) && bytes.size() / 4 > maxText) {
    bytes = bytes.substr(0, static_cast<std::size_t>(maxText * 4 + 4));
    limitHit = true;
  }
  core::Decoded d = core::decodeToUtf8(bytes, label);
  const std::string canonicalLabel = core::canonicalCharset(label);
  if (!canonicalLabel.empty()) {
    if (d.charset != canonicalLabel) r.findings.push_back({"text.charset_mislabelled", d.charset});
  } else if (label.find_first_not_of(" \t\"") != std::string_view::npos ||
             d.charset != "US-ASCII") {
    r.findings.push_back({"text.charset_detected", d.charset});
  }
  if (d.invalidBytes > 0) {
    r.findings.push_back({"text.invalid_bytes", std::to_string(d.invalidBytes)});
  }
  if (d.utf8.size() > maxText) {
    std::size_t cut = static_cast<std::size_t>(maxText);
    while (cut > 0 && (static_cast<unsigned char>(d.utf8[cut]) & 0xC0) == 0x80) --cut;
    d.utf8.resize(cut);
    limitHit = true;
  }
  text::neutralize(d.utf8, r.findings);
  if (limitHit) r.findings.push_back({"limit.text_bytes", std::to_string(maxText)});
  r.utf8 = std::move(d.utf8);
  r.charset = std::move(d.charset);
  return r;
}

struct Writer {
  char delimiter;
  std::string out;
  std::size_t neutralized = 0;

  bool first = true;

  void field(std::string_view cell) {
    const bool formula = isFormulaLike(cell);
    if (formula) ++neutralized;
    // A first cell starting with U+FEFF is quoted, or the next pass would take it for the
    // file's byte-order mark and strip it.
    const bool bomLead = first && !formula && cell.substr(0, kBom.size()) == kBom;
    first = false;
    if (!bomLead && !needsQuoting(cell, delimiter)) {
      if (formula) out += '\'';
      out += cell;
      return;
    }
    out += '"';
    if (formula) out += '\'';
    for (const char c : cell) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  }
};

}  // namespace

bool isFormulaLike(std::string_view cell) {
  std::size_t i = 0;
  // Skip what spreadsheets may trim or not display before deciding what a cell is. A tab or CR
  // anywhere in that run counts as a lead of its own (OWASP's list): some importers drop it.
  while (i < cell.size()) {
    if (cell[i] == '\t' || cell[i] == '\r') return true;
    if (cell[i] == ' ') {
      ++i;
      continue;
    }
    const std::uint32_t cp = wideAt(cell, i);
    if (cp == 0xA0) {
      i += 2;
    } else if (cp == 0x3000 || cp == 0xFEFF) {
      i += 3;
    } else {
      break;
    }
  }
  if (i >= cell.size()) return false;
  bool sign = false;
  std::size_t next = i + 1;
  const char c = cell[i];
  if (c == '=' || c == '@') return true;
  if (c == '+' || c == '-') {
    sign = true;
  } else {
    // Full-width ＝ ＠ ＋ －: Japanese spreadsheet input converts them to their ASCII forms.
    const std::uint32_t cp = wideAt(cell, i);
    if (cp == 0xFF1D || cp == 0xFF20) return true;
    if (cp == 0xFF0B || cp == 0xFF0D) {
      sign = true;
      next = i + 3;
    }
  }
  if (!sign) return false;
  if (next >= cell.size()) return false;  // "-" alone is a dash, not a formula
  const char n = cell[next];
  if (!isDigit(n) && n != '.' && n != ' ' && fullWidthDigitAt(cell, next) == 0) return true;
  // Numeric-looking: arithmetic on literals is harmless, but a function call or a DDE link
  // behind a leading number ("-2+3+cmd|' /C calc'!A0") is not.
  return cell.find_first_of("(|") != std::string_view::npos;
}

bool CsvSanitizer::handles(std::string_view trueType, std::string_view declaredType) const {
  if (trueType != "text") return false;
  if (declaredType == kTsvType) return true;
  for (const auto t : kCsvTypes) {
    if (declaredType == t) return true;
  }
  return false;
}

PartOutput CsvSanitizer::sanitize(const PartInput& in) const {
  static const core::Limits kDefaultLimits;
  const core::Limits& limits = in.limits ? *in.limits : kDefaultLimits;
  const bool tsv = in.declaredType == kTsvType;
  // A default-constructed deadline means the caller set none (it would otherwise lie in the past).
  const bool hasDeadline = in.deadline != std::chrono::steady_clock::time_point{};

  PartOutput result;
  text::TextResult decoded = decode(in.bytes, in.charset, limits);
  std::string_view s = decoded.utf8;
  // A byte-order mark is not part of the first cell: Excel strips it before it looks for '='.
  while (s.substr(0, kBom.size()) == kBom) s.remove_prefix(kBom.size());

  Writer w{tsv ? '\t' : ',', {}, 0};
  w.out.reserve(s.size() + s.size() / 16 + 16);
  w.out += kBom;

  // Excel's "sep=X" first line chooses the delimiter it splits on; split on the same one.
  {
    const std::size_t eol = s.find('\n');
    const std::string_view first = s.substr(0, eol);
    if (first.size() == 5 && first.substr(0, 4) == "sep=" &&
        std::string_view(",;\t|").find(first[4]) != std::string_view::npos) {
      w.delimiter = first[4];
      w.out += first;
      w.out += '\n';
      s.remove_prefix(eol == std::string_view::npos ? s.size() : eol + 1);
    }
  }

  const char delim = w.delimiter;
  const std::size_t n = s.size();
  std::size_t i = 0;
  std::size_t fields = 0;
  std::string cell;
  while (i < n) {
    if (hasDeadline && ++fields % kDeadlineEvery == 0 &&
        std::chrono::steady_clock::now() > in.deadline) {
      result.disposition = core::Disposition::Removed;
      result.reason = "limit.wall_time";
      return result;
    }
    cell.clear();
    if (s[i] == '"') {
      ++i;
      while (i < n) {
        const std::size_t q = s.find('"', i);
        if (q == std::string_view::npos) {  // unterminated: the field runs to the end
          cell.append(s.substr(i));
          i = n;
          break;
        }
        cell.append(s.substr(i, q - i));
        if (q + 1 < n && s[q + 1] == '"') {
          cell += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      // Text after the closing quote belongs to the same field (lenient, like spreadsheets).
      while (i < n && s[i] != delim && s[i] != '\n') cell += s[i++];
    } else {
      std::size_t e = i;
      while (e < n && s[e] != delim && s[e] != '\n') ++e;
      cell.assign(s.substr(i, e - i));
      i = e;
    }
    w.field(cell);
    if (i < n && s[i] == delim) {
      w.out += delim;
      ++i;
      if (i == n) w.out += '\n';  // a trailing delimiter ends the file with an empty field
      continue;
    }
    w.out += '\n';
    if (i < n) ++i;  // the newline
  }

  result.findings = std::move(decoded.findings);
  if (w.neutralized > 0) {
    result.findings.push_back({"csv.formula_neutralized", std::to_string(w.neutralized)});
  }
  result.disposition = w.neutralized > 0 ? core::Disposition::Rebuilt : core::Disposition::Kept;
  result.contentType = tsv ? std::string(kTsvType) : std::string("text/csv");
  result.charset = "utf-8";
  result.filename = outputName(in.names, tsv);
  result.bytes = std::move(w.out);
  return result;
}

MUGAI_REGISTER_SANITIZER(CsvSanitizer)

}  // namespace mugai::sanitizers::csv
