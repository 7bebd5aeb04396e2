// Fuzz target for the OOXML rebuilder's XML serializer, differential: for any document libxml2
// parses with the rebuilder's options (and without a DTD, which the rebuilder refuses), our
// bytes must equal libxml2's own serialization with Office's layout applied, and parsing our
// bytes again must give a tree that serializes to the same bytes.
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "sanitizers/ooxml/xml_serialize.h"

namespace {

xmlDoc* parse(const char* data, std::size_t size) {
  return xmlReadMemory(data, static_cast<int>(size), nullptr, nullptr,
                       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                           XML_PARSE_COMPACT);
}

// xmlDocDumpMemoryEnc in UTF-8, with CRLF after the declaration and no final newline.
std::string reference(xmlDoc* doc) {
  xmlChar* mem = nullptr;
  int size = 0;
  xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
  if (mem == nullptr) std::abort();
  std::string s(reinterpret_cast<const char*>(mem), static_cast<std::size_t>(size));
  xmlFree(mem);
  if (!s.empty() && s.back() == '\n') s.pop_back();
  const std::size_t decl = s.find("?>\n");
  if (decl == std::string::npos) std::abort();
  return s.substr(0, decl + 2) + "\r" + s.substr(decl + 2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > (1u << 20)) return 0;
  xmlDoc* doc = parse(reinterpret_cast<const char*>(data), size);
  if (doc == nullptr) return 0;
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
    xmlFreeDoc(doc);
    return 0;
  }
  std::string ours;
  try {
    ours = mugai::sanitizers::ooxml::serializeXml(doc);
  } catch (const std::invalid_argument&) {
    xmlFreeDoc(doc);
    return 0;  // refused a node kind: the rebuilder removes the file
  }
  if (ours != reference(doc)) std::abort();
  xmlFreeDoc(doc);
  xmlDoc* again = parse(ours.data(), ours.size());
  if (again == nullptr) std::abort();
  if (mugai::sanitizers::ooxml::serializeXml(again) != ours) std::abort();
  xmlFreeDoc(again);
  return 0;
}
