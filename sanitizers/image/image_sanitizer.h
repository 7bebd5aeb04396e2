// PNG, JPEG and GIF attachments: rebuilt at the structure level, pixel data copied unchanged.
//
// Image files carry more than pixels: EXIF with GPS positions and camera serial numbers, XMP,
// comments, text chunks, thumbnails that may show what was cropped away, and bytes appended after
// the end of the image (a zip or a script riding along as a polyglot). The rebuilder walks the
// file's own container structure (PNG chunks, JPEG marker segments, GIF blocks) with every length
// checked against the bytes that remain, keeps the allowlisted parts that a decoder needs to show
// the same picture, and writes a fresh file: PNG chunks get freshly computed CRCs, JPEG segments
// are re-framed without fill bytes, GIF extensions are normalized. Anything the walker does not
// understand in a part a decoder must read (an unknown critical PNG chunk, a JPEG process other
// than baseline/extended/progressive Huffman, a broken GIF sub-block chain) removes the file:
// the rebuilder never passes through a structure it did not check. Compressed pixel data (PNG
// IDAT, JPEG entropy-coded scans, GIF LZW sub-blocks) is framed and copied, not decoded.
// The output of a rebuild rebuilds to identical bytes with no findings. Never throws.
#pragma once

#include <string>
#include <string_view>

#include "sanitizers/sanitizer.h"

namespace mugai::sanitizers::image {

/// The image rebuilder: handles sniffed "png", "jpeg" and "gif" (the declared type is ignored:
/// the bytes decide).
///
/// Output: disposition Rebuilt, contentType image/png, image/jpeg or image/gif (the sniffed
/// type), the same width and height, and filename names[0] with its extension corrected to the
/// real type ("photo.jpg" that is really a PNG becomes "photo.png"; a name without a usable
/// extension gets one appended; "image.png" etc. when there is no name).
///
/// Kept: PNG IHDR, PLTE, IDAT, IEND, tRNS, gAMA, cHRM, sRGB, sBIT, bKGD, pHYs (ancillary chunks
/// only when well-formed, in their legal position and not duplicated). JPEG SOF0/1/2, DHT, DQT,
/// DRI, SOS with its scan data, EOI, the JFIF APP0 without its thumbnail, the first 12 bytes of
/// the Adobe APP14 (its color-transform flag changes the decoded colors), and the EXIF
/// orientation when it is not 1 (re-emitted as a minimal Exif APP1 holding that one tag, so that
/// phone photos are not shown sideways). GIF image descriptors with their color tables and
/// validated LZW sub-blocks, graphic control extensions, and the NETSCAPE2.0/ANIMEXTS1.0 loop
/// count.
///
/// Dropped (finding "image.metadata_removed", detail listing what, e.g. "APP1 Exif, COM"):
/// every other PNG ancillary chunk (tEXt, zTXt, iTXt, eXIf, tIME, iCCP, private chunks), every
/// other JPEG APPn segment (XMP, ICC profile, Photoshop IRB, MPF, ...) and COM, GIF comment,
/// plain-text and other application extensions (XMP, ICC). The APNG chunks acTL/fcTL/fdAT are
/// dropped too, leaving the default image ("image.animation_removed"). Bytes after the PNG IEND,
/// the JPEG EOI or the GIF trailer are dropped ("image.trailing_data_removed", detail: count).
/// A corrected file name adds "image.renamed" (detail: the new extension).
///
/// Removed: "image.invalid" (bad signature, CRC mismatch, truncation, unknown critical chunk or
/// marker, malformed header or block chain; a finding of the same code carries the detail),
/// "image.unsupported" (JPEG arithmetic, lossless, hierarchical or JPEG-LS coding),
/// "limit.image_pixels" (width × height of the image, or of one GIF frame, above
/// Limits::maxImagePixels, or more GIF frames than the rebuilder walks), "limit.wall_time".
/// Thread-safe (no state).
class ImageSanitizer final : public Sanitizer {
 public:
  std::string_view name() const override { return "image"; }
  bool handles(std::string_view trueType, std::string_view declaredType) const override;
  PartOutput sanitize(const PartInput& in) const override;
};

}  // namespace mugai::sanitizers::image
