// The image sanitizer: picks the walker for the sniffed type, names the output, and holds the
// helpers the three walkers share (bounded reader, dropped-part notes, deadline, CRC-32).
#include "sanitizers/image/image_sanitizer.h"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "sanitizers/image/image_rebuild.h"

namespace mugai::sanitizers::image {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equalsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool isAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// The table is built once at compile time; PNG files are CRC'd twice (check and rewrite), so
// the byte-at-a-time table loop is worth having over the bitwise form.
constexpr std::array<std::uint32_t, 256> makeCrcTable() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
    t[n] = c;
  }
  return t;
}
constexpr std::array<std::uint32_t, 256> kCrcTable = makeCrcTable();

struct TypeInfo {
  std::string_view token;
  std::string_view contentType;
  std::string_view ext;
  Rebuild (*rebuild)(std::string_view, const RebuildContext&);
};

constexpr std::array kTypes = std::to_array<TypeInfo>({
    {"png", "image/png", ".png", &rebuildPng},
    {"jpeg", "image/jpeg", ".jpg", &rebuildJpeg},
    {"gif", "image/gif", ".gif", &rebuildGif},
});

const TypeInfo* typeFor(std::string_view trueType) {
  for (const auto& t : kTypes) {
    if (t.token == trueType) return &t;
  }
  return nullptr;
}

}  // namespace

// ---- Reader ----------------------------------------------------------------------------------

std::uint8_t Reader::u8() {
  if (pos_ >= data_.size()) {
    bad_ = true;
    return 0;
  }
  return static_cast<std::uint8_t>(data_[pos_++]);
}

std::uint16_t Reader::be16() {
  if (left() < 2) {
    bad_ = true;
    pos_ = data_.size();
    return 0;
  }
  const auto hi = static_cast<std::uint8_t>(data_[pos_]);
  const auto lo = static_cast<std::uint8_t>(data_[pos_ + 1]);
  pos_ += 2;
  return static_cast<std::uint16_t>((hi << 8) | lo);
}

std::uint16_t Reader::le16() {
  if (left() < 2) {
    bad_ = true;
    pos_ = data_.size();
    return 0;
  }
  const auto lo = static_cast<std::uint8_t>(data_[pos_]);
  const auto hi = static_cast<std::uint8_t>(data_[pos_ + 1]);
  pos_ += 2;
  return static_cast<std::uint16_t>((hi << 8) | lo);
}

std::uint32_t Reader::be32() {
  if (left() < 4) {
    bad_ = true;
    pos_ = data_.size();
    return 0;
  }
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint8_t>(data_[pos_ + i]);
  pos_ += 4;
  return v;
}

std::string_view Reader::take(std::size_t n) {
  if (left() < n) {
    bad_ = true;
    pos_ = data_.size();
    return {};
  }
  const std::string_view v = data_.substr(pos_, n);
  pos_ += n;
  return v;
}

int Reader::peek(std::size_t k) const {
  if (k >= left()) return -1;
  return static_cast<std::uint8_t>(data_[pos_ + k]);
}

// ---- Notes, deadline, helpers ----------------------------------------------------------------

void Notes::dropped(std::string_view what) {
  for (const auto& d : dropped_) {
    if (d == what) return;
  }
  dropped_.emplace_back(what);
}

void Notes::finish(core::Findings& out) const {
  if (!dropped_.empty()) {
    std::string detail;
    for (const auto& d : dropped_) {
      if (!detail.empty()) detail += ", ";
      detail += d;
    }
    out.push_back({"image.metadata_removed", std::move(detail)});
  }
  if (animationDropped) out.push_back({"image.animation_removed", "APNG"});
  if (trailingBytes > 0) {
    out.push_back({"image.trailing_data_removed", std::to_string(trailingBytes) + " bytes"});
  }
}

bool DeadlineCheck::expired() {
  if (deadline_ == std::chrono::steady_clock::time_point{}) return false;
  if (++count_ % kEvery != 0) return false;
  return std::chrono::steady_clock::now() > deadline_;
}

Rebuild fail(std::string_view reason, std::string why) {
  Rebuild r;
  r.ok = false;
  r.reason = std::string(reason);
  r.why = std::move(why);
  return r;
}

bool pixelsWithin(std::uint64_t width, std::uint64_t height, const core::Limits& limits) {
  // Both factors are below 2^32, so the product cannot overflow 64 bits.
  return width * height <= limits.maxImagePixels;
}

std::uint32_t crc32(std::string_view data, std::uint32_t crc) {
  std::uint32_t c = crc ^ 0xFFFFFFFFu;
  for (const char ch : data) {
    c = kCrcTable[(c ^ static_cast<std::uint8_t>(ch)) & 0xFFu] ^ (c >> 8);
  }
  return c ^ 0xFFFFFFFFu;
}

std::string correctedName(std::string_view name, std::string_view ext) {
  if (name.empty()) return "image" + std::string(ext);
  // Only the last path-free component has an extension; a dot in a directory-like prefix or a
  // leading dot (".png" as a whole name) is not one.
  const std::size_t slash = name.find_last_of("/\\");
  const std::size_t base = slash == std::string_view::npos ? 0 : slash + 1;
  const std::size_t dot = name.rfind('.');
  if (dot != std::string_view::npos && dot > base) {
    const std::string_view current = name.substr(dot);  // with the dot
    const std::string_view bare = current.substr(1);
    if (equalsNoCase(current, ext)) return std::string(name);
    if (ext == ".jpg") {
      for (const std::string_view alt : {".jpeg", ".jpe", ".jfif"}) {
        if (equalsNoCase(current, alt)) return std::string(name);
      }
    }
    bool extLike = !bare.empty() && bare.size() <= 5;
    bool allDigits = true;
    for (const char c : bare) {
      if (!isAsciiAlnum(c)) extLike = false;
      if (c < '0' || c > '9') allDigits = false;
    }
    if (extLike && !allDigits) return std::string(name.substr(0, dot)) + std::string(ext);
  }
  return std::string(name) + std::string(ext);
}

// ---- The sanitizer ---------------------------------------------------------------------------

bool ImageSanitizer::handles(std::string_view trueType, std::string_view /*declaredType*/) const {
  return typeFor(trueType) != nullptr;
}

PartOutput ImageSanitizer::sanitize(const PartInput& in) const {
  PartOutput out;
  out.disposition = core::Disposition::Removed;
  const TypeInfo* type = typeFor(in.trueType);
  if (!type) {
    out.reason = "image.unsupported";
    return out;
  }
  static const core::Limits kDefaultLimits;
  RebuildContext ctx;
  ctx.limits = in.limits ? in.limits : &kDefaultLimits;
  ctx.deadline = in.deadline;
  if (ctx.deadline != std::chrono::steady_clock::time_point{} &&
      std::chrono::steady_clock::now() > ctx.deadline) {
    out.reason = "limit.wall_time";
    return out;
  }
  Rebuild r = type->rebuild(in.bytes, ctx);
  if (!r.ok) {
    out.reason = r.reason;
    out.findings.push_back({r.reason, std::move(r.why)});
    return out;
  }
  out.disposition = core::Disposition::Rebuilt;
  out.contentType = std::string(type->contentType);
  const std::string_view original = in.names.empty() ? std::string_view() : in.names[0];
  out.filename = correctedName(original, type->ext);
  out.bytes = std::move(r.bytes);
  out.findings = std::move(r.findings);
  if (!original.empty() && out.filename != original) {
    out.findings.push_back({"image.renamed", std::string(type->ext)});
  }
  return out;
}

MUGAI_REGISTER_SANITIZER(ImageSanitizer)

}  // namespace mugai::sanitizers::image
