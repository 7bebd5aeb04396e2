// The attachment sanitizer interface and its registry.
//
// A sanitizer takes one decoded part and returns a new one; it never edits its input and never
// throws on malformed input (it returns Removed with a reason code instead). The pipeline holds
// the only catch-all. Each sanitizer lives in its own folder under sanitizers/ and registers
// itself with MUGAI_REGISTER_SANITIZER; CMake globs the folders, so adding a rebuilder is adding
// a folder. A true type that no sanitizer handles is removed by the pipeline (fail closed).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/findings.h"
#include "core/limits.h"

namespace mugai::core {
struct Policy;
}

namespace mugai::sanitizers {

struct PartOutput;
struct PartInput;

/// Recursion into the pipeline's dispatch, for containers (a zip's members).
using Dispatch = std::function<PartOutput(const PartInput&)>;

struct PartInput {
  std::string_view bytes;         ///< decoded content, transfer encoding removed
  std::string_view declaredType;  ///< lower-case "type/subtype" as declared (a hint only)
  std::string_view charset;       ///< declared charset parameter, may be empty or wrong
  std::string_view trueType;      ///< token from core::sniff
  std::vector<std::string> names; ///< candidate file names; names[0] is the preferred one
  const core::Limits* limits = nullptr;
  const core::Policy* policy = nullptr;
  unsigned depth = 0;             ///< container nesting depth of this part
  std::chrono::steady_clock::time_point deadline;  ///< per-message wall-time limit
  /// Sanitizes a nested file (an archive member) with the same policy as a top-level
  /// attachment. Containers pass it on to each member's PartInput, with depth = depth + 1.
  Dispatch dispatch;
};

struct PartOutput {
  core::Disposition disposition = core::Disposition::Removed;
  std::string reason;       ///< removal reason code (see core/findings.cc) when Removed
  std::string contentType;  ///< output "type/subtype", e.g. "text/csv"
  std::string charset;      ///< output charset parameter for text types ("utf-8"), else empty
  std::string filename;     ///< output file name (may differ from the input: .docm → .docx)
  std::string bytes;        ///< output content, not transfer-encoded
  core::Findings findings;  ///< what was found and done, for the notice and the report
  std::string sanitizer;    ///< filled in by the dispatcher: which sanitizer produced this
};

class Sanitizer {
 public:
  virtual ~Sanitizer() = default;
  /// Short name, e.g. "csv"; appears in the report.
  virtual std::string_view name() const = 0;
  /// True when this sanitizer rebuilds parts of sniffed type `trueType` declared as
  /// `declaredType` (text/csv and text/plain are both sniffed "text", for instance).
  virtual bool handles(std::string_view trueType, std::string_view declaredType) const = 0;
  /// Rebuilds the part. Must not throw on malformed input, must honour in.limits and
  /// in.deadline, and must return Removed with a reason when it cannot prove the result safe.
  virtual PartOutput sanitize(const PartInput& in) const = 0;
};

/// Adds a sanitizer to the process-wide registry (called from static initialisers).
void registerSanitizer(std::unique_ptr<Sanitizer> sanitizer);

/// The first registered sanitizer that handles the type, or nullptr. Registration order is
/// made deterministic by sorting on name() at first lookup.
const Sanitizer* findSanitizer(std::string_view trueType, std::string_view declaredType);

/// Every registered sanitizer, sorted by name.
std::vector<const Sanitizer*> allSanitizers();

}  // namespace mugai::sanitizers

#define MUGAI_REGISTER_SANITIZER(Type)                                            \
  namespace {                                                                     \
  const bool kRegistered##Type = [] {                                             \
    ::mugai::sanitizers::registerSanitizer(std::make_unique<Type>());             \
    return true;                                                                  \
  }();                                                                            \
  }
