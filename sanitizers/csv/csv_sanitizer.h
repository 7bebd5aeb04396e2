// CSV and TSV attachments: decode to UTF-8, re-serialize, and neutralize formula injection.
//
// A spreadsheet opening a CSV evaluates any cell that looks like a formula, including DDE calls
// (`=cmd|'/c calc'!A0`) that start programs. The sanitizer decodes the part like the text
// sanitizer does (core charset decoding, then text::neutralize for controls and bidi; but no
// cutting of uuencode-style blocks, which works on lines that re-quoting changes), bounded by
// Limits::maxTextBytes, parses it as RFC 4180 (quoted fields, doubled quotes, newlines inside
// quotes; lenient about stray quotes), prefixes every formula-like cell with an apostrophe, and
// writes a fresh, canonically quoted file with the same delimiter. Because the output is
// re-serialized, the recipient's spreadsheet sees exactly the cells this sanitizer checked. The
// parser streams field by field, so memory stays proportional to the (already bounded) decoded text
// whatever the row and column counts. Never throws.
#pragma once

#include <string>
#include <string_view>

#include "sanitizers/sanitizer.h"

namespace mugai::sanitizers::csv {

/// True when a spreadsheet could read `cell` (UTF-8, as parsed) as a formula: after leading
/// spaces (U+0020, U+00A0, U+3000, U+FEFF) it starts with '=' or '@' (or their full-width
/// forms), or with '+'/'-' (or their full-width forms) followed by something other than a digit,
/// '.' or a space; or a tab or CR appears before anything else. A '+'/'-' cell that looks
/// numeric ("-5", "+81-3-1234-5678") is not formula-like unless it also contains '(' or '|' (a
/// function call or a DDE link, as in "-2+3+cmd|' /C calc'!A0"). A cell starting with an
/// apostrophe is never formula-like, which is what makes neutralization idempotent.
bool isFormulaLike(std::string_view cell);

/// The CSV/TSV sanitizer: handles sniffed "text" declared as text/csv,
/// text/comma-separated-values, application/csv or text/tab-separated-values.
/// Output: contentType "text/csv" (or "text/tab-separated-values"), charset "utf-8", bytes UTF-8
/// with a leading byte-order mark (so that spreadsheets read Japanese text as UTF-8) and LF line
/// endings; a first line "sep=X" (an Excel directive) is honoured as the delimiter and kept.
/// Filename: names[0] when it ends in .csv, .tsv or .txt, else names[0] + ".csv" (".tsv"), since
/// Excel would read a .slk, .iqy or .dif name as another, formula-capable format; "data.csv"
/// ("data.tsv") when there is no name.
/// Findings: "csv.formula_neutralized" (detail: number of cells), and the decoding findings of
/// the text sanitizer ("text.charset_detected", "text.charset_mislabelled", "text.invalid_bytes",
/// "text.control_removed", "text.bidi_neutralized", "limit.text_bytes"). Disposition Rebuilt
/// when a cell was neutralized, Kept otherwise; Removed with "limit.wall_time" past the deadline.
/// Thread-safe (no state).
class CsvSanitizer final : public Sanitizer {
 public:
  std::string_view name() const override { return "csv"; }
  bool handles(std::string_view trueType, std::string_view declaredType) const override;
  PartOutput sanitize(const PartInput& in) const override;
};

}  // namespace mugai::sanitizers::csv
