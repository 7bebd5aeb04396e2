// Every limit Mugai enforces, named in one place.
//
// A limit is a plain value with a default that suits a city-hall mail flow. The config file may
// change any of them (`limit.<name> = N`); nothing else may. Code that enforces a limit reads it
// from here and reports an overrun as a Finding whose kind starts with "limit." so that a report
// always says which limit was hit.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mugai::core {

struct Limits {
  // Message level.
  std::uint64_t maxMessageBytes = 64ull << 20;  ///< larger input is held, never parsed
  std::uint64_t maxHeaderBytes = 1ull << 20;    ///< all header fields of one entity together
  std::uint32_t maxHeaderFields = 2000;         ///< header fields of one entity
  std::uint32_t maxReceivedHeaders = 100;       ///< trace fields copied to the output
  std::uint32_t maxParts = 1000;                ///< MIME entities walked in the input
  std::uint32_t maxDepth = 16;                  ///< nesting of the output tree
  std::uint32_t maxInputDepth = 64;             ///< nesting walked in the input (excess removed)
  std::uint32_t maxNames = 16;                  ///< candidate file names kept per part
  std::uint32_t maxWallMs = 10000;              ///< per-message wall time for the pipeline

  // Bodies.
  std::uint64_t maxTextBytes = 16ull << 20;  ///< decoded text of one part (excess cut, noted)
  std::uint64_t maxHtmlBytes = 16ull << 20;  ///< one HTML part given to the parser
  std::uint32_t maxHtmlDepth = 256;          ///< element nesting walked by HTML→text
  std::uint32_t maxLinkChars = 2048;         ///< a URL longer than this is shown truncated

  // Attachments (archives, Office packages, PDFs, images).
  std::uint32_t maxArchiveDepth = 3;                 ///< archives inside archives
  std::uint32_t maxArchiveEntries = 2000;            ///< entries in one zip (also OOXML)
  std::uint64_t maxArchiveEntryBytes = 64ull << 20;  ///< uncompressed size of one entry
  std::uint64_t maxArchiveTotalBytes = 256ull << 20; ///< uncompressed size of one archive
  std::uint32_t maxCompressionRatio = 200;           ///< uncompressed : compressed, per entry
  std::uint64_t maxXmlBytes = 32ull << 20;           ///< one XML part given to the parser
  std::uint32_t maxXmlDepth = 256;                   ///< element nesting in XML parts
  std::uint32_t maxPdfObjects = 500000;              ///< objects in one PDF
  std::uint64_t maxImagePixels = 100000000;          ///< width × height of one image

  // Output.
  std::uint32_t maxOutputLine = 998;  ///< octets per line, 78..998 (RFC 5322)

  /// Sets the limit called `name` (the field name in snake_case, e.g. "max_parts").
  /// Returns false when no such limit exists or the value is not a positive integer.
  bool set(std::string_view name, std::string_view value);

  /// Names of every limit, in declaration order, with their current values (for --help and
  /// the documentation test).
  std::vector<std::pair<std::string, std::uint64_t>> list() const;
};

}  // namespace mugai::core
