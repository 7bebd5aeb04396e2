// See xml_serialize.h. Escaping as libxml2 2.9's xmlEscapeContent (text) and
// xmlBufAttrSerializeTxtContent (attribute values) do it for UTF-8 output.
#include "sanitizers/ooxml/xml_serialize.h"

#include <stdexcept>
#include <string_view>

namespace mugai::sanitizers::ooxml {
namespace {

std::string_view view(const xmlChar* s) {
  return s == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(s));
}

// `amp`: whether '&' is escaped (always, but in a namespace URI: see namespaceUri).
void escape(std::string& out, std::string_view s, bool attribute, bool amp = true) {
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    std::string_view r;
    switch (s[i]) {
      case '&': if (amp) r = "&amp;"; break;
      case '<': r = "&lt;"; break;
      case '>': r = "&gt;"; break;
      case '\r': r = "&#13;"; break;
      case '"': if (attribute) r = "&quot;"; break;
      case '\n': if (attribute) r = "&#10;"; break;
      case '\t': if (attribute) r = "&#9;"; break;
      default: break;
    }
    if (r.empty()) continue;
    out.append(s.substr(run, i - run));
    out.append(r);
    run = i + 1;
  }
  out.append(s.substr(run));
}

// A namespace URI as libxml2 keeps it: without entity substitution, an '&' in the declaration
// is stored as the character reference "&#38;" itself (unlike attribute values, which the tree
// holds decoded). So '&' is written as it is, and must be the start of that reference; the
// other characters are escaped as in an attribute value.
void namespaceUri(std::string& out, std::string_view href) {
  for (std::size_t i = href.find('&'); i != std::string_view::npos; i = href.find('&', i + 1)) {
    if (href.substr(i, 5) != "&#38;") throw std::invalid_argument("namespace URI");
  }
  escape(out, href, true, false);
}

void qualifiedName(std::string& out, const xmlNs* ns, const xmlChar* name) {
  if (ns != nullptr && ns->prefix != nullptr) {
    out.append(view(ns->prefix));
    out.push_back(':');
  }
  out.append(view(name));
}

void openTag(std::string& out, const xmlNode* n) {
  out.push_back('<');
  qualifiedName(out, n->ns, n->name);
  for (const xmlNs* d = n->nsDef; d != nullptr; d = d->next) {
    out.append(" xmlns");
    if (d->prefix != nullptr) {
      out.push_back(':');
      out.append(view(d->prefix));
    }
    out.append("=\"");
    namespaceUri(out, view(d->href));
    out.push_back('"');
  }
  for (const xmlAttr* a = n->properties; a != nullptr; a = a->next) {
    out.push_back(' ');
    qualifiedName(out, a->ns, a->name);
    out.append("=\"");
    for (const xmlNode* t = a->children; t != nullptr; t = t->next) {
      if (t->type != XML_TEXT_NODE) throw std::invalid_argument("attribute content");
      escape(out, view(t->content), true);
    }
    out.push_back('"');
  }
}

// One top-level node and its subtree, in document order without recursion (the parser bounds
// the depth, but the walk need not rely on it).
void writeTree(std::string& out, const xmlNode* top) {
  const xmlNode* n = top;
  while (n != nullptr) {
    bool descend = false;
    switch (n->type) {
      case XML_ELEMENT_NODE:
        openTag(out, n);
        if (n->children == nullptr) {
          out.append("/>");
        } else {
          out.push_back('>');
          descend = true;
        }
        break;
      case XML_TEXT_NODE:
        escape(out, view(n->content), false);
        break;
      case XML_CDATA_SECTION_NODE: {
        // The parser never produces "]]>" inside a section; a cleaned tree adds none.
        const std::string_view c = view(n->content);
        if (c.find("]]>") != std::string_view::npos) throw std::invalid_argument("CDATA");
        out.append("<![CDATA[").append(c).append("]]>");
        break;
      }
      case XML_COMMENT_NODE:
        out.append("<!--").append(view(n->content)).append("-->");
        break;
      case XML_PI_NODE:
        out.append("<?").append(view(n->name));
        if (n->content != nullptr) out.append(" ").append(view(n->content));
        out.append("?>");
        break;
      default:
        throw std::invalid_argument("node type");
    }
    if (descend) {
      n = n->children;
      continue;
    }
    // Up to the next sibling, closing the elements left on the way.
    while (n != top && n->next == nullptr) {
      n = n->parent;
      out.append("</");
      qualifiedName(out, n->ns, n->name);
      out.push_back('>');
    }
    n = n == top ? nullptr : n->next;
  }
}

}  // namespace

std::string serializeXml(const xmlDoc* doc) {
  std::string out;
  out.append("<?xml version=\"");
  out.append(doc->version != nullptr ? view(doc->version) : std::string_view("1.0"));
  out.append("\" encoding=\"UTF-8\"");
  if (doc->standalone == 1) out.append(" standalone=\"yes\"");
  if (doc->standalone == 0) out.append(" standalone=\"no\"");
  out.append("?>\r\n");
  bool first = true;
  for (const xmlNode* c = doc->children; c != nullptr; c = c->next) {
    if (!first) out.push_back('\n');
    first = false;
    writeTree(out, c);
  }
  return out;
}

}  // namespace mugai::sanitizers::ooxml
