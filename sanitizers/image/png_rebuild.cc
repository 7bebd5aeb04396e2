// PNG: walk the chunks, check every length and CRC, keep the chunks a decoder needs to show the
// same picture, and write them back with fresh CRCs.
//
// Policy choices (see ImageSanitizer for the full list):
//  - iCCP is dropped: an embedded ICC profile is zlib-compressed, can be large, is parsed by
//    color-management code with a history of bugs, and may name the software and device that
//    made it. Without it a viewer assumes sRGB; colors of wide-gamut images shift slightly.
//  - APNG (acTL, fcTL, fdAT) is dropped and the default image (the IDAT stream) kept: the
//    animation frames would be pixel data this walker never frames as strictly as IDAT, and
//    mail recipients lose little. The default image is what non-APNG viewers show anyway.
//  - A well-known ancillary chunk that is malformed, duplicated or out of its legal position is
//    dropped (libpng ignores such chunks too), so the output is one libpng reads without
//    warnings.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sanitizers/image/image_rebuild.h"

namespace mugai::sanitizers::image {
namespace {

constexpr std::string_view kSignature("\x89PNG\r\n\x1A\n", 8);
constexpr std::uint32_t kMaxChunkLength = 0x7FFFFFFFu;  // PNG spec: lengths are below 2^31

// Ancillary chunks that are kept when valid; the index is the bit in the "seen" mask.
constexpr std::string_view kKeptAncillary[] = {"tRNS", "gAMA", "cHRM", "sRGB",
                                               "sBIT", "bKGD", "pHYs"};

struct Header {
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::uint8_t depth = 0;
  std::uint8_t color = 0;
};

bool isLetter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool isUpper(char c) { return c >= 'A' && c <= 'Z'; }

std::uint32_t be32At(std::string_view s, std::size_t i) {
  std::uint32_t v = 0;
  for (std::size_t k = 0; k < 4; ++k) v = (v << 8) | static_cast<std::uint8_t>(s[i + k]);
  return v;
}

void putBe32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xFFu);
}

void writeChunk(std::string& out, std::string_view type, std::string_view data) {
  putBe32(out, static_cast<std::uint32_t>(data.size()));
  const std::size_t typeAt = out.size();
  out += type;
  out += data;
  putBe32(out, crc32(std::string_view(out).substr(typeAt)));
}

bool validDepth(std::uint8_t color, std::uint8_t depth) {
  switch (color) {
    case 0:
      return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
    case 3:
      return depth == 1 || depth == 2 || depth == 4 || depth == 8;
    case 2:
    case 4:
    case 6:
      return depth == 8 || depth == 16;
    default:
      return false;
  }
}

// Whether a kept ancillary chunk's payload fits the image, per the PNG specification.
bool validAncillary(std::string_view type, std::string_view d, const Header& h,
                    std::uint32_t paletteEntries) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(d[i]); };
  if (type == "gAMA") return d.size() == 4 && be32At(d, 0) != 0;
  if (type == "cHRM") return d.size() == 32;
  if (type == "sRGB") return d.size() == 1 && byte(0) <= 3;
  if (type == "pHYs") return d.size() == 9 && byte(8) <= 1;
  if (type == "sBIT") {
    static constexpr std::size_t kChannels[] = {1, 0, 3, 3, 2, 0, 4};
    if (h.color > 6 || d.size() != kChannels[h.color]) return false;
    const unsigned maxBits = h.color == 3 ? 8u : h.depth;
    for (std::size_t i = 0; i < d.size(); ++i) {
      if (byte(i) == 0 || byte(i) > maxBits) return false;
    }
    return true;
  }
  if (type == "tRNS") {
    if (h.color == 0) return d.size() == 2;
    if (h.color == 2) return d.size() == 6;
    if (h.color == 3) return !d.empty() && d.size() <= paletteEntries;
    return false;  // color types with alpha must not have tRNS
  }
  if (type == "bKGD") {
    if (h.color == 3) return d.size() == 1 && byte(0) < paletteEntries;
    if (h.color == 0 || h.color == 4) return d.size() == 2;
    return d.size() == 6;
  }
  return false;
}

// Whether the kept ancillary chunk may appear here: all before IDAT; color information before
// PLTE; palette-indexed information after it.
bool legalPosition(std::string_view type, bool havePlte, bool sawIdat, const Header& h) {
  if (sawIdat) return false;
  if (type == "gAMA" || type == "cHRM" || type == "sRGB" || type == "sBIT") return !havePlte;
  if (type == "tRNS" || type == "bKGD") return h.color != 3 || havePlte;
  return true;
}

int keptIndex(std::string_view type) {
  for (std::size_t i = 0; i < std::size(kKeptAncillary); ++i) {
    if (kKeptAncillary[i] == type) return static_cast<int>(i);
  }
  return -1;
}

// The zlib stream header (RFC 1950) at the start of the IDAT data: deflate, a legal window, a
// correct check value and no preset dictionary (which PNG forbids).
bool validZlibHeader(std::uint8_t cmf, std::uint8_t flg) {
  if ((cmf & 0x0Fu) != 8 || (cmf >> 4) > 7) return false;
  if ((flg & 0x20u) != 0) return false;
  return ((static_cast<unsigned>(cmf) << 8) | flg) % 31 == 0;
}

}  // namespace

Rebuild rebuildPng(std::string_view in, const RebuildContext& ctx) {
  if (in.size() < kSignature.size() || in.substr(0, kSignature.size()) != kSignature) {
    return fail("image.invalid", "png: bad signature");
  }
  DeadlineCheck deadline(ctx);
  Notes notes;
  Rebuild result;
  std::string& out = result.bytes;
  out.reserve(in.size());
  out += kSignature;

  Header h;
  bool first = true;
  bool havePlte = false;
  std::uint32_t paletteEntries = 0;
  bool sawIdat = false;
  bool idatEnded = false;
  unsigned seenMask = 0;
  std::string zlibHead;  // first two bytes of the concatenated IDAT data
  std::size_t pos = kSignature.size();

  for (;;) {
    if (deadline.expired()) return fail("limit.wall_time", "png: deadline passed");
    if (in.size() - pos < 12) return fail("image.invalid", "png: truncated (no IEND)");
    const std::uint32_t length = be32At(in, pos);
    if (length > kMaxChunkLength) return fail("image.invalid", "png: chunk length too large");
    if (length > in.size() - pos - 12) return fail("image.invalid", "png: truncated chunk");
    const std::string_view type = in.substr(pos + 4, 4);
    const std::string_view data = in.substr(pos + 8, length);
    const std::uint32_t storedCrc = be32At(in, pos + 8 + length);
    for (const char c : type) {
      if (!isLetter(c)) return fail("image.invalid", "png: malformed chunk type");
    }
    // `type` is four ASCII letters from here on, so it is safe to name in messages.
    if (crc32(in.substr(pos + 4, 4 + static_cast<std::size_t>(length))) != storedCrc) {
      return fail("image.invalid", "png: CRC mismatch in " + std::string(type));
    }
    pos += 12 + static_cast<std::size_t>(length);

    if (first) {
      if (type != "IHDR" || length != 13) return fail("image.invalid", "png: IHDR is not first");
      h.width = be32At(data, 0);
      h.height = be32At(data, 4);
      h.depth = static_cast<std::uint8_t>(data[8]);
      h.color = static_cast<std::uint8_t>(data[9]);
      const auto compression = static_cast<std::uint8_t>(data[10]);
      const auto filter = static_cast<std::uint8_t>(data[11]);
      const auto interlace = static_cast<std::uint8_t>(data[12]);
      if (h.width == 0 || h.height == 0 || h.width > kMaxChunkLength ||
          h.height > kMaxChunkLength) {
        return fail("image.invalid", "png: bad dimensions");
      }
      if (!validDepth(h.color, h.depth) || compression != 0 || filter != 0 || interlace > 1) {
        return fail("image.invalid", "png: bad IHDR fields");
      }
      if (!pixelsWithin(h.width, h.height, *ctx.limits)) {
        return fail("limit.image_pixels",
                    "png: " + std::to_string(h.width) + "x" + std::to_string(h.height));
      }
      writeChunk(out, type, data);
      first = false;
      continue;
    }
    if (type == "IHDR") return fail("image.invalid", "png: second IHDR");
    if (type == "IEND") {
      if (length != 0) return fail("image.invalid", "png: IEND with data");
      if (!sawIdat) return fail("image.invalid", "png: no IDAT");
      writeChunk(out, type, data);
      break;
    }
    if (type == "IDAT") {
      if (idatEnded) return fail("image.invalid", "png: IDAT chunks not consecutive");
      if (h.color == 3 && !havePlte) {
        return fail("image.invalid", "png: palette image without PLTE");
      }
      sawIdat = true;
      if (zlibHead.size() < 2) zlibHead += data.substr(0, 2 - zlibHead.size());
      writeChunk(out, type, data);
      continue;
    }
    if (sawIdat) idatEnded = true;
    if (type == "PLTE") {
      if (havePlte) return fail("image.invalid", "png: second PLTE");
      if (sawIdat) return fail("image.invalid", "png: PLTE after IDAT");
      if (h.color == 0 || h.color == 4) return fail("image.invalid", "png: PLTE in a gray image");
      if (length == 0 || length % 3 != 0 || length > 256 * 3) {
        return fail("image.invalid", "png: bad PLTE length");
      }
      havePlte = true;
      paletteEntries = length / 3;
      writeChunk(out, type, data);
      continue;
    }
    if (isUpper(type[0])) {
      return fail("image.invalid", "png: unknown critical chunk " + std::string(type));
    }
    if (type == "acTL" || type == "fcTL" || type == "fdAT") {
      notes.animationDropped = true;
      continue;
    }
    const int kept = keptIndex(type);
    if (kept < 0) {
      notes.dropped(type);
      continue;
    }
    const unsigned bit = 1u << kept;
    if ((seenMask & bit) != 0) {
      notes.dropped(std::string(type) + " (duplicate)");
    } else if (!legalPosition(type, havePlte, sawIdat, h)) {
      notes.dropped(std::string(type) + " (misplaced)");
    } else if (!validAncillary(type, data, h, paletteEntries)) {
      notes.dropped(std::string(type) + " (invalid)");
    } else {
      seenMask |= bit;
      writeChunk(out, type, data);
    }
  }

  if (zlibHead.size() < 2 || !validZlibHeader(static_cast<std::uint8_t>(zlibHead[0]),
                                              static_cast<std::uint8_t>(zlibHead[1]))) {
    return fail("image.invalid", "png: IDAT is not a zlib stream");
  }
  notes.trailingBytes = in.size() - pos;
  notes.finish(result.findings);
  result.ok = true;
  result.width = h.width;
  result.height = h.height;
  return result;
}

}  // namespace mugai::sanitizers::image
