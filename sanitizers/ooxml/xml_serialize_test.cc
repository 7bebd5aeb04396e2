// Tests for the OOXML rebuilder's XML serializer. The reference is libxml2's own serializer
// (xmlDocDumpMemoryEnc, UTF-8): on every tree, the output must be libxml2's markup with Office's
// layout (CRLF after the declaration, no newline at the end), and it must parse back to a tree
// that serializes to the same bytes.
#include "sanitizers/ooxml/xml_serialize.h"

#include <doctest/doctest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <zip.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "sanitizers/ooxml/xml_reference.h"
#include "unit/test_support.h"

using mugai::sanitizers::ooxml::serializeXml;

namespace {

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using Doc = std::unique_ptr<xmlDoc, DocFree>;

// Parsed as the rebuilder parses.
Doc parse(std::string_view s) {
  return Doc(xmlReadMemory(s.data(), static_cast<int>(s.size()), nullptr, nullptr,
                           mugai::sanitizers::ooxml::kXmlParseOptions));
}

std::string reference(xmlDoc* doc) {
  const auto ref = mugai::sanitizers::ooxml::libxml2Reference(doc);
  REQUIRE(ref.has_value());
  return *ref;
}

const xmlChar* xc(const char* s) { return reinterpret_cast<const xmlChar*>(s); }

// Checks one document against the reference and for a fixed point; returns our bytes.
std::string checkOne(std::string_view input) {
  const Doc doc = parse(input);
  REQUIRE(doc != nullptr);
  const std::string ours = serializeXml(doc.get());
  CHECK(ours == reference(doc.get()));
  const Doc again = parse(ours);
  REQUIRE(again != nullptr);
  CHECK(serializeXml(again.get()) == ours);
  return ours;
}

}  // namespace

TEST_SUITE("ooxml/xml_serialize") {
  TEST_CASE("Office's layout: CRLF after the declaration, nothing after the root") {
    const std::string in =
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n"
        "<w:document xmlns:w=\"urn:w\"><w:body><w:p><w:r><w:t>本文</w:t></w:r></w:p>"
        "<w:sectPr/></w:body></w:document>";
    CHECK(checkOne(in) == in);
  }

  TEST_CASE("escaping of text and attribute values, as libxml2 does it") {
    const std::string out = checkOne(
        "<a x=\"&amp;&lt;&gt;&quot;'&#9;&#10;&#13;\">&amp; &lt; &gt; \" ' &#13; ]]&gt;\n\t"
        "<b/></a>");
    CHECK(out.find("x=\"&amp;&lt;&gt;&quot;'&#9;&#10;&#13;\"") != std::string::npos);
    CHECK(out.find(">&amp; &lt; &gt; \" ' &#13; ]]&gt;\n\t<b/></a>") != std::string::npos);
  }

  TEST_CASE("namespaces: default, prefixed, redeclared, on attributes, xml:space") {
    checkOne(
        "<r xmlns=\"urn:d\" xmlns:p=\"urn:p\"><p:c p:a=\"1\" b=\"2\" xml:space=\"preserve\">"
        "<d xmlns=\"urn:other\"/><p:e xmlns:p=\"urn:p2\" p:f=\"&quot;\"/></p:c></r>");
  }

  TEST_CASE("a namespace URI is escaped like an attribute value (libxml2 writes it raw)") {
    // libxml2 keeps '&' in a namespace URI as the reference "&#38;" (and '<', '>', '"' as
    // characters): the output must parse back to the same URI, whatever it holds.
    const Doc doc = parse("<r xmlns:p=\"urn:a&amp;b&#38;&lt;c&gt;&quot;\"><p:x/></r>");
    REQUIRE(doc != nullptr);
    const auto href = [](const Doc& d) {
      const xmlNs* ns = xmlDocGetRootElement(d.get())->nsDef;
      REQUIRE(ns != nullptr);
      return std::string(reinterpret_cast<const char*>(ns->href));
    };
    const std::string out = serializeXml(doc.get());
    CHECK(out.find("xmlns:p=\"urn:a&#38;b&#38;&lt;c&gt;&quot;\"") != std::string::npos);
    const Doc again = parse(out);
    REQUIRE(again != nullptr);
    CHECK(href(again) == href(doc));
    CHECK(serializeXml(again.get()) == out);
    // An '&' that is not that reference (only a hand-built tree can hold one) is refused.
    xmlNs* ns = xmlDocGetRootElement(again.get())->nsDef;
    xmlFree(const_cast<xmlChar*>(ns->href));
    ns->href = xmlStrdup(xc("urn:a&b"));
    CHECK_THROWS_AS(serializeXml(again.get()), std::invalid_argument);
  }

  TEST_CASE("comments, processing instructions, CDATA and standalone values") {
    checkOne("<?xml version=\"1.0\" standalone=\"no\"?><!--top--><?pi data?><r><![CDATA[<x>&]]>"
             "<!-- in --><?mso-application progid=\"Word.Document\"?></r><!--after-->");
    checkOne("<?xml version=\"1.0\"?><r/>");
    checkOne("<r>  </r>");
  }

  TEST_CASE("nodes a cleaned tree may have: empty, unlinked and added ones") {
    const Doc doc = parse("<r xmlns:a=\"urn:a\"><x><y/></x><z>t</z></r>");
    REQUIRE(doc != nullptr);
    xmlNode* root = xmlDocGetRootElement(doc.get());
    xmlNode* x = root->children;
    xmlUnlinkNode(x);
    xmlFreeNode(x);
    xmlNode* added = xmlNewChild(root, root->nsDef, xc("pic"), nullptr);
    xmlNewProp(added, xc("name"), xc("a \"quoted\" <name> & more"));
    xmlNodeAddContent(added, xc("text\r\n"));
    const std::string out = serializeXml(doc.get());
    CHECK(out == reference(doc.get()));
    CHECK(out.find("<a:pic name=\"a &quot;quoted&quot; &lt;name&gt; &amp; more\">text&#13;\n"
                   "</a:pic>") != std::string::npos);
  }

  TEST_CASE("a node kind an OOXML part never keeps is refused, not written") {
    const Doc doc = parse("<r/>");
    REQUIRE(doc != nullptr);
    xmlNode* ref = xmlNewReference(doc.get(), xc("&ext;"));
    REQUIRE(ref != nullptr);
    xmlAddChild(xmlDocGetRootElement(doc.get()), ref);
    CHECK_THROWS_AS(serializeXml(doc.get()), std::invalid_argument);
  }

  TEST_CASE("deep trees are written without recursion") {
    std::string in;
    for (int i = 0; i < 5000; ++i) in += "<d>";
    for (int i = 0; i < 5000; ++i) in += "</d>";
    const Doc doc = Doc(xmlReadMemory(in.data(), static_cast<int>(in.size()), nullptr, nullptr,
                                      XML_PARSE_NONET | XML_PARSE_HUGE));
    REQUIRE(doc != nullptr);
    CHECK(serializeXml(doc.get()) == reference(doc.get()));
  }
}

TEST_SUITE("third-party") {
  TEST_CASE("ooxml/xml_serialize: every XML part of every third-party Office file") {
    const auto root = mugai::testing::thirdPartyRoot();
    if (!root) return;
    int parts = 0;
    for (const auto& f : std::filesystem::recursive_directory_iterator(*root)) {
      if (!f.is_regular_file()) continue;
      std::string ext = f.path().extension().string();
      for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (ext.size() != 5 || (ext.substr(0, 4) != ".doc" && ext.substr(0, 4) != ".xls" &&
                              ext.substr(0, 4) != ".ppt" && ext.substr(0, 4) != ".pot" &&
                              ext.substr(0, 4) != ".pps" && ext.substr(0, 4) != ".dot")) {
        continue;
      }
      const std::string bytes = mugai::testing::readFile(f.path());
      zip_error_t err;
      zip_error_init(&err);
      zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &err);
      zip_t* za = src == nullptr ? nullptr : zip_open_from_source(src, ZIP_RDONLY, &err);
      zip_error_fini(&err);
      if (za == nullptr) {  // an encrypted (CFB) or broken file: nothing to serialize
        if (src != nullptr) zip_source_free(src);
        continue;
      }
      for (zip_int64_t i = 0; i < zip_get_num_entries(za, 0); ++i) {
        zip_stat_t st;
        if (zip_stat_index(za, static_cast<zip_uint64_t>(i), 0, &st) != 0) continue;
        const std::string name = st.name;
        if (!name.ends_with(".xml") && !name.ends_with(".rels") && !name.ends_with(".vml")) {
          continue;
        }
        if (st.size > (8u << 20)) continue;
        std::string data(st.size, '\0');
        zip_file_t* zf = zip_fopen_index(za, static_cast<zip_uint64_t>(i), 0);
        if (zf == nullptr) continue;
        const zip_int64_t got = zip_fread(zf, data.data(), st.size);
        zip_fclose(zf);
        if (got != static_cast<zip_int64_t>(st.size)) continue;
        const Doc doc = parse(data);
        if (doc == nullptr || doc->intSubset != nullptr) continue;  // the rebuilder refuses it
        CAPTURE(f.path().string());
        CAPTURE(name);
        CHECK(serializeXml(doc.get()) == reference(doc.get()));
        ++parts;
      }
      zip_discard(za);
    }
    MESSAGE(parts << " XML parts compared");
    CHECK(parts > 100);
  }
}
