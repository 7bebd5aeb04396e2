// Small ASCII text helpers shared by the config readers (core/policy.cc,
// smtp-relay/relay_config.cc), the pipeline and the header encoder. ASCII only and independent
// of the locale: a config key, a MIME token or a domain reads the same on every machine.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace mugai::core::text {

/// True when every byte is below 0x80.
inline bool isAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

/// A copy with A-Z lowered; every other byte (UTF-8 included) unchanged.
inline std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  }
  return out;
}

/// Without leading spaces and tabs, and trailing spaces, tabs and CR (a CRLF file's lines).
inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

/// The items of a comma-separated list, trimmed, empty ones dropped, case kept.
inline std::vector<std::string> splitList(std::string_view v) {
  std::vector<std::string> out;
  while (!v.empty()) {
    const auto comma = v.find(',');
    const auto item = trim(v.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace mugai::core::text
