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

namespace mugai::core {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  return out;
}

std::vector<std::string> splitList(std::string_view v) {
  std::vector<std::string> out;
  while (!v.empty()) {
    const auto comma = v.find(',');
    const auto item = trim(v.substr(0, comma));
    if (!item.empty()) out.push_back(lower(item));
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
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

Policy Policy::fromConfig(std::string_view text, std::string_view source) {
  Policy p = defaults();
  // Windows Notepad saves UTF-8 with a byte order mark; it is not part of the first key.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::size_t lineNo = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++lineNo;
    const auto fail = [&](const std::string& what) {
      std::ostringstream msg;
      msg << source << ":" << lineNo << ": " << what;
      throw ConfigError(msg.str());
    };
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
    // The relay's keys share this file; smtp-relay/relay_config.cc validates them (and rejects
    // a misspelt one), so the pipeline neither needs nor second-guesses them.
    if (key.rfind("relay.", 0) == 0) continue;
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
      for (const auto& t : splitList(value)) {
        if (!isTypeToken(t)) fail("unknown type '" + t + "' in remove_types");
        p.removeTypes.insert(t);
      }
    } else if (key == "blocked_extensions") {
      for (auto e : splitList(value)) {
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
  }
  return p;
}

Policy Policy::fromFile(const std::string& path) {
  // On Linux an ifstream opens a directory and only the read fails: check first.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw ConfigError(path + ": is a directory, not a config file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot read config file");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw ConfigError(path + ": error while reading config file");
  return fromConfig(text, path);
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
