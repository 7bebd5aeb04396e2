// The sanitizing pipeline: one message in, a rebuilt message and its report out.
//
//   parse (GMime, warnings recorded) → walk the tree, deciding each part's true type →
//   sanitize each part (text, HTML, registered attachment sanitizers) or remove it →
//   reconstruct a fresh message (whitelisted headers, fresh MIME tree, notice) →
//   self-verify the bytes (re-parse with no warning, 7-bit, line lengths, allowed types).
//
// The pipeline holds the only catch-all: anything unexpected holds the message (it is never
// forwarded unsanitized). Thread-safe: calls share no mutable state.
#pragma once

#include <string>
#include <string_view>

#include "core/policy.h"
#include "core/report.h"
#include "sanitizers/sanitizer.h"

namespace mugai::core {

struct PipelineOptions {
  bool timings = false;  ///< add per-stage timings to the report (makes it non-deterministic)
};

struct Outcome {
  bool delivered = false;  ///< false: held (no output; the report says why)
  std::string message;     ///< the rebuilt message when delivered
  Report report;
};

/// Sanitizes one message. Never throws.
Outcome sanitizeMessage(std::string_view input, const Policy& policy,
                        const PipelineOptions& options = {});

/// Sanitizes one file exactly as an attachment named `name` would be (true type sniffed, names
/// and policy checked, rebuilder run, archive members dispatched the same way), outside any
/// message. For tools and benchmarks. Never throws.
sanitizers::PartOutput sanitizeFile(std::string_view bytes, std::string_view name,
                                    const Policy& policy);

/// Checks a rebuilt message against the reconstruction rules; returns "" when it conforms, else
/// the first problem found. Used by the pipeline on its own output and by the tests.
std::string verifyOutput(std::string_view message, const Limits& limits);

}  // namespace mugai::core
