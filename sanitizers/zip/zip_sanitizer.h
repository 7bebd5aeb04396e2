// Zip archives: check the structure, sanitize every member through the dispatcher, write a new
// archive.
//
// A zip is read by two parsers that must agree: a small bounded parser of our own (end record,
// ZIP64 end record, central directory and each local header) and libzip, which inflates the
// members. Our parser decides whether the archive is acceptable before a single byte is inflated:
// it refuses archives whose readers could disagree on the content (bytes before the first entry,
// between entries or after the end record; a local header that names or describes an entry
// differently from the central directory; two end records), archives that would write outside the
// extraction folder (absolute paths, "..", backslashes, drive letters, control characters,
// symbolic links), duplicate names (after Unicode NFC, case folding and the trailing dots and
// spaces Windows drops), encryption, multi-disk archives, methods other than stored and deflate,
// and bombs (overlapping entries, declared sizes or counts over the limits). Members are then
// inflated one at a time with their real size counted against Limits::maxArchiveEntryBytes,
// Limits::maxArchiveTotalBytes (shared by every zip nested in one attachment) and
// Limits::maxCompressionRatio, sniffed, and handed to PartInput::dispatch like attachments, so a
// member gets exactly the treatment a top-level file of its type would get (a nested zip comes
// back here one level deeper). The output is a fresh archive: UTF-8 names with the
// language-encoding flag, the original central-directory order, a fixed timestamp, fixed
// attributes, no comments and no extra fields. Never throws.
#pragma once

#include <cstdint>
#include <string_view>

#include "sanitizers/sanitizer.h"

namespace mugai::sanitizers::zip {

/// Members whose inflated size stays at or under this many bytes are exempt from
/// Limits::maxCompressionRatio: small, highly repetitive files (a blank form, a sparse CSV)
/// legitimately compress better than 200:1, and so little output cannot be a bomb.
inline constexpr std::uint64_t kRatioExemptBytes = 1u << 20;

/// The DOS date and time written for every entry: 1980-01-01 00:00:00, the earliest a zip can
/// express. A constant keeps the output byte-identical for the same input; DOS time fields are
/// written directly, so the local time zone of the gateway does not matter.
inline constexpr std::uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;
inline constexpr std::uint16_t kDosTime = 0;

/// The zip sanitizer: handles sniffed "zip" (plain archives; OOXML, ODF, JAR and APK have their
/// own tokens and are not handled here).
///
/// Removed, with the reason code, when: in.depth > Limits::maxArchiveDepth ("zip.too_deep");
/// the archive is not a single well-formed zip ("zip.invalid", "zip.junk_data",
/// "zip.name_mismatch", "zip.header_mismatch", "zip.multidisk"); any entry is encrypted
/// ("encrypted.zip"); an entry uses another method than stored or deflate
/// ("zip.unsupported_method"); a name is unsafe ("zip.path_traversal", "zip.bad_name",
/// "zip.symlink", "zip.duplicate_names"); there are more than Limits::maxArchiveEntries entries
/// ("zip.too_many_entries"); an entry overlaps another or a size or ratio limit is exceeded,
/// declared or real ("zip.bomb"); the deadline passes ("limit.wall_time"); or no dispatcher
/// was given ("error.sanitizer"). The refusal also appears as a finding of the same code whose
/// detail names the entry or the limit.
///
/// Otherwise Rebuilt: contentType "application/zip", filename names[0] (".zip" appended when
/// it does not end so; "archive.zip" without a name). A member the dispatcher removes is left
/// out with a finding "zip.member_removed" (detail "<path>: <reason>"); kept members are
/// written under their folder and the dispatcher's file name (.docm may come back as .docx:
/// "zip.member_renamed", detail "<old path> → <new path>"; a clash with another name gets
/// " (2)"); each member's own findings follow with "<path>: " before their detail. Legacy
/// names are reported as "zip.names_decoded_cp932" or "zip.names_decoded_legacy" (detail: the
/// charset). An archive whose members were all removed is still delivered (empty, or with its
/// folders), so that the recipient sees the archive existed; the findings name each member.
/// Thread-safe: the only state is the per-thread byte budget shared by nested calls.
class ZipSanitizer final : public Sanitizer {
 public:
  std::string_view name() const override { return "zip"; }
  bool handles(std::string_view trueType, std::string_view declaredType) const override;
  PartOutput sanitize(const PartInput& in) const override;
};

}  // namespace mugai::sanitizers::zip
