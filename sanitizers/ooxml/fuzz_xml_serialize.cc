// Fuzz target for the OOXML rebuilder's XML serializer, differential: for any document libxml2
// parses with the rebuilder's options (and without a DTD, which the rebuilder refuses), our
// bytes must equal libxml2's own serialization with Office's layout applied, and parsing our
// bytes again must give a tree that serializes to the same bytes.
//
// One known, deliberate difference: libxml2 writes a namespace declaration's URI unescaped (a
// '<' or '"' in it makes its output ill-formed or changes its quotes), ours escapes it like an
// attribute value. For such documents only the fixed point is checked.
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "sanitizers/ooxml/xml_reference.h"
#include "sanitizers/ooxml/xml_serialize.h"

namespace {

xmlDoc* parse(const char* data, std::size_t size) {
  return xmlReadMemory(data, static_cast<int>(size), nullptr, nullptr,
                       mugai::sanitizers::ooxml::kXmlParseOptions);
}

std::string reference(xmlDoc* doc) {
  const auto ref = mugai::sanitizers::ooxml::libxml2Reference(doc);
  if (!ref) std::abort();
  return *ref;
}

// Whether a namespace URI in the tree holds a character we escape and libxml2 does not ('&' is
// kept by libxml2 as the reference "&#38;", which both write as it is).
bool escapedHref(const xmlNode* n) {
  for (; n != nullptr; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    for (const xmlNs* d = n->nsDef; d != nullptr; d = d->next) {
      const std::string href = d->href == nullptr ? "" : reinterpret_cast<const char*>(d->href);
      if (href.find_first_of("<>\"\r\n\t") != std::string::npos) return true;
    }
    if (escapedHref(n->children)) return true;
  }
  return false;
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
  if (!escapedHref(doc->children) && ours != reference(doc)) std::abort();
  xmlFreeDoc(doc);
  xmlDoc* again = parse(ours.data(), ours.size());
  if (again == nullptr) std::abort();
  if (mugai::sanitizers::ooxml::serializeXml(again) != ours) std::abort();
  xmlFreeDoc(again);
  return 0;
}
