// A minimal, deterministic JSON writer for reports: keys come out in the order they are written,
// strings are escaped (control characters as \u00XX, invalid UTF-8 never emitted because callers
// pass repaired UTF-8), numbers are integers. No parser: Mugai never reads JSON.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mugai::core {

class JsonWriter {
 public:
  JsonWriter& beginObject();
  JsonWriter& endObject();
  JsonWriter& beginArray();
  JsonWriter& endArray();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(std::uint64_t n);
  JsonWriter& value(bool b);
  JsonWriter& null();
  /// The document, pretty-printed with two-space indentation and a final newline.
  std::string str() const { return out_ + "\n"; }

 private:
  void beforeValue();
  JsonWriter& close(char bracket);
  void newline();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool afterKey_ = false;
};

/// `s` as a JSON string literal, quotes included.
std::string jsonQuote(std::string_view s);

}  // namespace mugai::core
