// PDF attachments: parse with qpdf, strip every active feature, write a fresh file.
//
// A PDF can run JavaScript, launch programs, submit forms, fetch remote documents, carry whole
// files (embedded files, attachment annotations, rich media, 3D models) and an XFA form that some
// readers execute instead of the page content. It can also hide any of these in a compressed
// object stream, in an old revision behind an incremental update, in an unreferenced object or
// behind a damaged cross-reference table that readers repair differently. The sanitizer parses the
// whole file from memory with qpdf (recovering damage the way qpdf does), walks every object
// qpdf knows of (including those inside object streams) and removes the active features by their
// structure, never by searching bytes. It then writes a new file with QPDFWriter: one revision,
// only the objects reachable from the trailer, freshly generated object streams, a deterministic
// /ID, and every content and image stream copied as it was (never decoded). The written bytes
// are parsed again and checked before they are returned (every stream decoded through its
// lossless filters and every page's content parsed, as `qpdf --check` does), so a rebuild qpdf
// cannot read back cleanly, or one that still carries active content, is removed rather than
// delivered.
#pragma once

#include <string>
#include <string_view>

#include "sanitizers/sanitizer.h"

namespace mugai::sanitizers::pdf {

/// Rebuilds PDFs (sniffed true type "pdf").
///
/// Output: contentType "application/pdf", filename names[0] with a ".pdf" extension (appended
/// when names[0] lacks it; "document.pdf" when there is no name), disposition Rebuilt.
/// Rebuilding the output again yields the same bytes and no findings.
///
/// Removed, with reason:
///   "pdf.header_not_at_start"  the input does not begin with "%PDF-" but contains it later
///   "pdf.invalid"              not a PDF, qpdf cannot parse it, it is nested absurdly deep, it
///                              has no page, or a stream does not decode or a page's content
///                              does not parse (what `qpdf --check` would report)
///   "pdf.encrypted"            encrypted and not readable with the empty user password
///   "pdf.rebuild_failed"       the rebuilt file did not re-parse cleanly or still had active
///                              content (a bug or a qpdf differential; never delivered)
///   "limit.pdf_objects"        more than Limits::maxPdfObjects objects
///   "limit.pdf_stream_bytes"   cross-reference and object streams decode to more than 64 MiB
///                              in total (checked before qpdf decodes them), or the output's
///                              streams to more than 512 MiB through their lossless filters
///   "limit.wall_time"          in.deadline passed
///
/// Findings (detail in parentheses):
///   "pdf.javascript_removed"      (where: OpenAction, Names, AA(page), annotation, field, ...)
///   "pdf.launch_removed", "pdf.submitform_removed", "pdf.importdata_removed",
///   "pdf.gotor_removed", "pdf.gotoe_removed", "pdf.media_removed", "pdf.richmedia_removed",
///   "pdf.uri_removed"             (where; for URIs, the scheme)
///   "pdf.action_removed"          an action of an unknown or malformed type (its /S)
///   "pdf.additional_actions_removed"  an /AA entry holding only harmless actions (where)
///   "pdf.openaction_removed"      an /OpenAction that is neither a destination nor an action
///   "pdf.embedded_file_removed"   (file name, or "EmbeddedFiles")
///   "pdf.file_attachment_removed" (file name, or "annotation")
///   "pdf.xfa_removed"
///   "pdf.decrypted"               encrypted with an empty user password; written unencrypted
///                                 (the permission flags go with the encryption)
///   "pdf.signature_invalidated"   a signed PDF: rebuilding invalidates the signature
///   "pdf.repaired"                (number of qpdf warnings) damage qpdf repaired while reading
/// Several findings of one kind and detail are merged, with " xN" appended to the detail.
/// Thread-safe (no shared state; each call uses its own qpdf objects and logger).
class PdfSanitizer final : public Sanitizer {
 public:
  std::string_view name() const override { return "pdf"; }
  bool handles(std::string_view trueType, std::string_view declaredType) const override;
  PartOutput sanitize(const PartInput& in) const override;
};

}  // namespace mugai::sanitizers::pdf
