// The reference the OOXML serializer is checked against (xml_serialize_test.cc and
// fuzz_xml_serialize.cc; test code only): libxml2's own serialization of a tree
// (xmlDocDumpMemoryEnc, UTF-8) with Office's layout applied, CRLF after the XML declaration and
// no newline after the last node.
#pragma once

#include <libxml/tree.h>

#include <optional>
#include <string>

namespace mugai::sanitizers::ooxml {

/// nullopt when libxml2 writes nothing, or nothing that starts with a declaration line.
inline std::optional<std::string> libxml2Reference(xmlDoc* doc) {
  xmlChar* mem = nullptr;
  int size = 0;
  xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
  if (mem == nullptr) return std::nullopt;
  std::string s(reinterpret_cast<const char*>(mem), static_cast<std::size_t>(size));
  xmlFree(mem);
  if (!s.empty() && s.back() == '\n') s.pop_back();
  const std::size_t decl = s.find("?>\n");
  if (decl == std::string::npos) return std::nullopt;
  return s.substr(0, decl + 2) + "\r" + s.substr(decl + 2);
}

}  // namespace mugai::sanitizers::ooxml
