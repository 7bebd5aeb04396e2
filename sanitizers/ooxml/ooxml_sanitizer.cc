// OOXML rebuilding: check the zip, walk the relationship graph through an allowlist, clean and
// re-serialize every kept XML part, regenerate [Content_Types].xml and the .rels parts, write a
// fresh deterministic zip.
#include "sanitizers/ooxml/ooxml_sanitizer.h"

#include <libdeflate.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <new>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/policy.h"
#include "core/sniff.h"
#include "core/zip_writer.h"
#include "sanitizers/ooxml/xml_serialize.h"

namespace mugai::sanitizers::ooxml {
namespace {

using Clock = std::chrono::steady_clock;

// Thrown inside the rebuild only; sanitize() turns it into a Removed output. Using an exception
// keeps the many early exits of a package walk readable; nothing escapes the public function.
struct Refusal {
  std::string reason;
  std::string detail;
};

// Findings list at most this many details per code (a package can have thousands of parts).
constexpr std::size_t kMaxDetails = 20;
// A data descriptor (with its optional signature and Zip64 sizes) is the only thing allowed
// between two entries or before the central directory.
constexpr std::uint64_t kMaxGap = 24;

constexpr std::string_view kRelNs =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
constexpr std::string_view kStrictRelNs = "http://purl.oclc.org/ooxml/officeDocument/relationships";
constexpr std::string_view kVmlOfficeNs = "urn:schemas-microsoft-com:office:office";
constexpr std::string_view kPackageRelNs =
    "http://schemas.openxmlformats.org/package/2006/relationships";
constexpr std::string_view kXmlDecl =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n";

constexpr std::string_view kDocxType =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
constexpr std::string_view kXlsxType =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
constexpr std::string_view kPptxType =
    "application/vnd.openxmlformats-officedocument.presentationml.presentation";

// ---- Small string helpers --------------------------------------------------------------------

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowerAscii(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = lower(c);
  return r;
}

bool iStartsWith(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (lower(s[i]) != lower(prefix[i])) return false;
  }
  return true;
}

bool iEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && iStartsWith(a, b);
}

std::string_view trimAscii(std::string_view s) {
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= 0x20) s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= 0x20) s.remove_suffix(1);
  return s;
}

std::string shorten(std::string_view s) {
  constexpr std::size_t kMax = 120;
  if (s.size() <= kMax) return std::string(s);
  std::size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut)) + "…";
}

std::string xmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\t': out += "&#9;"; break;
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      default:
        // Other C0 controls cannot appear in XML 1.0 at all; the parser never gives us any.
        if (static_cast<unsigned char>(c) >= 0x20) out += c;
    }
  }
  return out;
}

std::string percentDecode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::uint16_t rd16(std::string_view b, std::uint64_t off) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(b[off]) |
                                    (static_cast<unsigned char>(b[off + 1]) << 8));
}

std::uint32_t rd32(std::string_view b, std::uint64_t off) {
  return static_cast<std::uint32_t>(rd16(b, off)) |
         (static_cast<std::uint32_t>(rd16(b, off + 2)) << 16);
}

// ---- Zip structure ---------------------------------------------------------------------------

struct Entry {
  std::string name;
  std::uint64_t csize = 0;
  std::uint64_t usize = 0;
  std::uint64_t dataStart = 0;  // offset of the compressed data in the archive
  std::uint32_t crc = 0;
  std::uint16_t method = 0;     // 0 stored, 8 deflated: checkZip admits nothing else
  bool dir = false;
};

// A part name that any reader resolves to the same place: relative, '/'-separated, no empty,
// "." or ".." segment, no backslash, colon or control character.
bool safeName(std::string_view n) {
  if (n.empty() || n.size() > 1024 || n.front() == '/') return false;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= n.size(); ++i) {
    if (i < n.size()) {
      const auto c = static_cast<unsigned char>(n[i]);
      if (c < 0x20 || c == 0x7F || c == '\\' || c == ':') return false;
      if (c != '/') continue;
    }
    const std::string_view seg = n.substr(start, i - start);
    const bool last = i == n.size();
    if ((seg.empty() && !last) || seg == "." || seg == "..") return false;
    start = i + 1;
  }
  return true;
}

// A name the package itself uses (OPC, ECMA-376 Part 2 §9 and §10.1.2): [Content_Types].xml and
// relationship parts (anything in a _rels folder, or ending in .rels).
bool isPackagePart(std::string_view name) {
  const std::string l = lowerAscii(name);
  return l == "[content_types].xml" || l.starts_with("_rels/") ||
         l.find("/_rels/") != std::string::npos || l.ends_with(".rels");
}

bool ratioExceeded(std::uint64_t usize, std::uint64_t csize, std::uint32_t ratio) {
  if (usize <= kRatioExemptBytes || ratio == 0) return false;
  // usize > csize * ratio, without overflow.
  return usize / ratio > csize || (usize / ratio == csize && usize % ratio != 0);
}

// Checks the zip structure with our own bounded parser before a byte is inflated, so that bombs
// are refused on declared sizes. The entries it returns are the only view of the archive the
// rebuild uses: their data is read at `dataStart` and inflated by libdeflate, so no second
// reader can see other names or other content.
std::vector<Entry> checkZip(std::string_view z, const core::Limits& lim) {
  if (z.size() < 22) throw Refusal{"ooxml.invalid", "not a zip"};
  std::uint64_t eocd = UINT64_MAX;
  for (std::uint64_t i = z.size() - 22;; --i) {
    if (z.compare(i, 4, "PK\x05\x06") == 0 && i + 22 + rd16(z, i + 20) == z.size()) {
      eocd = i;
      break;
    }
    if (i == 0 || z.size() - i > 22 + 65535) break;
  }
  if (eocd == UINT64_MAX) throw Refusal{"ooxml.invalid", "no end record"};
  const std::uint16_t disk = rd16(z, eocd + 4), cdDisk = rd16(z, eocd + 6);
  const std::uint16_t nDisk = rd16(z, eocd + 8), n = rd16(z, eocd + 10);
  const std::uint32_t cdSize = rd32(z, eocd + 12), cdOff = rd32(z, eocd + 16);
  if (disk != 0 || cdDisk != 0 || nDisk != n) throw Refusal{"ooxml.invalid", "multi-disk"};
  if (n == 0xFFFF || cdSize == 0xFFFFFFFFu || cdOff == 0xFFFFFFFFu ||
      (eocd >= 20 && z.compare(eocd - 20, 4, "PK\x06\x07") == 0)) {
    throw Refusal{"ooxml.invalid", "zip64"};
  }
  if (n > lim.maxArchiveEntries) throw Refusal{"ooxml.too_many_entries", std::to_string(n)};
  if (std::uint64_t{cdOff} + cdSize != eocd) throw Refusal{"ooxml.invalid", "junk data"};

  struct Span {
    std::uint64_t start, end;
  };
  std::vector<Span> spans;
  std::vector<Entry> entries;
  entries.reserve(n);
  std::set<std::string> folded;
  std::uint64_t total = 0;
  std::uint64_t pos = cdOff;
  for (std::uint32_t i = 0; i < n; ++i) {
    if (pos + 46 > eocd || z.compare(pos, 4, "PK\x01\x02") != 0) {
      throw Refusal{"ooxml.invalid", "central directory"};
    }
    const std::uint16_t flags = rd16(z, pos + 8), method = rd16(z, pos + 10);
    const std::uint32_t crc = rd32(z, pos + 16);
    const std::uint32_t csize = rd32(z, pos + 20), usize = rd32(z, pos + 24);
    const std::uint16_t nl = rd16(z, pos + 28), xl = rd16(z, pos + 30), cl = rd16(z, pos + 32);
    const std::uint32_t lho = rd32(z, pos + 42);
    if (pos + 46 + nl + xl + cl > eocd) throw Refusal{"ooxml.invalid", "central directory"};
    Entry e;
    e.name.assign(z.substr(pos + 46, nl));
    pos += 46ull + nl + xl + cl;
    if ((flags & 0x41) != 0) throw Refusal{"ooxml.invalid", "encrypted entry"};
    if (method != 0 && method != 8) throw Refusal{"ooxml.invalid", "unsupported method"};
    if (csize == 0xFFFFFFFFu || usize == 0xFFFFFFFFu || lho == 0xFFFFFFFFu) {
      throw Refusal{"ooxml.invalid", "zip64"};
    }
    if (!safeName(e.name)) throw Refusal{"ooxml.path_traversal", shorten(e.name)};
    e.dir = e.name.back() == '/';
    if (e.dir && usize != 0) throw Refusal{"ooxml.invalid", shorten(e.name)};
    if (!folded.insert(lowerAscii(e.name)).second) {
      throw Refusal{"ooxml.duplicate_names", shorten(e.name)};
    }
    if (usize > lim.maxArchiveEntryBytes) throw Refusal{"ooxml.bomb", shorten(e.name)};
    total += usize;
    if (total > lim.maxArchiveTotalBytes) throw Refusal{"ooxml.bomb", "total size"};
    if (ratioExceeded(usize, csize, lim.maxCompressionRatio)) {
      throw Refusal{"ooxml.bomb", shorten(e.name)};
    }
    if (method == 0 && csize != usize) throw Refusal{"ooxml.invalid", shorten(e.name)};
    if (std::uint64_t{lho} + 30 > cdOff || z.compare(lho, 4, "PK\x03\x04") != 0) {
      throw Refusal{"ooxml.invalid", "local header"};
    }
    const std::uint16_t lnl = rd16(z, lho + 26), lxl = rd16(z, lho + 28);
    const std::uint64_t dataStart = std::uint64_t{lho} + 30 + lnl + lxl;
    const std::uint64_t dataEnd = dataStart + csize;
    if (dataEnd > cdOff) throw Refusal{"ooxml.bomb", "entry outside the archive"};
    if (z.substr(lho + 30, lnl) != e.name) throw Refusal{"ooxml.invalid", "name mismatch"};
    // The local header must agree with the central one (what libzip's ZIP_CHECKCONS checks):
    // the same method, not encrypted, and the same CRC and sizes unless a data descriptor
    // follows the data (then the local ones may be zero).
    const std::uint16_t lflags = rd16(z, lho + 6), lmethod = rd16(z, lho + 8);
    if (lmethod != method || (lflags & 0x41) != 0) {
      throw Refusal{"ooxml.invalid", "local header"};
    }
    if ((lflags & 0x08) == 0 &&
        (rd32(z, lho + 14) != crc || rd32(z, lho + 18) != csize || rd32(z, lho + 22) != usize)) {
      throw Refusal{"ooxml.invalid", "local header"};
    }
    spans.push_back({lho, dataEnd});
    e.csize = csize;
    e.usize = usize;
    e.dataStart = dataStart;
    e.crc = crc;
    e.method = method;
    entries.push_back(std::move(e));
  }
  if (pos != eocd) throw Refusal{"ooxml.invalid", "central directory"};
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.start < b.start;
  });
  std::uint64_t prevEnd = 0;
  for (std::size_t i = 0; i < spans.size(); ++i) {
    if (i > 0 && spans[i].start < prevEnd) throw Refusal{"ooxml.bomb", "overlapping entries"};
    if (spans[i].start - prevEnd > (i == 0 ? 0 : kMaxGap)) {
      throw Refusal{"ooxml.invalid", "junk data"};
    }
    prevEnd = spans[i].end;
  }
  if (cdOff - prevEnd > (spans.empty() ? 0 : kMaxGap)) {
    throw Refusal{"ooxml.invalid", "junk data"};
  }
  return entries;
}

// ---- libxml2 ---------------------------------------------------------------------------------

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocFree>;

struct CtxtFree {
  void operator()(xmlParserCtxt* c) const { xmlFreeParserCtxt(c); }
};

struct ParseGuard {
  bool dtd = false;
};

void flagDtd(void* ctx) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(ctx);
  if (ctxt == nullptr) return;
  if (auto* guard = static_cast<ParseGuard*>(ctxt->_private)) guard->dtd = true;
  xmlStopParser(ctxt);
}
void onSubset(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*) { flagDtd(ctx); }
void onEntityDecl(void* ctx, const xmlChar*, int, const xmlChar*, const xmlChar*, xmlChar*) {
  flagDtd(ctx);
}

bool hasDoctype(std::string_view bytes) {
  auto scan = [](std::string_view s) {
    return s.find("<!DOCTYPE") != std::string_view::npos ||
           s.find("<!ENTITY") != std::string_view::npos;
  };
  if (scan(bytes)) return true;
  // UTF-16 parts (allowed by OPC) would hide the keyword behind NUL bytes.
  if (bytes.substr(0, 4).find('\0') == std::string_view::npos) return false;
  std::string narrow;
  narrow.reserve(bytes.size() / 2 + 1);
  for (const char c : bytes) {
    if (c != '\0') narrow += c;
  }
  return scan(narrow);
}

std::string attrValue(const xmlAttr* a) {
  std::string r;
  for (const xmlNode* t = a->children; t != nullptr; t = t->next) {
    if ((t->type == XML_TEXT_NODE || t->type == XML_CDATA_SECTION_NODE) && t->content != nullptr) {
      r += reinterpret_cast<const char*>(t->content);
    }
  }
  return r;
}

// The value of the attribute with local name `local`, whatever its namespace.
std::string attr(const xmlNode* n, std::string_view local, bool* found = nullptr) {
  for (const xmlAttr* a = n->properties; a != nullptr; a = a->next) {
    if (a->name != nullptr && local == reinterpret_cast<const char*>(a->name)) {
      if (found != nullptr) *found = true;
      return attrValue(a);
    }
  }
  if (found != nullptr) *found = false;
  return {};
}

std::string_view localName(const xmlNode* n) {
  return n->name == nullptr ? std::string_view{} : reinterpret_cast<const char*>(n->name);
}

std::string_view nsHref(const xmlNs* ns) {
  return (ns == nullptr || ns->href == nullptr) ? std::string_view{}
                                                : reinterpret_cast<const char*>(ns->href);
}

// Concatenated text of an element (bounded by the part size, which is already bounded).
std::string textOf(const xmlNode* n) {
  std::string r;
  xmlChar* c = xmlNodeGetContent(n);
  if (c != nullptr) {
    r = reinterpret_cast<const char*>(c);
    xmlFree(c);
  }
  return r;
}

// Next element in document order below `root`; `descend` false skips n's subtree.
xmlNode* nextElement(xmlNode* n, const xmlNode* root, bool descend) {
  if (descend) {
    for (xmlNode* c = n->children; c != nullptr; c = c->next) {
      if (c->type == XML_ELEMENT_NODE) return c;
    }
  }
  while (n != nullptr && n != root) {
    for (xmlNode* s = n->next; s != nullptr; s = s->next) {
      if (s->type == XML_ELEMENT_NODE) return s;
    }
    n = n->parent;
  }
  return nullptr;
}

// Parses one part safely: no network, no DTD, no entity substitution, bounded size and depth.
DocPtr parseXml(std::string_view bytes, const core::Limits& lim, const std::string& part) {
  if (bytes.size() > lim.maxXmlBytes || bytes.size() > 0x7FFFFFFFu) {
    throw Refusal{"limit.xml_bytes", part};
  }
  if (hasDoctype(bytes)) throw Refusal{"ooxml.dtd", part};
  std::unique_ptr<xmlParserCtxt, CtxtFree> ctxt(xmlNewParserCtxt());
  if (!ctxt || ctxt->sax == nullptr) throw std::bad_alloc();
  ParseGuard guard;
  ctxt->_private = &guard;
  ctxt->sax->internalSubset = onSubset;
  ctxt->sax->externalSubset = onSubset;
  ctxt->sax->entityDecl = onEntityDecl;
  DocPtr doc(xmlCtxtReadMemory(ctxt.get(), bytes.data(), static_cast<int>(bytes.size()),
                               nullptr, nullptr, kXmlParseOptions));
  if (guard.dtd || (doc && (doc->intSubset != nullptr || doc->extSubset != nullptr))) {
    throw Refusal{"ooxml.dtd", part};
  }
  if (!doc || ctxt->wellFormed == 0 || xmlDocGetRootElement(doc.get()) == nullptr) {
    throw Refusal{"ooxml.invalid_xml", part};
  }
  // Element depth, walked without recursion.
  xmlNode* root = xmlDocGetRootElement(doc.get());
  std::uint32_t depth = 1;
  xmlNode* n = root;
  while (n != nullptr) {
    if (depth > lim.maxXmlDepth) throw Refusal{"limit.xml_depth", part};
    xmlNode* child = nullptr;
    for (xmlNode* c = n->children; c != nullptr; c = c->next) {
      if (c->type == XML_ELEMENT_NODE) {
        child = c;
        break;
      }
    }
    if (child != nullptr) {
      n = child;
      ++depth;
      continue;
    }
    while (n != nullptr && n != root) {
      xmlNode* s = n->next;
      while (s != nullptr && s->type != XML_ELEMENT_NODE) s = s->next;
      if (s != nullptr) {
        n = s;
        break;
      }
      n = n->parent;
      --depth;
    }
    if (n == root) break;
  }
  return doc;
}

// ---- Relationship types ----------------------------------------------------------------------

enum class Kind { Xml, Vml, Image, Hyperlink, Drop };

struct RelClass {
  Kind kind;
  std::string_view finding;  // for Drop: the finding code, "" for a quiet drop
};

// Allowed relationship types, by the last segment of the type URI (transitional, Strict and
// Microsoft extension spellings share their last segment).
constexpr auto kXmlSegments = std::to_array<std::string_view>({
    "officeDocument", "styles", "stylesWithEffects", "theme", "themeOverride", "fontTable",
    "settings", "webSettings", "numbering", "footnotes", "endnotes", "comments", "header",
    "footer", "worksheet", "sharedStrings", "chartsheet", "drawing", "chart", "chartUserShapes",
    "chartStyle", "chartColorStyle", "table", "pivotTable", "pivotCacheDefinition",
    "pivotCacheRecords", "slide", "slideLayout", "slideMaster", "notesSlide", "notesMaster",
    "handoutMaster", "presProps", "viewProps", "tableStyles", "tags", "commentAuthors",
    "core-properties", "extended-properties", "extendedProperties", "custom-properties",
    "customProperties", "glossaryDocument", "diagramData", "diagramLayout", "diagramQuickStyle",
    "diagramColors", "diagramDrawing", "calcChain", "commentsExtended", "commentsIds",
    "commentsExtensible", "people", "person", "threadedComment", "slicer", "slicerCache",
    "timeline", "timelineCache", "sheetMetadata", "authors",
});

struct DropRule {
  std::string_view segment;
  std::string_view finding;
};
constexpr auto kDropRules = std::to_array<DropRule>({
    {"vbaProject", "ooxml.vba_removed"},
    {"wordVbaData", "ooxml.vba_removed"},
    {"keyMapCustomizations", "ooxml.vba_removed"},
    {"vbaProjectSignature", "ooxml.vba_removed"},
    {"control", "ooxml.activex_removed"},
    {"activeXControlBinary", "ooxml.activex_removed"},
    {"ctrlProp", "ooxml.activex_removed"},
    {"oleObject", "ooxml.ole_removed"},
    {"package", "ooxml.ole_removed"},
    {"extensibility", "ooxml.customui_removed"},
    {"aFChunk", "ooxml.altchunk_removed"},
    {"externalLink", "ooxml.external_link_removed"},
    {"externalLinkPath", "ooxml.external_link_removed"},
    {"connections", "ooxml.data_connection_removed"},
    {"queryTable", "ooxml.data_connection_removed"},
    {"volatileDependencies", "ooxml.data_connection_removed"},
    {"xmlMaps", "ooxml.data_connection_removed"},
    {"mailMergeSource", "ooxml.data_connection_removed"},
    {"mailMergeHeaderSource", "ooxml.data_connection_removed"},
    {"mailMergeRecipientData", "ooxml.data_connection_removed"},
    {"webextension", "ooxml.webextension_removed"},
    {"webextensiontaskpanes", "ooxml.webextension_removed"},
    {"attachedTemplate", "ooxml.external_reference_removed"},
    {"subDocument", "ooxml.external_reference_removed"},
    {"frame", "ooxml.external_reference_removed"},
    {"xlMacrosheet", "ooxml.xlm_macro_removed"},
    {"xlIntlMacrosheet", "ooxml.xlm_macro_removed"},
    {"dialogsheet", "ooxml.xlm_macro_removed"},
    {"origin", "ooxml.signature_removed"},
    {"signature", "ooxml.signature_removed"},
    {"font", "ooxml.embedded_font_removed"},
    // Dropped without telling the recipient: printer setup blobs, custom XML data stores,
    // shared-workbook revision logs carry nothing the reader sees.
    {"printerSettings", ""},
    {"customXml", ""},
    {"customXmlProps", ""},
    {"revisionHeaders", ""},
    {"revisionLog", ""},
    {"usernames", ""},
});

RelClass classify(std::string_view type) {
  const bool knownBase = iStartsWith(type, "http://schemas.openxmlformats.org/") ||
                         iStartsWith(type, "http://purl.oclc.org/ooxml/") ||
                         iStartsWith(type, "http://schemas.microsoft.com/office/");
  const std::size_t slash = type.rfind('/');
  const std::string_view seg = slash == std::string_view::npos ? type : type.substr(slash + 1);
  for (const DropRule& r : kDropRules) {
    if (iEquals(seg, r.segment)) return {Kind::Drop, r.finding};
  }
  if (!knownBase) return {Kind::Drop, "ooxml.part_removed"};
  if (seg == "image" || seg == "thumbnail") return {Kind::Image, ""};
  if (seg == "vmlDrawing") return {Kind::Vml, ""};
  if (seg == "hyperlink") return {Kind::Hyperlink, ""};
  for (const std::string_view s : kXmlSegments) {
    if (seg == s) return {Kind::Xml, ""};
  }
  return {Kind::Drop, "ooxml.part_removed"};
}

std::string_view segmentOf(std::string_view type) {
  const std::size_t slash = type.rfind('/');
  return slash == std::string_view::npos ? type : type.substr(slash + 1);
}

bool safeHyperlink(std::string_view target) {
  const std::string_view t = trimAscii(target);
  for (const char c : t) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return false;
  }
  return iStartsWith(t, "http://") || iStartsWith(t, "https://") || iStartsWith(t, "mailto:");
}

// ---- Document families -----------------------------------------------------------------------

enum class Family { Word, Excel, Ppt };

struct MainType {
  std::string_view contentType;
  Family family;
};
constexpr auto kMainTypes = std::to_array<MainType>({
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
     Family::Word},
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
     Family::Word},
    {"application/vnd.ms-word.document.macroEnabled.main+xml", Family::Word},
    {"application/vnd.ms-word.template.macroEnabledTemplate.main+xml", Family::Word},
    {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", Family::Excel},
    {"application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
     Family::Excel},
    {"application/vnd.ms-excel.sheet.macroEnabled.main+xml", Family::Excel},
    {"application/vnd.ms-excel.template.macroEnabled.main+xml", Family::Excel},
    {"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
     Family::Ppt},
    {"application/vnd.openxmlformats-officedocument.presentationml.template.main+xml",
     Family::Ppt},
    {"application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml",
     Family::Ppt},
    {"application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml", Family::Ppt},
    {"application/vnd.ms-powerpoint.template.macroEnabled.main+xml", Family::Ppt},
    {"application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml", Family::Ppt},
});

std::string_view plainMainType(Family f) {
  switch (f) {
    case Family::Word:
      return "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml";
    case Family::Excel:
      return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml";
    case Family::Ppt:
      break;
  }
  return "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml";
}

// Content types an XML part may keep: XML, and never one that names active content.
bool acceptableXmlType(std::string_view ct) {
  const std::string l = lowerAscii(ct);
  if (l.find("macroenabled") != std::string::npos || l.find("vba") != std::string::npos ||
      l.find("activex") != std::string::npos || l.find("oleobject") != std::string::npos ||
      l.find("macrosheet") != std::string::npos || l.find("dialogsheet") != std::string::npos) {
    return false;
  }
  return (l.size() > 4 && l.compare(l.size() - 4, 4, "+xml") == 0) || l == "application/xml" ||
         l == "text/xml";
}

// ---- Field instructions (WordprocessingML) ---------------------------------------------------

// Which finding a field instruction deserves, or "" when it is harmless. Word reads the first
// token as the field type, case-insensitively.
std::string_view fieldDanger(std::string_view instr) {
  const std::string u = lowerAscii(trimAscii(instr));
  std::size_t end = 0;
  while (end < u.size() && static_cast<unsigned char>(u[end]) > 0x20 && u[end] != '"' &&
         u[end] != '\\') {
    ++end;
  }
  const std::string_view word = std::string_view(u).substr(0, end);
  if (word.find("dde") != std::string_view::npos) return "ooxml.dde_removed";
  if (word.find("include") != std::string_view::npos || word == "import" || word == "link") {
    return "ooxml.external_field_removed";
  }
  return {};
}

// A DDE formula (`cmd|'/c calc'!A0`): a '|' before a '!'.
bool ddeFormula(std::string_view f) {
  const std::size_t bar = f.find('|');
  return bar != std::string_view::npos && f.find('!', bar) != std::string_view::npos;
}

bool autoMacroName(std::string_view name) {
  std::string_view n = trimAscii(name);
  if (iStartsWith(n, "_xlnm.")) n.remove_prefix(6);
  return iStartsWith(n, "auto_open") || iStartsWith(n, "auto_close") ||
         iStartsWith(n, "auto_activate") || iStartsWith(n, "auto_deactivate");
}

// Elements that make no sense once the relationship their r:id names is gone.
constexpr auto kRemoveOnDangling = std::to_array<std::string_view>({
    "sheet", "pivotCache", "externalReference", "legacyDrawing", "legacyDrawingHF", "drawing",
    "picture", "altChunk", "attachedTemplate", "control", "oleObject", "OLEObject", "subDoc",
    "headerReference", "footerReference", "embedRegular", "embedBold", "embedItalic",
    "embedBoldItalic", "sldId", "sldMasterId", "notesMasterId", "handoutMasterId", "sldLayoutId",
    "sld", "svgBlip", "tablePart", "externalData", "userShapes", "webextensionref",
});

bool contains(std::span<const std::string_view> list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// ---- OLE previews ----------------------------------------------------------------------------
// An embedded OLE object is removed, but the picture Office shows for it (its preview) is kept as
// an ordinary picture in the same place, built new from the DrawingML vocabulary.

constexpr std::string_view kImageRelType =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image";
constexpr std::string_view kDrawingRelType =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/drawing";
constexpr std::string_view kDrawingType = "application/vnd.openxmlformats-officedocument.drawing+xml";
constexpr std::string_view kDrawingMlNs = "http://schemas.openxmlformats.org/drawingml/2006/main";
constexpr std::string_view kPresentationNs =
    "http://schemas.openxmlformats.org/presentationml/2006/main";
constexpr std::string_view kSheetDrawingNs =
    "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing";

// The names a built picture uses: those of its part's own vocabulary. Strict OOXML (ISO 29500-1
// Strict) spells every namespace and relationship type under purl.oclc.org/ooxml; a Transitional
// element in a Strict part is foreign to it.
struct Vocabulary {
  std::string_view presentation, drawingMl, sheetDrawing, rel, imageRel, drawingRel;
};
constexpr Vocabulary kTransitional{kPresentationNs, kDrawingMlNs,  kSheetDrawingNs,
                                   kRelNs,          kImageRelType, kDrawingRelType};
constexpr Vocabulary kStrict{"http://purl.oclc.org/ooxml/presentationml/main",
                             "http://purl.oclc.org/ooxml/drawingml/main",
                             "http://purl.oclc.org/ooxml/drawingml/spreadsheetDrawing",
                             kStrictRelNs,
                             "http://purl.oclc.org/ooxml/officeDocument/relationships/image",
                             "http://purl.oclc.org/ooxml/officeDocument/relationships/drawing"};

const Vocabulary& vocabularyOf(const xmlDoc* doc) {
  const xmlNode* root = doc == nullptr ? nullptr : xmlDocGetRootElement(doc);
  const bool strict =
      root != nullptr && nsHref(root->ns).starts_with("http://purl.oclc.org/ooxml/");
  return strict ? kStrict : kTransitional;
}
// A VML anchor is in pixels at 96 dpi; DrawingML offsets are in EMU.
constexpr std::int64_t kEmuPerPixel = 9525;

xmlNode* ancestorOrSelf(xmlNode* n, std::string_view name) {
  for (xmlNode* a = n; a != nullptr && a->type == XML_ELEMENT_NODE; a = a->parent) {
    if (localName(a) == name) return a;
  }
  return nullptr;
}

xmlNode* childNamed(xmlNode* n, std::string_view name) {
  for (xmlNode* c = n == nullptr ? nullptr : n->children; c != nullptr; c = c->next) {
    if (c->type == XML_ELEMENT_NODE && localName(c) == name) return c;
  }
  return nullptr;
}

// A coordinate as DrawingML writes it: an optional minus and at most 12 digits (≈ 1e12 EMU,
// far beyond any page); anything else is not copied.
bool plainInteger(std::string_view s, bool allowNegative) {
  if (allowNegative && !s.empty() && s.front() == '-') s.remove_prefix(1);
  if (s.empty() || s.size() > 12) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The namespace `href` in scope at `scope`, or a new declaration of it on `holder`.
xmlNs* namespaceFor(xmlNode* scope, xmlNode* holder, std::string_view href, const char* prefix) {
  const std::string h(href);
  xmlNs* ns = xmlSearchNsByHref(scope->doc, scope, reinterpret_cast<const xmlChar*>(h.c_str()));
  // A new declaration takes `prefix`, or prefix1 … prefix9 when that one is already in scope at
  // the holder for another namespace (shadowing it could change what existing names mean).
  for (int k = 0; ns == nullptr && k < 10; ++k) {
    const std::string p = k == 0 ? std::string(prefix) : prefix + std::to_string(k);
    const auto* px = reinterpret_cast<const xmlChar*>(p.c_str());
    if (xmlSearchNs(holder->doc, holder, px) != nullptr) continue;
    ns = xmlNewNs(holder, reinterpret_cast<const xmlChar*>(h.c_str()), px);
    if (ns == nullptr) throw std::bad_alloc();
  }
  if (ns == nullptr) throw Refusal{"ooxml.invalid", "namespace prefixes"};
  return ns;
}

// After `moved` left an element that is about to be freed: its names (and its subtree's) may
// still point at namespace declarations of that element. Each is re-pointed at a declaration in
// scope at the new place, or declared again on `moved` (libxml2's xmlReconciliateNs), so that
// nothing refers to freed declarations and every prefix stays declared.
void keepNamespaces(xmlDoc* doc, xmlNode* moved) {
  if (moved->type != XML_ELEMENT_NODE) return;
  if (xmlReconciliateNs(doc, moved) < 0) throw std::bad_alloc();
}

xmlNode* addChild(xmlNode* parent, xmlNs* ns, const char* name) {
  xmlNode* c = xmlNewChild(parent, ns, reinterpret_cast<const xmlChar*>(name), nullptr);
  if (c == nullptr) throw std::bad_alloc();
  return c;
}

void setAttr(xmlNode* n, const char* name, const std::string& value, xmlNs* ns = nullptr) {
  if (xmlNewNsProp(n, ns, reinterpret_cast<const xmlChar*>(name),
                   reinterpret_cast<const xmlChar*>(value.c_str())) == nullptr) {
    throw std::bad_alloc();
  }
}

// The picture body shared by PresentationML (p:pic) and SpreadsheetML drawings (xdr:pic): the
// same children in the same order, in the caller's namespace `pns`.
void fillPicture(xmlNode* pic, xmlNs* pns, xmlNs* a, xmlNs* r, const std::string& id,
                 const std::string& name, const std::string& relId,
                 const std::array<std::string, 4>& box, bool presentation) {
  xmlNode* nv = addChild(pic, pns, "nvPicPr");
  xmlNode* cnv = addChild(nv, pns, "cNvPr");
  setAttr(cnv, "id", id);
  setAttr(cnv, "name", name);
  setAttr(addChild(addChild(nv, pns, "cNvPicPr"), a, "picLocks"), "noChangeAspect", "1");
  if (presentation) addChild(nv, pns, "nvPr");  // xdr:nvPicPr has no nvPr
  xmlNode* fill = addChild(pic, pns, "blipFill");
  setAttr(addChild(fill, a, "blip"), "embed", relId, r);
  addChild(addChild(fill, a, "stretch"), a, "fillRect");
  xmlNode* sp = addChild(pic, pns, "spPr");
  if (presentation) {  // in a sheet drawing the anchor places the picture (a:xfrm is optional)
    xmlNode* xfrm = addChild(sp, a, "xfrm");
    xmlNode* off = addChild(xfrm, a, "off");
    setAttr(off, "x", box[0]);
    setAttr(off, "y", box[1]);
    xmlNode* ext = addChild(xfrm, a, "ext");
    setAttr(ext, "cx", box[2]);
    setAttr(ext, "cy", box[3]);
  }
  xmlNode* geom = addChild(sp, a, "prstGeom");
  setAttr(geom, "prst", "rect");
  addChild(geom, a, "avLst");
}

// A twoCellAnchor's markers (col, colOff, row, rowOff for `from`, then for `to`) from an
// objectPr/anchor element.
bool anchorMarkers(xmlNode* anchor, std::array<std::string, 8>& out) {
  std::size_t k = 0;
  for (const char* corner : {"from", "to"}) {
    xmlNode* m = childNamed(anchor, corner);
    for (const char* field : {"col", "colOff", "row", "rowOff"}) {
      xmlNode* v = childNamed(m, field);
      if (v == nullptr) return false;
      out[k] = std::string(trimAscii(textOf(v)));
      if (!plainInteger(out[k], k % 2 == 1)) return false;
      ++k;
    }
  }
  return true;
}

// The same from a VML x:Anchor ("col, px, row, px, col, px, row, px").
bool vmlAnchorMarkers(std::string_view text, std::array<std::string, 8>& out) {
  std::size_t k = 0;
  while (k < out.size()) {
    const std::size_t comma = text.find(',');
    const std::string_view field = trimAscii(text.substr(0, comma));
    if (!plainInteger(field, false)) return false;
    out[k] = k % 2 == 1 ? std::to_string(std::stoll(std::string(field)) * kEmuPerPixel)
                        : std::string(field);
    ++k;
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return k == out.size() && text.find(',') == std::string_view::npos;
}

// ---- The rebuild -----------------------------------------------------------------------------

struct Rel {
  std::string id, type, target;
  bool external = false;
};

struct Part {
  std::string name;
  Kind kind = Kind::Xml;
  std::string segment;      // relationship type that first reached the part
  std::string contentType;  // output content type
  DocPtr doc;
  std::string bytes;        // XML: the re-serialized bytes
  std::string original;     // XML: the input bytes, until the part is serialized
  // Images, and XML parts whose re-serialized bytes equal their input exactly: the input entry
  // whose compressed data (verified by read()) is copied instead of compressing `bytes` anew.
  std::int64_t raw = -1;
  std::vector<Rel> rels;    // kept relationships, in input order
  std::set<std::string> relIds;
  std::set<std::string> usedIds;                  // every Id of the input .rels, kept or not
  std::map<std::string, std::string> vmlPreview;  // VML shape id → image relationship Id here
  std::map<std::string, std::string> vmlAnchor;   // VML shape id → its x:Anchor text
};

class Rebuilder {
 public:
  explicit Rebuilder(const PartInput& in) : in_(in), lim_(*in.limits) {}
  ~Rebuilder() {
    if (inflater_ != nullptr) libdeflate_free_decompressor(inflater_);
  }
  Rebuilder(const Rebuilder&) = delete;
  Rebuilder& operator=(const Rebuilder&) = delete;

  PartOutput run();

 private:
  void checkDeadline() const {
    if (in_.deadline != Clock::time_point{} && Clock::now() > in_.deadline) {
      throw Refusal{"limit.wall_time", ""};
    }
  }
  void note(std::string_view code, std::string_view detail);
  bool keepWebLinks() const { return in_.policy == nullptr || in_.policy->keepWebLinks; }
  void open();
  const std::string& read(std::size_t index);
  void keepIfUnchanged(Part& p);
  const std::size_t* lookup(std::string_view name) const;
  void loadContentTypes();
  std::string contentTypeOf(const std::string& name) const;
  std::vector<Rel> loadRels(const std::string& relsName);
  std::string resolve(const std::string& source, std::string_view target) const;
  bool processRel(Part* source, Rel& r);
  bool admitImage(Part& p);
  bool admitVml(Part& p);
  std::string freshId(Part& p);
  void harvestVml(Part& source, const std::string& vmlName);
  void keepPptPreviews(Part& p);
  void keepSheetPreviews(Part& p);
  void clean(Part& p);
  void finishWorkbook(xmlNode* root, const std::vector<bool>& sheetRemoved,
                      std::set<xmlNode*>& removeSet, std::vector<xmlNode*>& removeNodes);
  void noteOrphans();
  std::string buildContentTypes() const;
  static std::string buildRels(const std::vector<Rel>& rels);
  std::string writeZip(const std::vector<std::pair<std::string, std::string>>& files,
                       const std::map<std::string, std::uint64_t>& raw) const;

  const PartInput& in_;
  const core::Limits& lim_;
  std::vector<Entry> entries_;
  std::map<std::string, std::size_t> index_;  // lower-case name → entry index
  libdeflate_decompressor* inflater_ = nullptr;
  std::map<std::string, std::string> defaults_;   // extension → content type
  std::map<std::string, std::string> overrides_;  // lower-case part name → content type
  std::map<std::string, Part> parts_;             // lower-case part name → part
  std::deque<std::string> queue_;
  std::vector<Rel> extraRels_;
  std::string readBuf_;  // scratch buffer, reused from entry to entry
  std::vector<Rel> rootRels_;
  std::string mainName_;
  std::string mainInType_;
  Family family_ = Family::Word;
  std::vector<std::pair<std::string, std::vector<std::string>>> notes_;
};

void Rebuilder::note(std::string_view code, std::string_view detail) {
  if (code.empty()) return;
  for (auto& [c, details] : notes_) {
    if (c != code) continue;
    if (details.size() <= kMaxDetails &&
        std::find(details.begin(), details.end(), detail) == details.end()) {
      details.emplace_back(detail);
    }
    return;
  }
  notes_.push_back({std::string(code), {std::string(detail)}});
}

void Rebuilder::open() {
  entries_ = checkZip(in_.bytes, lim_);
  for (std::size_t i = 0; i < entries_.size(); ++i) index_[lowerAscii(entries_[i].name)] = i;
}

const std::size_t* Rebuilder::lookup(std::string_view name) const {
  const auto it = index_.find(lowerAscii(name));
  if (it == index_.end() || entries_[it->second].dir) return nullptr;
  return &it->second;
}

// The entry's content, in a buffer reused by the next read (so large parts do not cost fresh
// pages each time): callers parse or copy it at once. A deflated entry is inflated by libdeflate
// into exactly its declared size: the stream must end exactly at the compressed size (nothing
// hidden after it), fill the declared size and no more (the limits were checked against it)
// and match the CRC-32. So the entry's compressed data is a verified encoding of what is
// returned here, and may be copied as it is.
const std::string& Rebuilder::read(std::size_t index) {
  checkDeadline();
  const Entry& e = entries_[index];
  const std::string_view packed = in_.bytes.substr(e.dataStart, e.csize);
  std::string& out = readBuf_;
  if (e.method == 0) {
    out.assign(packed);
  } else {
    if (inflater_ == nullptr) {
      inflater_ = libdeflate_alloc_decompressor();
      if (inflater_ == nullptr) throw std::bad_alloc();
    }
    out.resize(e.usize);
    std::size_t usedIn = 0, produced = 0;
    const libdeflate_result rc = libdeflate_deflate_decompress_ex(
        inflater_, packed.data(), packed.size(), out.data(), out.size(), &usedIn, &produced);
    // More output than declared (the zip-bomb lie, or a truncated stream: libdeflate cannot
    // tell them apart) is refused like any other disagreement, before a byte beyond the
    // declared size is written.
    if (rc != LIBDEFLATE_SUCCESS || usedIn != packed.size() || produced != e.usize) {
      throw Refusal{"ooxml.invalid", "corrupt entry " + shorten(e.name)};
    }
  }
  if (libdeflate_crc32(0, out.data(), out.size()) != e.crc) {
    throw Refusal{"ooxml.invalid", "corrupt entry " + shorten(e.name)};
  }
  return out;
}

// An XML part whose reconstruction is byte for byte its input (the common case for a document
// Office wrote: same declaration, same serialization) travels as its input's verified compressed
// data rather than being deflated again. The bytes are compared in full with what read()
// returned for it (inflated, sizes and CRC-32 checked), not by CRC.
void Rebuilder::keepIfUnchanged(Part& p) {
  std::string original;
  original.swap(p.original);
  const std::size_t* idx = lookup(p.name);
  if (idx == nullptr || original != p.bytes) return;
  p.raw = static_cast<std::int64_t>(*idx);
  std::string().swap(p.bytes);
}

void Rebuilder::loadContentTypes() {
  const std::size_t* idx = lookup("[Content_Types].xml");
  if (idx == nullptr) throw Refusal{"ooxml.invalid", "no [Content_Types].xml"};
  const std::string name = "[Content_Types].xml";
  DocPtr doc = parseXml(read(*idx), lim_, name);
  xmlNode* root = xmlDocGetRootElement(doc.get());
  for (xmlNode* n = root->children; n != nullptr; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    const std::string ct = std::string(trimAscii(attr(n, "ContentType")));
    if (localName(n) == "Default") {
      defaults_.emplace(lowerAscii(attr(n, "Extension")), ct);
    } else if (localName(n) == "Override") {
      std::string pn = attr(n, "PartName");
      if (!pn.empty() && pn.front() == '/') pn.erase(0, 1);
      overrides_.emplace(lowerAscii(pn), ct);
      overrides_.emplace(lowerAscii(percentDecode(pn)), ct);
    }
  }
}

std::string Rebuilder::contentTypeOf(const std::string& name) const {
  const auto o = overrides_.find(lowerAscii(name));
  if (o != overrides_.end()) return o->second;
  const std::size_t dot = name.rfind('.');
  const std::size_t slash = name.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return {};
  const auto d = defaults_.find(lowerAscii(name.substr(dot + 1)));
  return d == defaults_.end() ? std::string{} : d->second;
}

std::vector<Rel> Rebuilder::loadRels(const std::string& relsName) {
  std::vector<Rel> rels;
  const std::size_t* idx = lookup(relsName);
  if (idx == nullptr) return rels;
  DocPtr doc = parseXml(read(*idx), lim_, relsName);
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (localName(root) != "Relationships" || nsHref(root->ns) != kPackageRelNs) {
    throw Refusal{"ooxml.invalid_xml", relsName};
  }
  std::set<std::string> ids;
  for (xmlNode* n = root->children; n != nullptr; n = n->next) {
    if (n->type != XML_ELEMENT_NODE || localName(n) != "Relationship") continue;
    Rel r;
    r.id = attr(n, "Id");
    r.type = std::string(trimAscii(attr(n, "Type")));
    r.target = attr(n, "Target");
    r.external = iEquals(trimAscii(attr(n, "TargetMode")), "External");
    if (r.id.empty() || !ids.insert(r.id).second) continue;  // Office keeps the first too
    rels.push_back(std::move(r));
  }
  return rels;
}

std::string relsNameFor(const std::string& part) {
  const std::size_t slash = part.rfind('/');
  if (slash == std::string::npos) return "_rels/" + part + ".rels";
  return part.substr(0, slash) + "/_rels/" + part.substr(slash + 1) + ".rels";
}

// The stored entry name a relationship target designates, or "" when it leaves the package or
// names no entry.
std::string Rebuilder::resolve(const std::string& source, std::string_view target) const {
  std::string t(target.substr(0, target.find('#')));
  if (t.empty()) return {};
  std::string path;
  if (t.front() == '/') {
    path = t.substr(1);
  } else {
    const std::size_t slash = source.rfind('/');
    path = (slash == std::string::npos ? std::string{} : source.substr(0, slash + 1)) + t;
  }
  std::vector<std::string_view> segs;
  std::string_view p = path;
  while (!p.empty()) {
    const std::size_t s = p.find('/');
    const std::string_view seg = p.substr(0, s);
    p = s == std::string_view::npos ? std::string_view{} : p.substr(s + 1);
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (segs.empty()) return {};
      segs.pop_back();
      continue;
    }
    segs.push_back(seg);
  }
  std::string joined;
  for (const std::string_view seg : segs) {
    if (!joined.empty()) joined += '/';
    joined += seg;
  }
  for (const std::string& candidate : {joined, percentDecode(joined)}) {
    if (const std::size_t* idx = lookup(candidate)) return entries_[*idx].name;
  }
  return {};
}

bool Rebuilder::admitImage(Part& p) {
  const std::size_t* idx = lookup(p.name);
  if (idx == nullptr) return false;
  // Inflated and checked completely (see read()), sniffed, then copied compressed.
  const std::string& bytes = read(*idx);
  const std::string token = core::sniff(bytes, lim_);
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
  if (token == "png" || token == "jpeg" || token == "gif") {
    p.contentType = "image/" + token;
  } else if (token == "bmp" || token == "tiff") {
    p.contentType = "image/" + token;
  } else if (token == "unknown" && bytes.size() >= 44 && b(0) == 1 && b(1) == 0 && b(2) == 0 &&
             b(3) == 0 && bytes.compare(40, 4, " EMF") == 0) {
    // Windows metafiles are everywhere in Office documents (pasted charts, equation previews);
    // they are kept when their header says so, like Office itself would read them.
    p.contentType = "image/x-emf";
  } else if (token == "unknown" && bytes.size() >= 18 &&
             ((b(0) == 0xD7 && b(1) == 0xCD && b(2) == 0xC6 && b(3) == 0x9A) ||
              ((b(0) == 1 || b(0) == 2) && b(1) == 0 && b(2) == 9 && b(3) == 0))) {
    p.contentType = "image/x-wmf";
  } else {
    return false;
  }
  p.raw = static_cast<std::int64_t>(*idx);
  return true;
}

// Legacy VML drawings are kept only for worksheet comments: anything else (form buttons with
// macros, OLE anchors, ActiveX) is refused.
bool Rebuilder::admitVml(Part& p) {
  const std::size_t* idx = lookup(p.name);
  if (idx == nullptr) return false;
  try {
    p.original = read(*idx);
    p.doc = parseXml(p.original, lim_, p.name);
  } catch (const Refusal& r) {
    if (r.reason == "ooxml.dtd") throw;
    return false;  // VML is often not XML; the comments lose their boxes, not their text
  }
  xmlNode* root = xmlDocGetRootElement(p.doc.get());
  for (xmlNode* n = root; n != nullptr; n = nextElement(n, root, true)) {
    const std::string_view name = localName(n);
    if (name == "OLEObject") return false;
    if (name == "ClientData" && attr(n, "ObjectType") != "Note") return false;
  }
  return true;
}

bool Rebuilder::processRel(Part* source, Rel& r) {
  const std::string sourceName = source == nullptr ? std::string{} : source->name;
  const RelClass c = classify(r.type);
  const std::string_view seg = segmentOf(r.type);
  if (r.external) {
    if (c.kind == Kind::Hyperlink && safeHyperlink(r.target) && keepWebLinks()) return true;
    const bool specific = c.kind == Kind::Drop && !c.finding.empty() &&
                          c.finding != "ooxml.part_removed";
    note(specific ? c.finding : "ooxml.external_reference_removed",
         std::string(seg) + ": " + shorten(r.target));
    return false;
  }
  if (c.kind == Kind::Hyperlink && safeHyperlink(r.target)) {
    if (!keepWebLinks()) {
      note("ooxml.external_reference_removed", std::string(seg) + ": " + shorten(r.target));
      return false;
    }
    r.external = true;  // some generators omit TargetMode on web links
    return true;
  }
  const std::string target = resolve(sourceName, r.target);
  if (c.kind == Kind::Drop) {
    note(c.finding, target.empty() ? shorten(r.target) : target);
    return false;
  }
  if (c.kind == Kind::Hyperlink || target.empty()) return false;  // internal link or dangling
  // Relationship parts and [Content_Types].xml belong to the package itself (OPC): never the
  // target of a relationship. The rebuild writes its own; one reached as a part would be
  // written beside them under the same name, the input's version and all.
  if (isPackagePart(target)) {
    note("ooxml.part_removed", target);
    return false;
  }
  // The main document is reached from the package root only, exactly once.
  if (seg == "officeDocument" && (source != nullptr || !mainName_.empty())) return false;
  if (source == nullptr && seg != "officeDocument" && c.kind == Kind::Xml &&
      seg != "core-properties" && seg != "extended-properties" && seg != "extendedProperties" &&
      seg != "custom-properties" && seg != "customProperties") {
    note("ooxml.part_removed", target);
    return false;
  }
  const std::string key = lowerAscii(target);
  if (const auto it = parts_.find(key); it != parts_.end()) {
    return it->second.kind == c.kind;
  }
  checkDeadline();
  Part p;
  p.name = target;
  p.kind = c.kind;
  p.segment = std::string(seg);
  const std::string ct = contentTypeOf(target);
  switch (c.kind) {
    case Kind::Xml: {
      if (seg == "officeDocument") {
        const auto m = std::find_if(kMainTypes.begin(), kMainTypes.end(),
                                    [&](const MainType& t) { return iEquals(t.contentType, ct); });
        if (m == kMainTypes.end()) throw Refusal{"ooxml.unsupported_kind", shorten(ct)};
        family_ = m->family;
        mainName_ = target;
        mainInType_ = ct;
        p.contentType = std::string(plainMainType(family_));
      } else if (!acceptableXmlType(ct)) {
        const std::string l = lowerAscii(ct);
        const bool xlm = l.find("macrosheet") != std::string::npos ||
                         l.find("dialogsheet") != std::string::npos;
        note(xlm ? "ooxml.xlm_macro_removed" : "ooxml.part_removed", target);
        return false;
      } else {
        p.contentType = ct;
      }
      const std::size_t* idx = lookup(target);
      if (idx == nullptr) return false;
      p.original = read(*idx);
      p.doc = parseXml(p.original, lim_, target);
      // A sheet relationship must lead to a sheet: an Excel 4 macro sheet or a dialog sheet
      // filed under the "worksheet" type (with a plain content type) is still a macro sheet.
      if (seg == "worksheet" || seg == "chartsheet") {
        const std::string_view root = localName(xmlDocGetRootElement(p.doc.get()));
        if (root != seg) {
          const bool xlm = root == "macrosheet" || root == "dialogsheet";
          note(xlm ? "ooxml.xlm_macro_removed" : "ooxml.part_removed", target);
          return false;
        }
      }
      break;
    }
    case Kind::Vml:
      if (source == nullptr) return false;
      if (family_ != Family::Word) harvestVml(*source, target);  // OLE preview pictures
      if (source->segment != "worksheet") return false;
      if (!admitVml(p)) {
        note("ooxml.activex_removed", target);
        return false;
      }
      p.contentType = "application/vnd.openxmlformats-officedocument.vmlDrawing";
      break;
    case Kind::Image:
      if (!admitImage(p)) {
        note("ooxml.image_removed", target);
        return false;
      }
      break;
    case Kind::Hyperlink:
    case Kind::Drop:
      return false;
  }
  parts_.emplace(key, std::move(p));
  if (c.kind != Kind::Image) queue_.push_back(key);
  return true;
}

// A relationship Id the part's input .rels did not use (so no dangling reference can match it).
std::string Rebuilder::freshId(Part& p) {
  for (std::size_t k = 1;; ++k) {
    std::string id = "rIdMugai" + std::to_string(k);
    if (p.usedIds.insert(id).second) return id;
  }
}

// The VML drawing of a slide or sheet holds the preview picture of each OLE object (Office 2007
// writes it only there): v:shape → v:imagedata o:relid → an image relationship of the VML part.
// Each such image is admitted like any image and given a relationship from `source`, so that the
// object can be replaced by a DrawingML picture; the VML itself stays out (processRel decides).
void Rebuilder::harvestVml(Part& source, const std::string& vmlName) {
  const std::size_t* idx = lookup(vmlName);
  if (idx == nullptr) return;
  DocPtr doc;
  try {
    doc = parseXml(read(*idx), lim_, vmlName);
  } catch (const Refusal& r) {
    if (r.reason == "ooxml.dtd") throw;
    return;  // not XML: no preview
  }
  std::map<std::string, std::string> images;  // VML relationship Id → image entry name
  for (const Rel& r : loadRels(relsNameFor(vmlName))) {
    if (r.external || classify(r.type).kind != Kind::Image) continue;
    std::string t = resolve(vmlName, r.target);
    if (!t.empty()) images.emplace(r.id, std::move(t));
  }
  xmlNode* root = xmlDocGetRootElement(doc.get());
  for (xmlNode* n = root; n != nullptr; n = nextElement(n, root, true)) {
    if (localName(n) != "imagedata" || n->parent == nullptr || localName(n->parent) != "shape") {
      continue;
    }
    std::string relid;
    for (const xmlAttr* a = n->properties; a != nullptr; a = a->next) {
      if (nsHref(a->ns) == kVmlOfficeNs && a->name != nullptr &&
          std::string_view(reinterpret_cast<const char*>(a->name)) == "relid") {
        relid = attrValue(a);
      }
    }
    const auto img = images.find(relid);
    if (img == images.end()) continue;
    xmlNode* shape = n->parent;
    Rel rel{freshId(source), std::string(vocabularyOf(source.doc.get()).imageRel),
            "/" + img->second, false};
    if (!processRel(&source, rel)) continue;
    xmlNode* anchor = childNamed(childNamed(shape, "ClientData"), "Anchor");
    for (const char* key : {"id", "spid"}) {
      const std::string shapeId = attr(shape, key);
      if (shapeId.empty()) continue;
      source.vmlPreview.emplace(shapeId, rel.id);
      if (anchor != nullptr) source.vmlAnchor.emplace(shapeId, textOf(anchor));
    }
    extraRels_.push_back(std::move(rel));
  }
}

// PresentationML: a p:graphicFrame holding p:oleObj (alone or as both branches of an
// mc:AlternateContent) becomes a p:pic with the frame's id, name, position and size, showing the
// preview: the p:pic PowerPoint 2010+ writes inside p:oleObj, else the VML shape named by spid.
// Without a preview the frame is left for clean(), which removes it.
void Rebuilder::keepPptPreviews(Part& p) {
  xmlNode* root = xmlDocGetRootElement(p.doc.get());
  std::vector<xmlNode*> targets;
  for (xmlNode* n = root; n != nullptr; n = nextElement(n, root, true)) {
    if (localName(n) != "oleObj") continue;
    xmlNode* frame = ancestorOrSelf(n, "graphicFrame");
    if (frame == nullptr) continue;
    xmlNode* target = frame;
    xmlNode* branch = frame->parent;
    if (branch != nullptr && branch->type == XML_ELEMENT_NODE &&
        (localName(branch) == "Choice" || localName(branch) == "Fallback") &&
        branch->parent != nullptr && branch->parent->type == XML_ELEMENT_NODE &&
        localName(branch->parent) == "AlternateContent") {
      target = branch->parent;
    }
    if (std::find(targets.begin(), targets.end(), target) == targets.end()) {
      targets.push_back(target);
    }
  }
  for (xmlNode* target : targets) {
    std::string relId, spid, id, name;
    std::array<std::string, 4> box;
    bool haveBox = false;
    for (xmlNode* n = target; n != nullptr; n = nextElement(n, target, true)) {
      const std::string_view ln = localName(n);
      const std::string_view up = n->parent == nullptr ? std::string_view{} : localName(n->parent);
      if (ln == "blip" && relId.empty() && ancestorOrSelf(n, "oleObj") != nullptr) {
        const std::string e = attr(n, "embed");
        if (p.relIds.count(e) != 0) relId = e;
      } else if (ln == "oleObj" && spid.empty()) {
        spid = attr(n, "spid");
      } else if (ln == "cNvPr" && up == "nvGraphicFramePr" && id.empty()) {
        id = attr(n, "id");
        name = attr(n, "name");
      } else if (ln == "xfrm" && up == "graphicFrame" && !haveBox) {
        xmlNode* off = childNamed(n, "off");
        xmlNode* ext = childNamed(n, "ext");
        if (off != nullptr && ext != nullptr) {
          box = {attr(off, "x"), attr(off, "y"), attr(ext, "cx"), attr(ext, "cy")};
          haveBox = plainInteger(box[0], true) && plainInteger(box[1], true) &&
                    plainInteger(box[2], false) && plainInteger(box[3], false);
        }
      }
    }
    if (relId.empty() && !spid.empty()) {
      const auto v = p.vmlPreview.find(spid);
      if (v != p.vmlPreview.end()) relId = v->second;
    }
    if (relId.empty() || !haveBox || !plainInteger(id, false)) continue;
    xmlNode* parent = target->parent;
    xmlNode* pic = xmlNewDocNode(p.doc.get(), nullptr, reinterpret_cast<const xmlChar*>("pic"),
                                 nullptr);
    if (pic == nullptr) throw std::bad_alloc();
    if (xmlAddPrevSibling(target, pic) == nullptr) {
      xmlFreeNode(pic);
      throw std::bad_alloc();
    }
    const Vocabulary& v = vocabularyOf(p.doc.get());
    xmlNs* pns = namespaceFor(parent, pic, v.presentation, "p");
    xmlSetNs(pic, pns);
    xmlNs* a = namespaceFor(parent, pic, v.drawingMl, "a");
    xmlNs* r = namespaceFor(parent, pic, v.rel, "r");
    fillPicture(pic, pns, a, r, id, name, relId, box, true);
    xmlUnlinkNode(target);
    xmlFreeNode(target);
    note("ooxml.ole_removed", p.name);
  }
}

// SpreadsheetML: each oleObject's preview (objectPr r:id with its anchor, Excel 2010+; else the
// VML shape _x0000_s<shapeId> with its x:Anchor) becomes an xdr:pic in a twoCellAnchor of the
// sheet's DrawingML drawing — the existing one, or a new part referenced by a new <drawing>.
// Excel and LibreOffice both show DrawingML pictures; the oleObjects element itself is removed
// by clean().
void Rebuilder::keepSheetPreviews(Part& p) {
  struct Pic {
    std::string relId;
    std::string shapeId;
    std::array<std::string, 8> anchor;
  };
  xmlNode* root = xmlDocGetRootElement(p.doc.get());
  std::vector<Pic> pics;
  std::set<std::string> seen;
  for (xmlNode* n = root; n != nullptr; n = nextElement(n, root, true)) {
    if (localName(n) != "oleObject") continue;
    Pic pic;
    pic.shapeId = attr(n, "shapeId");
    if (!plainInteger(pic.shapeId, false) || seen.count(pic.shapeId) != 0) continue;
    xmlNode* pr = childNamed(n, "objectPr");
    const std::string prRel = pr == nullptr ? std::string{} : attr(pr, "id");
    if (!prRel.empty() && p.relIds.count(prRel) != 0 &&
        anchorMarkers(childNamed(pr, "anchor"), pic.anchor)) {
      pic.relId = prRel;
    } else {
      const std::string vmlId = "_x0000_s" + pic.shapeId;
      const auto v = p.vmlPreview.find(vmlId);
      const auto a = p.vmlAnchor.find(vmlId);
      if (v != p.vmlPreview.end() && a != p.vmlAnchor.end() &&
          vmlAnchorMarkers(a->second, pic.anchor)) {
        pic.relId = v->second;
      }
    }
    if (pic.relId.empty()) continue;
    seen.insert(pic.shapeId);
    pics.push_back(std::move(pic));
  }
  if (pics.empty()) return;
  auto relTarget = [&](const Part& owner, const std::string& relId) -> std::string {
    for (const Rel& r : owner.rels) {
      if (r.id == relId && !r.external) return resolve(owner.name, r.target);
    }
    return {};
  };

  const Vocabulary& vocab = vocabularyOf(p.doc.get());
  // The drawing: the sheet's own, or a new one placed where CT_Worksheet wants <drawing>.
  constexpr auto kAfterDrawing = std::to_array<std::string_view>(
      {"legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls",
       "webPublishItems", "tableParts", "extLst"});
  xmlNode* drawingEl = nullptr;
  xmlNode* before = nullptr;
  for (xmlNode* c = root->children; c != nullptr; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (localName(c) == "drawing") drawingEl = c;
    if (before == nullptr && contains(kAfterDrawing, localName(c))) before = c;
  }
  Part* d = nullptr;
  if (drawingEl != nullptr) {
    const auto it = parts_.find(lowerAscii(relTarget(p, attr(drawingEl, "id"))));
    if (it == parts_.end() || it->second.segment != "drawing" || it->second.doc == nullptr) return;
    d = &it->second;
  } else {
    if (before == nullptr) return;
    std::string name;
    for (std::size_t k = 1; name.empty(); ++k) {
      std::string candidate = "xl/drawings/drawing" + std::to_string(k) + ".xml";
      if (lookup(candidate) == nullptr && parts_.count(lowerAscii(candidate)) == 0) {
        name = std::move(candidate);
      }
    }
    Part nd;
    nd.name = name;
    nd.kind = Kind::Xml;
    nd.segment = "drawing";
    nd.contentType = std::string(kDrawingType);
    nd.doc.reset(xmlNewDoc(reinterpret_cast<const xmlChar*>("1.0")));
    if (nd.doc == nullptr) throw std::bad_alloc();
    nd.doc->standalone = 1;  // as Office writes its parts
    xmlNode* wsDr = xmlNewDocNode(nd.doc.get(), nullptr, reinterpret_cast<const xmlChar*>("wsDr"),
                                  nullptr);
    if (wsDr == nullptr) throw std::bad_alloc();
    xmlDocSetRootElement(nd.doc.get(), wsDr);
    xmlSetNs(wsDr, namespaceFor(wsDr, wsDr, vocab.sheetDrawing, "xdr"));
    namespaceFor(wsDr, wsDr, vocab.drawingMl, "a");
    namespaceFor(wsDr, wsDr, vocab.rel, "r");
    d = &parts_.emplace(lowerAscii(name), std::move(nd)).first->second;
    Rel rel{freshId(p), std::string(vocab.drawingRel), "/" + name, false};
    xmlNode* el = xmlNewDocNode(p.doc.get(), root->ns, reinterpret_cast<const xmlChar*>("drawing"),
                                nullptr);
    if (el == nullptr) throw std::bad_alloc();
    if (xmlAddPrevSibling(before, el) == nullptr) {
      xmlFreeNode(el);
      throw std::bad_alloc();
    }
    setAttr(el, "id", rel.id, namespaceFor(root, el, vocab.rel, "r"));
    p.relIds.insert(rel.id);
    p.rels.push_back(std::move(rel));
  }

  xmlNode* wsDr = xmlDocGetRootElement(d->doc.get());
  // The pictures go into the drawing in the drawing's own vocabulary (the sheet's, for a new one).
  const Vocabulary& dv = vocabularyOf(d->doc.get());
  std::int64_t nextId = 2;  // shape ids in Excel's drawings start at 2
  for (xmlNode* n = wsDr; n != nullptr; n = nextElement(n, wsDr, true)) {
    const std::string v = localName(n) == "cNvPr" ? attr(n, "id") : std::string{};
    if (plainInteger(v, false)) nextId = std::max<std::int64_t>(nextId, std::stoll(v) + 1);
  }
  xmlNs* xdr = namespaceFor(wsDr, wsDr, dv.sheetDrawing, "xdr");
  xmlNs* a = namespaceFor(wsDr, wsDr, dv.drawingMl, "a");
  xmlNs* r = namespaceFor(wsDr, wsDr, dv.rel, "r");
  for (const Pic& pic : pics) {
    const std::string image = relTarget(p, pic.relId);
    if (image.empty()) continue;
    Rel rel{freshId(*d), std::string(dv.imageRel), "/" + image, false};
    xmlNode* anchor = addChild(wsDr, xdr, "twoCellAnchor");
    setAttr(anchor, "editAs", "oneCell");
    std::size_t k = 0;
    for (const char* corner : {"from", "to"}) {
      xmlNode* m = addChild(anchor, xdr, corner);
      for (const char* field : {"col", "colOff", "row", "rowOff"}) {
        xmlNode* v = addChild(m, xdr, field);
        xmlNodeAddContent(v, reinterpret_cast<const xmlChar*>(pic.anchor[k++].c_str()));
      }
    }
    xmlNode* picEl = addChild(anchor, xdr, "pic");
    fillPicture(picEl, xdr, a, r, std::to_string(nextId++), "Object " + pic.shapeId, rel.id,
                {"0", "0", "0", "0"}, false);
    addChild(anchor, xdr, "clientData");
    d->relIds.insert(rel.id);
    d->rels.push_back(std::move(rel));
  }
}

void Rebuilder::clean(Part& p) {
  checkDeadline();
  xmlNode* root = xmlDocGetRootElement(p.doc.get());
  const bool isMain = p.name == mainName_;
  std::vector<xmlNode*> removeNodes;
  std::set<xmlNode*> removeSet;
  std::vector<xmlAttr*> removeAttrs;
  std::vector<xmlNode*> unwrap;
  std::vector<xmlNode*> wordObjects;  // w:object holding a VML preview: becomes a w:pict
  std::vector<xmlNode*> otherObjects;  // any other w:object: its w:drawing takes its place
  auto mark = [&](xmlNode* n) {
    if (removeSet.insert(n).second) removeNodes.push_back(n);
  };
  auto ancestorNamed = [](xmlNode* n, std::string_view name) {
    for (xmlNode* a = n; a != nullptr && a->type == XML_ELEMENT_NODE; a = a->parent) {
      if (localName(a) == name) return a;
    }
    return n;
  };

  // Word complex fields: begin … instruction … separate … result … end, possibly nested and
  // spread over runs and paragraphs; decided on the whole instruction.
  struct Field {
    std::string instr;
    bool nestedFirst = false;
    bool inResult = false;
    std::vector<xmlNode*> code;    // field characters, instruction and hidden code text
    std::vector<xmlNode*> result;  // visible result text
  };
  std::vector<Field> fields;
  auto closeField = [&](Field& f) {
    std::string_view danger = fieldDanger(f.instr);
    if (danger.empty() && f.nestedFirst) danger = "ooxml.external_field_removed";
    if (!danger.empty()) {
      note(danger, p.name);
      for (xmlNode* n : f.code) mark(n);
    }
  };

  std::vector<bool> sheetRemoved;
  for (xmlNode* n = root; n != nullptr;) {
    const std::string_view name = localName(n);
    bool removed = false;
    auto remove = [&](xmlNode* target, std::string_view code) {
      mark(target);
      note(code, p.name);
      if (target == n) removed = true;
    };
    // References to relationships that were not kept.
    for (xmlAttr* a = n->properties; a != nullptr && !removed; a = a->next) {
      const std::string_view ns = nsHref(a->ns);
      const bool relRef = ns == kRelNs || ns == kStrictRelNs ||
                          (ns == kVmlOfficeNs && a->name != nullptr &&
                           std::string_view(reinterpret_cast<const char*>(a->name)) == "relid");
      if (!relRef || p.relIds.count(attrValue(a)) != 0) continue;
      if (name == "oleObj") {
        remove(ancestorNamed(n, "graphicFrame"), "ooxml.ole_removed");
      } else if (contains(kRemoveOnDangling, name)) {
        mark(n);
        removed = true;
      } else if ((name == "regular" || name == "bold" || name == "italic" ||
                  name == "boldItalic") && n->parent != nullptr &&
                 localName(n->parent) == "embeddedFont") {
        mark(n->parent);
        removed = true;
      } else {
        removeAttrs.push_back(a);
      }
    }
    if (!removed && family_ == Family::Word && name == "object") {
      (childNamed(n, "shape") != nullptr ? wordObjects : otherObjects).push_back(n);
    }
    if (!removed) {
      // w:objectEmbed and w:objectLink: the DrawingML form of a Word OLE object (ISO 29500).
      if (name == "OLEObject" || name == "oleObjects" ||
          (family_ == Family::Word && (name == "objectEmbed" || name == "objectLink"))) {
        remove(n, "ooxml.ole_removed");
      } else if (name == "oleObj") {
        remove(ancestorNamed(n, "graphicFrame"), "ooxml.ole_removed");
      } else if (name == "control" || name == "controls") {
        remove(n, "ooxml.activex_removed");
      } else if (name == "altChunk") {
        remove(n, "ooxml.altchunk_removed");
      } else if (name == "attachedTemplate" || name == "subDoc") {
        remove(n, "ooxml.external_reference_removed");
      } else if (name == "mailMerge" && family_ == Family::Word) {
        remove(n, "ooxml.data_connection_removed");
      } else if (name == "externalReferences") {
        remove(n, "ooxml.external_link_removed");
      } else if (name == "hlinkClick" || name == "hlinkHover" || name == "hlinkMouseOver") {
        const std::string action = attr(n, "action");
        if (iStartsWith(action, "ppaction://program") || iStartsWith(action, "ppaction://ole") ||
            iStartsWith(action, "ppaction://macro")) {
          remove(n, "ooxml.action_removed");
        }
      }
    }
    if (!removed && n->properties != nullptr) {
      // A macro assigned to a shape (xlsx drawings, pptx) is inert without VBA, but naming it
      // still invites the recipient to look for it.
      for (xmlAttr* a = n->properties; a != nullptr; a = a->next) {
        if (a->ns == nullptr && a->name != nullptr &&
            std::string_view(reinterpret_cast<const char*>(a->name)) == "macro" &&
            !attrValue(a).empty()) {
          removeAttrs.push_back(a);
          note("ooxml.action_removed", p.name);
        }
      }
    }
    if (!removed && family_ == Family::Excel) {
      if (name == "sheet" && isMain) {
        sheetRemoved.push_back(false);
      } else if (name == "definedName") {
        const std::string text = textOf(n);
        if (autoMacroName(attr(n, "name"))) {
          remove(n, "ooxml.auto_macro_name_removed");
        } else if (ddeFormula(text)) {
          remove(n, "ooxml.dde_formula_removed");
        }
      } else if (name == "f" && ddeFormula(textOf(n))) {
        remove(n, "ooxml.dde_formula_removed");
      }
    }
    if (removed && name == "sheet" && isMain && family_ == Family::Excel) {
      sheetRemoved.push_back(true);
    }
    if (!removed && family_ == Family::Word) {
      if (name == "fldSimple") {
        const std::string_view danger = fieldDanger(attr(n, "instr"));
        if (!danger.empty()) {
          unwrap.push_back(n);
          note(danger, p.name);
        }
      } else if (name == "fldChar") {
        const std::string type = attr(n, "fldCharType");
        if (type == "begin") {
          if (!fields.empty() && !fields.back().inResult) {
            if (trimAscii(fields.back().instr).empty()) fields.back().nestedFirst = true;
          }
          fields.emplace_back();
          fields.back().code.push_back(n);
        } else if (!fields.empty() && type == "separate") {
          fields.back().code.push_back(n);
          fields.back().inResult = true;
        } else if (!fields.empty() && type == "end") {
          Field f = std::move(fields.back());
          fields.pop_back();
          f.code.push_back(n);
          closeField(f);
          if (!fields.empty() && !fields.back().inResult) {
            // A field inside another's instruction is part of that instruction.
            Field& outer = fields.back();
            outer.code.insert(outer.code.end(), f.code.begin(), f.code.end());
            outer.code.insert(outer.code.end(), f.result.begin(), f.result.end());
          }
        }
      } else if (name == "instrText" || name == "delInstrText") {
        if (fields.empty()) {
          mark(n);  // stray instruction text outside any field
          removed = true;
        } else {
          if (!fields.back().inResult) fields.back().instr += textOf(n);
          fields.back().code.push_back(n);
        }
      } else if ((name == "t" || name == "delText") && !fields.empty()) {
        (fields.back().inResult ? fields.back().result : fields.back().code).push_back(n);
      }
    }
    n = nextElement(n, root, !removed);
  }
  // Fields left open at the end of the part are judged like closed ones.
  while (!fields.empty()) {
    Field f = std::move(fields.back());
    fields.pop_back();
    closeField(f);
  }
  if (isMain && family_ == Family::Excel) {
    finishWorkbook(root, sheetRemoved, removeSet, removeNodes);
  }

  // Apply: attributes first (their elements are still alive), then unwrap simple fields, then
  // unlink every removed element before freeing any (one may lie inside another).
  std::set<xmlAttr*> seenAttrs;
  for (xmlAttr* a : removeAttrs) {
    if (!seenAttrs.insert(a).second) continue;
    bool insideRemoved = false;
    for (xmlNode* up = a->parent; up != nullptr; up = up->parent) {
      if (removeSet.count(up) != 0) insideRemoved = true;
    }
    if (!insideRemoved) xmlRemoveProp(a);
  }
  for (xmlNode* f : unwrap) {
    for (xmlNode* c = f->children; c != nullptr;) {
      xmlNode* next = c->next;
      xmlUnlinkNode(c);
      xmlNode* placed = xmlAddPrevSibling(f, c);  // text may merge into a neighbour
      if (placed == nullptr) throw std::bad_alloc();
      keepNamespaces(p.doc.get(), placed);
      c = next;
    }
    mark(f);
  }
  // A w:object loses its o:OLEObject (or w:control); LibreOffice then drops the whole object,
  // preview included. Its VML shape is the preview picture: the object becomes a w:pict (the
  // VML picture container Word and LibreOffice both draw), without the OLE-only attributes.
  for (xmlNode* obj : wordObjects) {
    xmlNodeSetName(obj, reinterpret_cast<const xmlChar*>("pict"));
    for (xmlAttr* a = obj->properties; a != nullptr;) {
      xmlAttr* next = a->next;
      const std::string_view an = a->name == nullptr ? std::string_view{}
                                                     : reinterpret_cast<const char*>(a->name);
      if (an == "dxaOrig" || an == "dyaOrig") xmlRemoveProp(a);
      a = next;
    }
    for (xmlNode* c = obj->children; c != nullptr; c = c->next) {
      if (c->type != XML_ELEMENT_NODE || localName(c) != "shape") continue;
      for (xmlAttr* a = c->properties; a != nullptr;) {
        xmlAttr* next = a->next;
        if (nsHref(a->ns) == kVmlOfficeNs && a->name != nullptr &&
            std::string_view(reinterpret_cast<const char*>(a->name)) == "ole") {
          xmlRemoveProp(a);
        }
        a = next;
      }
    }
  }
  // A w:object in its DrawingML form has lost its w:objectEmbed or w:objectLink (or w:control);
  // its w:drawing is the preview, and takes the object's place in the run. An object with no
  // picture left has nothing to show and goes.
  for (xmlNode* obj : otherObjects) {
    bool insideRemoved = false;
    for (xmlNode* up = obj; up != nullptr; up = up->parent) {
      if (removeSet.count(up) != 0) insideRemoved = true;
    }
    if (insideRemoved) continue;
    xmlNode* drawing = childNamed(obj, "drawing");
    if (drawing != nullptr && removeSet.count(drawing) == 0) {
      xmlUnlinkNode(drawing);
      if (xmlAddPrevSibling(obj, drawing) == nullptr) throw std::bad_alloc();
      keepNamespaces(p.doc.get(), drawing);
    }
    mark(obj);
  }
  for (xmlNode* n : removeNodes) xmlUnlinkNode(n);
  for (xmlNode* n : removeNodes) xmlFreeNode(n);
  try {
    p.bytes = serializeXml(p.doc.get());
  } catch (const std::invalid_argument&) {
    throw Refusal{"ooxml.invalid_xml", p.name};
  }
  p.doc.reset();
  keepIfUnchanged(p);
}

// Removing <sheet> entries shifts sheet positions, which definedName/@localSheetId and the
// workbook views refer to.
void Rebuilder::finishWorkbook(xmlNode* root, const std::vector<bool>& sheetRemoved,
                               std::set<xmlNode*>& removeSet,
                               std::vector<xmlNode*>& removeNodes) {
  const auto removedCount = std::count(sheetRemoved.begin(), sheetRemoved.end(), true);
  if (removedCount == 0) return;
  if (static_cast<std::size_t>(removedCount) == sheetRemoved.size()) {
    throw Refusal{"ooxml.invalid", "no sheet left"};
  }
  // Nodes already marked for removal are skipped (and their subtrees): they are freed by the
  // caller, once.
  for (xmlNode* n = root; n != nullptr;) {
    const bool marked = removeSet.count(n) != 0;
    xmlNode* current = n;
    n = nextElement(n, root, !marked);
    if (marked) continue;
    const std::string_view name = localName(current);
    if (name == "workbookView") {
      xmlUnsetProp(current, reinterpret_cast<const xmlChar*>("activeTab"));
      xmlUnsetProp(current, reinterpret_cast<const xmlChar*>("firstSheet"));
    } else if (name == "definedName") {
      bool found = false;
      const std::string v = attr(current, "localSheetId", &found);
      if (!found) continue;
      std::size_t k = 0;
      bool ok = !v.empty() && v.size() < 9;
      for (const char c : v) {
        if (c < '0' || c > '9') ok = false;
      }
      if (ok) k = std::stoul(v);
      if (!ok || k >= sheetRemoved.size() || sheetRemoved[k]) {
        if (removeSet.insert(current).second) removeNodes.push_back(current);
        continue;
      }
      const auto before = std::count(sheetRemoved.begin(), sheetRemoved.begin() + k, true);
      const std::string nv = std::to_string(k - static_cast<std::size_t>(before));
      xmlSetProp(current, reinterpret_cast<const xmlChar*>("localSheetId"),
                 reinterpret_cast<const xmlChar*>(nv.c_str()));
    }
  }
}

// Entries no relationship reached are dropped anyway; naming the dangerous ones tells the
// recipient what was there even when the input did not reference it properly.
void Rebuilder::noteOrphans() {
  struct Pattern {
    std::string_view needle;
    std::string_view code;
  };
  constexpr auto kPatterns = std::to_array<Pattern>({
      {"vbaproject.bin", "ooxml.vba_removed"},
      {"vbadata.xml", "ooxml.vba_removed"},
      {"activex/", "ooxml.activex_removed"},
      {"embeddings/", "ooxml.ole_removed"},
      {"customui/", "ooxml.customui_removed"},
      {"externallinks/", "ooxml.external_link_removed"},
      {"connections.xml", "ooxml.data_connection_removed"},
      {"macrosheets/", "ooxml.xlm_macro_removed"},
      {"dialogsheets/", "ooxml.xlm_macro_removed"},
      {"webextensions/", "ooxml.webextension_removed"},
  });
  for (const Entry& e : entries_) {
    const std::string l = lowerAscii(e.name);
    if (parts_.count(l) != 0) continue;
    for (const Pattern& pat : kPatterns) {
      if (l.find(pat.needle) != std::string::npos) note(pat.code, e.name);
    }
  }
}

std::string Rebuilder::buildContentTypes() const {
  std::string x(kXmlDecl);
  x += "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">";
  x += "<Default Extension=\"rels\" "
       "ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>";
  x += "<Default Extension=\"xml\" ContentType=\"application/xml\"/>";
  std::vector<const Part*> sorted;
  for (const auto& [key, part] : parts_) sorted.push_back(&part);
  std::sort(sorted.begin(), sorted.end(),
            [](const Part* a, const Part* b) { return a->name < b->name; });
  for (const Part* part : sorted) {
    x += "<Override PartName=\"/" + xmlEscape(part->name) + "\" ContentType=\"" +
         xmlEscape(part->contentType) + "\"/>";
  }
  x += "</Types>";
  return x;
}

std::string Rebuilder::buildRels(const std::vector<Rel>& rels) {
  std::string x(kXmlDecl);
  x += "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">";
  for (const Rel& r : rels) {
    x += "<Relationship Id=\"" + xmlEscape(r.id) + "\" Type=\"" + xmlEscape(r.type) +
         "\" Target=\"" + xmlEscape(r.external ? std::string(trimAscii(r.target)) : r.target) +
         "\"";
    if (r.external) x += " TargetMode=\"External\"";
    x += "/>";
  }
  x += "</Relationships>";
  return x;
}

std::string Rebuilder::writeZip(const std::vector<std::pair<std::string, std::string>>& files,
                                const std::map<std::string, std::uint64_t>& raw) const {
  try {
    core::ZipWriter zip(1);  // XML deflates well at the fastest level
    for (const auto& [name, bytes] : files) {
      // Verified images and unchanged XML parts travel as their input's compressed data (see
      // read()), in a fresh entry; everything else is written from our own bytes.
      const auto rawIt = raw.find(name);
      if (rawIt != raw.end()) {
        const Entry& e = entries_[rawIt->second];
        zip.addCompressed(name, e.method, in_.bytes.substr(e.dataStart, e.csize), e.crc,
                          e.usize);
      } else {
        zip.add(name, bytes, true);
      }
    }
    return zip.finish();
  } catch (const std::logic_error&) {  // length_error or invalid_argument: see zip_writer.h
    throw Refusal{"error.sanitizer", "zip writer"};
  }
}

std::string outputName(const std::vector<std::string>& names, Family f) {
  const std::string_view ext = f == Family::Word ? ".docx" : f == Family::Excel ? ".xlsx" : ".pptx";
  const std::string_view fallback =
      f == Family::Word ? "document" : f == Family::Excel ? "workbook" : "presentation";
  if (names.empty() || names[0].empty()) return std::string(fallback) + std::string(ext);
  std::string n = names[0];
  const std::size_t dot = n.rfind('.');
  if (dot != std::string::npos) {
    const std::string e = lowerAscii(std::string_view(n).substr(dot + 1));
    constexpr auto kOffice = std::to_array<std::string_view>(
        {"docx", "docm", "dotx", "dotm", "xlsx", "xlsm", "xltx", "xltm", "pptx", "pptm", "potx",
         "potm", "ppsx", "ppsm"});
    if (std::find(kOffice.begin(), kOffice.end(), e) != kOffice.end()) n.resize(dot);
  }
  return n + std::string(ext);
}

PartOutput Rebuilder::run() {
  if (in_.depth > lim_.maxArchiveDepth) throw Refusal{"ooxml.too_deep", std::to_string(in_.depth)};
  open();
  loadContentTypes();
  const std::string rootRels = "_rels/.rels";
  for (Rel& r : loadRels(rootRels)) {
    if (processRel(nullptr, r)) rootRels_.push_back(std::move(r));
  }
  if (mainName_.empty()) throw Refusal{"ooxml.invalid", "no main document"};
  while (!queue_.empty()) {
    checkDeadline();
    const std::string key = queue_.front();
    queue_.pop_front();
    // std::map nodes are stable, so the pointer survives the insertions processRel makes.
    Part* part = &parts_.at(key);
    std::vector<Rel> loaded = loadRels(relsNameFor(part->name));
    for (const Rel& r : loaded) part->usedIds.insert(r.id);
    std::vector<Rel> kept;
    for (Rel& r : loaded) {
      if (processRel(part, r)) kept.push_back(std::move(r));
      for (Rel& extra : extraRels_) kept.push_back(std::move(extra));
      extraRels_.clear();
    }
    for (const Rel& r : kept) part->relIds.insert(r.id);
    part->rels = std::move(kept);
  }
  noteOrphans();
  // Before any part is cleaned (and its tree freed): OLE objects with a preview become pictures.
  for (auto& [key, part] : parts_) {
    if (part.kind != Kind::Xml || part.doc == nullptr) continue;
    if (family_ == Family::Ppt) keepPptPreviews(part);
    if (family_ == Family::Excel && part.segment == "worksheet") keepSheetPreviews(part);
  }
  for (auto& [key, part] : parts_) {
    if (part.kind != Kind::Image) clean(part);
  }

  std::vector<std::pair<std::string, std::string>> files;
  std::map<std::string, std::uint64_t> raw;
  files.emplace_back("[Content_Types].xml", buildContentTypes());
  files.emplace_back(rootRels, buildRels(rootRels_));
  std::vector<std::pair<std::string, std::string>> rest;
  for (auto& [key, part] : parts_) {
    if (part.raw >= 0) raw.emplace(part.name, static_cast<std::uint64_t>(part.raw));
    if (!part.rels.empty()) rest.emplace_back(relsNameFor(part.name), buildRels(part.rels));
    rest.emplace_back(part.name, std::move(part.bytes));
  }
  std::sort(rest.begin(), rest.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& f : rest) files.push_back(std::move(f));

  PartOutput out;
  out.disposition = core::Disposition::Rebuilt;
  out.contentType = std::string(family_ == Family::Word    ? kDocxType
                                : family_ == Family::Excel ? kXlsxType
                                                           : kPptxType);
  out.filename = outputName(in_.names, family_);
  if (!iEquals(mainInType_, plainMainType(family_))) {
    note("ooxml.macro_free_conversion", shorten(in_.trueType) + " → " +
                                            out.filename.substr(out.filename.rfind('.') + 1));
  }
  out.bytes = writeZip(files, raw);
  for (const auto& [code, details] : notes_) {
    std::string d;
    for (std::size_t i = 0; i < details.size() && i < kMaxDetails; ++i) {
      if (i > 0) d += ", ";
      d += details[i];
    }
    if (details.size() > kMaxDetails) d += ", …";
    out.findings.push_back({code, d});
  }
  return out;
}

constexpr auto kTokens = std::to_array<std::string_view>(
    {"docx", "docm", "dotx", "dotm", "xlsx", "xlsm", "xltx", "xltm", "pptx", "pptm", "potx", "potm",
     "ppsx", "ppsm", "ooxml"});

}  // namespace

bool OoxmlSanitizer::handles(std::string_view trueType, std::string_view) const {
  return std::find(kTokens.begin(), kTokens.end(), trueType) != kTokens.end();
}

PartOutput OoxmlSanitizer::sanitize(const PartInput& in) const {
  auto refuse = [&](std::string reason, std::string detail) {
    PartOutput r;
    r.disposition = core::Disposition::Removed;
    r.reason = reason;
    r.findings.push_back({std::move(reason), std::move(detail)});
    return r;
  };
  if (in.limits == nullptr) return refuse("error.sanitizer", "no limits");
  xmlInitParser();
  try {
    Rebuilder rebuilder(in);
    return rebuilder.run();
  } catch (const Refusal& r) {
    return refuse(r.reason, r.detail);
  } catch (const std::bad_alloc&) {
    return refuse("error.sanitizer", "out of memory");
  } catch (const std::exception& e) {
    return refuse("error.sanitizer", e.what());
  } catch (...) {
    return refuse("error.sanitizer", "unexpected");
  }
}

MUGAI_REGISTER_SANITIZER(OoxmlSanitizer)

}  // namespace mugai::sanitizers::ooxml
