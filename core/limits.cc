// Limits: named lookup for the config file and for --help.
#include "core/limits.h"

#include <charconv>

namespace mugai::core {
namespace {

template <typename T>
bool parsePositive(std::string_view value, T& out) {
  std::uint64_t v = 0;
  const auto* end = value.data() + value.size();
  const auto [ptr, ec] = std::from_chars(value.data(), end, v);
  if (ec != std::errc() || ptr != end || v == 0) return false;
  if (v > static_cast<std::uint64_t>(static_cast<T>(-1))) return false;
  out = static_cast<T>(v);
  return true;
}

// One row per limit: config name and a pointer to the member. Declaration order.
template <typename Fn>
void forEach(Limits& l, Fn&& fn) {
  fn("max_message_bytes", l.maxMessageBytes);
  fn("max_header_bytes", l.maxHeaderBytes);
  fn("max_header_fields", l.maxHeaderFields);
  fn("max_received_headers", l.maxReceivedHeaders);
  fn("max_parts", l.maxParts);
  fn("max_depth", l.maxDepth);
  fn("max_input_depth", l.maxInputDepth);
  fn("max_names", l.maxNames);
  fn("max_wall_ms", l.maxWallMs);
  fn("max_text_bytes", l.maxTextBytes);
  fn("max_html_bytes", l.maxHtmlBytes);
  fn("max_html_depth", l.maxHtmlDepth);
  fn("max_link_chars", l.maxLinkChars);
  fn("max_archive_depth", l.maxArchiveDepth);
  fn("max_archive_entries", l.maxArchiveEntries);
  fn("max_archive_entry_bytes", l.maxArchiveEntryBytes);
  fn("max_archive_total_bytes", l.maxArchiveTotalBytes);
  fn("max_compression_ratio", l.maxCompressionRatio);
  fn("max_xml_bytes", l.maxXmlBytes);
  fn("max_xml_depth", l.maxXmlDepth);
  fn("max_pdf_objects", l.maxPdfObjects);
  fn("max_image_pixels", l.maxImagePixels);
  fn("max_output_line", l.maxOutputLine);
}

}  // namespace

bool Limits::set(std::string_view name, std::string_view value) {
  bool found = false;
  bool ok = false;
  forEach(*this, [&](std::string_view n, auto& member) {
    if (n != name) return;
    found = true;
    ok = parsePositive(value, member);
  });
  if (found && ok && name == "max_output_line") {
    // Header fields fold at 78 octets, so a lower limit could never be met; above 998 RFC 5322
    // forbids. Text bodies with longer lines are written quoted-printable (lines of 76).
    if (maxOutputLine < 78) return false;
    if (maxOutputLine > 998) maxOutputLine = 998;
  }
  return found && ok;
}

std::vector<std::pair<std::string, std::uint64_t>> Limits::list() const {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  Limits copy = *this;
  forEach(copy, [&](std::string_view n, auto& member) {
    out.emplace_back(std::string(n), static_cast<std::uint64_t>(member));
  });
  return out;
}

}  // namespace mugai::core
