// The per-message report: what came in, what went out, and what happened to every part.
//
// Serialized as JSON (schema in docs/report-schema.md). Deterministic: no wall-clock values
// unless timings were asked for, keys in a fixed order, parts in input order.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/findings.h"

namespace mugai::core {

struct PartRecord {
  std::string path;                ///< position in the input tree: "1", "1.2", "1.2.m.1", "1.1/uu1"
  std::string declaredType;        ///< as declared (lower case); empty for cut-out blocks
  std::string trueType;            ///< sniffed token; "multipart"/"message" for containers
  std::vector<std::string> names;  ///< candidate file names, as found
  std::uint64_t size = 0;          ///< decoded size in bytes (0 for containers)
  Disposition disposition = Disposition::Removed;
  std::string reason;              ///< removal reason code when Removed
  std::string outputType;          ///< type written to the output (empty when removed)
  std::string outputName;          ///< file name written to the output
  std::string sanitizer;           ///< which sanitizer handled it ("text", "html", "csv", …)
  bool inAttachedMessage = false;  ///< inside a message/rfc822 part
  Findings findings;
};

struct Report {
  std::string inputSha256;
  std::uint64_t inputSize = 0;
  bool delivered = false;
  std::string heldReason;          ///< code, when held
  std::string heldDetail;
  std::string outputSha256;        ///< when delivered
  std::uint64_t outputSize = 0;
  std::string originalId;          ///< ID under which the original is kept (from inputSha256)
  bool noticeAdded = false;
  Findings messageFindings;        ///< parser warnings, header findings
  std::vector<PartRecord> parts;
  bool withTimings = false;
  std::vector<std::pair<std::string, std::uint64_t>> timingsUs;  ///< stage → microseconds

  std::string toJson() const;
};

/// "MG-" followed by the first 20 hex digits of the input's SHA-256.
std::string originalIdFor(const std::string& inputSha256);

}  // namespace mugai::core
