// The three structure walkers behind ImageSanitizer, and the helpers they share.
//
// Each rebuild function reads one whole file and either produces the rebuilt bytes or says why
// the file must be removed. They share a byte reader that never reads past the end, a deadline
// check, and the list of what was dropped. Exposed (rather than hidden in one .cc) so that the
// unit tests and the fuzz target can drive one format directly.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/findings.h"
#include "core/limits.h"

namespace mugai::sanitizers::image {

/// Most GIF frames walked in one file: a GIF's pixel count is per frame, so without a frame
/// bound a small file can ask a viewer for billions of pixels. (Candidate for core/limits.h.)
inline constexpr std::uint32_t kMaxGifFrames = 10000;

/// What a rebuild needs besides the bytes.
struct RebuildContext {
  const core::Limits* limits = nullptr;  ///< never null when passed to a rebuild function
  /// Wall-time limit; a default-constructed value means none.
  std::chrono::steady_clock::time_point deadline{};
};

/// The result of one rebuild. When `ok` is false, `reason` is the removal code and `why` a short
/// English explanation for the report; `bytes` and `findings` are then meaningless.
struct Rebuild {
  bool ok = false;
  std::string reason;
  std::string why;
  std::string bytes;
  core::Findings findings;
  std::uint32_t width = 0;   ///< image (PNG, JPEG) or logical screen (GIF) width
  std::uint32_t height = 0;  ///< likewise
};

/// Rebuilds a PNG (see ImageSanitizer for what is kept). Never throws.
Rebuild rebuildPng(std::string_view in, const RebuildContext& ctx);
/// Rebuilds a JPEG. Never throws.
Rebuild rebuildJpeg(std::string_view in, const RebuildContext& ctx);
/// Rebuilds a GIF. Never throws.
Rebuild rebuildGif(std::string_view in, const RebuildContext& ctx);

/// CRC-32 as used by PNG (ISO 3309, reflected polynomial 0xEDB88320), continuing from `crc`
/// (0 to start).
std::uint32_t crc32(std::string_view data, std::uint32_t crc = 0);

/// `name` with its extension set to `ext` (".png", ".jpg", ".gif"): kept when it already is an
/// extension of that type (any case; .jpeg/.jpe/.jfif count as JPEG), replaced when it looks
/// like an extension (1-5 ASCII letters and digits after the last dot, not all digits),
/// otherwise appended. "image" + ext when `name` is empty.
std::string correctedName(std::string_view name, std::string_view ext);

// ---- Shared walker pieces (used by the three .cc files) --------------------------------------

/// Reads big- or little-endian integers from a view; every read is checked against the end, and
/// a failed read sets `bad` and returns 0 so that callers can test once after a group of reads.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  std::size_t pos() const { return pos_; }
  std::size_t left() const { return data_.size() - pos_; }
  bool bad() const { return bad_; }
  bool atEnd() const { return pos_ >= data_.size(); }
  std::uint8_t u8();
  std::uint16_t be16();
  std::uint16_t le16();
  std::uint32_t be32();
  /// The next `n` bytes (empty and `bad` when fewer remain).
  std::string_view take(std::size_t n);
  /// The byte at pos()+k without consuming, or -1 past the end.
  int peek(std::size_t k = 0) const;
  void seek(std::size_t pos) { pos_ = pos <= data_.size() ? pos : data_.size(); }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
  bool bad_ = false;
};

/// Collects the names of dropped parts (deduplicated, first-seen order) and the other findings.
class Notes {
 public:
  void dropped(std::string_view what);
  /// Adds the findings: "image.metadata_removed" with the dropped names joined by ", " (when
  /// any), then `animation` and trailing-data findings when set.
  void finish(core::Findings& out) const;
  bool animationDropped = false;
  std::size_t trailingBytes = 0;

 private:
  std::vector<std::string> dropped_;
};

/// Checks the deadline every `kEvery` calls (a clock read per chunk would dominate small files).
class DeadlineCheck {
 public:
  explicit DeadlineCheck(const RebuildContext& ctx) : deadline_(ctx.deadline) {}
  /// True when the deadline has passed.
  bool expired();

 private:
  static constexpr unsigned kEvery = 256;
  std::chrono::steady_clock::time_point deadline_;
  unsigned count_ = 0;
};

/// A failed rebuild with `reason` and `why`.
Rebuild fail(std::string_view reason, std::string why);

/// True when width × height is within the limit (both non-zero is checked by the caller).
bool pixelsWithin(std::uint64_t width, std::uint64_t height, const core::Limits& limits);

}  // namespace mugai::sanitizers::image
