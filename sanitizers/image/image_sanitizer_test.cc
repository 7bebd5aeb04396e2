// Tests for the image rebuilder. Inputs are crafted here byte by byte (PNG with a stored zlib
// block, an 8x8 baseline JPEG with one-code Huffman tables, a 1x1 GIF) plus the third-party
// photos. Every output is judged independently of the rebuilder: a separate walker in this file
// re-reads the chunk/segment/block structure (with its own CRC-32), and, when the system's
// gdk-pixbuf library can be loaded at run time, the output is decoded and its pixels compared
// with the input's.
#include "sanitizers/image/image_sanitizer.h"

#include <dlfcn.h>
#include <doctest/doctest.h>
#include <gmime/gmime.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "core/pipeline.h"
#include "core/policy.h"
#include "sanitizers/image/image_rebuild.h"
#include "unit/test_support.h"

namespace mugai::sanitizers::image {
namespace {

using namespace std::string_literals;

// ---- Running the sanitizer -------------------------------------------------------------------

PartOutput run(std::string_view bytes, std::string_view trueType,
               std::vector<std::string> names = {}, const core::Limits* limits = nullptr) {
  static const core::Limits kDefaults;
  PartInput in;
  in.bytes = bytes;
  in.trueType = trueType;
  in.declaredType = "application/octet-stream";
  in.names = std::move(names);
  in.limits = limits ? limits : &kDefaults;
  return ImageSanitizer().sanitize(in);
}

std::string disp(const PartOutput& out) {
  return std::string(core::dispositionName(out.disposition));
}

std::string findingDetail(const PartOutput& out, std::string_view kind) {
  for (const auto& f : out.findings) {
    if (f.kind == kind) return f.detail;
  }
  return "(none)";
}

bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

// Rebuilding the output again must give the same bytes and report nothing.
void checkIdempotent(const PartOutput& out, std::string_view trueType) {
  REQUIRE(out.disposition == core::Disposition::Rebuilt);
  const PartOutput again = run(out.bytes, trueType, {out.filename});
  CHECK(disp(again) == "rebuilt");
  CHECK(again.bytes == out.bytes);
  CHECK(again.findings.empty());
  CHECK(again.filename == out.filename);
}

// ---- Byte helpers (independent of the rebuilder's own) ---------------------------------------

std::string be16(unsigned v) {
  return {static_cast<char>((v >> 8) & 0xFF), static_cast<char>(v & 0xFF)};
}
std::string le16(unsigned v) {
  return {static_cast<char>(v & 0xFF), static_cast<char>((v >> 8) & 0xFF)};
}
std::string be32(std::uint32_t v) { return be16(v >> 16) + be16(v & 0xFFFF); }

std::uint32_t readBe32(std::string_view s, std::size_t i) {
  std::uint32_t v = 0;
  for (std::size_t k = 0; k < 4; ++k) v = (v << 8) | static_cast<std::uint8_t>(s[i + k]);
  return v;
}

// Bit-at-a-time CRC-32, deliberately not the rebuilder's table form.
std::uint32_t refCrc(std::string_view s) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (const char ch : s) {
    c ^= static_cast<std::uint8_t>(ch);
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

std::uint32_t adler32(std::string_view s) {
  std::uint32_t a = 1, b = 0;
  for (const char ch : s) {
    a = (a + static_cast<std::uint8_t>(ch)) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

// ---- PNG -------------------------------------------------------------------------------------

const std::string kPngSig = "\x89PNG\r\n\x1A\n"s;

std::string chunk(std::string_view type, std::string_view data) {
  std::string body = std::string(type) + std::string(data);
  return be32(static_cast<std::uint32_t>(data.size())) + body + be32(refCrc(body));
}

std::string ihdr(std::uint32_t w, std::uint32_t h, int depth = 8, int color = 0) {
  return chunk("IHDR",
               be32(w) + be32(h) + static_cast<char>(depth) + static_cast<char>(color) + "\0\0\0"s);
}

// A zlib stream holding `raw` in one stored deflate block.
std::string zlibStored(std::string_view raw) {
  std::string z = "\x78\x01"s;
  z += '\x01';  // final block, stored
  z += le16(static_cast<unsigned>(raw.size())) + le16(~static_cast<unsigned>(raw.size()) & 0xFFFF);
  z += raw;
  return z + be32(adler32(raw));
}

// A 1x1 8-bit gray PNG of value 0x80: IHDR, `before` (chunks before IDAT), IDAT, `after`, IEND.
std::string png1x1(const std::string& before = "", const std::string& after = "",
                   const std::string& trailing = "") {
  return kPngSig + ihdr(1, 1) + before + chunk("IDAT", zlibStored("\0\x80"s)) + after +
         chunk("IEND", "") + trailing;
}

struct PngChunk {
  std::string type;
  std::string data;
};

// Walks a PNG: signature, every CRC, IEND last and nothing after it. nullopt when malformed.
std::optional<std::vector<PngChunk>> walkPng(std::string_view s) {
  if (s.substr(0, 8) != kPngSig) return std::nullopt;
  std::vector<PngChunk> chunks;
  std::size_t i = 8;
  while (i + 12 <= s.size()) {
    const std::uint32_t n = readBe32(s, i);
    if (n > s.size() - i - 12) return std::nullopt;
    if (refCrc(s.substr(i + 4, 4 + n)) != readBe32(s, i + 8 + n)) return std::nullopt;
    chunks.push_back({std::string(s.substr(i + 4, 4)), std::string(s.substr(i + 8, n))});
    i += 12 + n;
    if (chunks.back().type == "IEND") return i == s.size() ? std::optional(chunks) : std::nullopt;
  }
  return std::nullopt;
}

std::vector<std::string> pngTypes(std::string_view s) {
  std::vector<std::string> types;
  const auto chunks = walkPng(s);
  if (!chunks) return {"(malformed)"};
  for (const auto& c : *chunks) types.push_back(c.type);
  return types;
}

std::string pngIdat(std::string_view s) {
  std::string data;
  const auto chunks = walkPng(s);
  if (chunks) {
    for (const auto& c : *chunks) {
      if (c.type == "IDAT") data += c.data;
    }
  }
  return data;
}

// ---- JPEG ------------------------------------------------------------------------------------

std::string seg(unsigned marker, std::string_view payload) {
  return "\xFF"s + static_cast<char>(marker) + be16(static_cast<unsigned>(payload.size() + 2)) +
         std::string(payload);
}

const std::string kJfif = seg(0xE0, "JFIF\0\x01\x01\0\0\x01\0\x01\0\0"s);
const std::string kDqt = seg(0xDB, "\0"s + std::string(64, '\x01'));
// One code of length 1 for symbol 0, in the DC table 0 and the AC table 0.
const std::string kDht = seg(0xC4, "\x00\x01"s + std::string(15, '\0') + "\0"s) +
                         seg(0xC4, "\x10\x01"s + std::string(15, '\0') + "\0"s);
const std::string kSos = seg(0xDA, "\x01\x01\x00\x00\x3F\x00"s);

std::string sof(unsigned marker, unsigned w, unsigned h) {
  return seg(marker, "\x08"s + be16(h) + be16(w) + "\x01\x01\x11\x00"s);
}

// An 8x8 gray baseline JPEG of value 128 (one MCU: DC difference 0, then end of block: bits
// "00", padded with ones). `meta` goes after the JFIF segment, `trailing` after EOI.
std::string jpeg8x8(const std::string& meta = "", const std::string& trailing = "",
                    unsigned sofMarker = 0xC0) {
  return "\xFF\xD8"s + kJfif + meta + kDqt + sof(sofMarker, 8, 8) + kDht + kSos + "\x3F"s +
         "\xFF\xD9"s + trailing;
}

struct JpegSegment {
  unsigned marker = 0;
  std::string payload;
  std::string scan;  // entropy-coded data after an SOS
};

// Walks a JPEG: SOI, length-framed segments with no fill bytes, scan data ended by the first
// 0xFF not followed by 00 or D0-D7, EOI last and nothing after it.
std::optional<std::vector<JpegSegment>> walkJpeg(std::string_view s) {
  if (s.substr(0, 2) != "\xFF\xD8"s) return std::nullopt;
  std::vector<JpegSegment> segs;
  std::size_t i = 2;
  while (i + 2 <= s.size()) {
    if (static_cast<std::uint8_t>(s[i]) != 0xFF) return std::nullopt;
    const auto m = static_cast<std::uint8_t>(s[i + 1]);
    if (m == 0xD9) return i + 2 == s.size() ? std::optional(segs) : std::nullopt;
    if (i + 4 > s.size()) return std::nullopt;
    const std::size_t n =
        (static_cast<std::uint8_t>(s[i + 2]) << 8) | static_cast<std::uint8_t>(s[i + 3]);
    if (n < 2 || i + 2 + n > s.size()) return std::nullopt;
    JpegSegment sg{m, std::string(s.substr(i + 4, n - 2)), ""};
    i += 2 + n;
    if (m == 0xDA) {
      std::size_t j = i;
      while (j + 1 < s.size()) {
        const auto a = static_cast<std::uint8_t>(s[j]);
        const auto b = static_cast<std::uint8_t>(s[j + 1]);
        if (a == 0xFF && b != 0x00 && !(b >= 0xD0 && b <= 0xD7)) break;
        j += (a == 0xFF) ? 2 : 1;
      }
      sg.scan = std::string(s.substr(i, j - i));
      i = j;
    }
    segs.push_back(std::move(sg));
  }
  return std::nullopt;
}

std::vector<unsigned> jpegMarkers(std::string_view s) {
  std::vector<unsigned> ms;
  const auto segs = walkJpeg(s);
  if (!segs) return {0};
  for (const auto& sg : *segs) ms.push_back(sg.marker);
  return ms;
}

// ---- GIF -------------------------------------------------------------------------------------

const std::string kGifHead = "GIF89a\x01\x00\x01\x00\x80\x00\x00"s + "\0\0\0\xFF\xFF\xFF"s;
const std::string kGifImage = "\x2C\0\0\0\0\x01\0\x01\0\0"s + "\x02\x02\x44\x01\x00"s;
const std::string kGce = "\x21\xF9\x04\x00\x0A\x00\x00\x00"s;
const std::string kLoop = "\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00"s;
const std::string kComment = "\x21\xFE\x0Bhello there\x00"s;
const std::string kXmp = "\x21\xFF\x0BXMP DataXMP"s + "\x13<x:xmpmeta secret/>" + "\x00"s;
const std::string kPlainText = "\x21\x01\x0C"s + std::string(12, '\x01') + "\x04text\x00"s;

std::string gif(const std::string& blocks, const std::string& trailing = "") {
  return kGifHead + blocks + ";" + trailing;
}

// Walks a GIF: header, color table, blocks with complete sub-block chains, trailer last and
// nothing after it. Returns one letter per block: I image, G graphic control, A application
// (followed by its identifier), C comment, P plain text, X other extension.
std::optional<std::vector<std::string>> walkGif(std::string_view s) {
  if (s.size() < 13 || (s.substr(0, 6) != "GIF89a" && s.substr(0, 6) != "GIF87a")) {
    return std::nullopt;
  }
  const auto u8 = [&](std::size_t i) { return static_cast<std::uint8_t>(s[i]); };
  const auto table = [&](std::uint8_t packed) {
    return (packed & 0x80) ? 3u * (1u << ((packed & 7) + 1)) : 0u;
  };
  std::size_t i = 13 + table(u8(10));
  std::vector<std::string> blocks;
  const auto chain = [&]() {
    while (i < s.size()) {
      const std::size_t n = u8(i);
      i += 1 + n;
      if (n == 0) return i <= s.size();
    }
    return false;
  };
  while (i < s.size()) {
    const std::uint8_t b = u8(i);
    if (b == 0x3B) return i + 1 == s.size() ? std::optional(blocks) : std::nullopt;
    if (b == 0x2C) {
      if (i + 10 > s.size()) return std::nullopt;
      i += 10 + table(u8(i + 9)) + 1;  // descriptor, local table, LZW code size
      if (!chain()) return std::nullopt;
      blocks.push_back("I");
    } else if (b == 0x21 && i + 1 < s.size()) {
      const std::uint8_t label = u8(i + 1);
      std::string name = label == 0xF9 ? "G" : label == 0xFE ? "C" : label == 0x01 ? "P" : "X";
      if (label == 0xFF && i + 14 <= s.size()) name = "A" + std::string(s.substr(i + 3, 11));
      i += 2;
      if (!chain()) return std::nullopt;
      blocks.push_back(name);
    } else {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// ---- Decoding through gdk-pixbuf, loaded at run time -----------------------------------------

struct Decoded {
  bool ok = false;
  int width = 0;
  int height = 0;
  std::string pixels;  // rows without padding
};

// gdk-pixbuf is not a build dependency; when the shared library is present its loaders (PNG,
// JPEG, GIF) give an independent decoder. Returns nullopt when it cannot be loaded.
class PixbufDecoder {
 public:
  PixbufDecoder() {
    handle_ = dlopen("libgdk_pixbuf-2.0.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!handle_) return;
    loaderNew_ = reinterpret_cast<void* (*)()>(dlsym(handle_, "gdk_pixbuf_loader_new"));
    write_ = reinterpret_cast<int (*)(void*, const unsigned char*, std::size_t, GError**)>(
        dlsym(handle_, "gdk_pixbuf_loader_write"));
    close_ = reinterpret_cast<int (*)(void*, GError**)>(dlsym(handle_, "gdk_pixbuf_loader_close"));
    getPixbuf_ = reinterpret_cast<void* (*)(void*)>(dlsym(handle_, "gdk_pixbuf_loader_get_pixbuf"));
    width_ = reinterpret_cast<int (*)(void*)>(dlsym(handle_, "gdk_pixbuf_get_width"));
    height_ = reinterpret_cast<int (*)(void*)>(dlsym(handle_, "gdk_pixbuf_get_height"));
    channels_ = reinterpret_cast<int (*)(void*)>(dlsym(handle_, "gdk_pixbuf_get_n_channels"));
    stride_ = reinterpret_cast<int (*)(void*)>(dlsym(handle_, "gdk_pixbuf_get_rowstride"));
    pixels_ = reinterpret_cast<unsigned char* (*)(void*)>(dlsym(handle_, "gdk_pixbuf_get_pixels"));
    usable_ = loaderNew_ && write_ && close_ && getPixbuf_ && width_ && height_ && channels_ &&
              stride_ && pixels_;
  }
  bool usable() const { return usable_; }

  Decoded decode(std::string_view bytes) const {
    Decoded d;
    void* loader = loaderNew_();
    GError* err = nullptr;
    bool ok = write_(loader, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                     &err) != 0;
    if (err) g_clear_error(&err);
    ok = close_(loader, &err) != 0 && ok;
    if (err) g_clear_error(&err);
    void* pb = ok ? getPixbuf_(loader) : nullptr;
    if (pb) {
      d.ok = true;
      d.width = width_(pb);
      d.height = height_(pb);
      const int rowBytes = d.width * channels_(pb);
      for (int y = 0; y < d.height; ++y) {
        d.pixels.append(reinterpret_cast<const char*>(pixels_(pb)) +
                            static_cast<std::ptrdiff_t>(y) * stride_(pb),
                        static_cast<std::size_t>(rowBytes));
      }
    }
    g_object_unref(loader);
    return d;
  }

 private:
  void* handle_ = nullptr;
  bool usable_ = false;
  void* (*loaderNew_)() = nullptr;
  int (*write_)(void*, const unsigned char*, std::size_t, GError**) = nullptr;
  int (*close_)(void*, GError**) = nullptr;
  void* (*getPixbuf_)(void*) = nullptr;
  int (*width_)(void*) = nullptr;
  int (*height_)(void*) = nullptr;
  int (*channels_)(void*) = nullptr;
  int (*stride_)(void*) = nullptr;
  unsigned char* (*pixels_)(void*) = nullptr;
};

const PixbufDecoder& decoder() {
  static const PixbufDecoder d;
  return d;
}

// The output decodes to the same picture as the input (when a decoder is available).
void checkSamePicture(std::string_view input, std::string_view output) {
  if (!decoder().usable()) {
    MESSAGE("gdk-pixbuf not loadable: pixel comparison skipped (structure checked only)");
    return;
  }
  const Decoded a = decoder().decode(input);
  const Decoded b = decoder().decode(output);
  REQUIRE(a.ok);
  REQUIRE(b.ok);
  CHECK(b.width == a.width);
  CHECK(b.height == a.height);
  CHECK(b.pixels == a.pixels);
}

// Width and height as this file's own walkers read them: the PNG IHDR, the JPEG frame header,
// the GIF logical screen. {0, 0} when the structure is not readable.
std::pair<std::uint32_t, std::uint32_t> dimensions(std::string_view s) {
  if (const auto png = walkPng(s); png && !png->empty() && png->front().data.size() == 13) {
    return {readBe32(png->front().data, 0), readBe32(png->front().data, 4)};
  }
  if (const auto jpeg = walkJpeg(s)) {
    for (const auto& sg : *jpeg) {
      if (sg.marker >= 0xC0 && sg.marker <= 0xC2 && sg.payload.size() >= 5) {
        const auto b = [&](std::size_t i) { return static_cast<std::uint8_t>(sg.payload[i]); };
        return {static_cast<std::uint32_t>((b(3) << 8) | b(4)),
                static_cast<std::uint32_t>((b(1) << 8) | b(2))};
      }
    }
  }
  if (walkGif(s)) {
    const auto b = [&](std::size_t i) { return static_cast<std::uint8_t>(s[i]); };
    return {static_cast<std::uint32_t>(b(6) | (b(7) << 8)),
            static_cast<std::uint32_t>(b(8) | (b(9) << 8))};
  }
  return {0, 0};
}

// Only structure a decoder needs is left: PNG rendering chunks, JPEG tables/frame/scans plus
// JFIF, Adobe APP14 and a bare-orientation Exif, GIF images, graphic controls and the loop.
bool onlyAllowedStructure(std::string_view s) {
  if (const auto png = walkPng(s)) {
    static const std::set<std::string> kOk = {"IHDR", "PLTE", "IDAT", "IEND", "tRNS", "gAMA",
                                              "cHRM", "sRGB", "sBIT", "bKGD", "pHYs"};
    for (const auto& c : *png) {
      if (!kOk.count(c.type)) return false;
    }
    return true;
  }
  if (const auto jpeg = walkJpeg(s)) {
    for (const auto& sg : *jpeg) {
      const unsigned m = sg.marker;
      if (m == 0xC0 || m == 0xC1 || m == 0xC2 || m == 0xC4 || m == 0xDA || m == 0xDB ||
          m == 0xDD) {
        continue;
      }
      if (m == 0xE0 && sg.payload.size() == 14 && sg.payload.substr(0, 5) == "JFIF\0"s) continue;
      if (m == 0xEE && sg.payload.size() == 12 && sg.payload.substr(0, 5) == "Adobe") continue;
      // An Exif with exactly one IFD entry, the orientation tag, and nothing else.
      if (m == 0xE1 && sg.payload.size() == 32 && sg.payload.substr(0, 6) == "Exif\0\0"s &&
          sg.payload.substr(14, 4) == "\0\x01\x01\x12"s) {
        continue;
      }
      return false;
    }
    return true;
  }
  if (const auto gif = walkGif(s)) {
    for (const auto& b : *gif) {
      if (b != "I" && b != "G" && b != "ANETSCAPE2.0" && b != "AANIMEXTS1.0") return false;
    }
    return true;
  }
  return false;
}

using mugai::testing::readFile;
using mugai::testing::thirdPartyRoot;

}  // namespace

TEST_SUITE("image") {
  TEST_CASE("image: handles png, jpeg and gif and nothing else") {
    const ImageSanitizer s;
    CHECK(s.handles("png", "image/png"));
    CHECK(s.handles("jpeg", "application/octet-stream"));
    CHECK(s.handles("gif", ""));
    for (const char* other : {"bmp", "tiff", "webp", "ico", "svg", "pdf", "text", ""}) {
      const std::string type = other;
      CAPTURE(type);
      CHECK_FALSE(s.handles(other, "image/png"));
    }
  }

  TEST_CASE("image: the test's own walkers and decoder reject damaged files") {
    // Guards the guards: if these accepted anything, the output checks below would prove nothing.
    std::string png = png1x1();
    CHECK(walkPng(png));
    png[20] ^= 1;
    CHECK_FALSE(walkPng(png));
    CHECK_FALSE(walkPng(png1x1("", "", "x")));
    CHECK(walkJpeg(jpeg8x8()));
    CHECK_FALSE(walkJpeg(jpeg8x8("", "x")));
    CHECK(walkGif(gif(kGifImage)));
    CHECK_FALSE(walkGif(gif(kGifImage, "x")));
    if (!decoder().usable()) {
      MESSAGE("gdk-pixbuf not loadable: decoder self-check skipped");
      return;
    }
    const Decoded good = decoder().decode(png1x1());
    CHECK(good.ok);
    CHECK(good.width == 1);
    CHECK_FALSE(decoder().decode("\x89PNG\r\n\x1A\nrubbish"s).ok);
    CHECK_FALSE(decoder().decode("\xFF\xD8\xFF\xE0rubbish"s).ok);
    // The same picture with another pixel value must compare different.
    const std::string other =
        kPngSig + ihdr(1, 1) + chunk("IDAT", zlibStored("\0\x81"s)) + chunk("IEND", "");
    CHECK(decoder().decode(other).pixels != good.pixels);
  }

  // ---- PNG ----

  TEST_CASE("png: text chunks and trailing junk are removed, pixels and CRCs intact") {
    const std::string in =
        png1x1(chunk("tEXt", "Author\0Secret Person"s),
               chunk("tIME", "\x07\xE8\x01\x02\x03\x04\x05"s), "PK\x03\x04 appended zip"s);
    const PartOutput out = run(in, "png", {"scan.png"});
    REQUIRE(disp(out) == "rebuilt");
    CHECK(out.contentType == "image/png");
    CHECK(out.filename == "scan.png");
    CHECK(pngTypes(out.bytes) == std::vector<std::string>{"IHDR", "IDAT", "IEND"});
    CHECK(pngIdat(out.bytes) == zlibStored("\0\x80"s));
    CHECK_FALSE(contains(out.bytes, "Secret"));
    CHECK_FALSE(contains(out.bytes, "PK\x03\x04"));
    CHECK(findingDetail(out, "image.metadata_removed") == "tEXt, tIME");
    CHECK(findingDetail(out, "image.trailing_data_removed") == "17 bytes");
    CHECK(out.findings.size() == 2);
    checkSamePicture(in, out.bytes);
    checkIdempotent(out, "png");
  }

  TEST_CASE("png: rendering chunks are kept, metadata and private chunks dropped") {
    const std::string before = chunk("gAMA", be32(45455)) + chunk("sRGB", "\0"s) +
                               chunk("iCCP", "sRGB\0\0\x78\x01"s) + chunk("tRNS", "\0\x10"s) +
                               chunk("bKGD", "\0\x20"s) +
                               chunk("pHYs", be32(2835) + be32(2835) + "\x01") +
                               chunk("eXIf", "MM\0*GPS"s) + chunk("prVt", "hidden");
    const std::string in =
        png1x1(before, chunk("iTXt", "XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta/>"s) +
                           chunk("zTXt", "Comment\0\0\x78\x01"s));
    const PartOutput out = run(in, "png");
    REQUIRE(disp(out) == "rebuilt");
    CHECK(pngTypes(out.bytes) ==
          std::vector<std::string>{"IHDR", "gAMA", "sRGB", "tRNS", "bKGD", "pHYs", "IDAT", "IEND"});
    CHECK(findingDetail(out, "image.metadata_removed") == "iCCP, eXIf, prVt, iTXt, zTXt");
    CHECK_FALSE(contains(out.bytes, "xmpmeta"));
    CHECK_FALSE(contains(out.bytes, "GPS"));
    checkSamePicture(in, out.bytes);
    checkIdempotent(out, "png");
  }

  TEST_CASE("png: malformed, misplaced or repeated rendering chunks are dropped and named") {
    const std::string in = png1x1(chunk("gAMA", be32(0)) + chunk("pHYs", "\0"s) +
                                      chunk("sRGB", "\0"s) + chunk("sRGB", "\x01"s),
                                  chunk("gAMA", be32(45455)));
    const PartOutput out = run(in, "png");
    REQUIRE(disp(out) == "rebuilt");
    CHECK(pngTypes(out.bytes) == std::vector<std::string>{"IHDR", "sRGB", "IDAT", "IEND"});
    CHECK(findingDetail(out, "image.metadata_removed") ==
          "gAMA (invalid), pHYs (invalid), sRGB (duplicate), gAMA (misplaced)");
    checkIdempotent(out, "png");
  }

  TEST_CASE("png: APNG animation chunks are dropped and the default image kept") {
    const std::string actl = chunk("acTL", be32(2) + be32(0));
    const std::string fctl = chunk("fcTL", std::string(26, '\0'));
    const std::string in = png1x1(
        actl + fctl, chunk("fcTL", std::string(26, '\0')) + chunk("fdAT", be32(2) + "\x78\x01"));
    const PartOutput out = run(in, "png");
    REQUIRE(disp(out) == "rebuilt");
    CHECK(pngTypes(out.bytes) == std::vector<std::string>{"IHDR", "IDAT", "IEND"});
    CHECK(findingDetail(out, "image.animation_removed") == "APNG");
    checkIdempotent(out, "png");
  }

  TEST_CASE("png: structural damage removes the file") {
    const std::string good = png1x1();
    std::string badCrc = good;
    badCrc[badCrc.size() - 20] ^= 1;  // inside the IDAT data
    std::string badSig = good;
    badSig[1] = 'X';
    const std::string idat = chunk("IDAT", zlibStored("\0\x80"s));
    struct Row {
      const char* name;
      std::string bytes;
      const char* reason;
    };
    const Row rows[] = {
        {"bad signature", badSig, "image.invalid"},
        {"bad CRC in IDAT", badCrc, "image.invalid"},
        {"bad CRC in an ancillary chunk",
         png1x1(chunk("tEXt", "a\0b"s).substr(0, 11) + "\0\0\0\0"s), "image.invalid"},
        {"unknown critical chunk", png1x1(chunk("ABCD", "x")), "image.invalid"},
        {"IHDR not first", kPngSig + chunk("gAMA", be32(1)) + ihdr(1, 1) + idat + chunk("IEND", ""),
         "image.invalid"},
        {"IDAT not consecutive", png1x1("", chunk("tEXt", "a\0b"s) + idat), "image.invalid"},
        {"no IDAT", kPngSig + ihdr(1, 1) + chunk("IEND", ""), "image.invalid"},
        {"no IEND", kPngSig + ihdr(1, 1) + idat, "image.invalid"},
        {"IEND with data", kPngSig + ihdr(1, 1) + idat + chunk("IEND", "x"), "image.invalid"},
        {"zero width", kPngSig + ihdr(0, 1) + idat + chunk("IEND", ""), "image.invalid"},
        {"width above 2^31", kPngSig + ihdr(0x80000000u, 1) + idat + chunk("IEND", ""),
         "image.invalid"},
        {"bad bit depth", kPngSig + ihdr(1, 1, 3, 0) + idat + chunk("IEND", ""), "image.invalid"},
        {"palette image without PLTE", kPngSig + ihdr(1, 1, 8, 3) + idat + chunk("IEND", ""),
         "image.invalid"},
        {"PLTE in a gray image", png1x1(chunk("PLTE", "\0\0\0"s)), "image.invalid"},
        {"IDAT is not zlib", kPngSig + ihdr(1, 1) + chunk("IDAT", "\0\x80"s) + chunk("IEND", ""),
         "image.invalid"},
        {"lower-case reserved letter in a critical chunk", png1x1(chunk("IDaT", "x")),
         "image.invalid"},
        {"huge dimensions", kPngSig + ihdr(0x7FFFFFFF, 0x7FFFFFFF) + idat + chunk("IEND", ""),
         "limit.image_pixels"},
    };
    for (const auto& row : rows) {
      const std::string name = row.name;
      CAPTURE(name);
      const PartOutput out = run(row.bytes, "png");
      CHECK(disp(out) == "removed");
      CHECK(out.reason == row.reason);
      CHECK(out.bytes.empty());
    }
  }

  TEST_CASE("png: every truncation of a valid file is removed") {
    const std::string good = png1x1(chunk("tEXt", "k\0v"s));
    REQUIRE(disp(run(good, "png")) == "rebuilt");
    for (std::size_t n = 0; n < good.size(); ++n) {
      CAPTURE(n);
      const PartOutput out = run(good.substr(0, n), "png");
      CHECK(out.reason == "image.invalid");
    }
  }

  TEST_CASE("png: maxImagePixels admits N pixels and removes N+1") {
    // The pixel data is never decoded, so a tiny IDAT is enough to test the header check.
    const std::string in =
        kPngSig + ihdr(1000, 1000) + chunk("IDAT", zlibStored("\0"s)) + chunk("IEND", "");
    core::Limits limits;
    limits.maxImagePixels = 1000000;
    CHECK(disp(run(in, "png", {}, &limits)) == "rebuilt");
    limits.maxImagePixels = 999999;
    const PartOutput out = run(in, "png", {}, &limits);
    CHECK(disp(out) == "removed");
    CHECK(out.reason == "limit.image_pixels");
  }

  TEST_CASE("png: a palette image keeps PLTE, tRNS and bKGD in order") {
    const std::string in = kPngSig + ihdr(1, 1, 8, 3) + chunk("PLTE", "\xFF\0\0\0\xFF\0"s) +
                           chunk("tRNS", "\x80"s) + chunk("bKGD", "\x01"s) +
                           chunk("IDAT", zlibStored("\0\x01"s)) + chunk("IEND", "");
    const PartOutput out = run(in, "png");
    REQUIRE(disp(out) == "rebuilt");
    CHECK(out.bytes == in);
    CHECK(out.findings.empty());
    checkSamePicture(in, out.bytes);
  }

  // ---- JPEG ----

  TEST_CASE("jpeg: EXIF, XMP, comments and trailing data are removed, scan data copied") {
    const std::string exif = seg(0xE1, "Exif\0\0MM\0*\0\0\0\x08\0\0GPSLatitude 35.68"s);
    const std::string xmp = seg(0xE1, "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>"s);
    const std::string com = seg(0xFE, "made by SecretCam");
    const std::string trailing = "Rar!\x1A\x07 hidden archive"s;
    const std::string in = jpeg8x8(exif + xmp + com, trailing);
    const PartOutput out = run(in, "jpeg", {"photo.jpeg"});
    REQUIRE(disp(out) == "rebuilt");
    CHECK(out.contentType == "image/jpeg");
    CHECK(out.filename == "photo.jpeg");
    CHECK(jpegMarkers(out.bytes) == std::vector<unsigned>{0xE0, 0xDB, 0xC0, 0xC4, 0xC4, 0xDA});
    CHECK_FALSE(contains(out.bytes, "Exif"));
    CHECK_FALSE(contains(out.bytes, "GPS"));
    CHECK_FALSE(contains(out.bytes, "xmpmeta"));
    CHECK_FALSE(contains(out.bytes, "SecretCam"));
    CHECK_FALSE(contains(out.bytes, "Rar!"));
    CHECK(findingDetail(out, "image.metadata_removed") == "APP1 Exif, APP1 XMP, COM");
    CHECK(findingDetail(out, "image.trailing_data_removed") ==
          std::to_string(trailing.size()) + " bytes");
    const auto segs = walkJpeg(out.bytes);
    REQUIRE(segs);
    CHECK(segs->back().scan == "\x3F");
    checkSamePicture(in, out.bytes);
    checkIdempotent(out, "jpeg");
  }

  TEST_CASE("jpeg: an EXIF orientation other than 1 survives alone in a minimal Exif") {
    // Little-endian TIFF, IFD0 with Make, Orientation = 6 and a GPS IFD pointer.
    const std::string ifd = "\x03\x00"s + "\x0F\x01\x02\x00\x04\x00\x00\x00"s + "Cam\0"s +
                            "\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00"s +
                            "\x25\x88\x04\x00\x01\x00\x00\x00\x40\x00\x00\x00"s + "\0\0\0\0"s;
    const std::string tiff = "II*\0\x08\0\0\0"s + ifd + "GPS data here";
    const std::string in = jpeg8x8(seg(0xE1, "Exif\0\0"s + tiff));
    const PartOutput out = run(in, "jpeg");
    REQUIRE(disp(out) == "rebuilt");
    const auto segs = walkJpeg(out.bytes);
    REQUIRE(segs);
    std::string kept;
    for (const auto& s : *segs) {
      if (s.marker == 0xE1) kept = s.payload;
    }
    // Independently decoded: "Exif\0\0", big-endian TIFF, one entry, tag 0x0112 SHORT 1 = 6.
    REQUIRE(kept.size() == 32);
    CHECK(kept.substr(0, 14) == "Exif\0\0MM\0*\0\0\0\x08"s);
    CHECK(kept.substr(14, 2) == "\0\x01"s);
    CHECK(kept.substr(16, 10) == "\x01\x12\0\x03\0\0\0\x01\0\x06"s);
    CHECK_FALSE(contains(out.bytes, "GPS"));
    CHECK_FALSE(contains(out.bytes, "Cam"));
    CHECK(findingDetail(out, "image.metadata_removed") == "APP1 Exif");
    checkIdempotent(out, "jpeg");

    // Orientation 1 (the default) needs no Exif at all.
    std::string upright = tiff;
    upright[8 + 2 + 12 + 8] = '\x01';
    const PartOutput plain = run(jpeg8x8(seg(0xE1, "Exif\0\0"s + upright)), "jpeg");
    REQUIRE(disp(plain) == "rebuilt");
    CHECK_FALSE(contains(plain.bytes, "Exif"));
  }

  TEST_CASE("jpeg: the JFIF thumbnail and other APP segments go, Adobe APP14 is kept") {
    const std::string thumbJfif =
        seg(0xE0, "JFIF\0\x01\x02\0\0\x01\0\x01\x01\x01"s + "\x11\x22\x33");
    const std::string adobe = seg(0xEE, "Adobe\0\x64\0\0\0\0\x01"s);
    const std::string in = "\xFF\xD8"s + thumbJfif + seg(0xE2, "ICC_PROFILE\0\x01\x01...."s) +
                           seg(0xED, "Photoshop 3.0\08BIM"s) + adobe + seg(0xE7, "whatever") +
                           kDqt + sof(0xC0, 8, 8) + kDht + kSos + "\x3F\xFF\xD9"s;
    const PartOutput out = run(in, "jpeg");
    REQUIRE(disp(out) == "rebuilt");
    const auto segs = walkJpeg(out.bytes);
    REQUIRE(segs);
    REQUIRE(segs->size() == 7);
    CHECK((*segs)[0].marker == 0xE0);
    CHECK((*segs)[0].payload == "JFIF\0\x01\x02\0\0\x01\0\x01\0\0"s);
    CHECK((*segs)[1].marker == 0xEE);
    CHECK((*segs)[1].payload == "Adobe\0\x64\0\0\0\0\x01"s);
    CHECK(findingDetail(out, "image.metadata_removed") ==
          "JFIF thumbnail, APP2 ICC profile, APP13 Photoshop, APP7");
    checkIdempotent(out, "jpeg");
  }

  TEST_CASE("jpeg: restart markers and stuffed bytes stay inside the scan, fill bytes go") {
    // 16x8, restart interval 1: MCU, RST0, MCU. Decodable.
    const std::string dri = seg(0xDD, be16(1));
    const std::string in = "\xFF\xD8"s + kJfif + kDqt + sof(0xC0, 16, 8) + kDht + dri + kSos +
                           "\x3F\xFF\xD0\x3F"s + "\xFF\xFF\xFF\xD9"s;
    const PartOutput out = run(in, "jpeg");
    REQUIRE(disp(out) == "rebuilt");
    const auto segs = walkJpeg(out.bytes);
    REQUIRE(segs);
    CHECK(segs->back().scan == "\x3F\xFF\xD0\x3F"s);
    CHECK(out.findings.empty());
    checkSamePicture(in, out.bytes);

    // Stuffed 0xFF bytes and a progressive second scan (structure only; not meant to decode).
    const std::string prog = "\xFF\xD8"s + kDqt + sof(0xC2, 8, 8) + kDht + kSos +
                             "\x12\xFF\x00\x34\xFF\xD7\x56"s + kDht + kSos + "\xFF\x00"s +
                             "\xFF\xD9"s;
    const PartOutput p = run(prog, "jpeg");
    REQUIRE(disp(p) == "rebuilt");
    CHECK(p.bytes == prog);
    const auto psegs = walkJpeg(p.bytes);
    REQUIRE(psegs);
    CHECK((*psegs)[4].scan == "\x12\xFF\x00\x34\xFF\xD7\x56"s);
  }

  TEST_CASE("jpeg: damage and unsupported coding processes remove the file") {
    const std::string body = kDqt + sof(0xC0, 8, 8) + kDht + kSos + "\x3F"s;
    struct Row {
      const char* name;
      std::string bytes;
      const char* reason;
    };
    const Row rows[] = {
        {"lossless SOF3", jpeg8x8("", "", 0xC3), "image.unsupported"},
        {"arithmetic SOF9", jpeg8x8("", "", 0xC9), "image.unsupported"},
        {"hierarchical SOF5", jpeg8x8("", "", 0xC5), "image.unsupported"},
        {"JPEG-LS SOF55", jpeg8x8("", "", 0xF7), "image.unsupported"},
        {"arithmetic table DAC", jpeg8x8(seg(0xCC, "\0\0"s)), "image.unsupported"},
        {"no SOI", body + "\xFF\xD9"s, "image.invalid"},
        {"no EOI", "\xFF\xD8"s + body, "image.invalid"},
        {"no scan", "\xFF\xD8"s + kDqt + sof(0xC0, 8, 8) + "\xFF\xD9"s, "image.invalid"},
        {"scan before frame", "\xFF\xD8"s + kDht + kSos + "\x3F\xFF\xD9"s, "image.invalid"},
        {"two frames", jpeg8x8(sof(0xC0, 8, 8)), "image.invalid"},
        {"stray RST between segments", jpeg8x8("\xFF\xD0"s), "image.invalid"},
        {"garbage between segments", jpeg8x8("junk"), "image.invalid"},
        {"segment length 1", jpeg8x8("\xFF\xE5\x00\x01"s), "image.invalid"},
        {"segment past the end", "\xFF\xD8\xFF\xE1\xFF\xF0"s + "Exif", "image.invalid"},
        {"zero width", "\xFF\xD8"s + kDqt + sof(0xC0, 0, 8) + kDht + kSos + "\x3F\xFF\xD9"s,
         "image.invalid"},
        {"height from DNL", "\xFF\xD8"s + kDqt + sof(0xC0, 8, 0) + kDht + kSos + "\x3F\xFF\xD9"s,
         "image.unsupported"},
        {"scan names an unknown component",
         "\xFF\xD8"s + kDqt + sof(0xC0, 8, 8) + kDht + seg(0xDA, "\x01\x07\x00\x00\x3F\x00"s) +
             "\x3F\xFF\xD9"s,
         "image.invalid"},
        {"bad DHT", jpeg8x8(seg(0xC4, "\x00\xFF"s)), "image.invalid"},
        {"bad DQT", jpeg8x8(seg(0xDB, "\x00\x01\x02"s)), "image.invalid"},
        {"huge dimensions",
         "\xFF\xD8"s + kDqt + sof(0xC0, 65535, 65535) + kDht + kSos + "\x3F\xFF\xD9"s,
         "limit.image_pixels"},
    };
    for (const auto& row : rows) {
      const std::string name = row.name;
      CAPTURE(name);
      const PartOutput out = run(row.bytes, "jpeg");
      CHECK(disp(out) == "removed");
      CHECK(out.reason == row.reason);
    }
  }

  TEST_CASE("jpeg: every truncation of a valid file is removed") {
    const std::string good = jpeg8x8(seg(0xFE, "c"));
    REQUIRE(disp(run(good, "jpeg")) == "rebuilt");
    for (std::size_t n = 0; n < good.size(); ++n) {
      CAPTURE(n);
      CHECK(run(good.substr(0, n), "jpeg").reason == "image.invalid");
    }
  }

  TEST_CASE("jpeg: maxImagePixels admits N pixels and removes N+1") {
    const std::string in =
        "\xFF\xD8"s + kDqt + sof(0xC0, 1000, 1000) + kDht + kSos + "\x3F\xFF\xD9"s;
    core::Limits limits;
    limits.maxImagePixels = 1000000;
    CHECK(disp(run(in, "jpeg", {}, &limits)) == "rebuilt");
    limits.maxImagePixels = 999999;
    CHECK(run(in, "jpeg", {}, &limits).reason == "limit.image_pixels");
  }

  // ---- GIF ----

  TEST_CASE("gif: comments, XMP, plain text and trailing data are removed, animation kept") {
    const std::string in =
        gif(kLoop + kComment + kXmp + kGce + kGifImage + kPlainText + kGce + kGifImage, "<script>");
    const PartOutput out = run(in, "gif", {"anim.gif"});
    REQUIRE(disp(out) == "rebuilt");
    CHECK(out.contentType == "image/gif");
    const auto blocks = walkGif(out.bytes);
    REQUIRE(blocks);
    CHECK(*blocks == std::vector<std::string>{"ANETSCAPE2.0", "G", "I", "G", "I"});
    CHECK(out.bytes == gif(kLoop + kGce + kGifImage + kGce + kGifImage));
    CHECK_FALSE(contains(out.bytes, "secret"));
    CHECK_FALSE(contains(out.bytes, "hello"));
    CHECK(findingDetail(out, "image.metadata_removed") == "comment, XMP, plain text");
    CHECK(findingDetail(out, "image.trailing_data_removed") == "8 bytes");
    checkSamePicture(in, out.bytes);
    checkIdempotent(out, "gif");
  }

  TEST_CASE("gif: the loop extension is normalized and unknown extensions dropped") {
    const std::string loopWithBuffering =
        "\x21\xFF\x0BNETSCAPE2.0\x03\x01\x05\x00\x05\x02\x00\x10\x00\x00\x00"s;
    const std::string other = "\x21\xFF\x0BMGK8BIM0000\x04"s + "abcd\x00"s;
    const std::string unknown = "\x21\x99\x02zz\x00"s;
    const std::string in = gif(loopWithBuffering + other + unknown + kLoop + kGifImage);
    const PartOutput out = run(in, "gif");
    REQUIRE(disp(out) == "rebuilt");
    CHECK(out.bytes == gif("\x21\xFF\x0BNETSCAPE2.0\x03\x01\x05\x00\x00"s + kGifImage));
    CHECK(findingDetail(out, "image.metadata_removed") ==
          "application extension data, application extension, extension");
    checkIdempotent(out, "gif");
  }

  TEST_CASE("gif: damage removes the file") {
    std::string lzw1 = kGifImage;
    lzw1[10] = '\x01';
    std::string lzw9 = kGifImage;
    lzw9[10] = '\x09';
    std::string zeroFrame = kGifImage;
    zeroFrame[5] = '\0';
    struct Row {
      const char* name;
      std::string bytes;
      const char* reason;
    };
    const Row rows[] = {
        {"bad signature", "GIF90a" + gif(kGifImage).substr(6), "image.invalid"},
        {"LZW code size 1", gif(lzw1), "image.invalid"},
        {"LZW code size 9", gif(lzw9), "image.invalid"},
        {"zero-width frame", gif(zeroFrame), "image.invalid"},
        {"no image", gif(kLoop), "image.invalid"},
        {"no trailer", kGifHead + kGifImage, "image.invalid"},
        {"unknown block", gif("\x2D" + kGifImage), "image.invalid"},
        {"short graphic control", gif("\x21\xF9\x03\x00\x0A\x00\x00"s + kGifImage),
         "image.invalid"},
        {"sub-block past the end", kGifHead + "\x2C\0\0\0\0\x01\0\x01\0\0\x02\x7F\x44"s,
         "image.invalid"},
        {"huge screen", "GIF89a\xFF\xFF\xFF\xFF\x00\x00\x00"s + kGifImage + ";",
         "limit.image_pixels"},
    };
    for (const auto& row : rows) {
      const std::string name = row.name;
      CAPTURE(name);
      const PartOutput out = run(row.bytes, "gif");
      CHECK(disp(out) == "removed");
      CHECK(out.reason == row.reason);
    }
  }

  TEST_CASE("gif: every truncation of a valid file is removed") {
    const std::string good = gif(kLoop + kGce + kGifImage + kComment);
    REQUIRE(disp(run(good, "gif")) == "rebuilt");
    for (std::size_t n = 0; n < good.size(); ++n) {
      CAPTURE(n);
      CHECK(run(good.substr(0, n), "gif").reason == "image.invalid");
    }
  }

  TEST_CASE("gif: maxImagePixels applies to the screen and to each frame, N and N+1") {
    std::string bigFrame = kGifImage;
    bigFrame.replace(5, 4, le16(1000) + le16(1000));
    const std::string frame = gif(bigFrame);
    const std::string screen =
        "GIF89a"s + le16(1000) + le16(1000) + "\x80\0\0"s + kGifHead.substr(13) + kGifImage + ";";
    for (const std::string& in : {frame, screen}) {
      core::Limits limits;
      limits.maxImagePixels = 1000000;
      CHECK(disp(run(in, "gif", {}, &limits)) == "rebuilt");
      limits.maxImagePixels = 999999;
      CHECK(run(in, "gif", {}, &limits).reason == "limit.image_pixels");
    }
  }

  // ---- Names, deadline, pipeline ----

  TEST_CASE("image: the file name gets the extension of the real type") {
    struct Row {
      std::string_view in;
      std::string_view ext;
      std::string_view out;
    };
    const Row rows[] = {
        {"photo.jpg", ".png", "photo.png"},
        {"photo.PNG", ".png", "photo.PNG"},
        {"photo.jpeg", ".jpg", "photo.jpeg"},
        {"a.JFIF", ".jpg", "a.JFIF"},
        {"scan", ".gif", "scan.gif"},
        {"", ".png", "image.png"},
        {"2024.05.01", ".jpg", "2024.05.01.jpg"},
        {".png", ".gif", ".png.gif"},
        {"写真.bmp", ".png", "写真.png"},
        {"dir.v2/file", ".gif", "dir.v2/file.gif"},
        {"report.final draft", ".png", "report.final draft.png"},
    };
    for (const auto& row : rows) {
      CAPTURE(row.in);
      CHECK(correctedName(row.in, row.ext) == row.out);
    }
    const PartOutput out = run(png1x1(), "png", {"photo.jpg"});
    CHECK(out.filename == "photo.png");
    CHECK(findingDetail(out, "image.renamed") == ".png");
    CHECK(run(gif(kGifImage), "gif").filename == "image.gif");
  }

  TEST_CASE("image: a passed deadline removes the part") {
    static const core::Limits limits;
    PartInput in;
    const std::string bytes = png1x1();
    in.bytes = bytes;
    in.trueType = "png";
    in.limits = &limits;
    in.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
    const PartOutput out = ImageSanitizer().sanitize(in);
    CHECK(disp(out) == "removed");
    CHECK(out.reason == "limit.wall_time");
  }

  TEST_CASE("image: BMP, TIFF, WebP and SVG attachments are removed with a notice") {
    struct Row {
      const char* name;
      std::string bytes;
      const char* sniffed;  // what core::sniff must call it, so the row tests what it says
    };
    std::string bmp = "BM"s + le16(0) + le16(0) + le16(0) + le16(0) + le16(54) + le16(0) +
                      le16(40) + le16(0) + le16(1) + le16(0) + le16(1) + le16(0) + le16(1) +
                      le16(24) + std::string(24, '\0') + "\xFF\xFF\xFF\0"s;
    const Row rows[] = {
        {"scan.bmp", bmp, "bmp"},
        {"scan.tif",
         "II*\0\x08\0\0\0"s + "\x01\0"s + "\x00\x01\x03\0\x01\0\0\0\x01\0\0\0"s + "\0\0\0\0"s,
         "tiff"},
        {"photo.webp",
         "RIFF\x1A\0\0\0WEBPVP8L\x0D\0\0\0"s + "\x2F\0\0\0\x10\x07\x10\x11\x11\x88\x88\xFE\x07\0"s,
         "webp"},
        {"logo.svg",
         "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>", "svg"},
    };
    for (const auto& row : rows) {
      CAPTURE(row.name);
      gchar* b64 = g_base64_encode(reinterpret_cast<const guchar*>(row.bytes.data()),
                                   row.bytes.size());
      const std::string mail =
          "From: a@example.jp\r\nTo: b@example.jp\r\nSubject: image\r\nMIME-Version: 1.0\r\n"
          "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
          "Content-Type: text/plain; charset=us-ascii\r\n\r\nsee attached\r\n--b\r\n"
          "Content-Type: application/octet-stream; name=\"" + std::string(row.name) +
          "\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; "
          "filename=\"" + std::string(row.name) + "\"\r\n\r\n" + std::string(b64) +
          "\r\n--b--\r\n";
      g_free(b64);
      const core::Outcome o = core::sanitizeMessage(mail, core::Policy::defaults());
      REQUIRE(o.delivered);
      bool found = false;
      for (const auto& p : o.report.parts) {
        if (p.names.empty() || p.names[0] != row.name) continue;
        found = true;
        CHECK(p.trueType == row.sniffed);
        CHECK(p.disposition == core::Disposition::Removed);
        CHECK_FALSE(p.reason.empty());
        CHECK(p.sanitizer != "image");
      }
      CHECK(found);
      CHECK(o.report.noticeAdded);
      // The delivered message carries no attachment of that name and no image part at all.
      CHECK_FALSE(contains(o.message, "filename=\"" + std::string(row.name)));
      CHECK_FALSE(contains(o.message, "Content-Type: image/"));
    }
  }

  TEST_CASE("image: the pipeline rebuilds a mislabelled PNG attachment end to end") {
    const std::string png = png1x1(chunk("tEXt", "Comment\0pipeline-secret"s), "", "TRAILER");
    gchar* b64 = g_base64_encode(reinterpret_cast<const guchar*>(png.data()), png.size());
    const std::string mail =
        "From: a@example.jp\r\nTo: b@example.jp\r\nSubject: photo\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\nsee attached\r\n--b\r\n"
        "Content-Type: image/jpeg; name=\"photo.jpg\"\r\nContent-Transfer-Encoding: base64\r\n"
        "Content-Disposition: attachment; filename=\"photo.jpg\"\r\n\r\n" +
        std::string(b64) + "\r\n--b--\r\n";
    g_free(b64);
    const core::Outcome o = core::sanitizeMessage(mail, core::Policy::defaults());
    REQUIRE(o.delivered);
    bool found = false;
    for (const auto& p : o.report.parts) {
      if (p.trueType != "png") continue;
      found = true;
      CHECK(p.sanitizer == "image");
      CHECK(p.disposition == core::Disposition::Rebuilt);
      CHECK(p.outputType == "image/png");
      CHECK(p.outputName == "photo.png");
    }
    CHECK(found);

    // Re-read the delivered message and walk the attachment it carries.
    GMimeStream* stream = g_mime_stream_mem_new_with_buffer(o.message.data(), o.message.size());
    GMimeParser* parser = g_mime_parser_new_with_stream(stream);
    GMimeMessage* msg = g_mime_parser_construct_message(parser, nullptr);
    g_object_unref(parser);
    g_object_unref(stream);
    REQUIRE(msg != nullptr);
    std::string attachment;
    std::string filename;
    GMimePartIter* it = g_mime_part_iter_new(GMIME_OBJECT(msg));
    do {
      GMimeObject* obj = g_mime_part_iter_get_current(it);
      if (!obj || !GMIME_IS_PART(obj)) continue;
      GMimeContentType* ct = g_mime_object_get_content_type(obj);
      if (!g_mime_content_type_is_type(ct, "image", "png")) continue;
      const char* fn = g_mime_part_get_filename(GMIME_PART(obj));
      filename = fn ? fn : "";
      GMimeDataWrapper* w = g_mime_part_get_content(GMIME_PART(obj));
      GMimeStream* out = g_mime_stream_mem_new();
      g_mime_data_wrapper_write_to_stream(w, out);
      GByteArray* arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
      attachment.assign(reinterpret_cast<const char*>(arr->data), arr->len);
      g_object_unref(out);
    } while (g_mime_part_iter_next(it));
    g_mime_part_iter_free(it);
    g_object_unref(msg);
    CHECK(filename == "photo.png");
    CHECK(pngTypes(attachment) == std::vector<std::string>{"IHDR", "IDAT", "IEND"});
    CHECK_FALSE(contains(attachment, "pipeline-secret"));
    CHECK_FALSE(contains(attachment, "TRAILER"));
  }

}

TEST_SUITE("image third-party") {
  TEST_CASE("image: third-party photos lose EXIF, XMP and text but keep size and pixels") {
    const auto corpus = thirdPartyRoot();
    if (!corpus) return;
    const std::filesystem::path& root = *corpus;
    struct Row {
      const char* path;
      const char* type;
      std::vector<std::string_view> gone;  // byte strings of the input that must not survive
    };
    const Row rows[] = {
        {"tika/images/testJPEG_EXIF.jpg", "jpeg", {"Exif", "Canon", "Photoshop", "xmpmeta"}},
        {"tika/images/testJPEG_GEO.jpg", "jpeg", {"Exif", "Canon", "Photoshop", "xmpmeta"}},
        {"tika/images/testPNG.png", "png", {"tEXt", "tIME"}},
        {"python-email/python.png", "png", {"tEXt"}},
        {"python-email/python.gif", "gif", {}},
    };
    for (const auto& row : rows) {
      const std::string where = row.path;
      CAPTURE(where);
      const auto path = root / row.path;
      if (!std::filesystem::exists(path)) {
        MESSAGE("skipped: " << path.string() << " is absent");
        continue;
      }
      const std::string in = readFile(path);
      const PartOutput out = run(in, row.type, {path.filename().string()});
      REQUIRE(disp(out) == "rebuilt");
      CHECK(out.filename == path.filename().string());
      for (const auto gone : row.gone) {
        CAPTURE(gone);
        CHECK(contains(in, gone));
        CHECK_FALSE(contains(out.bytes, gone));
      }
      if (std::string_view(row.type) == "png") {
        CHECK(pngTypes(out.bytes).back() == "IEND");
        CHECK(pngIdat(out.bytes) == pngIdat(in));
      } else if (std::string_view(row.type) == "jpeg") {
        const auto a = walkJpeg(in);
        const auto b = walkJpeg(out.bytes);
        REQUIRE(a);
        REQUIRE(b);
        CHECK(a->back().scan == b->back().scan);
      } else {
        CHECK(walkGif(out.bytes));
      }
      checkSamePicture(in, out.bytes);
      checkIdempotent(out, row.type);
    }
  }

  // Every PNG, JPEG and GIF anywhere in the corpus, found by its signature (not its name).
  TEST_CASE("image: every third-party image is rebuilt clean or removed with a reason") {
    namespace fs = std::filesystem;
    const auto corpus = thirdPartyRoot();
    if (!corpus) return;
    const fs::path& root = *corpus;
    std::size_t seen = 0, rebuilt = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file() || it->file_size() > (16u << 20)) continue;
      const std::string in = readFile(it->path());
      const char* type = in.substr(0, 8) == kPngSig                ? "png"
                         : in.substr(0, 3) == "\xFF\xD8\xFF"s      ? "jpeg"
                         : (in.substr(0, 6) == "GIF87a" || in.substr(0, 6) == "GIF89a") ? "gif"
                                                                   : nullptr;
      if (!type) continue;
      ++seen;
      const std::string where = fs::relative(it->path(), root).string();
      CAPTURE(where);
      const PartOutput out = run(in, type, {it->path().filename().string()});
      CAPTURE(out.reason);
      if (out.disposition != core::Disposition::Rebuilt) {
        CHECK(disp(out) == "removed");
        CHECK_FALSE(out.reason.empty());
        CHECK(out.bytes.empty());
        continue;
      }
      ++rebuilt;
      CHECK(onlyAllowedStructure(out.bytes));  // also: CRCs, lengths, nothing after the end
      const auto before = dimensions(in);
      CHECK(before.first > 0);
      CHECK(dimensions(out.bytes) == before);
      checkSamePicture(in, out.bytes);
      checkIdempotent(out, type);
    }
    MESSAGE(seen << " third-party images, " << rebuilt << " rebuilt");
    CHECK(seen > 0);
    CHECK(rebuilt > 0);
  }
}

}  // namespace mugai::sanitizers::image
