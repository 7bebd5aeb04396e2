// JPEG: walk the marker segments, validate the frame, tables and scan headers, copy each scan's
// entropy-coded data up to the marker that ends it, and write the kept segments back.
//
// Policy choices (see ImageSanitizer for the full list):
//  - Only the Huffman processes libjpeg-family viewers decode everywhere are kept: SOF0
//    (baseline), SOF1 (extended) and SOF2 (progressive). Arithmetic coding, lossless,
//    hierarchical and JPEG-LS files are removed as unsupported: rarely mailed, and exactly the
//    code paths that are least exercised in decoders.
//  - APP2 ICC profiles are dropped (as for PNG iCCP); colors of non-sRGB photos shift slightly.
//  - APP1 Exif is dropped whole, except that an orientation other than 1 is re-emitted as a
//    32-byte Exif holding only that tag, so that photos taken with a rotated phone are still
//    shown upright. Orientation says nothing about the sender; GPS, camera serial numbers,
//    dates, thumbnails and maker notes are all gone.
//  - The JFIF APP0 is kept without its thumbnail (a thumbnail can show what was cropped away);
//    the Adobe APP14 is cut to its fixed 12 bytes, whose transform flag decides whether a
//    3- or 4-component image is YCbCr or RGB/CMYK, so dropping it would change the colors.
//  - Fill bytes (extra 0xFF before a marker) are not copied.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "sanitizers/image/image_rebuild.h"

namespace mugai::sanitizers::image {
namespace {

// Legitimate encoders write about ten progressive scans; thousands of tiny scans make a viewer
// redo the whole image for each (a known decoder slowdown), so a file past this is refused.
constexpr unsigned kMaxScans = 500;

constexpr std::uint8_t kSof0 = 0xC0, kSof1 = 0xC1, kSof2 = 0xC2, kDht = 0xC4, kSoi = 0xD8,
                       kEoi = 0xD9, kSos = 0xDA, kDqt = 0xDB, kDri = 0xDD, kApp0 = 0xE0,
                       kApp1 = 0xE1, kApp14 = 0xEE, kCom = 0xFE;

// The minimal Exif written for a kept orientation: big-endian TIFF header, one IFD with one
// SHORT entry (tag 0x0112), no next IFD. The orientation value goes at kOrientationAt.
constexpr std::string_view kMinimalExif(
    "Exif\0\0"
    "MM\0\x2A\0\0\0\x08"
    "\0\x01"
    "\x01\x12\0\x03\0\0\0\x01\0\0\0\0"
    "\0\0\0\0",
    32);
constexpr std::size_t kOrientationAt = 6 + 8 + 2 + 9;

struct Frame {
  bool have = false;
  std::uint8_t ids[4] = {};
  std::uint8_t count = 0;
};

std::uint8_t byteAt(std::string_view s, std::size_t i) { return static_cast<std::uint8_t>(s[i]); }

std::uint16_t be16At(std::string_view s, std::size_t i) {
  return static_cast<std::uint16_t>((byteAt(s, i) << 8) | byteAt(s, i + 1));
}

std::string hexMarker(std::uint8_t m) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string s = "marker FF";
  s += kHex[m >> 4];
  s += kHex[m & 15];
  return s;
}

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

void writeSegment(std::string& out, std::uint8_t marker, std::string_view payload) {
  out += '\xFF';
  out += static_cast<char>(marker);
  const std::size_t length = payload.size() + 2;  // callers keep payloads below 65534 bytes
  out += static_cast<char>((length >> 8) & 0xFFu);
  out += static_cast<char>(length & 0xFFu);
  out += payload;
}

// Processes this walker refuses (SOF3, SOF5-7, SOF9-11, SOF13-15, DAC, DNL, DHP, EXP, JPG,
// JPGn and the JPEG-LS markers among them).
bool unsupportedMarker(std::uint8_t m) {
  if (m == 0xC3 || (m >= 0xC5 && m <= 0xCF && m != kDht)) return true;
  if (m == 0xDC || m == 0xDE || m == 0xDF) return true;
  return m >= 0xF0 && m <= 0xFD;
}

// A name for a dropped APPn segment, from a fixed list (never from the file's bytes).
std::string appLabel(std::uint8_t n, std::string_view p) {
  struct Known {
    std::uint8_t app;
    std::string_view prefix;
    std::string_view label;
  };
  static constexpr Known kKnown[] = {
      {0, "JFXX", "APP0 JFXX thumbnail"},
      {0, "JFIF", "APP0 JFIF"},
      {1, std::string_view("Exif\0", 5), "APP1 Exif"},
      {1, "http://ns.adobe.com/xap/1.0/", "APP1 XMP"},
      {1, "http://ns.adobe.com/xmp/extension/", "APP1 XMP"},
      {2, "ICC_PROFILE", "APP2 ICC profile"},
      {2, std::string_view("MPF\0", 4), "APP2 MPF"},
      {2, "FPXR", "APP2 FlashPix"},
      {13, "Photoshop 3.0", "APP13 Photoshop"},
      {14, "Adobe", "APP14 Adobe"},
  };
  for (const auto& k : kKnown) {
    if (k.app == n && startsWith(p, k.prefix)) return std::string(k.label);
  }
  return "APP" + std::to_string(n);
}

// The orientation (1-8) stored in IFD0 of an Exif TIFF block, or 0 when absent or malformed.
unsigned exifOrientation(std::string_view tiff) {
  if (tiff.size() < 8) return 0;
  const bool little = tiff.substr(0, 2) == "II";
  if (!little && tiff.substr(0, 2) != "MM") return 0;
  const auto u16 = [&](std::size_t i) -> std::uint32_t {
    return little ? static_cast<std::uint32_t>(byteAt(tiff, i) | (byteAt(tiff, i + 1) << 8))
                  : static_cast<std::uint32_t>((byteAt(tiff, i) << 8) | byteAt(tiff, i + 1));
  };
  const auto u32 = [&](std::size_t i) -> std::uint32_t {
    return little ? (u16(i) | (u16(i + 2) << 16)) : ((u16(i) << 16) | u16(i + 2));
  };
  if (u16(2) != 42) return 0;
  const std::uint32_t ifd = u32(4);
  if (ifd < 8 || ifd > tiff.size() - 2) return 0;
  const std::uint32_t count = u16(ifd);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::size_t e = ifd + 2 + static_cast<std::size_t>(i) * 12;
    if (e > tiff.size() || tiff.size() - e < 12) return 0;
    if (u16(e) != 0x0112) continue;
    if (u16(e + 2) != 3 || u32(e + 4) != 1) return 0;
    const std::uint32_t v = u16(e + 8);
    return v >= 1 && v <= 8 ? v : 0;
  }
  return 0;
}

bool validDht(std::string_view p) {
  std::size_t i = 0;
  if (p.empty()) return false;
  while (i < p.size()) {
    const std::uint8_t tcth = byteAt(p, i);
    if ((tcth >> 4) > 1 || (tcth & 15) > 3) return false;
    if (p.size() - i < 17) return false;
    std::size_t symbols = 0;
    for (std::size_t k = 1; k <= 16; ++k) symbols += byteAt(p, i + k);
    if (symbols == 0 || symbols > 256 || p.size() - i - 17 < symbols) return false;
    i += 17 + symbols;
  }
  return true;
}

bool validDqt(std::string_view p) {
  std::size_t i = 0;
  if (p.empty()) return false;
  while (i < p.size()) {
    const std::uint8_t pqtq = byteAt(p, i);
    if ((pqtq >> 4) > 1 || (pqtq & 15) > 3) return false;
    const std::size_t bytes = (pqtq >> 4) == 0 ? 64 : 128;
    if (p.size() - i - 1 < bytes) return false;
    i += 1 + bytes;
  }
  return true;
}

}  // namespace

Rebuild rebuildJpeg(std::string_view in, const RebuildContext& ctx) {
  if (in.size() < 4 || byteAt(in, 0) != 0xFF || byteAt(in, 1) != kSoi) {
    return fail("image.invalid", "jpeg: no SOI");
  }
  DeadlineCheck deadline(ctx);
  Notes notes;
  Rebuild result;
  std::string& out = result.bytes;
  out.reserve(in.size());
  out += "\xFF\xD8";

  Frame frame;
  unsigned scans = 0;
  bool sawJfif = false;
  bool sawAdobe = false;
  bool sawExif = false;
  std::size_t pos = 2;

  for (;;) {
    if (deadline.expired()) return fail("limit.wall_time", "jpeg: deadline passed");
    if (pos >= in.size()) return fail("image.invalid", "jpeg: truncated (no EOI)");
    if (byteAt(in, pos) != 0xFF) return fail("image.invalid", "jpeg: data between segments");
    while (pos < in.size() && byteAt(in, pos) == 0xFF) ++pos;  // fill bytes
    if (pos >= in.size()) return fail("image.invalid", "jpeg: truncated (no EOI)");
    const std::uint8_t m = byteAt(in, pos++);

    if (m == kEoi) {
      if (scans == 0) return fail("image.invalid", "jpeg: no scan before EOI");
      out += "\xFF\xD9";
      break;
    }
    if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= kSoi)) {
      return fail("image.invalid", "jpeg: misplaced " + hexMarker(m));
    }
    if (unsupportedMarker(m)) return fail("image.unsupported", "jpeg: " + hexMarker(m));
    if (m < 0xC0) return fail("image.invalid", "jpeg: reserved " + hexMarker(m));

    // Every remaining marker starts a segment with a 16-bit length that counts itself.
    if (in.size() - pos < 2) return fail("image.invalid", "jpeg: truncated segment");
    const std::uint16_t length = be16At(in, pos);
    if (length < 2) return fail("image.invalid", "jpeg: bad segment length");
    if (length > in.size() - pos) return fail("image.invalid", "jpeg: truncated segment");
    const std::string_view p = in.substr(pos + 2, length - 2u);
    pos += length;

    if (m == kSof0 || m == kSof1 || m == kSof2) {
      if (frame.have) return fail("image.invalid", "jpeg: second frame header");
      if (p.size() < 6) return fail("image.invalid", "jpeg: short frame header");
      const std::uint8_t precision = byteAt(p, 0);
      const std::uint16_t height = be16At(p, 1);
      const std::uint16_t width = be16At(p, 3);
      const std::uint8_t components = byteAt(p, 5);
      if (components < 1 || components > 4 || p.size() != 6u + 3u * components) {
        return fail("image.invalid", "jpeg: bad component count");
      }
      if (precision != 8 && !(m != kSof0 && precision == 12)) {
        return fail("image.invalid", "jpeg: bad sample precision");
      }
      if (height == 0) return fail("image.unsupported", "jpeg: height given by DNL");
      if (width == 0) return fail("image.invalid", "jpeg: zero width");
      for (std::uint8_t c = 0; c < components; ++c) {
        const std::uint8_t id = byteAt(p, 6 + 3u * c);
        const std::uint8_t hv = byteAt(p, 7 + 3u * c);
        const std::uint8_t tq = byteAt(p, 8 + 3u * c);
        if ((hv >> 4) < 1 || (hv >> 4) > 4 || (hv & 15) < 1 || (hv & 15) > 4 || tq > 3) {
          return fail("image.invalid", "jpeg: bad component parameters");
        }
        for (std::uint8_t k = 0; k < c; ++k) {
          if (frame.ids[k] == id) return fail("image.invalid", "jpeg: duplicate component id");
        }
        frame.ids[c] = id;
      }
      if (!pixelsWithin(width, height, *ctx.limits)) {
        return fail("limit.image_pixels",
                    "jpeg: " + std::to_string(width) + "x" + std::to_string(height));
      }
      frame.have = true;
      frame.count = components;
      result.width = width;
      result.height = height;
      writeSegment(out, m, p);
    } else if (m == kDht) {
      if (!validDht(p)) return fail("image.invalid", "jpeg: malformed DHT");
      writeSegment(out, m, p);
    } else if (m == kDqt) {
      if (!validDqt(p)) return fail("image.invalid", "jpeg: malformed DQT");
      writeSegment(out, m, p);
    } else if (m == kDri) {
      if (p.size() != 2) return fail("image.invalid", "jpeg: malformed DRI");
      writeSegment(out, m, p);
    } else if (m == kSos) {
      if (!frame.have) return fail("image.invalid", "jpeg: scan before frame header");
      if (++scans > kMaxScans) return fail("image.invalid", "jpeg: too many scans");
      if (p.empty()) return fail("image.invalid", "jpeg: short scan header");
      const std::uint8_t ns = byteAt(p, 0);
      if (ns < 1 || ns > 4 || p.size() != 1u + 2u * ns + 3u) {
        return fail("image.invalid", "jpeg: bad scan component count");
      }
      for (std::uint8_t c = 0; c < ns; ++c) {
        const std::uint8_t id = byteAt(p, 1 + 2u * c);
        const std::uint8_t tables = byteAt(p, 2 + 2u * c);
        bool known = false;
        for (std::uint8_t k = 0; k < frame.count; ++k) known = known || frame.ids[k] == id;
        if (!known || (tables >> 4) > 3 || (tables & 15) > 3) {
          return fail("image.invalid", "jpeg: bad scan component");
        }
      }
      const std::size_t tail = 1u + 2u * ns;
      if (byteAt(p, tail) > 63 || byteAt(p, tail + 1) > 63 || (byteAt(p, tail + 2) >> 4) > 13 ||
          (byteAt(p, tail + 2) & 15) > 13) {
        return fail("image.invalid", "jpeg: bad spectral selection");
      }
      writeSegment(out, m, p);
      // Entropy-coded data runs to the first 0xFF that is neither a stuffed byte (FF 00) nor a
      // restart marker (FF D0-D7); that 0xFF starts the next marker (possibly after fill bytes).
      const std::size_t start = pos;
      std::size_t i = pos;
      for (;;) {
        if (deadline.expired()) return fail("limit.wall_time", "jpeg: deadline passed");
        const void* ff = std::memchr(in.data() + i, 0xFF, in.size() - i);
        if (ff == nullptr) return fail("image.invalid", "jpeg: truncated scan");
        i = static_cast<std::size_t>(static_cast<const char*>(ff) - in.data());
        if (i + 1 >= in.size()) return fail("image.invalid", "jpeg: truncated scan");
        const std::uint8_t next = byteAt(in, i + 1);
        if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) {
          i += 2;
          continue;
        }
        break;
      }
      out += in.substr(start, i - start);
      pos = i;
    } else if (m >= kApp0 && m <= 0xEF) {
      const auto n = static_cast<std::uint8_t>(m - kApp0);
      if (m == kApp0 && startsWith(p, std::string_view("JFIF\0", 5)) && p.size() >= 14) {
        if (sawJfif) {
          notes.dropped("APP0 JFIF (duplicate)");
          continue;
        }
        sawJfif = true;
        std::string jfif(p.substr(0, 12));
        jfif += std::string_view("\0\0", 2);
        if (jfif != p) {
          notes.dropped(byteAt(p, 12) != 0 && byteAt(p, 13) != 0 ? "JFIF thumbnail"
                                                                 : "APP0 JFIF (extra bytes)");
        }
        writeSegment(out, m, jfif);
      } else if (m == kApp14 && startsWith(p, "Adobe") && p.size() >= 12) {
        if (sawAdobe) {
          notes.dropped("APP14 Adobe (duplicate)");
          continue;
        }
        sawAdobe = true;
        if (p.size() != 12) notes.dropped("APP14 Adobe (extra bytes)");
        writeSegment(out, m, p.substr(0, 12));
      } else if (m == kApp1 && startsWith(p, std::string_view("Exif\0", 5)) && !sawExif) {
        sawExif = true;
        const unsigned orientation = p.size() > 6 ? exifOrientation(p.substr(6)) : 0;
        if (orientation >= 2) {
          std::string exif(kMinimalExif);
          exif[kOrientationAt] = static_cast<char>(orientation);
          if (exif != p) notes.dropped("APP1 Exif");
          writeSegment(out, m, exif);
        } else {
          notes.dropped("APP1 Exif");
        }
      } else {
        notes.dropped(appLabel(n, p));
      }
    } else if (m == kCom) {
      notes.dropped("COM");
    } else {
      // Every marker value was classified above; this only guards future edits.
      return fail("image.invalid", "jpeg: unexpected " + hexMarker(m));
    }
  }

  notes.trailingBytes = in.size() - pos;
  notes.finish(result.findings);
  result.ok = true;
  return result;
}

}  // namespace mugai::sanitizers::image
