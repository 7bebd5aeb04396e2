// Policy: what Mugai does with each kind of content, and the config file that adjusts it.
//
// The defaults are the table in DESIGN.md. The config file is UTF-8 text of `key = value` lines
// (`#` starts a comment, also after a value; blank lines ignored; a value may be
// double-quoted, and must be when it contains '#'). Every key is
// documented in deploy/mugai.conf.example; an unknown key or a bad value is an error that names
// the file and line. Nothing in the config can make Mugai pass a part through unsanitized: a
// type can only be sanitized (by its registered sanitizer, if any) or removed.
#pragma once

#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/limits.h"

namespace mugai::core {

/// A config file problem, with the location in its message ("mugai.conf:12: unknown key 'x'").
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class OutputCharset { Utf8, Iso2022Jp };

struct Policy {
  Limits limits;

  /// Prepended to the Subject when not empty (e.g. "[無害化] "). Default: Subject unchanged.
  std::string subjectTag;
  /// Charset of text parts written by Mugai. ISO-2022-JP falls back to UTF-8 per part when a
  /// character cannot be represented.
  OutputCharset outputCharset = OutputCharset::Utf8;
  /// Inline images of multipart/related become ordinary attachments (true) or are removed.
  bool relatedImagesAsAttachments = true;
  /// Write the notice at the top of the text body when something changed.
  bool notice = true;
  /// Keep http(s) and mailto links in rebuilt documents (Office hyperlinks, PDF URI actions);
  /// false removes those too (`web_links = remove`). Other schemes are always removed.
  bool keepWebLinks = true;
  /// True-type tokens (core/sniff.h) removed even when a sanitizer exists (`remove_types`).
  std::set<std::string> removeTypes;
  /// Extra extensions (lower case, no dot) treated as dangerous, added to the built-in list.
  std::set<std::string> extraBlockedExtensions;
  /// Text shown in the notice telling staff whom to ask for the original.
  std::string contact = "システム管理者 / your system administrator";

  /// The built-in defaults.
  static Policy defaults();
  /// Defaults overridden by the config text. `source` names the file in error messages.
  /// Lines whose key starts with "relay." are skipped unread: they belong to `mugai relay`,
  /// whose loader (relay::loadConfigText) checks them, so load a file that may carry relay
  /// keys through that loader when a typo in them must be reported. Throws ConfigError.
  static Policy fromConfig(std::string_view text, std::string_view source);
  /// Reads and parses a config file. Throws ConfigError (also for an unreadable file).
  static Policy fromFile(const std::string& path);

  /// True when the policy removes this extension (built-in list or extraBlockedExtensions).
  bool isBlockedName(std::string_view name) const;
};

}  // namespace mugai::core
