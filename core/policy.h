// Policy: what Mugai does with each kind of content, and the config file that adjusts it.
//
// The defaults are the table in DESIGN.md. The config file is UTF-8 text of `key = value` lines
// (`#` starts a comment, also after a value; blank lines ignored; a value may be
// double-quoted, and must be when it contains '#'). Every key is
// documented in deploy/mugai.conf.example; an unknown key or a bad value is an error that names
// the file and line. Nothing in the config can make Mugai pass a part through unsanitized: a
// type can only be sanitized (by its registered sanitizer, if any) or removed.
#pragma once

#include <cstddef>
#include <functional>
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

/// One `key = value` line of config text: the key lower-cased; the value trimmed, unquoted and
/// without a trailing comment (it points into the text).
struct ConfigLine {
  std::size_t number = 0;
  std::string key;
  std::string_view value;
};

/// Calls `f` for every `key = value` line of config text; a byte order mark, blank lines and
/// comments are skipped. Throws ConfigError ("SOURCE:LINE: problem") for a line that is not
/// `key = value` or has a broken quoted value. The one reader of the format, for the policy
/// keys (Policy::fromConfig) and the relay's (relay::loadConfigText).
void forEachConfigLine(std::string_view text, std::string_view source,
                       const std::function<void(const ConfigLine&)>& f);
/// Throws ConfigError("SOURCE:LINE: what").
[[noreturn]] void configFail(std::string_view source, std::size_t line, const std::string& what);
/// A config file's text. Throws ConfigError for a directory or a file that cannot be read.
std::string readConfigFile(const std::string& path);

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
