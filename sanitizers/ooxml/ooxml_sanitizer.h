// Office Open XML packages (docx/xlsx/pptx and their macro, template and slideshow variants):
// rebuild the package from an allowlist of parts.
//
// An OOXML file is a zip of XML parts tied together by relationships. Active content (VBA,
// ActiveX, OLE objects, custom ribbons, web add-ins, data connections, external links, remote
// templates, Excel 4 macro sheets) is always reached through a relationship, so the rebuild walks
// the relationship graph from /_rels/.rels and keeps only parts reached through allowed
// relationship types (document structure, styles, themes, sheets, slides, charts, diagrams,
// properties, images and http/https/mailto hyperlinks). Nothing else is copied. Every kept XML
// part is parsed with libxml2 (no network, no DTD loading, no entity substitution; a DOCTYPE
// anywhere refuses the whole file) and re-serialized as UTF-8 after references to dropped
// relationships, DDE and INCLUDE fields, DDE formulas, Auto_Open names and PowerPoint program
// actions are removed. Images are kept only when their bytes are a known image format.
// [Content_Types].xml and every .rels part are regenerated; the output is always the plain,
// macro-free document type (.docm, .dotx, .dotm → .docx; .xlsm, .xltx, .xltm → .xlsx; .pptm,
// .potx, .potm, .ppsx, .ppsm → .pptx). The zip is checked by a small bounded parser of the
// central directory before libzip reads it (no overlapping entries, no traversal names, no
// duplicates, size/ratio/entry-count limits), and the output zip is fresh and deterministic.
// Never throws.
#pragma once

#include <cstdint>
#include <string_view>

#include "sanitizers/sanitizer.h"

namespace mugai::sanitizers::ooxml {

/// Entries whose inflated size stays at or under this many bytes are exempt from
/// Limits::maxCompressionRatio (an empty sheet or a blank shared-strings part compresses far
/// better than 200:1, and so little output cannot be a bomb).
inline constexpr std::uint64_t kRatioExemptBytes = 1u << 20;

/// The OOXML sanitizer: handles the sniffed tokens docx, docm, dotx, dotm, xlsx, xlsm, xltx,
/// xltm, pptx, pptm, potx, potm, ppsx, ppsm and ooxml.
///
/// Removed, with the reason code (also given as a finding whose detail names the part or the
/// limit), when: the zip is unreadable or odd ("ooxml.invalid": not one zip, Zip64, encrypted
/// or non-deflate entries, bytes between entries, no main document); an entry name is unsafe
/// ("ooxml.path_traversal"); two names collide ignoring ASCII case ("ooxml.duplicate_names");
/// more than Limits::maxArchiveEntries entries ("ooxml.too_many_entries"); entries overlap or a
/// size or ratio limit is exceeded ("ooxml.bomb"); a kept XML part is larger than
/// Limits::maxXmlBytes ("limit.xml_bytes"), nests deeper than Limits::maxXmlDepth
/// ("limit.xml_depth"), is not well-formed ("ooxml.invalid_xml") or declares a DOCTYPE or
/// ENTITY ("ooxml.dtd"); the main part is not a Word, Excel or PowerPoint document
/// ("ooxml.unsupported_kind"), e.g. a binary .xlsb; a workbook would be left without a sheet
/// ("ooxml.invalid"); the deadline passes ("limit.wall_time"); in.depth exceeds
/// Limits::maxArchiveDepth ("ooxml.too_deep").
///
/// Otherwise Rebuilt: contentType the plain document type
/// (application/vnd.openxmlformats-officedocument.wordprocessingml.document,
/// ...spreadsheetml.sheet or ...presentationml.presentation), filename names[0] with its
/// extension replaced by .docx/.xlsx/.pptx ("document.docx" etc. without a name).
/// Findings (detail: the part names or counts): ooxml.vba_removed, ooxml.activex_removed,
/// ooxml.ole_removed, ooxml.customui_removed, ooxml.altchunk_removed,
/// ooxml.external_link_removed, ooxml.data_connection_removed, ooxml.webextension_removed,
/// ooxml.external_reference_removed, ooxml.xlm_macro_removed, ooxml.auto_macro_name_removed,
/// ooxml.dde_removed, ooxml.external_field_removed, ooxml.dde_formula_removed,
/// ooxml.action_removed, ooxml.signature_removed, ooxml.embedded_font_removed,
/// ooxml.image_removed, ooxml.part_removed, ooxml.macro_free_conversion.
/// Thread-safe (no state; libxml2 is initialised once).
class OoxmlSanitizer final : public Sanitizer {
 public:
  std::string_view name() const override { return "ooxml"; }
  bool handles(std::string_view trueType, std::string_view declaredType) const override;
  PartOutput sanitize(const PartInput& in) const override;
};

}  // namespace mugai::sanitizers::ooxml
