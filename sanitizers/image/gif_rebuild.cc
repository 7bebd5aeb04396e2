// GIF: walk the header, the color tables and the block stream, validate every sub-block chain,
// and write back image data, graphic control extensions and the animation loop count.
//
// Policy choices (see ImageSanitizer for the full list):
//  - Image data (LZW) is copied sub-block by sub-block as found, after checking that the chain
//    ends inside the file and that the LZW minimum code size is 2-8.
//  - Of the application extensions only the looping one (NETSCAPE2.0, or its ANIMEXTS1.0 twin)
//    is kept, rewritten to its 19-byte form; XMP, ICC and everything else go. Comment and
//    plain-text extensions (text a few old viewers draw over the image) go too.
//  - The header version (87a/89a) is kept as found: every decoder reads extensions in either.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sanitizers/image/image_rebuild.h"

namespace mugai::sanitizers::image {
namespace {

constexpr std::uint8_t kImage = 0x2C, kExtension = 0x21, kTrailer = 0x3B;
constexpr std::uint8_t kGraphicControl = 0xF9, kApplication = 0xFF, kComment = 0xFE,
                       kPlainText = 0x01;

// Size in bytes of the color table announced by a packed-fields byte (flag in bit 7, size in
// bits 0-2), 0 when there is none.
std::size_t colorTableBytes(std::uint8_t packed) {
  return (packed & 0x80u) != 0 ? 3u * (2u << (packed & 7u)) : 0;
}

// Consumes a sub-block chain up to and including its zero-length terminator. False when the
// chain runs past the end of the file or the deadline passed (then `expired` is set).
bool skipSubBlocks(Reader& r, DeadlineCheck& deadline, bool& expired) {
  for (;;) {
    if (deadline.expired()) {
      expired = true;
      return false;
    }
    const std::uint8_t n = r.u8();
    if (r.bad()) return false;
    if (n == 0) return true;
    r.take(n);
    if (r.bad()) return false;
  }
}

}  // namespace

Rebuild rebuildGif(std::string_view in, const RebuildContext& ctx) {
  if (in.size() < 13 || (in.substr(0, 6) != "GIF87a" && in.substr(0, 6) != "GIF89a")) {
    return fail("image.invalid", "gif: bad signature");
  }
  DeadlineCheck deadline(ctx);
  bool expired = false;
  Notes notes;
  Rebuild result;
  std::string& out = result.bytes;
  out.reserve(in.size());

  Reader r(in);
  r.take(6);
  const std::uint16_t screenWidth = r.le16();
  const std::uint16_t screenHeight = r.le16();
  const std::uint8_t packed = r.u8();
  r.take(2);  // background color index, pixel aspect ratio
  r.take(colorTableBytes(packed));
  if (r.bad()) return fail("image.invalid", "gif: truncated header");
  if (!pixelsWithin(screenWidth, screenHeight, *ctx.limits)) {
    return fail("limit.image_pixels",
                "gif: screen " + std::to_string(screenWidth) + "x" + std::to_string(screenHeight));
  }
  out += in.substr(0, r.pos());

  std::uint32_t frames = 0;
  bool sawLoop = false;
  for (;;) {
    if (deadline.expired()) return fail("limit.wall_time", "gif: deadline passed");
    const std::size_t blockStart = r.pos();
    const std::uint8_t introducer = r.u8();
    if (r.bad()) return fail("image.invalid", "gif: truncated (no trailer)");
    if (introducer == kTrailer) {
      out += static_cast<char>(kTrailer);
      break;
    }
    if (introducer == kImage) {
      r.take(4);  // left, top
      const std::uint16_t width = r.le16();
      const std::uint16_t height = r.le16();
      const std::uint8_t flags = r.u8();
      r.take(colorTableBytes(flags));
      const std::uint8_t minCodeSize = r.u8();
      if (r.bad()) return fail("image.invalid", "gif: truncated image descriptor");
      if (width == 0 || height == 0) return fail("image.invalid", "gif: empty frame");
      if (!pixelsWithin(width, height, *ctx.limits)) {
        return fail("limit.image_pixels",
                    "gif: frame " + std::to_string(width) + "x" + std::to_string(height));
      }
      if (++frames > kMaxGifFrames) return fail("limit.image_pixels", "gif: too many frames");
      if (minCodeSize < 2 || minCodeSize > 8) {
        return fail("image.invalid", "gif: bad LZW minimum code size");
      }
      if (!skipSubBlocks(r, deadline, expired)) {
        if (expired) return fail("limit.wall_time", "gif: deadline passed");
        return fail("image.invalid", "gif: truncated image data");
      }
      out += in.substr(blockStart, r.pos() - blockStart);
      continue;
    }
    if (introducer != kExtension) return fail("image.invalid", "gif: unknown block");

    const std::uint8_t label = r.u8();
    if (r.bad()) return fail("image.invalid", "gif: truncated extension");
    if (label == kGraphicControl) {
      const std::uint8_t size = r.u8();
      r.take(4);
      const std::uint8_t terminator = r.u8();
      if (r.bad()) return fail("image.invalid", "gif: truncated graphic control extension");
      if (size != 4 || terminator != 0) {
        return fail("image.invalid", "gif: malformed graphic control extension");
      }
      out += in.substr(blockStart, r.pos() - blockStart);
      continue;
    }
    std::string_view appId;
    if (label == kApplication) {
      // The identifier block is an ordinary sub-block; a size other than 11 is malformed but
      // still walkable, and such an extension is dropped like any unknown one.
      if (r.peek() == 11) {
        r.u8();
        appId = r.take(11);
      }
    }
    if (!skipSubBlocks(r, deadline, expired)) {
      if (expired) return fail("limit.wall_time", "gif: deadline passed");
      return fail("image.invalid", "gif: truncated extension");
    }
    if (label == kComment) {
      notes.dropped("comment");
    } else if (label == kPlainText) {
      notes.dropped("plain text");
    } else if (label != kApplication) {
      notes.dropped("extension");
    } else if (appId == "NETSCAPE2.0" || appId == "ANIMEXTS1.0") {
      // The looping sub-block is {1, count lo, count hi}; it must be the first sub-block.
      const std::string_view original = in.substr(blockStart, r.pos() - blockStart);
      std::string loop;
      if (!sawLoop && original.size() >= 19 && original[14] == 3 && original[15] == 1) {
        loop = std::string(original.substr(0, 18)) + '\0';
        sawLoop = true;
        out += loop;
      }
      if (loop != original) notes.dropped("application extension data");
    } else if (appId == "XMP DataXMP") {
      notes.dropped("XMP");
    } else if (appId == "ICCRGBG1012") {
      notes.dropped("ICC profile");
    } else {
      notes.dropped("application extension");
    }
  }
  if (frames == 0) return fail("image.invalid", "gif: no image");

  notes.trailingBytes = in.size() - r.pos();
  notes.finish(result.findings);
  result.ok = true;
  result.width = screenWidth;
  result.height = screenHeight;
  return result;
}

}  // namespace mugai::sanitizers::image
