// Policy defaults and the config file parser.
//
// The parser is deliberately small: `key = value` lines, `#` comments, optional double quotes
// around a value. Lists are comma-separated. It validates everything once, at load, and reports
// the first problem with file and line, so a typo never silently loosens the policy.
#include "core/policy.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "core/sniff.h"
#include "core/text_util.h"

namespace mugai::core {
namespace {

using text::lower;
using text::trim;

// A list value's items, lower-cased (type tokens and extensions).
std::vector<std::string> lowerList(std::string_view v) {
  std::vector<std::string> out = text::splitList(v);
  for (auto& item : out) item = lower(item);
  return out;
}

bool parseBool(std::string_view v, bool& out) {
  const std::string l = lower(v);
  if (l == "true" || l == "yes" || l == "on" || l == "1") { out = true; return true; }
  if (l == "false" || l == "no" || l == "off" || l == "0") { out = false; return true; }
  return false;
}

// Every type token sniff() can return; `remove_types` accepts only these, so a typo is an error.
constexpr std::string_view kTypeTokens[] = {
    "empty", "text", "html", "xml", "svg", "rtf", "calendar", "vcard", "eml", "pdf", "png",
    "jpeg", "gif", "bmp", "webp", "tiff", "ico", "zip", "zip-encrypted", "docx", "docm", "dotx",
    "dotm", "xlsx", "xlsm", "xltx", "xltm", "pptx", "pptm", "potx", "potm", "ppsx", "ppsm",
    "ooxml", "odf", "jar", "apk", "cfb", "doc", "xls", "ppt", "msg", "ooxml-encrypted", "pe",
    "elf", "macho", "java-class", "script", "lnk", "iso9660", "udf", "dmg", "vhd", "rar", "7z",
    "gzip", "bzip2", "xz", "zstd", "lzh", "cab", "tar", "tnef", "onenote", "chm", "wasm", "pkcs7",
    "pgp", "unknown"};

bool isTypeToken(std::string_view t) {
  return std::find(std::begin(kTypeTokens), std::end(kTypeTokens), t) != std::end(kTypeTokens);
}

}  // namespace

Policy Policy::defaults() { return Policy{}; }

[[noreturn]] void configFail(std::string_view source, std::size_t line, const std::string& what) {
  std::ostringstream msg;
  msg << source << ":" << line << ": " << what;
  throw ConfigError(msg.str());
}

void forEachConfigLine(std::string_view text, std::string_view source,
                       const std::function<void(const ConfigLine&)>& f) {
  // Windows Notepad saves UTF-8 with a byte order mark; it is not part of the first key.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::size_t lineNo = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++lineNo;
    const auto fail = [&](const std::string& what) { configFail(source, lineNo, what); };
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) fail("expected 'key = value'");
    const std::string key = lower(trim(line.substr(0, eq)));
    std::string_view value = trim(line.substr(eq + 1));
    if (!value.empty() && value.front() == '"') {
      const auto close = value.find('"', 1);
      if (close == std::string_view::npos) fail("unterminated quoted value");
      const auto rest = trim(value.substr(close + 1));
      if (!rest.empty() && rest.front() != '#') fail("unexpected text after quoted value");
      value = value.substr(1, close - 1);
    } else if (const auto hash = value.find('#'); hash != std::string_view::npos) {
      value = trim(value.substr(0, hash));  // a trailing comment
    }
    f(ConfigLine{lineNo, key, value});
  }
}

std::string readConfigFile(const std::string& path) {
  // On Linux an ifstream opens a directory and only the read fails: check first.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw ConfigError(path + ": is a directory, not a config file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot read config file");
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw ConfigError(path + ": error while reading config file");
  return text;
}

Policy Policy::fromConfig(std::string_view text, std::string_view source) {
  Policy p = defaults();
  forEachConfigLine(text, source, [&](const ConfigLine& line) {
    const std::string& key = line.key;
    const std::string_view value = line.value;
    const auto fail = [&](const std::string& what) { configFail(source, line.number, what); };
    // The relay's keys share this file; smtp-relay/relay_config.cc validates them (and rejects
    // a misspelt one), so the pipeline neither needs nor second-guesses them.
    if (key.rfind("relay.", 0) == 0) return;
    if (key.rfind("limit.", 0) == 0) {
      if (!p.limits.set(std::string_view(key).substr(6), value)) {
        fail("bad limit '" + key + "' (unknown name, not a positive integer, or out of range)");
      }
    } else if (key == "subject_tag") {
      p.subjectTag = std::string(value);
    } else if (key == "output_charset") {
      const std::string v = lower(value);
      if (v == "utf-8") p.outputCharset = OutputCharset::Utf8;
      else if (v == "iso-2022-jp") p.outputCharset = OutputCharset::Iso2022Jp;
      else fail("output_charset must be utf-8 or iso-2022-jp");
    } else if (key == "related_images") {
      const std::string v = lower(value);
      if (v == "attach") p.relatedImagesAsAttachments = true;
      else if (v == "remove") p.relatedImagesAsAttachments = false;
      else fail("related_images must be attach or remove");
    } else if (key == "web_links") {
      const std::string v = lower(value);
      if (v == "keep") p.keepWebLinks = true;
      else if (v == "remove") p.keepWebLinks = false;
      else fail("web_links must be keep or remove");
    } else if (key == "notice") {
      if (!parseBool(value, p.notice)) fail("notice must be on or off");
    } else if (key == "remove_types") {
      for (const auto& t : lowerList(value)) {
        if (!isTypeToken(t)) fail("unknown type '" + t + "' in remove_types");
        p.removeTypes.insert(t);
      }
    } else if (key == "blocked_extensions") {
      for (auto e : lowerList(value)) {
        if (!e.empty() && e.front() == '.') e.erase(0, 1);
        if (e.empty() || e.find_first_of("/\\ ") != std::string::npos) {
          fail("bad extension in blocked_extensions");
        }
        p.extraBlockedExtensions.insert(e);
      }
    } else if (key == "contact") {
      if (value.empty()) fail("contact must not be empty");
      p.contact = std::string(value);
    } else {
      fail("unknown key '" + key + "'");
    }
  });
  return p;
}

Policy Policy::fromFile(const std::string& path) {
  return fromConfig(readConfigFile(path), path);
}

bool Policy::isBlockedName(std::string_view name) const {
  if (hasDangerousExtension(name)) return true;
  if (extraBlockedExtensions.empty()) return false;
  // Read the name exactly as the built-in list does; an entry may span dots ("tar.gz").
  for (const auto reading : nameReadings(name)) {
    const std::string n = lower(reading);
    for (const auto& ext : extraBlockedExtensions) {
      if (n.size() > ext.size() && n[n.size() - ext.size() - 1] == '.' &&
          n.compare(n.size() - ext.size(), ext.size(), ext) == 0) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace mugai::core
