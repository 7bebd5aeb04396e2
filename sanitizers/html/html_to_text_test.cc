// Tests for HTML → text: layout rows with exact expected text, safety rows that list what must
// and must not appear, charset rows in the Japanese encodings, adversarial inputs (deep nesting,
// huge attributes, NUL bytes, parser tricks), limits at N and N+1, and the third-party corpus.
#include "sanitizers/html/html_to_text.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using mugai::core::Limits;
using mugai::sanitizers::html::HtmlResult;
using mugai::sanitizers::html::htmlToText;
using namespace std::literals;

bool validUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

bool hasFinding(const HtmlResult& r, std::string_view kind) {
  return std::any_of(r.findings.begin(), r.findings.end(),
                     [&](const auto& f) { return f.kind == kind; });
}

// The layout promises every output keeps, whatever the input.
void checkShape(const std::string& text) {
  CHECK(validUtf8(text));
  CHECK(text.find('\r') == std::string::npos);
  CHECK(text.find("\n\n\n") == std::string::npos);
  CHECK(text.find(" \n") == std::string::npos);
  CHECK(text.find('\0') == std::string::npos);
  if (!text.empty()) {
    CHECK(text.back() == '\n');
    CHECK(text.front() != '\n');
    CHECK(text.substr(text.size() - std::min<std::size_t>(2, text.size())) != "\n\n");
  }
}

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct LayoutCase {
  const char* name;
  std::string_view html;
  std::string_view expected;
};

// Exact renderings: structure survives as plain text.
const LayoutCase kLayout[] = {
    {"paragraphs and br", "<p>one</p><p>two<br>three</p>", "one\n\ntwo\nthree\n"},
    {"br twice leaves one blank line", "a<br><br><br><br>b", "a\n\nb\n"},
    {"whitespace collapses", "<div>  a \n  b\t c </div>", "a b c\n"},
    {"divs are lines", "<div>one</div><div>two</div><div><br></div><div>three</div>",
     "one\ntwo\n\nthree\n"},
    {"a body-less fragment gets no paragraph spacing", "Hello<br>World<div>x</div>",
     "Hello\nWorld\nx\n"},
    {"inline elements join words", "<p>a<b>b</b> <i>c</i>d</p>", "ab cd\n"},
    {"headings stand apart", "<h1>Title</h1><p>Body</p><h2>Sub</h2>text",
     "Title\n\nBody\n\nSub\n\ntext\n"},
    {"unordered list", "<ul><li>a</li><li>b</li></ul>", "・ a\n・ b\n"},
    {"ordered list honours start and nests",
     "<ol start=3><li>x<ol><li>y</li><li>z</li></ol></li><li>w</li></ol>",
     "3. x\n   1. y\n   2. z\n4. w\n"},
    {"nested bullets are indented", "<ul><li>a<ul><li>b<ul><li>c</ul></ul><li>d</ul>",
     "・ a\n   ・ b\n      ・ c\n・ d\n"},
    {"li value and reversed", "<ol reversed><li>a<li>b<li value=10>c</ol>", "3. a\n2. b\n10. c\n"},
    {"list after text gets a blank line", "<p>Items:</p><ul><li>x</ul><p>end</p>",
     "Items:\n\n・ x\n\nend\n"},
    {"table rows and cells",
     "<table><tr><th>Name</th><th>Qty</th></tr><tr><td>Apple</td><td>3</td></tr></table>",
     "Name | Qty\nApple | 3\n"},
    {"empty and nbsp cells do not add separators",
     "<table><tr><td>a</td><td></td><td>&nbsp;</td><td>b</td></tr></table>", "a | b\n"},
    {"nested tables are flattened to lines",
     "<table><tr><td>outer<table><tr><td>i1</td><td>i2</td></tr></table></td><td>o2</td></tr>"
     "</table>",
     "outer\ni1 | i2\no2\n"},
    {"blockquote lines are quoted",
     "<p>On Monday:</p><blockquote><p>quoted one</p><p>quoted two</p></blockquote><p>reply</p>",
     "On Monday:\n\n> quoted one\n>\n> quoted two\n\nreply\n"},
    {"nested blockquote", "<blockquote>a<blockquote>b</blockquote></blockquote>", "> a\n> > b\n"},
    {"pre keeps whitespace", "<p>x</p><pre>\n  a  b\n\tc\n</pre><p>y</p>",
     "x\n\n  a  b\n\tc\n\ny\n"},
    {"spaces ending a pre do not indent what follows", "<pre>a  </pre><p>b</p>", "a\n\nb\n"},
    {"textarea keeps whitespace", "<textarea>l1\n   l2</textarea>", "l1\n   l2\n"},
    {"hr is a rule line", "a<hr>b",
     "a\n" "----------" "----------" "----------" "----------" "\nb\n"},
    {"definition list", "<dl><dt>Term</dt><dd>Definition</dd></dl>", "Term\n  Definition\n"},
    {"Outlook paragraphs are single lines with nbsp blank lines",
     "<p class=MsoNormal>line1<o:p></o:p></p><p class=MsoNormal>line2</p>"
     "<p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>para2</p>",
     "line1\nline2\n\npara2\n"},
    {"http link shows its URL", "<a href=\"https://example.com/path\">Example</a>",
     "Example <https://example.com/path>\n"},
    {"link whose text is its URL is shown once",
     "<a href=\"https://example.com/\">https://example.com</a>", "https://example.com\n"},
    {"mailto whose text is the address is shown once",
     "<a href=\"mailto:info@example.jp\">info@example.jp</a>", "info@example.jp\n"},
    {"mailto with other text", "<a href=\"mailto:info@example.jp\">問い合わせ</a>",
     "問い合わせ <mailto:info@example.jp>\n"},
    {"link URL joins the line its text ended on",
     "<a href=\"http://example.com/x\"><p>Read more</p></a><p>next</p>",
     "Read more <http://example.com/x>\n\nnext\n"},
    {"relative link shows only its text", "<a href=\"/relative/path\">rel</a>", "rel\n"},
    {"file and cid links show only their text",
     "<a href=\"file:///etc/passwd\">f</a> <a href=\"cid:part1@x\">c</a>", "f c\n"},
    {"URL spaces and brackets are percent-encoded",
     "<a href=\" https://ex.com/a b<c>&quot;\">t</a>", "t <https://ex.com/a%20b%3Cc%3E%22>\n"},
    {"non-ASCII in a URL is percent-encoded", "<a href=\"https://ex.com/日\">t</a>",
     "t <https://ex.com/%E6%97%A5>\n"},
    {"image with alt", "<img src=\"https://x.example/a.png\" alt=\" ロゴ  画像 \">", "[画像: ロゴ 画像]\n"},
    {"image without alt", "<p>a <img src=\"https://x.example/a.png\"> b</p>", "a [画像] b\n"},
    {"tracking pixel is not content",
     "<p>t<img src=\"https://x.example/p.gif\" width=1 height=1></p>",
     "t\n"},
    {"entities are decoded",
     "<p>&amp; &lt;tag&gt; &#x3042;&#12354; a&nbsp;&nbsp;b &quot;q&quot;</p>",
     "& <tag> ああ a b \"q\"\n"},
    {"display none is not shown", "<div style=\"DISPLAY : none\">preheader</div><p>body</p>",
     "body\n"},
    {"hidden attribute is not shown", "<p hidden>secret</p><p>shown</p>", "shown\n"},
    {"NUL bytes do not cut the text", "<p>before\0after</p><p>tail</p>"sv, "beforeafter\n\ntail\n"},
    {"unclosed tags", "<p>one<p>two<ul><li>three<li>four", "one\n\ntwo\n\n・ three\n・ four\n"},
    {"CDATA in HTML is hidden as a browser hides it", "<p>a<![CDATA[hidden]]>b</p>", "ab\n"},
    {"Word conditional markup is not shown",
     "<p class=MsoListParagraph><![if !supportLists]>1.&nbsp;<![endif]>Item</p>", "1. Item\n"},
    {"bogus end tags are hidden", "<p>a</ foo>b</>c</p>", "abc\n"},
    {"abrupt empty comment", "<p>a<!-->b</p>", "ab\n"},
    {"comments and processing instructions", "<p>a<!-- secret -->b<?php echo 1 ?>c</p>", "abc\n"},
    {"embed does not swallow what follows", "<p>a<embed src=\"x.swf\">b</p><p>c</p>",
     "ab\n\nc\n"},
    {"ruby reading in parentheses", "<p><ruby>漢字<rt>かんじ</rt></ruby>です</p>", "漢字(かんじ)です\n"},
    {"ruby with rp is not doubled", "<ruby>漢<rp>(</rp><rt>かん</rt><rp>)</rp></ruby>", "漢(かん)\n"},
    {"select options are dropped", "<p>Choose <select><option>one<option>two</select> now</p>",
     "Choose now\n"},
    {"empty document", "", ""},
    {"only markup", "<html><head><title>t</title></head><body></body></html>", ""},
};

TEST_SUITE("html") {
  TEST_CASE("html: block structure, lists, tables, links and images survive as plain text") {
    const Limits limits;
    for (const LayoutCase& c : kLayout) {
      const std::string name = c.name;
      CAPTURE(name);
      const HtmlResult r = htmlToText(c.html, "utf-8", limits);
      CHECK(r.text == c.expected);
      checkShape(r.text);
    }
  }

  struct SafetyCase {
    const char* name;
    std::string_view html;
    std::vector<std::string_view> present;
    std::vector<std::string_view> absent;
    std::vector<std::string_view> findings;
  };

  TEST_CASE("html: active content leaves no trace in the text and is reported") {
    const std::vector<SafetyCase> cases = {
        {"script, style, comment, template, iframe, object, noscript are dropped",
         "<p>a</p><script>alert(1)</script><style>p{color:red}</style><!-- secret -->"
         "<template><p>tpl</p></template><iframe src='https://evil.example/f'>fallback</iframe>"
         "<object data='https://evil.example/o'>objtext</object><noscript>ns</noscript>"
         "<embed src='https://evil.example/e'><applet code='x.class'>ap</applet>"
         "<svg><text>svgtext</text></svg><math><mi>mathtext</mi></math><p>b</p>",
         {"a", "b"},
         {"evil", "alert", "color", "secret", "tpl", "fallback", "objtext", "ns", "ap\n",
          "svgtext", "mathtext"},
         {"html.script_removed", "html.active_url_removed"}},
        {"script src", "<script src='https://evil.example/x.js'></script><p>t</p>", {"t"},
         {"evil"}, {"html.script_removed", "html.active_url_removed"}},
        {"head and title are dropped",
         "<html><head><title>TitleText</title><link rel=stylesheet href='https://evil.example/'>"
         "</head><body>body</body></html>",
         {"body"}, {"TitleText", "evil"}, {}},
        {"form action never appears",
         "<form action='https://evil.example/post'><p>Name: <input name=n value=v></p>"
         "<button>送信</button></form>",
         {"Name:", "送信"}, {"evil", "post"}, {"html.form_removed"}},
        {"meta refresh", "<head><meta http-equiv=' Refresh' content='0;url=https://evil.example/'>"
         "</head><body>hi</body>", {"hi"}, {"evil"}, {"html.meta_refresh_removed"}},
        {"base href",
         "<head><base href='https://evil.example/'></head><a href='page.html'>link</a>",
         {"link"}, {"evil", "page.html"}, {"html.base_removed"}},
        {"event handlers",
         "<body onload='steal()'><p onclick=\"go('https://evil.example')\">text</p>",
         {"text"}, {"steal", "evil"}, {"html.script_removed"}},
        {"javascript link", "<a href=\"javascript:alert(1)\">click</a>", {"click"},
         {"javascript", "alert"}, {"html.active_url_removed"}},
        {"obfuscated javascript link", "<a href=\" java&#x09;script:alert(1)\">t</a>", {"t"},
         {"script", "alert"}, {"html.active_url_removed"}},
        {"vbscript link", "<a href='VBScript:msgbox(1)'>t</a>", {"t"}, {"msgbox", "VBScript"},
         {"html.active_url_removed"}},
        {"data link", "<a href=\"data:text/html;base64,PHNjcmlwdD4=\">x</a>", {"x"},
         {"data:", "base64"}, {"html.active_url_removed"}},
        {"data image is not an active URL but never shown",
         "<img src=\"data:image/png;base64,iVBORw0KGgo=\" alt=pic>", {"[画像: pic]"},
         {"data:", "iVBOR"}, {}},
        {"script inside a table", "<table><tr><td>cell<script>alert(1)</script></td></tr>"
         "<script>alert(2)</script></table>", {"cell"}, {"alert"}, {"html.script_removed"}},
        {"split script tag", "<p>x</scr<script>ipt>alert(1)</script>y</p>", {"x"},
         {"<script", "</script", "<scr"}, {}},
        {"NUL inside a script tag name", "<p>a</p><scr\0ipt>alert(3)</script><p>b</p>"sv,
         {"a", "b"}, {"alert"}, {"html.script_removed"}},
        {"script end tag with spaces", "<script>alert(4)</script ><p>ok</p>", {"ok"}, {"alert"},
         {"html.script_removed"}},
        {"uppercase script", "<SCRIPT SRC=//evil.example/x.js>alert(5)</SCRIPT><p>ok</p>", {"ok"},
         {"alert", "evil"}, {"html.script_removed", "html.active_url_removed"}},
        {"script hidden in a comment-like body",
         "<script><!--<script>alert(6)</script>--></script><p>ok</p>", {"ok"}, {"alert"},
         {"html.script_removed"}},
        {"frameset",
         "<frameset><frame src='https://evil.example/'></frameset><noframes>nf</noframes>",
         {}, {"evil", "nf"}, {"html.active_url_removed"}},
        {"javascript in CSS", "<p style=\"background:url('javascript:alert(1)')\">t</p>", {"t"},
         {"alert"}, {"html.active_url_removed"}},
        {"bidi override is neutralized", "<p>invoice\xE2\x80\xAEtxt.exe</p>", {"invoice"},
         {"\xE2\x80\xAE"}, {}},
    };
    const Limits limits;
    for (const SafetyCase& c : cases) {
      const std::string name = c.name;
      CAPTURE(name);
      const HtmlResult r = htmlToText(c.html, "", limits);
      CAPTURE(r.text);
      for (std::string_view s : c.present) CHECK(r.text.find(s) != std::string::npos);
      for (std::string_view s : c.absent) CHECK(r.text.find(s) == std::string::npos);
      for (std::string_view f : c.findings) CHECK(hasFinding(r, f));
      checkShape(r.text);
    }
  }

  TEST_CASE("html: documents without active content report nothing") {
    const Limits limits;
    const HtmlResult r = htmlToText(
        "<p>hello <a href='https://example.com/'>x</a> <img src='data:image/gif;base64,R0'></p>",
        "utf-8", limits);
    CHECK(r.findings.empty());
  }

  struct CharsetCase {
    const char* name;
    std::string_view html;
    std::string_view mimeCharset;
    std::string_view expected;
  };

  TEST_CASE("html: Japanese text decodes from the MIME label, from <meta>, or by detection") {
    // ①お知らせ in CP932, 日本語テキスト in EUC-JP, 会議のお知らせ in ISO-2022-JP.
    const std::vector<CharsetCase> cases = {
        {"UTF-8 by label", "<p>こんにちは、世界</p>", "utf-8", "こんにちは、世界\n"},
        {"Shift_JIS by label (CP932 circled digit)",
         "<p>\x87\x40\x82\xA8\x92\x6D\x82\xE7\x82\xB9</p>", "shift_jis", "①お知らせ\n"},
        {"Shift_JIS by meta only",
         "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\">"
         "</head><body><p>\x87\x40\x82\xA8\x92\x6D\x82\xE7\x82\xB9</p></body></html>",
         "", "①お知らせ\n"},
        {"Shift_JIS by meta when the MIME label does not fit the bytes",
         "<meta charset=\"shift_jis\"><p>\x87\x40\x82\xA8\x92\x6D\x82\xE7\x82\xB9</p>",
         "us-ascii", "①お知らせ\n"},
        {"EUC-JP by label", "<p>\xC6\xFC\xCB\xDC\xB8\xEC\xA5\xC6\xA5\xAD\xA5\xB9\xA5\xC8</p>",
         "euc-jp", "日本語テキスト\n"},
        {"EUC-JP by meta only",
         "<meta charset='euc-jp'><p>\xC6\xFC\xCB\xDC\xB8\xEC\xA5\xC6\xA5\xAD\xA5\xB9\xA5\xC8</p>",
         "", "日本語テキスト\n"},
        {"ISO-2022-JP by label",
         "<p>\x1B\x24\x42\x32\x71\x35\x44\x24\x4E\x24\x2A\x43\x4E\x24\x69\x24\x3B\x1B\x28\x42</p>",
         "iso-2022-jp", "会議のお知らせ\n"},
        {"ISO-2022-JP by meta only",
         "<meta http-equiv=content-type content='text/html;charset=iso-2022-jp'>"
         "<p>\x1B\x24\x42\x32\x71\x35\x44\x24\x4E\x24\x2A\x43\x4E\x24\x69\x24\x3B\x1B\x28\x42</p>",
         "", "会議のお知らせ\n"},
        {"ISO-2022-JP by meta although labelled us-ascii",
         "<meta charset=iso-2022-jp>"
         "<p>\x1B\x24\x42\x32\x71\x35\x44\x24\x4E\x24\x2A\x43\x4E\x24\x69\x24\x3B\x1B\x28\x42</p>",
         "us-ascii", "会議のお知らせ\n"},
        {"a meta declaration inside a comment does not count",
         "<!-- <meta charset=euc-jp> --><p>\xE6\x97\xA5\xE6\x9C\xAC</p>", "", "日本\n"},
        {"meta in the document is ignored by the parser once decoded",
         "<meta charset=iso-8859-1><p>\xE6\x97\xA5\xE6\x9C\xAC</p>", "utf-8", "日本\n"},
    };
    const Limits limits;
    for (const CharsetCase& c : cases) {
      const std::string name = c.name;
      CAPTURE(name);
      const HtmlResult r = htmlToText(c.html, c.mimeCharset, limits);
      CHECK(r.text == c.expected);
      CHECK_FALSE(r.charset.empty());
    }
  }

  TEST_CASE("html: UTF-7 script is never active") {
    // "<script>alert(7)</script><p>ok</p>" in UTF-7.
    const std::string_view html =
        "+ADw-script+AD4-alert(7)+ADw-/script+AD4-+ADw-p+AD4-ok+ADw-/p+AD4-";
    const Limits limits;
    const HtmlResult labelled = htmlToText(html, "utf-7", limits);
    CHECK(labelled.text.find("<script") == std::string::npos);
    // Decoded, the script is dropped; left undecoded, it is inert literal text.
    const bool decoded = labelled.text == "ok\n";
    const bool literal = labelled.text.find("+ADw-script") != std::string::npos;
    CHECK((decoded || literal));
    if (decoded) CHECK(hasFinding(labelled, "html.script_removed"));
    // Unlabelled, UTF-7 is never guessed: the text stays literal and nothing is a tag.
    const HtmlResult unlabelled = htmlToText(html, "", limits);
    CHECK(unlabelled.text.find("<script") == std::string::npos);
    CHECK(unlabelled.text.find("+ADw-") != std::string::npos);
  }

  TEST_CASE("html: 10,000-deep nesting neither crashes nor loses the text after it") {
    for (const std::string tag : {"div", "b", "font", "blockquote", "table"}) {
      CAPTURE(tag);
      std::string html = "<p>start</p>";
      for (int i = 0; i < 10000; ++i) html += "<" + tag + ">";
      html += "deep";
      for (int i = 0; i < 10000; ++i) html += "</" + tag + ">";
      html += "<p>after</p>";
      const Limits limits;
      const HtmlResult r = htmlToText(html, "", limits);
      CHECK(r.text.find("start") != std::string::npos);
      CHECK(r.text.find("deep") != std::string::npos);
      CHECK(r.text.find("after") != std::string::npos);
      CHECK(hasFinding(r, "limit.html_depth"));
      checkShape(r.text);
    }
  }

  TEST_CASE("html: deep content beyond maxHtmlDepth is flattened, not dropped (N and N+1)") {
    // html and body are implied, so three divs make a depth of five.
    Limits limits;
    limits.maxHtmlDepth = 5;
    const std::string three = "<div><div><div>x<script>alert(1)</script></div></div></div>";
    const HtmlResult atLimit = htmlToText(three, "", limits);
    CHECK(atLimit.text == "x\n");
    CHECK_FALSE(hasFinding(atLimit, "limit.html_depth"));
    const std::string four =
        "<div><div><div><div>x<script>alert(1)</script><a href='javascript:y'>l</a>"
        "<img alt=i></div></div></div></div>";
    const HtmlResult over = htmlToText(four, "", limits);
    CHECK(over.text == "xl[画像: i]\n");
    CHECK(hasFinding(over, "limit.html_depth"));
    CHECK(hasFinding(over, "html.script_removed"));
    CHECK(hasFinding(over, "html.active_url_removed"));
  }

  TEST_CASE("html: unmatched end tags under a deep stack stop the parser within a budget") {
    // libxml2 scans its whole element stack for each unmatched end tag; without the budget this
    // input takes minutes.
    std::string html = "<p>start</p>";
    for (int i = 0; i < 100000; ++i) html += "<b>";
    for (int i = 0; i < 100000; ++i) html += "</i>";
    const Limits limits;
    const HtmlResult r = htmlToText(html, "", limits);
    CHECK(r.text == "start\n");
    CHECK(hasFinding(r, "limit.html_depth"));
  }

  TEST_CASE("html: a 1 MB attribute and a 1 MB link are handled") {
    const Limits limits;
    const std::string big(1 << 20, 'x');
    const HtmlResult attr = htmlToText("<p title=\"" + big + "\">visible</p>", "", limits);
    CHECK(attr.text == "visible\n");
    const HtmlResult link =
        htmlToText("<a href=\"https://example.com/" + big + "\">long</a>", "", limits);
    CHECK(link.text.find("long <https://example.com/xxx") == 0);
    CHECK(link.text.find("…>\n") != std::string::npos);
    CHECK(link.text.size() < limits.maxLinkChars + 32);
  }

  TEST_CASE("html: URLs longer than maxLinkChars are truncated with an ellipsis") {
    Limits limits;
    limits.maxLinkChars = 24;
    const HtmlResult r =
        htmlToText("<a href=\"https://example.com/a%20b/cdefghijkl\">t</a>", "", limits);
    CHECK(r.text == "t <https://example.com/a%20…>\n");  // an escape is never split
    const HtmlResult cutInEscape =
        htmlToText("<a href=\"https://example.com/ab%20cdefghijkl\">t</a>", "", limits);
    CHECK(cutInEscape.text == "t <https://example.com/ab…>\n");
    const HtmlResult exact = htmlToText("<a href=\"https://example.com/abcd\">t</a>", "", limits);
    CHECK(exact.text == "t <https://example.com/abcd>\n");
    const HtmlResult over = htmlToText("<a href=\"https://example.com/abcde\">t</a>", "", limits);
    CHECK(over.text == "t <https://example.com/abcd…>\n");
  }

  TEST_CASE("html: input beyond maxHtmlBytes is cut and reported (N and N+1)") {
    Limits limits;
    limits.maxHtmlBytes = 64;
    std::string html = "<p>first</p>";
    html += std::string(64 - html.size() - 4, ' ');
    html += "<p>x";
    REQUIRE(html.size() == 64);
    const HtmlResult atLimit = htmlToText(html, "", limits);
    CHECK(atLimit.text == "first\n\nx\n");
    CHECK_FALSE(hasFinding(atLimit, "limit.html_bytes"));
    const HtmlResult over = htmlToText(html + "y<p>later</p>", "", limits);
    CHECK(over.text == "first\n\nx\n");
    CHECK(hasFinding(over, "limit.html_bytes"));
  }

  TEST_CASE("html: a cut never splits a UTF-8 character") {
    Limits limits;
    limits.maxHtmlBytes = 10;
    const HtmlResult r = htmlToText("<p>あいうえお</p>", "utf-8", limits);
    CHECK(r.text == "あい\n");
    CHECK(validUtf8(r.text));
  }

  TEST_CASE("html: conversion is deterministic and safe from several threads at once") {
    std::string html;
    for (int i = 0; i < 200; ++i) {
      html += "<div><p onclick=x>段落 " + std::to_string(i) +
              "</p><ul><li><a href='https://example.com/" + std::to_string(i) +
              "'>link</a></ul><script>alert(1)</script></div>";
    }
    const Limits limits;
    const HtmlResult reference = htmlToText(html, "utf-8", limits);
    std::vector<HtmlResult> results(4);
    std::vector<std::thread> threads;
    for (auto& slot : results) {
      threads.emplace_back([&slot, &html, &limits] {
        for (int k = 0; k < 5; ++k) slot = htmlToText(html, "utf-8", limits);
      });
    }
    for (auto& t : threads) t.join();
    for (const auto& r : results) {
      CHECK(r.text == reference.text);
      CHECK(r.findings == reference.findings);
    }
  }

  TEST_CASE("html: a real marketing mail keeps its sentences and loses its tags") {
    const std::filesystem::path dir = MUGAI_THIRD_PARTY_DIR "/mimekit/html";
    if (!std::filesystem::exists(dir / "planet-fitness.html")) {
      MESSAGE("third-party corpus absent: skipped");
      return;
    }
    const std::string html = readFile(dir / "planet-fitness.html");
    const std::string plain = readFile(dir / "planet-fitness.txt");
    const Limits limits;
    const HtmlResult r = htmlToText(html, "", limits);
    CAPTURE(r.text);
    // Sentences that the sender's own text/plain alternative also has.
    for (std::string_view phrase :
         {"View web version.", "Tune to to Facebook Live to follow along with celebrity guest",
          "Week 1 of Home Work-Ins was a huge success thanks to all of you!",
          "Daily Work-Ins are available for anyone and everyone", "DOWNLOAD OUR FREE APP",
          "Planet Fitness facilities are independently owned and operated."}) {
      CAPTURE(phrase);
      CHECK(plain.find(phrase) != std::string::npos);
      CHECK(r.text.find(phrase) != std::string::npos);
    }
    for (std::string_view tag : {"<td", "<table", "<div", "<span", "<img", "<a ", "<br", "<!--",
                                 "</", "<style", "<![", "{", "mso-"}) {
      CAPTURE(tag);
      CHECK(r.text.find(tag) == std::string::npos);
    }
    checkShape(r.text);
  }

  TEST_CASE("html: the tika HTML samples convert without script text or data: URLs") {
    const std::filesystem::path dir = MUGAI_THIRD_PARTY_DIR "/tika/html";
    if (!std::filesystem::exists(dir)) {
      MESSAGE("third-party corpus absent: skipped");
      return;
    }
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().extension() != ".html") continue;
      ++files;
      CAPTURE(entry.path().filename().string());
      const Limits limits;
      const HtmlResult r = htmlToText(readFile(entry.path()), "", limits);
      CHECK(r.text.find("alert(") == std::string::npos);
      CHECK(r.text.find("document.write") == std::string::npos);
      CHECK(r.text.find("cool script") == std::string::npos);
      CHECK(r.text.find("data:") == std::string::npos);
      checkShape(r.text);
    }
    CHECK(files > 0);
    const HtmlResult utf16 = htmlToText(readFile(dir / "testHTML_charset_utf16le.html"), "", {});
    CHECK(utf16.text == "This is a sample text\n");
    const HtmlResult body = htmlToText(readFile(dir / "testHTML_script_in_body.html"), "", {});
    CHECK(body.text == "This is a test.\n");
    CHECK(hasFinding(body, "html.script_removed"));
  }

  TEST_CASE("html: every third-party HTML file converts to valid, script-free text") {
    const std::filesystem::path dir = MUGAI_THIRD_PARTY_DIR;
    if (!std::filesystem::exists(dir)) {
      MESSAGE("third-party corpus absent: skipped");
      return;
    }
    int files = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      const std::string ext = entry.path().extension().string();
      if (ext != ".html" && ext != ".htm") continue;
      ++files;
      CAPTURE(entry.path().string());
      const Limits limits;
      const HtmlResult r = htmlToText(readFile(entry.path()), "", limits);
      CHECK(r.text.find("<script") == std::string::npos);
      CHECK(r.text.find("javascript:") == std::string::npos);
      checkShape(r.text);
    }
    CHECK(files > 0);
  }
}

}  // namespace
