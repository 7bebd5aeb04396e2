// text/html → text/plain (see html_to_text.h for the contract).
//
// Four steps: decode the bytes to UTF-8 (byte-order mark, then the MIME label when the bytes fit
// it, then a <meta> declaration, then detection); tidy the markup that libxml2 2.9 would
// otherwise show as text (bogus comments such as Word's "<![if !supportLists]>") and drop NUL
// bytes; parse with libxml2's HTML parser, forced to UTF-8, with per-context guards; walk the
// tree twice without recursion — once over every element to record what active content was
// there, once to render the visible text. Nothing in the tree can reach the text except text
// nodes outside dropped elements, the alt text of images, and http(s)/mailto link targets that
// are re-encoded so that they hold no spaces, controls or angle brackets.
#include "sanitizers/html/html_to_text.h"

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/charset.h"
#include "sanitizers/text/text_sanitizer.h"

namespace mugai::sanitizers::html {
namespace {

// ---------------------------------------------------------------------------------------------
// Small string helpers (ASCII only: HTML markup is ASCII, and lower-casing UTF-8 byte-wise would
// corrupt it).

char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool isAlphaAscii(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool isDigitAscii(char c) { return c >= '0' && c <= '9'; }

bool isHtmlSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

std::string lowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lowerAscii(c);
  return out;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(a[i]) != lowerAscii(b[i])) return false;
  }
  return true;
}

bool startsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && equalsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

// Case-insensitive search for an ASCII needle; npos when absent.
std::size_t findIgnoreCase(std::string_view hay, std::string_view needle, std::size_t from) {
  if (needle.empty() || hay.size() < needle.size()) return std::string_view::npos;
  for (std::size_t i = from; i + needle.size() <= hay.size(); ++i) {
    if (lowerAscii(hay[i]) == lowerAscii(needle[0]) &&
        equalsIgnoreCase(hay.substr(i, needle.size()), needle)) {
      return i;
    }
  }
  return std::string_view::npos;
}

// Cuts a UTF-8 string to at most `maxBytes` without splitting a character.
void truncateUtf8(std::string& s, std::size_t maxBytes) {
  if (s.size() <= maxBytes) return;
  std::size_t cut = maxBytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
}

// ---------------------------------------------------------------------------------------------
// Findings: one entry per kind, in order of first occurrence; the detail lists the distinct
// triggers (element or attribute names, never URLs) so the report says what was there.

class FindingSet {
 public:
  void add(std::string_view kind, std::string_view what) {
    for (Entry& e : entries_) {
      if (e.kind == kind) {
        addItem(e, what);
        return;
      }
    }
    entries_.push_back(Entry{std::string(kind), {}, false});
    addItem(entries_.back(), what);
  }

  void appendTo(core::Findings& out) const {
    for (const Entry& e : entries_) {
      std::string detail;
      for (const std::string& item : e.items) {
        if (!detail.empty()) detail += ", ";
        detail += item;
      }
      if (e.more) detail += ", …";
      out.push_back(core::Finding{e.kind, detail});
    }
  }

 private:
  static constexpr std::size_t kMaxItems = 8;
  struct Entry {
    std::string kind;
    std::vector<std::string> items;
    bool more;
  };
  static void addItem(Entry& e, std::string_view what) {
    if (what.empty()) return;
    if (std::find(e.items.begin(), e.items.end(), what) != e.items.end()) return;
    if (e.items.size() >= kMaxItems) {
      e.more = true;
      return;
    }
    e.items.emplace_back(what);
  }
  std::vector<Entry> entries_;
};

// ---------------------------------------------------------------------------------------------
// Charset.

// The HTML standard lets a byte-order mark override every other declaration.
std::string_view bomCharset(std::string_view bytes) {
  if (bytes.size() >= 3 && bytes.substr(0, 3) == "\xEF\xBB\xBF") return "UTF-8";
  if (bytes.size() >= 2 && bytes.substr(0, 2) == "\xFF\xFE") return "UTF-16LE";
  if (bytes.size() >= 2 && bytes.substr(0, 2) == "\xFE\xFF") return "UTF-16BE";
  return {};
}

constexpr std::size_t kMetaScanBytes = 4096;

// Reads "charset = label" at `pos` inside a meta tag; empty when the syntax does not match.
std::string readCharsetValue(std::string_view tag, std::size_t pos) {
  while (pos < tag.size() && isHtmlSpace(tag[pos])) ++pos;
  if (pos >= tag.size() || tag[pos] != '=') return {};
  ++pos;
  while (pos < tag.size() && (isHtmlSpace(tag[pos]) || tag[pos] == '"' || tag[pos] == '\'')) ++pos;
  std::string label;
  while (pos < tag.size() && label.size() < 40) {
    const char c = tag[pos];
    if (!(isAlphaAscii(c) || isDigitAscii(c) || c == '-' || c == '_' || c == '.' || c == ':')) {
      break;
    }
    label += c;
    ++pos;
  }
  return label;
}

// The charset named by the first <meta charset> or <meta http-equiv content="…; charset=…"> in
// the first 4 KB of raw bytes (the same bound browsers use for their prescan). Comments are
// skipped so that a commented-out declaration does not count.
std::string metaCharset(std::string_view bytes) {
  const std::string_view head = bytes.substr(0, std::min(bytes.size(), kMetaScanBytes));
  std::size_t i = 0;
  while (i < head.size()) {
    const std::size_t lt = head.find('<', i);
    if (lt == std::string_view::npos) break;
    if (head.substr(lt, 4) == "<!--") {
      const std::size_t end = head.find("-->", lt + 4);
      if (end == std::string_view::npos) break;
      i = end + 3;
      continue;
    }
    if (startsWithIgnoreCase(head.substr(lt), "<meta") && lt + 5 < head.size() &&
        (isHtmlSpace(head[lt + 5]) || head[lt + 5] == '/')) {
      const std::size_t gt = head.find('>', lt);
      const std::string_view tag =
          head.substr(lt, gt == std::string_view::npos ? std::string_view::npos : gt - lt);
      for (std::size_t at = findIgnoreCase(tag, "charset", 0); at != std::string_view::npos;
           at = findIgnoreCase(tag, "charset", at + 7)) {
        std::string label = readCharsetValue(tag, at + 7);
        if (!label.empty()) return label;
      }
      if (gt == std::string_view::npos) break;
      i = gt + 1;
      continue;
    }
    i = lt + 1;
  }
  return {};
}

bool isUtf16Or32(std::string_view canonical) {
  return startsWithIgnoreCase(canonical, "UTF-16") || startsWithIgnoreCase(canonical, "UTF-32") ||
         startsWithIgnoreCase(canonical, "UCS-2") || startsWithIgnoreCase(canonical, "UCS-4") ||
         startsWithIgnoreCase(canonical, "UNICODE");
}

core::Decoded decodeHtml(std::string_view bytes, std::string_view mimeCharset) {
  if (const std::string_view bom = bomCharset(bytes); !bom.empty()) {
    return core::decodeToUtf8(bytes, bom);
  }
  const bool hasEscape = bytes.find('\x1B') != std::string_view::npos;
  if (!mimeCharset.empty()) {
    const std::string canonical = core::canonicalCharset(mimeCharset);
    // "us-ascii" is what a mailer writes when it wrote nothing; 7-bit ISO-2022-JP fits it, so
    // with escape sequences present the label proves nothing and the document gets a say.
    const bool weakAscii = canonical == "US-ASCII" && hasEscape;
    if (!weakAscii) {
      core::Decoded d = core::decodeToUtf8(bytes, mimeCharset);
      if (d.labelUsed) return d;
    }
  }
  const std::string meta = metaCharset(bytes);
  if (!meta.empty()) {
    const std::string canonical = core::canonicalCharset(meta);
    // A document cannot declare itself UTF-16 from inside ASCII-compatible bytes (the HTML
    // standard reads such a declaration as UTF-8), and UTF-7 is never honoured from markup.
    std::string_view label = meta;
    if (isUtf16Or32(canonical)) label = "UTF-8";
    if (!startsWithIgnoreCase(canonical, "UTF-7") && !canonical.empty()) {
      core::Decoded d = core::decodeToUtf8(bytes, label);
      if (d.labelUsed) return d;
    }
  }
  return core::decodeToUtf8(bytes, {});
}

// ---------------------------------------------------------------------------------------------
// Markup tidying before libxml2.
//
// libxml2 2.9 turns constructs that browsers treat as (bogus) comments into visible text:
// "<![if !mso]>", "<![endif]>", "<![CDATA[…]]>", "<!foo>", "</ foo>". Outlook and Word write
// the first two into almost every message. This pass removes them the way a browser would (up
// to the next '>'), normalises the abrupt comment "<!-->", and drops NUL bytes (which browsers
// ignore in text). It skips over real comments, quoted attribute values and script/style raw
// text so that it never edits what libxml2 will read as something else. It only ever removes
// bytes, so it cannot create content that was not in the input.

void appendWithoutNul(std::string& out, std::string_view s) {
  for (const char c : s) {
    if (c != '\0') out += c;
  }
}

// Index just after the '>' that ends a start tag whose name ends at `pos`; honours quoted
// attribute values the way libxml2 does (a quote opens a value only after '=').
std::size_t tagEnd(std::string_view in, std::size_t pos) {
  while (pos < in.size()) {
    const char c = in[pos];
    if (c == '>') return pos + 1;
    if (c == '=') {
      ++pos;
      while (pos < in.size() && isHtmlSpace(in[pos])) ++pos;
      if (pos < in.size() && (in[pos] == '"' || in[pos] == '\'')) {
        const std::size_t close = in.find(in[pos], pos + 1);
        if (close == std::string_view::npos) return in.size();
        pos = close + 1;
      }
      continue;
    }
    ++pos;
  }
  return in.size();
}

std::string tidyMarkup(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  const std::size_t n = in.size();
  while (i < n) {
    const std::size_t lt = in.find('<', i);
    appendWithoutNul(out, in.substr(i, (lt == std::string_view::npos ? n : lt) - i));
    if (lt == std::string_view::npos) break;
    i = lt;
    const std::string_view rest = in.substr(i);
    if (rest.substr(0, 4) == "<!--") {
      if (rest.substr(4, 1) == ">" || rest.substr(4, 2) == "->") {
        out += "<!---->";
        i += rest.substr(4, 1) == ">" ? 5 : 6;
        continue;
      }
      std::size_t end = rest.find("-->", 4);
      std::size_t endLen = 3;
      const std::size_t bang = rest.find("--!>", 4);
      if (bang != std::string_view::npos && (end == std::string_view::npos || bang < end)) {
        end = bang;
        endLen = 4;
      }
      const std::size_t stop = end == std::string_view::npos ? rest.size() : end + endLen;
      appendWithoutNul(out, rest.substr(0, stop));
      i += stop;
      continue;
    }
    if (rest.substr(0, 2) == "<!") {
      const std::size_t gt = rest.find('>');
      const std::size_t stop = gt == std::string_view::npos ? rest.size() : gt + 1;
      if (startsWithIgnoreCase(rest.substr(2), "doctype")) {
        appendWithoutNul(out, rest.substr(0, stop));
      }
      i += stop;  // a bogus comment: dropped, as a browser hides it
      continue;
    }
    if (rest.substr(0, 2) == "</") {
      if (rest.size() > 2 && isAlphaAscii(rest[2])) {
        out += "</";
        i += 2;
        continue;
      }
      const std::size_t gt = rest.find('>');
      i += gt == std::string_view::npos ? rest.size() : gt + 1;  // "</>", "</ x>": bogus
      continue;
    }
    if (rest.size() > 1 && isAlphaAscii(rest[1])) {
      std::size_t nameEnd = 1;
      while (nameEnd < rest.size() && (isAlphaAscii(rest[nameEnd]) || isDigitAscii(rest[nameEnd]) ||
                                       rest[nameEnd] == '-' || rest[nameEnd] == ':' ||
                                       rest[nameEnd] == '_')) {
        ++nameEnd;
      }
      const std::string name = lowerCopy(rest.substr(1, nameEnd - 1));
      const std::size_t stop = tagEnd(rest, nameEnd);
      appendWithoutNul(out, rest.substr(0, stop));
      i += stop;
      const bool selfClosing = stop >= 2 && rest[stop - 1] == '>' && rest[stop - 2] == '/';
      if ((name == "script" || name == "style") && !selfClosing) {
        // Raw text: libxml2 ends it at the first "</script" (or "</style"), whatever follows.
        const std::string closer = "</" + name;
        const std::size_t close = findIgnoreCase(in, closer, i);
        const std::size_t stopRaw = close == std::string_view::npos ? n : close;
        appendWithoutNul(out, in.substr(i, stopRaw - i));
        i = stopRaw;
      }
      continue;
    }
    out += '<';
    ++i;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parsing.
//
// The tree must be allowed to be deeper than libxml2's default of 256 (XML_PARSE_HUGE), or the
// parser would stop at the first deep spot and everything after it would be lost. Depth has a
// price in libxml2 2.9, though: every end tag that matches no open element makes it scan the
// whole stack of open elements, so "<b>"×N followed by "</i>"×N costs N² (minutes for a few
// megabytes). Each such end tag raises a parser error, so the per-context error handler charges
// the current stack depth to a budget and stops the parser when it runs out. A second budget
// caps the number of elements, which bounds the memory of the tree.

constexpr std::uint64_t kMaxStackScan = 1ull << 26;  // ≈0.3 s of libxml2 stack scanning
constexpr std::uint64_t kMaxElements = 500'000;   // ≈100 MB of tree at most

struct ParseGuard {
  std::uint64_t stackScan = 0;
  std::uint64_t elements = 0;
  bool scanExceeded = false;
  bool elementsExceeded = false;
  startElementSAXFunc startElement = nullptr;
};

ParseGuard* guardOf(void* ctx) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(ctx);
  return ctxt == nullptr ? nullptr : static_cast<ParseGuard*>(ctxt->_private);
}

void chargeError(xmlParserCtxtPtr ctxt) {
  if (ctxt == nullptr) return;
  auto* guard = static_cast<ParseGuard*>(ctxt->_private);
  if (guard == nullptr || guard->scanExceeded) return;
  guard->stackScan += static_cast<std::uint64_t>(std::max(ctxt->nameNr, 0)) + 1;
  if (guard->stackScan > kMaxStackScan) {
    guard->scanExceeded = true;
    xmlStopParser(ctxt);
  }
}

// Per-context handlers: they never print, and they keep the budget.
void onStructuredError(void* ctx, xmlErrorPtr error) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(error != nullptr && error->ctxt != nullptr
                                                 ? error->ctxt
                                                 : ctx);
  chargeError(ctxt);
}

void onError(void* ctx, const char* /*msg*/, ...) {
  chargeError(static_cast<xmlParserCtxtPtr>(ctx));
}

void onWarning(void* /*ctx*/, const char* /*msg*/, ...) {}

void onStartElement(void* ctx, const xmlChar* name, const xmlChar** atts) {
  ParseGuard* guard = guardOf(ctx);
  if (guard == nullptr || guard->startElement == nullptr) return;
  guard->startElement(ctx, name, atts);  // always build the node: the SAX stacks stay paired
  if (++guard->elements > kMaxElements && !guard->elementsExceeded) {
    guard->elementsExceeded = true;
    xmlStopParser(static_cast<xmlParserCtxtPtr>(ctx));
  }
}

void initLibxml() {
  static const bool done = [] {
    xmlInitParser();
    return true;
  }();
  (void)done;
}

struct DocDeleter {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocDeleter>;

struct CtxtDeleter {
  void operator()(htmlParserCtxt* ctxt) const { htmlFreeParserCtxt(ctxt); }
};
using CtxtPtr = std::unique_ptr<htmlParserCtxt, CtxtDeleter>;

DocPtr parseHtml(const std::string& utf8, ParseGuard& guard) {
  initLibxml();
  if (utf8.size() > static_cast<std::size_t>(INT_MAX)) return nullptr;
  CtxtPtr ctxt(htmlCreateMemoryParserCtxt(utf8.data(), static_cast<int>(utf8.size())));
  if (!ctxt || ctxt->sax == nullptr || ctxt->input == nullptr) return nullptr;
  htmlCtxtUseOptions(ctxt.get(), HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                     HTML_PARSE_RECOVER | HTML_PARSE_NODEFDTD |
                                     HTML_PARSE_IGNORE_ENC | XML_PARSE_HUGE);
  // The SAX block is this context's own copy, so these handlers affect no other parse. The
  // structured handler takes precedence over any thread-wide one another module may have set.
  ctxt->sax->initialized = XML_SAX2_MAGIC;
  ctxt->sax->serror = onStructuredError;
  ctxt->sax->error = onError;
  ctxt->sax->fatalError = onError;
  ctxt->sax->warning = onWarning;
  guard.startElement = ctxt->sax->startElement;
  ctxt->sax->startElement = onStartElement;
  ctxt->_private = &guard;
  // The bytes are UTF-8 already; declaring it here also makes libxml2 ignore <meta charset>.
  if (xmlCharEncodingHandlerPtr utf8Handler = xmlFindCharEncodingHandler("UTF-8")) {
    xmlSwitchToEncoding(ctxt.get(), utf8Handler);
  }
  if (ctxt->input->encoding == nullptr) {
    ctxt->input->encoding = xmlStrdup(reinterpret_cast<const xmlChar*>("UTF-8"));
  }
  htmlParseDocument(ctxt.get());
  DocPtr doc(ctxt->myDoc);
  ctxt->myDoc = nullptr;
  ctxt->_private = nullptr;
  return doc;
}

// ---------------------------------------------------------------------------------------------
// Tree access.

std::string_view nameOf(const xmlNode* n) {
  return n->name == nullptr ? std::string_view{} : reinterpret_cast<const char*>(n->name);
}

std::string valueOf(const xmlAttr* a) {
  std::string v;
  for (const xmlNode* c = a->children; c != nullptr; c = c->next) {
    if (c->content != nullptr) v += reinterpret_cast<const char*>(c->content);
  }
  return v;
}

const xmlAttr* findAttr(const xmlNode* n, std::string_view name) {
  for (const xmlAttr* a = n->properties; a != nullptr; a = a->next) {
    if (a->name != nullptr && equalsIgnoreCase(reinterpret_cast<const char*>(a->name), name)) {
      return a;
    }
  }
  return nullptr;
}

bool hasAttr(const xmlNode* n, std::string_view name) { return findAttr(n, name) != nullptr; }

std::string attr(const xmlNode* n, std::string_view name) {
  const xmlAttr* a = findAttr(n, name);
  return a == nullptr ? std::string{} : valueOf(a);
}

// Next node in document order, descending into children when `descend`; never leaves `root`.
const xmlNode* nextInSubtree(const xmlNode* n, const xmlNode* root, bool descend) {
  if (descend && n->children != nullptr && n->type == XML_ELEMENT_NODE) return n->children;
  while (n != nullptr && n != root) {
    if (n->next != nullptr) return n->next;
    n = n->parent;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// URLs.

enum class UrlClass { Shown, Active, Dropped };

struct Url {
  UrlClass cls = UrlClass::Dropped;
  std::string scheme;  // lower case, without ':'
  std::string clean;   // the value as a browser would read it
};

// Browsers strip leading/trailing C0 controls and spaces and delete tabs and newlines anywhere
// ("java\tscript:" is javascript:), so the scheme is judged on that cleaned form.
Url classifyUrl(std::string_view raw) {
  Url u;
  std::string s;
  s.reserve(raw.size());
  for (const char c : raw) {
    if (c != '\t' && c != '\n' && c != '\r') s += c;
  }
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && static_cast<unsigned char>(s[b]) <= 0x20) ++b;
  while (e > b && static_cast<unsigned char>(s[e - 1]) <= 0x20) --e;
  u.clean = s.substr(b, e - b);
  std::size_t i = 0;
  if (!u.clean.empty() && isAlphaAscii(u.clean[0])) {
    while (i < u.clean.size() && (isAlphaAscii(u.clean[i]) || isDigitAscii(u.clean[i]) ||
                                  u.clean[i] == '+' || u.clean[i] == '-' || u.clean[i] == '.')) {
      ++i;
    }
    if (i < u.clean.size() && u.clean[i] == ':') u.scheme = lowerCopy(u.clean.substr(0, i));
  }
  if (u.scheme == "http" || u.scheme == "https" || u.scheme == "mailto") {
    u.cls = u.clean.size() > u.scheme.size() + 1 ? UrlClass::Shown : UrlClass::Dropped;
  } else if (u.scheme == "javascript" || u.scheme == "vbscript" || u.scheme == "data" ||
             u.scheme == "livescript" || u.scheme == "jscript" || u.scheme == "mocha") {
    u.cls = UrlClass::Active;
  }
  return u;
}

// The URL as shown: every byte that could break "<URL>" out of its brackets, split it, or hide
// in it (spaces, controls, non-ASCII, quotes) is percent-encoded; overlong ones end in "…".
std::string displayUrl(std::string_view clean, std::uint32_t maxChars) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(clean.size());
  for (const char ch : clean) {
    const auto c = static_cast<unsigned char>(ch);
    const bool encode = c <= 0x20 || c >= 0x7F || ch == '<' || ch == '>' || ch == '"' ||
                        ch == '`' || ch == '{' || ch == '}' || ch == '|' || ch == '\\' ||
                        ch == '^';
    if (encode) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    } else {
      out += ch;
    }
  }
  const std::size_t limit = std::max<std::uint32_t>(maxChars, 1);
  if (out.size() > limit) {
    std::size_t cut = limit;
    if (cut >= 1 && out[cut - 1] == '%') cut -= 1;
    else if (cut >= 2 && out[cut - 2] == '%') cut -= 2;
    out.resize(cut);
    out += "…";
  }
  return out;
}

// Link text and target compared the way a reader would: case, surrounding space and a
// trailing slash do not matter.
std::string comparable(std::string_view s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && isHtmlSpace(s[b])) ++b;
  while (e > b && isHtmlSpace(s[e - 1])) --e;
  while (e > b && s[e - 1] == '/') --e;
  return lowerCopy(s.substr(b, e - b));
}

bool textRepeatsUrl(std::string_view text, const Url& url, std::string_view shown) {
  const std::string t = comparable(text);
  if (t.empty()) return false;
  if (t == comparable(url.clean) || t == comparable(shown)) return true;
  if (url.scheme == "mailto") {
    std::string_view address = std::string_view(url.clean).substr(7);
    address = address.substr(0, address.find('?'));
    return t == comparable(address);
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// What each element means for the text.

enum class Kind : std::uint8_t {
  Inline,   // no structure of its own
  Drop,     // removed with everything inside
  Block,    // starts and ends a line
  Para,     // separated by a blank line
  Heading,  // on its own line, separated by blank lines
  Pre,      // whitespace preserved
  Quote,    // lines prefixed with "> "
  List,     // ul, ol, menu, dir
  Item,     // li
  DefDesc,  // dd: indented
  Table,
  Row,
  Cell,
  Br,
  Hr,
  Img,
  Anchor,
  RubyText,  // rt: "漢字(かんじ)"
};

struct KindEntry {
  std::string_view name;
  Kind kind;
};

// Sorted by name (binary search). embed, source, track and bgsound are void in HTML, but
// libxml2 2.9 makes them containers of whatever follows them; they render nothing themselves,
// so they are walked through as Inline to keep that following content.
constexpr std::array kKinds = {
    KindEntry{"a", Kind::Anchor},          KindEntry{"address", Kind::Block},
    KindEntry{"applet", Kind::Drop},       KindEntry{"area", Kind::Drop},
    KindEntry{"article", Kind::Block},     KindEntry{"aside", Kind::Block},
    KindEntry{"audio", Kind::Drop},        KindEntry{"base", Kind::Drop},
    KindEntry{"bgsound", Kind::Inline},      KindEntry{"blockquote", Kind::Quote},
    KindEntry{"body", Kind::Block},        KindEntry{"br", Kind::Br},
    KindEntry{"canvas", Kind::Drop},       KindEntry{"caption", Kind::Block},
    KindEntry{"center", Kind::Block},      KindEntry{"datalist", Kind::Drop},
    KindEntry{"dd", Kind::DefDesc},        KindEntry{"details", Kind::Block},
    KindEntry{"dialog", Kind::Block},      KindEntry{"dir", Kind::List},
    KindEntry{"div", Kind::Block},         KindEntry{"dl", Kind::Block},
    KindEntry{"dt", Kind::Block},          KindEntry{"embed", Kind::Inline},
    KindEntry{"fieldset", Kind::Block},    KindEntry{"figcaption", Kind::Block},
    KindEntry{"figure", Kind::Block},      KindEntry{"footer", Kind::Block},
    KindEntry{"form", Kind::Block},        KindEntry{"frame", Kind::Drop},
    KindEntry{"frameset", Kind::Drop},     KindEntry{"h1", Kind::Heading},
    KindEntry{"h2", Kind::Heading},        KindEntry{"h3", Kind::Heading},
    KindEntry{"h4", Kind::Heading},        KindEntry{"h5", Kind::Heading},
    KindEntry{"h6", Kind::Heading},        KindEntry{"head", Kind::Drop},
    KindEntry{"header", Kind::Block},      KindEntry{"hgroup", Kind::Block},
    KindEntry{"hr", Kind::Hr},             KindEntry{"html", Kind::Block},
    KindEntry{"iframe", Kind::Drop},       KindEntry{"ilayer", Kind::Drop},
    KindEntry{"img", Kind::Img},           KindEntry{"input", Kind::Drop},
    KindEntry{"layer", Kind::Drop},        KindEntry{"legend", Kind::Block},
    KindEntry{"li", Kind::Item},           KindEntry{"link", Kind::Drop},
    KindEntry{"listing", Kind::Pre},       KindEntry{"main", Kind::Block},
    KindEntry{"math", Kind::Drop},         KindEntry{"menu", Kind::List},
    KindEntry{"meta", Kind::Drop},         KindEntry{"nav", Kind::Block},
    KindEntry{"noembed", Kind::Drop},      KindEntry{"noframes", Kind::Drop},
    KindEntry{"noscript", Kind::Drop},     KindEntry{"object", Kind::Drop},
    KindEntry{"ol", Kind::List},           KindEntry{"optgroup", Kind::Drop},
    KindEntry{"option", Kind::Drop},       KindEntry{"p", Kind::Para},
    KindEntry{"param", Kind::Drop},        KindEntry{"plaintext", Kind::Pre},
    KindEntry{"portal", Kind::Drop},       KindEntry{"pre", Kind::Pre},
    KindEntry{"rt", Kind::RubyText},
    KindEntry{"script", Kind::Drop},       KindEntry{"search", Kind::Block},
    KindEntry{"section", Kind::Block},     KindEntry{"select", Kind::Drop},
    KindEntry{"source", Kind::Inline},       KindEntry{"style", Kind::Drop},
    KindEntry{"summary", Kind::Block},     KindEntry{"svg", Kind::Drop},
    KindEntry{"table", Kind::Table},       KindEntry{"td", Kind::Cell},
    KindEntry{"template", Kind::Drop},     KindEntry{"textarea", Kind::Pre},
    KindEntry{"th", Kind::Cell},           KindEntry{"title", Kind::Drop},
    KindEntry{"tr", Kind::Row},            KindEntry{"track", Kind::Inline},
    KindEntry{"ul", Kind::List},           KindEntry{"video", Kind::Drop},
    KindEntry{"xml", Kind::Drop},          KindEntry{"xmp", Kind::Pre},
};

constexpr bool kindsSorted() {
  for (std::size_t i = 1; i < kKinds.size(); ++i) {
    if (!(kKinds[i - 1].name < kKinds[i].name)) return false;
  }
  return true;
}
static_assert(kindsSorted(), "kKinds must be sorted by name");

Kind kindOf(std::string_view name) {
  const auto before = [](const KindEntry& e, std::string_view n) { return e.name < n; };
  const auto it = std::lower_bound(kKinds.begin(), kKinds.end(), name, before);
  return (it != kKinds.end() && it->name == name) ? it->kind : Kind::Inline;
}

// Inline style, squeezed: lower case without whitespace, so "Display : None" is found.
std::string squeezedStyle(const xmlNode* n) {
  std::string s;
  const std::string raw = attr(n, "style");
  s.reserve(raw.size());
  for (const char c : raw) {
    if (!isHtmlSpace(c)) s += lowerAscii(c);
  }
  return s;
}

// Hidden from a reader in a browser: display:none or the hidden attribute.
bool isHidden(const xmlNode* n) {
  if (hasAttr(n, "hidden")) return true;
  return squeezedStyle(n).find("display:none") != std::string::npos;
}

bool styleKeepsWhitespace(const xmlNode* n) {
  const std::string s = squeezedStyle(n);
  return s.find("white-space:pre") != std::string::npos ||
         s.find("white-space:break-spaces") != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// Findings pass: every element, including those inside dropped subtrees and beyond the depth
// limit, so the report says what was removed wherever it was.

constexpr std::array<std::string_view, 20> kUrlAttributes = {
    "action",   "archive", "background", "cite",      "code",   "codebase",   "data",
    "datasrc",  "dynsrc",  "formaction", "href",      "longdesc", "lowsrc",   "manifest",
    "ping",     "poster",  "src",        "srcset",    "usemap", "xlink:href",
};

// Elements whose data: URLs are inert pictures (never shown in the text anyway).
bool isMediaElement(std::string_view name) {
  return name == "img" || name == "source" || name == "picture" || name == "video" ||
         name == "audio" || name == "track" || name == "input";
}

void inspectElement(const xmlNode* n, FindingSet& found) {
  const std::string_view name = nameOf(n);
  if (name == "script") {
    found.add("html.script_removed", "script");
    if (hasAttr(n, "src")) found.add("html.active_url_removed", "script src");
  } else if (name == "iframe" || name == "frame" || name == "embed" || name == "portal" ||
             name == "layer" || name == "ilayer") {
    if (hasAttr(n, "src")) found.add("html.active_url_removed", std::string(name) + " src");
  } else if (name == "object") {
    if (hasAttr(n, "data") || hasAttr(n, "codebase") || hasAttr(n, "classid")) {
      found.add("html.active_url_removed", "object data");
    }
  } else if (name == "applet") {
    found.add("html.active_url_removed", "applet");
  } else if (name == "form") {
    found.add("html.form_removed", "form");
  } else if (name == "base") {
    found.add("html.base_removed", "base");
  } else if (name == "meta") {
    std::string equiv = attr(n, "http-equiv");
    std::size_t b = 0;
    while (b < equiv.size() && isHtmlSpace(equiv[b])) ++b;
    if (startsWithIgnoreCase(std::string_view(equiv).substr(b), "refresh")) {
      found.add("html.meta_refresh_removed", "meta refresh");
    }
  }
  for (const xmlAttr* a = n->properties; a != nullptr; a = a->next) {
    if (a->name == nullptr) continue;
    const std::string attrName = lowerCopy(reinterpret_cast<const char*>(a->name));
    if (attrName.size() > 2 && attrName.compare(0, 2, "on") == 0) {
      found.add("html.script_removed", attrName.substr(0, 32));
      continue;
    }
    if (attrName == "style") {
      const std::string style = squeezedStyle(n);
      if (style.find("javascript:") != std::string::npos ||
          style.find("vbscript:") != std::string::npos) {
        found.add("html.active_url_removed", "style url");
      }
      if (style.find("expression(") != std::string::npos) {
        found.add("html.script_removed", "style expression");
      }
      continue;
    }
    if (std::find(kUrlAttributes.begin(), kUrlAttributes.end(), attrName) ==
        kUrlAttributes.end()) {
      continue;
    }
    const Url url = classifyUrl(valueOf(a));
    if (url.cls != UrlClass::Active) continue;
    if (url.scheme == "data" && isMediaElement(name)) continue;
    found.add("html.active_url_removed", url.scheme + ": " + attrName);
  }
}

void inspectDocument(const xmlDoc* doc, FindingSet& found) {
  const auto* root = reinterpret_cast<const xmlNode*>(doc);
  for (const xmlNode* n = doc->children; n != nullptr; n = nextInSubtree(n, root, true)) {
    if (n->type == XML_ELEMENT_NODE) inspectElement(n, found);
  }
}

// ---------------------------------------------------------------------------------------------
// The text being built.
//
// Line ends are written lazily: block boundaries only raise `pendingNewlines_`, and the
// newlines are written when the next visible content arrives. That is what collapses the
// boundaries of nested blocks into one, keeps blank lines from piling up, and lets a link's
// "<URL>" still join the line its text ended on.

class TextBuilder {
 public:
  /// A block boundary: 1 = end the line, 2 = also leave a blank line.
  void blockBreak(int n) {
    pendingRaw_.clear();  // preserved spaces at the end of a pre do not indent the next block
    if (!lineStarted_) return;
    pendingNewlines_ = std::max(pendingNewlines_, n);
    noteBreakDepth();
  }

  /// <br>, or a newline inside preserved text: each one counts.
  void lineBreak() {
    if (!lineStarted_) return;
    pendingNewlines_ = std::min(pendingNewlines_ + 1, 2);
    pendingRaw_.clear();
    noteBreakDepth();
  }

  /// Collapsible whitespace between words.
  void space() { pendingSpace_ = true; }

  /// Drops collapsible whitespace pending before the next word ("(かんじ)" hugs its brackets).
  void glue() { pendingSpace_ = false; }

  /// A line holding only a non-breaking space is an empty line, as a browser draws it
  /// (Outlook writes its blank lines as <p>&nbsp;</p>).
  void markLine() { startLineIfNeeded(); }

  /// The next content continues a table row: separate it with " | " if it lands on this line.
  void cellBoundary() {
    if (lineHasText_ && pendingNewlines_ == 0) pendingCellSep_ = true;
  }

  /// Whitespace that must survive as written (pre, textarea).
  void rawSpace(char c) { pendingRaw_ += c; }

  /// Visible, non-space content.
  void word(std::string_view s) {
    if (s.empty()) return;
    const bool newLine = startLineIfNeeded();
    bool separated = newLine;
    if (pendingCellSep_ && lineHasText_) {
      out_ += " | ";
      separated = true;
    } else if (!pendingRaw_.empty()) {
      out_ += pendingRaw_;
      separated = true;
    } else if (pendingSpace_ && lineHasText_) {
      out_ += ' ';
      separated = true;
    }
    pendingCellSep_ = false;
    pendingSpace_ = false;
    pendingRaw_.clear();
    out_ += s;
    lineHasText_ = true;
    // Only the innermost link collects its text: an outer one then differs from its URL and
    // shows it, which is right, and the work per word stays constant however links nest.
    if (!captures_.empty() && captures_.back().size() <= kMaxCapture) {
      std::string& c = captures_.back();
      if (separated && !c.empty()) c += ' ';
      c += s;
    }
  }

  /// Appends to the line the last content ended on (a link's "<URL>" after its text).
  void suffix(std::string_view s) {
    if (!lineHasText_) {
      word(s);
      return;
    }
    out_ += ' ';
    out_ += s;
  }

  void pushPrefix(std::string first, std::string rest) {
    prefixes_.push_back(Prefix{std::move(first), std::move(rest), false});
  }
  void popPrefix() {
    if (!prefixes_.empty()) prefixes_.pop_back();
  }

  void beginCapture() { captures_.emplace_back(); }
  std::string endCapture() {
    if (captures_.empty()) return {};
    std::string s = std::move(captures_.back());
    captures_.pop_back();
    return s;
  }

  /// The text: lines right-trimmed, never two blank lines in a row, no blank lines at either
  /// end, one final LF when anything is left.
  std::string finish() const { return tidyLines(out_); }

  static std::string tidyLines(std::string_view text) {
    std::vector<std::string_view> lines;
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) nl = text.size();
      std::string_view line = text.substr(pos, nl - pos);
      while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
      lines.push_back(line);
      pos = nl + 1;
    }
    std::size_t begin = 0;
    std::size_t end = lines.size();
    while (begin < end && isBlankLike(lines[begin])) ++begin;
    while (end > begin && isBlankLike(lines[end - 1])) --end;
    std::string out;
    out.reserve(text.size() + 1);
    for (std::size_t i = begin; i < end; ++i) {
      if (i > begin && isBlankLike(lines[i]) && lines[i] == lines[i - 1]) continue;
      out += lines[i];
      out += '\n';
    }
    return out;
  }

 private:
  static constexpr std::size_t kMaxCapture = 4096;

  struct Prefix {
    std::string first;  // for the first line written inside the frame (a list marker)
    std::string rest;   // for the following lines (spaces of the marker's width, or "> ")
    bool used;
  };

  // Empty, or only the quote marks of a blank line inside a blockquote.
  static bool isBlankLike(std::string_view line) {
    return line.find_first_not_of("> ") == std::string_view::npos;
  }

  void trimLineEnd() {
    while (!out_.empty() && (out_.back() == ' ' || out_.back() == '\t')) out_.pop_back();
  }

  // Writes pending newlines and the prefixes of a new line; true when a new line was begun.
  bool startLineIfNeeded() {
    if (lineStarted_ && pendingNewlines_ == 0) return false;
    if (lineStarted_) {
      trimLineEnd();
      out_ += '\n';
      if (pendingNewlines_ >= 2) {
        // The blank line belongs to the outermost context that asked for it: the gap before
        // a blockquote is not quoted, the gap between two quoted paragraphs is.
        const std::size_t depth = std::min(blankDepth_, prefixes_.size());
        for (std::size_t i = 0; i < depth; ++i) out_ += prefixes_[i].rest;
        trimLineEnd();
        out_ += '\n';
      }
    }
    for (Prefix& p : prefixes_) {
      out_ += p.used ? p.rest : p.first;
      p.used = true;
    }
    lineStarted_ = true;
    lineHasText_ = false;
    pendingNewlines_ = 0;
    blankDepth_ = SIZE_MAX;
    pendingSpace_ = false;
    pendingCellSep_ = false;
    return true;
  }

  void noteBreakDepth() { blankDepth_ = std::min(blankDepth_, prefixes_.size()); }

  std::string out_;
  int pendingNewlines_ = 0;
  std::size_t blankDepth_ = SIZE_MAX;  // prefixes in force when the pending break was asked
  bool pendingSpace_ = false;
  bool pendingCellSep_ = false;
  std::string pendingRaw_;
  bool lineStarted_ = false;
  bool lineHasText_ = false;
  std::vector<Prefix> prefixes_;
  std::vector<std::string> captures_;
};

// ---------------------------------------------------------------------------------------------
// Rendering pass.

constexpr std::size_t kMaxAltBytes = 256;
constexpr std::string_view kBullet = "・ ";
constexpr std::string_view kBulletIndent = "   ";  // "・" is full width: two columns
constexpr std::string_view kRule = "----------------------------------------";

// A bounded decimal attribute (ol start, li value); nullopt-like `ok` false when absent/invalid.
bool parseInt(std::string_view s, long long& value) {
  std::size_t i = 0;
  while (i < s.size() && isHtmlSpace(s[i])) ++i;
  bool negative = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';
  if (i >= s.size() || !isDigitAscii(s[i])) return false;
  long long v = 0;
  for (; i < s.size() && isDigitAscii(s[i]); ++i) {
    if (v < 1'000'000'000) v = v * 10 + (s[i] - '0');
  }
  value = negative ? -std::min(v, 1'000'000'000LL) : std::min(v, 1'000'000'000LL);
  return true;
}

class Renderer {
 public:
  Renderer(const core::Limits& limits, TextBuilder& out) : limits_(limits), out_(out) {}

  void run(const xmlDoc* doc) {
    const xmlNode* n = doc->children;
    while (true) {
      if (n == nullptr) {
        if (open_.empty()) break;
        const Open top = open_.back();
        open_.pop_back();
        leave(top);
        n = top.node->next;
        continue;
      }
      switch (n->type) {
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE:
          text(n);
          n = n->next;
          break;
        case XML_ELEMENT_NODE:
          n = enter(n) ? n->children : n->next;
          break;
        default:  // comments, processing instructions, the doctype: never shown
          n = n->next;
          break;
      }
    }
  }

  bool depthLimited() const { return depthLimited_; }

 private:
  struct Open {
    const xmlNode* node;
    Kind kind;
    bool flat;          // beyond maxHtmlDepth: structure ignored, text kept
    int breaks;         // blockBreak on leaving
    bool prefix;        // pushed a prefix
    bool list;          // pushed a list context
    bool preserve;      // entered a whitespace-preserving context
    bool link;          // pushed a shown link (links_)
    bool ruby;          // an rt without rp: its reading is put in parentheses
  };

  struct ListContext {
    bool ordered;
    bool reversed;
    long long next;
  };

  // Returns true when the element was entered (its children are to be walked).
  bool enter(const xmlNode* n) {
    const std::string_view name = nameOf(n);
    const Kind kind = kindOf(name);
    if (kind == Kind::Drop || isHidden(n)) return false;
    Open o{n, kind, false, 0, false, false, false, false, false};
    if (open_.size() >= limits_.maxHtmlDepth) {
      depthLimited_ = true;
      o.flat = true;
      // Leaves still render (an image is content, a break is cheap and keeps text apart).
      if (kind == Kind::Img) image(n);
      if (kind == Kind::Br) out_.lineBreak();
      if (kind == Kind::Cell || kind == Kind::Row || kind == Kind::Block) out_.space();
      open_.push_back(std::move(o));
      return true;
    }
    switch (kind) {
      case Kind::Block:
        o.breaks = 1;
        break;
      case Kind::Para:
        if (n->parent != nullptr && n->parent->type == XML_ELEMENT_NODE &&
            nameOf(n->parent) == "p") {
          // libxml2 drops namespace prefixes, so Word's <o:p> arrives as a p inside a p (a real
          // <p> would have closed the open one): it is inline.
          break;
        }
        // Word and Outlook paragraphs carry margin 0 in their style sheet: one per line.
        o.breaks = attr(n, "class").find("Mso") != std::string::npos ? 1 : 2;
        break;
      case Kind::Heading:
        o.breaks = 2;
        break;
      case Kind::Pre:
        o.breaks = 1;
        o.preserve = true;
        break;
      case Kind::Quote:
        o.breaks = 1;
        o.prefix = true;
        break;
      case Kind::List: {
        o.breaks = lists_.empty() ? 2 : 1;
        o.list = true;
        ListContext ctx{name == "ol", false, 1};
        if (ctx.ordered) {
          ctx.reversed = hasAttr(n, "reversed");
          long long start = 0;
          if (parseInt(attr(n, "start"), start)) {
            ctx.next = start;
          } else if (ctx.reversed) {
            ctx.next = countItems(n);
          }
        }
        lists_.push_back(ctx);
        break;
      }
      case Kind::Item:
        o.breaks = 1;
        o.prefix = true;
        break;
      case Kind::DefDesc:
        o.breaks = 1;
        o.prefix = true;
        break;
      case Kind::Table:
      case Kind::Row:
        o.breaks = 1;
        break;
      case Kind::Cell:
        out_.cellBoundary();
        break;
      case Kind::Br:
        out_.lineBreak();
        break;
      case Kind::Hr:
        out_.blockBreak(1);
        out_.word(kRule);
        o.breaks = 1;
        break;
      case Kind::Img:
        image(n);
        break;
      case Kind::Anchor: {
        const xmlAttr* href = findAttr(n, "href");
        if (href != nullptr) {
          Url url = classifyUrl(valueOf(href));
          if (url.cls == UrlClass::Shown) {
            o.link = true;
            links_.push_back(std::move(url));
            out_.beginCapture();
          }
        }
        break;
      }
      case Kind::RubyText:
        if (!afterRp(n)) {
          o.ruby = true;
          out_.word("(");
          out_.glue();
        }
        break;
      case Kind::Inline:
      case Kind::Drop:
        break;
    }
    if (!o.preserve && styleKeepsWhitespace(n)) o.preserve = true;
    if (o.breaks > 0) out_.blockBreak(o.breaks);
    if (o.prefix) pushPrefixFor(kind, n);
    if (o.preserve) {
      ++preserveDepth_;
      stripLeadingNewline_ = kind == Kind::Pre;
    }
    open_.push_back(std::move(o));
    return true;
  }

  void leave(const Open& o) {
    if (o.flat) return;
    if (o.ruby) {
      out_.glue();
      out_.word(")");
    }
    if (o.link && !links_.empty()) {
      const std::string text = out_.endCapture();
      const std::string shown = displayUrl(links_.back().clean, limits_.maxLinkChars);
      if (!textRepeatsUrl(text, links_.back(), shown)) out_.suffix("<" + shown + ">");
      links_.pop_back();
    }
    if (o.preserve && preserveDepth_ > 0) --preserveDepth_;
    if (o.prefix) out_.popPrefix();
    if (o.list && !lists_.empty()) lists_.pop_back();
    if (o.breaks > 0) out_.blockBreak(o.breaks);
  }

  // True when the previous element sibling is an <rp>, which supplies the parentheses itself.
  static bool afterRp(const xmlNode* n) {
    for (const xmlNode* p = n->prev; p != nullptr; p = p->prev) {
      if (p->type == XML_ELEMENT_NODE) return nameOf(p) == "rp";
    }
    return false;
  }

  static long long countItems(const xmlNode* list) {
    long long count = 0;
    for (const xmlNode* c = list->children; c != nullptr; c = c->next) {
      if (c->type == XML_ELEMENT_NODE && nameOf(c) == "li") ++count;
    }
    return count;
  }

  void pushPrefixFor(Kind kind, const xmlNode* n) {
    if (kind == Kind::Quote) {
      out_.pushPrefix("> ", "> ");
    } else if (kind == Kind::DefDesc) {
      out_.pushPrefix("  ", "  ");
    } else if (lists_.empty() || !lists_.back().ordered) {
      out_.pushPrefix(std::string(kBullet), std::string(kBulletIndent));
    } else {
      ListContext& ctx = lists_.back();
      long long value = 0;
      if (parseInt(attr(n, "value"), value)) ctx.next = value;
      std::string marker = std::to_string(ctx.next) + ". ";
      ctx.next += ctx.reversed ? -1 : 1;
      ctx.next = std::clamp(ctx.next, -2'000'000'000LL, 2'000'000'000LL);
      std::string indent(marker.size(), ' ');
      out_.pushPrefix(std::move(marker), std::move(indent));
    }
  }

  // A 1×1 (or 0×0) picture is a tracking pixel, not content.
  static bool isPixel(const xmlNode* n) {
    long long w = 0;
    long long h = 0;
    return parseInt(attr(n, "width"), w) && parseInt(attr(n, "height"), h) && w <= 1 && h <= 1;
  }

  void image(const xmlNode* n) {
    if (isPixel(n)) return;
    std::string alt;
    bool space = false;
    for (const char c : attr(n, "alt")) {
      if (isHtmlSpace(c)) {
        space = !alt.empty();
        continue;
      }
      if (space) alt += ' ';
      space = false;
      alt += c;
    }
    if (alt.size() > kMaxAltBytes) {
      truncateUtf8(alt, kMaxAltBytes);
      alt += "…";
    }
    out_.word(alt.empty() ? std::string("[画像]") : "[画像: " + alt + "]");
  }

  void text(const xmlNode* n) {
    if (n->content == nullptr) return;
    std::string_view s = reinterpret_cast<const char*>(n->content);
    if (preserveDepth_ > 0) {
      if (stripLeadingNewline_) {
        // As in a browser, a newline right after <pre> is not content.
        if (s.substr(0, 2) == "\r\n") s.remove_prefix(2);
        else if (!s.empty() && s[0] == '\n') s.remove_prefix(1);
      }
      stripLeadingNewline_ = false;
      preservedText(s);
    } else {
      collapsedText(s);
    }
  }

  void preservedText(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
      const char c = s[i];
      if (c == '\r' || c == '\n') {
        out_.lineBreak();
        i += (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ? 2 : 1;
      } else if (c == ' ' || c == '\t' || c == '\f') {
        out_.rawSpace(c == '\f' ? ' ' : c);
        ++i;
      } else if (s.substr(i, 2) == "\xC2\xA0") {
        out_.rawSpace(' ');
        i += 2;
      } else {
        std::size_t j = i;
        while (j < s.size() && s[j] != '\r' && s[j] != '\n' && s[j] != ' ' && s[j] != '\t' &&
               s[j] != '\f' && s.substr(j, 2) != "\xC2\xA0") {
          ++j;
        }
        out_.word(s.substr(i, j - i));
        i = j;
      }
    }
  }

  void collapsedText(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
      if (isHtmlSpace(s[i])) {
        out_.space();
        ++i;
      } else if (s.substr(i, 2) == "\xC2\xA0") {
        // A non-breaking space is an ordinary space in the text, but it makes a line visible.
        out_.markLine();
        out_.space();
        i += 2;
      } else {
        std::size_t j = i;
        while (j < s.size() && !isHtmlSpace(s[j]) && s.substr(j, 2) != "\xC2\xA0") ++j;
        out_.word(s.substr(i, j - i));
        i = j;
      }
    }
  }

  const core::Limits& limits_;
  TextBuilder& out_;
  std::vector<Open> open_;
  std::vector<ListContext> lists_;
  std::vector<Url> links_;
  int preserveDepth_ = 0;
  bool stripLeadingNewline_ = false;
  bool depthLimited_ = false;
};

// Keeps a cut input from ending inside a tag or a multibyte character: back off to the last
// newline or '>' in the final 4 KB when there is one.
std::string_view cutInput(std::string_view bytes, std::size_t max) {
  if (bytes.size() <= max) return bytes;
  std::string_view cut = bytes.substr(0, max);
  const std::size_t floor = max > 4096 ? max - 4096 : 0;
  const std::size_t at = cut.find_last_of("\n>");
  if (at != std::string_view::npos && at >= floor) cut = cut.substr(0, at + 1);
  return cut;
}

}  // namespace

HtmlResult htmlToText(std::string_view bytes, std::string_view mimeCharset,
                      const core::Limits& limits) {
  HtmlResult result;
  FindingSet found;
  const std::uint64_t maxBytes =
      std::min<std::uint64_t>(limits.maxHtmlBytes, static_cast<std::uint64_t>(INT_MAX) / 4);
  bool cut = false;
  // Decoding can grow legacy-charset bytes up to threefold; reading at most four times the
  // limit keeps the work bounded while still filling the parser's budget after decoding.
  if (bytes.size() > maxBytes * 4) {
    bytes = cutInput(bytes, maxBytes * 4);
    cut = true;
  }
  core::Decoded decoded = decodeHtml(bytes, mimeCharset);
  result.charset = decoded.charset;
  std::string utf8 = std::move(decoded.utf8);
  if (utf8.size() > maxBytes) {
    truncateUtf8(utf8, maxBytes);
    cut = true;
  }
  if (cut) {
    found.add("limit.html_bytes", std::to_string(maxBytes) + " bytes parsed");
  }
  std::string markup;
  // libxml2 wraps the first text of a body-less fragment ("Hello<br>World<div>…") in an implied
  // <p>, which would give that first text paragraph spacing no browser shows. An explicit
  // <body> in front prevents it; head elements that follow it are dropped kinds anyway.
  if (findIgnoreCase(utf8, "<body", 0) == std::string_view::npos) markup = "<body>";
  markup += tidyMarkup(utf8);
  utf8.clear();
  utf8.shrink_to_fit();

  ParseGuard guard;
  const DocPtr doc = parseHtml(markup, guard);
  TextBuilder builder;
  bool depthLimited = false;
  if (doc) {
    inspectDocument(doc.get(), found);
    Renderer renderer(limits, builder);
    renderer.run(doc.get());
    depthLimited = renderer.depthLimited();
  }
  if (guard.elementsExceeded) {
    found.add("limit.html_bytes", "more than " + std::to_string(kMaxElements) + " elements");
  }
  if (depthLimited) {
    found.add("limit.html_depth", "deeper than " + std::to_string(limits.maxHtmlDepth));
  }
  if (guard.scanExceeded) {
    found.add("limit.html_depth", "parse stopped: too many unclosed elements");
  }
  found.appendTo(result.findings);

  std::string text = builder.finish();
  text::neutralize(text, result.findings);
  // Neutralizing can leave a line with trailing spaces (a control character removed after
  // them) or empty; tidy once more so the layout promises hold for the final text.
  result.text = TextBuilder::tidyLines(text);
  return result;
}

}  // namespace mugai::sanitizers::html
