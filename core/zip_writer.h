// A fresh zip archive written in memory, entry by entry: what the rebuilders emit.
//
// Only what a rebuilt archive needs: stored or deflated entries (deflate by libdeflate, one
// compressor reused for every entry), one fixed timestamp so that the output is byte-identical
// run after run, the UTF-8 name flag on non-ASCII names, no extra fields, no comments, no Zip64.
// A name ending in '/' is a folder (add it with empty data). With `unixModes`, entries carry
// Unix permissions (files 0644, folders 0755), so that unzip on Linux restores sane modes;
// otherwise they are written as from MS-DOS, as Office writes its packages.
// An entry can also be added from compressed data the caller has already verified (its method,
// CRC-32 and sizes): it is copied, not recompressed.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

struct libdeflate_compressor;

namespace mugai::core {

class ZipWriter {
 public:
  /// `level`: libdeflate's compression level for deflated entries (1 fastest … 12).
  explicit ZipWriter(int level = 1, bool unixModes = false);
  ~ZipWriter();
  ZipWriter(const ZipWriter&) = delete;
  ZipWriter& operator=(const ZipWriter&) = delete;

  /// Adds `data` under `name`, deflated when `deflate` is true and deflating makes it smaller,
  /// stored otherwise. Throws std::length_error past the classic zip limits (65535 entries,
  /// 4 GiB offsets and sizes), std::invalid_argument for a name already added (compared
  /// ignoring ASCII case, as Windows and OPC readers compare), std::bad_alloc when the
  /// compressor cannot be allocated.
  void add(std::string_view name, std::string_view data, bool deflate);

  /// Adds an entry from data already compressed with `method` (0 stored, 8 deflate), whose
  /// uncompressed content has `crc` and `usize`. The caller has checked that `packed` is exactly
  /// that content's encoding (e.g. inflated it and compared); nothing here re-checks.
  void addCompressed(std::string_view name, std::uint16_t method, std::string_view packed,
                     std::uint32_t crc, std::uint64_t usize);

  /// The archive: local entries, central directory, end record. The writer is empty afterwards.
  std::string finish();

  /// Entries added so far.
  std::size_t size() const { return count_; }

 private:
  void claim(std::string_view name);
  void put(std::string_view name, std::uint16_t method, std::string_view packed, std::uint32_t crc,
           std::uint64_t usize);

  libdeflate_compressor* compressor_ = nullptr;
  int level_;
  bool unixModes_;
  std::string out_;       // local headers and data
  std::string central_;   // central directory records
  std::string scratch_;   // deflate output, reused
  std::set<std::string> names_;  // names added, lower-cased (ASCII)
  std::size_t count_ = 0;
};

}  // namespace mugai::core
