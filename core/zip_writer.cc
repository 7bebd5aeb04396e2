// See zip_writer.h. Record layouts: PKWARE APPNOTE.TXT 4.3.7 (local file header), 4.3.12
// (central directory header) and 4.3.16 (end of central directory record).
#include "core/zip_writer.h"

#include <libdeflate.h>

#include <limits>
#include <new>
#include <stdexcept>

namespace mugai::core {
namespace {

// 1980-01-01 00:00:00, the earliest DOS date: a constant keeps output byte-identical.
constexpr std::uint16_t kDosTime = 0;
constexpr std::uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;
constexpr std::uint16_t kFlagUtf8 = 1u << 11;
// Version 2.0: what deflate needs; "made by" MS-DOS (host 0), so attributes are not Unix modes.
constexpr std::uint16_t kVersion = 20;

void le16(std::string& s, std::uint32_t v) {
  s.push_back(static_cast<char>(v & 0xFF));
  s.push_back(static_cast<char>((v >> 8) & 0xFF));
}

void le32(std::string& s, std::uint64_t v) {
  le16(s, static_cast<std::uint32_t>(v & 0xFFFF));
  le16(s, static_cast<std::uint32_t>((v >> 16) & 0xFFFF));
}

bool ascii(std::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

}  // namespace

ZipWriter::ZipWriter(int level, bool unixModes) : level_(level), unixModes_(unixModes) {}

ZipWriter::~ZipWriter() {
  if (compressor_ != nullptr) libdeflate_free_compressor(compressor_);
}

void ZipWriter::add(std::string_view name, std::string_view data, bool deflate) {
  claim(name);
  const std::uint32_t crc = libdeflate_crc32(0, data.data(), data.size());
  if (deflate && !data.empty()) {
    if (compressor_ == nullptr) {
      compressor_ = libdeflate_alloc_compressor(level_);
      if (compressor_ == nullptr) throw std::bad_alloc();
    }
    // An output buffer one byte short of the input: libdeflate returns 0 when the result would
    // not be smaller, and the entry is stored instead.
    scratch_.resize(data.size() - 1);
    const std::size_t n = scratch_.empty() ? 0
                                           : libdeflate_deflate_compress(
                                                 compressor_, data.data(), data.size(),
                                                 scratch_.data(), scratch_.size());
    if (n > 0) {
      put(name, 8, std::string_view(scratch_.data(), n), crc, data.size());
      return;
    }
  }
  put(name, 0, data, crc, data.size());
}

void ZipWriter::addCompressed(std::string_view name, std::uint16_t method,
                              std::string_view packed, std::uint32_t crc, std::uint64_t usize) {
  if (method != 0 && method != 8) throw std::invalid_argument("zip method");
  if (method == 0 && packed.size() != usize) throw std::invalid_argument("stored size");
  claim(name);
  put(name, method, packed, crc, usize);
}

// Two entries whose names differ only in ASCII case are one file to Windows and to an OPC
// package reader, which would each pick one of them: refused, as an exact duplicate is.
void ZipWriter::claim(std::string_view name) {
  std::string key(name);
  for (char& c : key) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  if (!names_.insert(std::move(key)).second) {
    throw std::invalid_argument("duplicate zip entry name");
  }
}

void ZipWriter::put(std::string_view name, std::uint16_t method, std::string_view packed,
                    std::uint32_t crc, std::uint64_t usize) {
  constexpr std::uint64_t kMax32 = std::numeric_limits<std::uint32_t>::max();
  const std::uint64_t offset = out_.size();
  // 0xFFFF and 0xFFFFFFFF mean "see the Zip64 record", which this writer never writes.
  if (count_ >= 0xFFFF || name.empty() || name.size() >= 0xFFFF || usize >= kMax32 ||
      packed.size() >= kMax32 || offset + 30 + name.size() + packed.size() >= kMax32 ||
      central_.size() + 46 + name.size() >= kMax32) {
    throw std::length_error("zip entry beyond the classic limits");
  }
  const std::uint16_t flags = ascii(name) ? 0 : kFlagUtf8;
  const std::uint16_t needed = method == 8 ? kVersion : 10;
  out_.reserve(out_.size() + 30 + name.size() + packed.size());
  const auto shared = [&](std::string& s) {
    // From "version needed" to "extra field length": the same in both headers.
    le16(s, needed);
    le16(s, flags);
    le16(s, method);
    le16(s, kDosTime);
    le16(s, kDosDate);
    le32(s, crc);
    le32(s, packed.size());
    le32(s, usize);
    le16(s, static_cast<std::uint32_t>(name.size()));
    le16(s, 0);  // extra field length
  };
  out_ += "PK\x03\x04";
  shared(out_);
  out_ += name;
  out_ += packed;

  central_ += "PK\x01\x02";
  // Made by: the host (0 MS-DOS, 3 Unix) in the high byte, which says how to read the external
  // attributes: Unix mode in their high 16 bits, with the MS-DOS folder bit (0x10) for folders.
  const bool folder = name.back() == '/';
  const std::uint32_t unixMode = folder ? 040755u : 0100644u;
  le16(central_, unixModes_ ? (3u << 8) | kVersion : kVersion);
  shared(central_);
  le16(central_, 0);  // comment length
  le16(central_, 0);  // disk number
  le16(central_, 0);  // internal attributes
  le32(central_, (unixModes_ ? unixMode << 16 : 0) | (folder ? 0x10u : 0u));
  le32(central_, offset);
  central_ += name;
  ++count_;
}

std::string ZipWriter::finish() {
  const std::uint64_t cdOffset = out_.size();
  if (cdOffset + central_.size() + 22 >= std::numeric_limits<std::uint32_t>::max()) {
    throw std::length_error("zip archive beyond 4 GiB");
  }
  std::string z = std::move(out_);
  z.reserve(z.size() + central_.size() + 22);
  z += central_;
  z += "PK\x05\x06";
  le16(z, 0);  // this disk
  le16(z, 0);  // disk with the central directory
  le16(z, static_cast<std::uint32_t>(count_));
  le16(z, static_cast<std::uint32_t>(count_));
  le32(z, central_.size());
  le32(z, cdOffset);
  le16(z, 0);  // comment length
  out_.clear();
  central_.clear();
  names_.clear();
  count_ = 0;
  return z;
}

}  // namespace mugai::core
