// Serializing a libxml2 tree to UTF-8 bytes, laid out as Office writes its XML parts.
//
// The same markup libxml2's own serializer (xmlDocDumpMemoryEnc with "UTF-8") writes for the
// trees the OOXML rebuilder keeps — element and attribute names with their prefixes, namespace
// declarations in tree order, the same escaping, `<a/>` for an empty element — at a fraction of
// its cost, into one string. Two differences of layout, both Office's: CRLF after the XML
// declaration, and no newline after the root element. A part Office wrote therefore usually
// comes out byte for byte as it went in. One difference of markup: '<', '>', '"' and whitespace
// in a namespace URI are escaped as in an attribute value, where libxml2 writes them as they are
// (ill-formed XML for a '<').
#pragma once

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <string>

namespace mugai::sanitizers::ooxml {

/// The options the OOXML rebuilder parses every part with: no network, no entity substitution
/// (so libxml2 keeps an '&' in a namespace URI as "&#38;", which serializeXml relies on), no
/// error output, short text kept inside its node (fewer allocations, the same tree).
inline constexpr int kXmlParseOptions =
    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_COMPACT;

/// The document as bytes. Throws std::invalid_argument for a node kind an OOXML part never
/// keeps (an entity reference, a DTD, an XInclude marker…): the caller refuses the part rather
/// than writing something it did not check.
std::string serializeXml(const xmlDoc* doc);

}  // namespace mugai::sanitizers::ooxml
