// Tests for core/mime_writer: base64 and quoted-printable line rules, transfer-encoding choice,
// deterministic boundaries that never collide with content, attachments and nested messages.
//
// The written bytes are read back with GMime (the parser every check in Mugai relies on) and
// with GMime's own transfer decoders, so a writer bug cannot hide behind a matching reader of
// ours. Every written message must also pass core::verifyOutput.
#include "core/mime_writer.h"

#include <doctest/doctest.h>
#include <glib.h>
#include <gmime/gmime.h>

#include <memory>
#include <string>
#include <vector>

#include "core/limits.h"
#include "core/pipeline.h"

using mugai::core::base64Lines;
using mugai::core::OutEntity;
using mugai::core::OutMessage;
using mugai::core::quotedPrintable;
using mugai::core::writeMessage;

namespace {

std::vector<std::string> splitCrlf(const std::string& s) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < s.size()) {
    const auto crlf = s.find("\r\n", start);
    if (crlf == std::string::npos) {
      lines.push_back(s.substr(start));
      break;
    }
    lines.push_back(s.substr(start, crlf - start));
    start = crlf + 2;
  }
  return lines;
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

/// GMime's decoder for a transfer encoding, run over the whole input.
std::string gmimeDecode(const std::string& encoded, GMimeContentEncoding enc) {
  GMimeEncoding state;
  g_mime_encoding_init_decode(&state, enc);
  std::string out(g_mime_encoding_outlen(&state, encoded.size()) + 16, '\0');
  const std::size_t n = g_mime_encoding_flush(&state, encoded.data(), encoded.size(), out.data());
  out.resize(n);
  return out;
}

struct Parsed {
  GMimeMessage* msg = nullptr;
  explicit Parsed(const std::string& bytes) {
    GMimeStream* stream = g_mime_stream_mem_new_with_buffer(bytes.data(), bytes.size());
    GMimeParser* parser = g_mime_parser_new_with_stream(stream);
    msg = g_mime_parser_construct_message(parser, nullptr);
    g_object_unref(parser);
    g_object_unref(stream);
  }
  ~Parsed() {
    if (msg) g_object_unref(msg);
  }
  Parsed(const Parsed&) = delete;
  Parsed& operator=(const Parsed&) = delete;
  GMimeObject* root() const { return msg ? g_mime_message_get_mime_part(msg) : nullptr; }
};

std::string contentOf(GMimeObject* obj) {
  REQUIRE(GMIME_IS_PART(obj));
  GMimeDataWrapper* w = g_mime_part_get_content(GMIME_PART(obj));
  if (!w) return {};
  GMimeStream* mem = g_mime_stream_mem_new();
  g_mime_data_wrapper_write_to_stream(w, mem);
  GByteArray* arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
  std::string out(reinterpret_cast<const char*>(arr->data), arr->len);
  g_object_unref(mem);
  return out;
}

std::string transferEncodingOf(GMimeObject* obj) {
  const char* h = g_mime_object_get_header(obj, "Content-Transfer-Encoding");
  return h ? h : "";
}

std::string typeOf(GMimeObject* obj) {
  char* t = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(obj));
  std::string out = t ? t : "";
  g_free(t);
  return out;
}

OutEntity textEntity(std::string body, std::string charset = "utf-8") {
  OutEntity e;
  e.type = "text/plain";
  e.charset = std::move(charset);
  e.body = std::move(body);
  return e;
}

OutEntity attachmentEntity(std::string type, std::string name, std::string body) {
  OutEntity e;
  e.type = std::move(type);
  e.filename = std::move(name);
  e.attachment = true;
  e.body = std::move(body);
  return e;
}

std::string binaryBytes(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<char>((i * 131 + 7) % 256);
  return s;
}

/// A message with text in three shapes, a binary attachment with a Japanese name, and a nested
/// message that is itself multipart.
OutMessage sampleMessage() {
  OutMessage inner;
  inner.fields = {"From: inner@example.com\r\n", "Subject: inner\r\n"};
  inner.body.type = "multipart/mixed";
  inner.body.children.push_back(textEntity("inner text\n"));
  inner.body.children.push_back(attachmentEntity("application/pdf", "inner.pdf", "%PDF-1.4\n"));

  OutMessage m;
  m.fields = {"From: sender@example.com\r\n", "To: rcpt@example.jp\r\n", "Subject: sample\r\n"};
  m.body.type = "multipart/mixed";
  m.body.children.push_back(textEntity("Hello.\nThis is short ASCII.\n"));
  m.body.children.push_back(textEntity("Mostly ASCII with one accent: café\n" +
                                       repeat("plain words here. ", 5) + "\n"));
  m.body.children.push_back(textEntity(repeat("日本語の本文です。\n", 5)));
  m.body.children.push_back(
      attachmentEntity("application/pdf", "見積書_2024年度.pdf", binaryBytes(3000)));
  OutEntity msgPart;
  msgPart.type = "message/rfc822";
  msgPart.attachment = true;
  msgPart.filename = "forwarded.eml";
  msgPart.message = std::make_shared<OutMessage>(std::move(inner));
  m.body.children.push_back(std::move(msgPart));
  return m;
}

std::string crlfOf(const std::string& lf) {
  std::string out;
  for (const char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

}  // namespace

TEST_SUITE("mime_writer") {
  TEST_CASE("mime_writer: base64Lines writes 76-character CRLF lines that decode to the input") {
    const std::vector<std::string> inputs = {"",
                                             "a",
                                             "ab",
                                             std::string(57, 'x'),  // exactly one full line
                                             std::string(58, 'x'),
                                             binaryBytes(1000),
                                             std::string("\0\r\n\xff", 4)};
    for (const auto& in : inputs) {
      CAPTURE(in.size());
      const std::string out = base64Lines(in);
      if (in.empty()) {
        CHECK(out.empty());
        continue;
      }
      REQUIRE(out.size() >= 2);
      CHECK(out.compare(out.size() - 2, 2, "\r\n") == 0);
      const auto lines = splitCrlf(out);
      for (std::size_t i = 0; i < lines.size(); ++i) {
        CHECK(lines[i].size() <= 76);
        if (i + 1 < lines.size()) CHECK(lines[i].size() == 76);
        CHECK(lines[i].find('\r') == std::string::npos);
        CHECK(lines[i].find('\n') == std::string::npos);
      }
      CHECK(gmimeDecode(out, GMIME_CONTENT_ENCODING_BASE64) == in);
    }
    CHECK(splitCrlf(base64Lines(std::string(57, 'x'))).size() == 1);
    CHECK(splitCrlf(base64Lines(std::string(58, 'x'))).size() == 2);
  }

  TEST_CASE("mime_writer: quoted-printable lines are at most 76 octets and decode to the input") {
    const std::vector<std::string> inputs = {
        "a=b\r\n",
        "trailing space \r\n",
        "trailing tab\t\r\n",
        "spaces inside  are kept\r\n",
        ".leading dot\r\n",
        "From the start\r\n",
        "line\r\n.\r\nFrom \r\n",
        repeat("0123456789", 20) + "\r\n",
        repeat("=", 100) + "\r\n",
        "caf\xc3\xa9 na\xc3\xafve\r\n",
        "日本語の本文\r\n",
        std::string("nul\0 and \x01 and \x7f\r\n", 18),
        "bare\rCR\r\n",
        repeat("word ", 30) + "\r\n",
        repeat("a", 74) + " \r\n",   // trailing space exactly at the soft-break column
        repeat("a", 75) + "=\r\n",
        "\r\n\r\n\r\n",
    };
    for (const auto& in : inputs) {
      CAPTURE(in);
      const std::string out = quotedPrintable(in);
      CAPTURE(out);
      for (const auto& line : splitCrlf(out)) {
        CHECK(line.size() <= 76);
        for (const char c : line) {
          const auto u = static_cast<unsigned char>(c);
          CHECK((u == '\t' || (u >= 0x20 && u < 0x7f)));
        }
        if (!line.empty()) {
          CHECK(line.back() != ' ');
          CHECK(line.back() != '\t');
        }
      }
      CHECK(gmimeDecode(out, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) == in);
    }
    CHECK(quotedPrintable("a=b\r\n") == "a=3Db\r\n");
    CHECK(quotedPrintable("x \r\n") == "x=20\r\n");
    CHECK(quotedPrintable(".x\r\n") == "=2Ex\r\n");
    CHECK(quotedPrintable("From x\r\n") == "=46rom x\r\n");
  }

  TEST_CASE("mime_writer: quoted-printable text without a final line break decodes to itself") {
    // The writer may add the final CRLF (text parts always end in a line break), nothing else.
    for (const std::string& in : std::vector<std::string>{"abc", "abc ", repeat("x", 200)}) {
      CAPTURE(in);
      const std::string decoded =
          gmimeDecode(quotedPrintable(in), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
      CHECK((decoded == in || decoded == in + "\r\n"));
    }
  }

  TEST_CASE("mime_writer: no quoted-printable line starts with '.' or \"From \" after a soft break") {
    // Regression (was a bug): quotedPrintable decides the line-start hazard before emit() inserts
    // the soft break, using the old lineLen, so a '.' or "From " that lands at the start of the
    // continuation line is written literally (mime_writer.cc, quotedPrintable: lineStartHazard is
    // computed with lineLen == 0, but emit() resets lineLen only afterwards). Input: 75 × 'a' then
    // ".b".
    const std::vector<std::string> inputs = {repeat("a", 75) + ".b\r\n",
                                             repeat("a", 75) + "From here\r\n",
                                             repeat("a", 73) + "=" + ".x\r\n"};
    for (const auto& in : inputs) {
      CAPTURE(in);
      const std::string out = quotedPrintable(in);
      CAPTURE(out);
      for (const auto& line : splitCrlf(out)) {
        CHECK(line.rfind(".", 0) != 0);
        CHECK(line.rfind("From ", 0) != 0);
      }
    }
  }

  TEST_CASE("mime_writer: the same seed gives the same bytes, another seed other boundaries") {
    const OutMessage m = sampleMessage();
    const std::string a = writeMessage(m, "seed-one");
    CHECK(a == writeMessage(m, "seed-one"));
    const std::string b = writeMessage(m, "seed-two");
    CHECK(a != b);
    Parsed pa(a);
    Parsed pb(b);
    REQUIRE(pa.root());
    REQUIRE(pb.root());
    REQUIRE(GMIME_IS_MULTIPART(pa.root()));
    REQUIRE(GMIME_IS_MULTIPART(pb.root()));
    const std::string ba = g_mime_multipart_get_boundary(GMIME_MULTIPART(pa.root()));
    const std::string bb = g_mime_multipart_get_boundary(GMIME_MULTIPART(pb.root()));
    CHECK(ba != bb);
    CHECK(b.find(ba) == std::string::npos);
  }

  TEST_CASE("mime_writer: the written message passes verifyOutput and reads back as written") {
    const OutMessage m = sampleMessage();
    const std::string out = writeMessage(m, "seed");
    CHECK(mugai::core::verifyOutput(out, mugai::core::Limits{}) == "");
    Parsed p(out);
    REQUIRE(p.msg);
    CHECK(std::string(g_mime_message_get_subject(p.msg)) == "sample");
    GMimeObject* root = p.root();
    REQUIRE(GMIME_IS_MULTIPART(root));
    GMimeMultipart* mp = GMIME_MULTIPART(root);
    REQUIRE(g_mime_multipart_get_count(mp) == 5);

    // Transfer encodings: 7bit for short ASCII, QP for mostly ASCII, base64 for Japanese.
    GMimeObject* ascii = g_mime_multipart_get_part(mp, 0);
    GMimeObject* mostly = g_mime_multipart_get_part(mp, 1);
    GMimeObject* japanese = g_mime_multipart_get_part(mp, 2);
    CHECK(transferEncodingOf(ascii) == "7bit");
    CHECK(transferEncodingOf(mostly) == "quoted-printable");
    CHECK(transferEncodingOf(japanese) == "base64");
    CHECK(contentOf(ascii) == crlfOf(m.body.children[0].body));
    CHECK(contentOf(mostly) == crlfOf(m.body.children[1].body));
    CHECK(contentOf(japanese) == crlfOf(m.body.children[2].body));
    CHECK(std::string(g_mime_object_get_content_type_parameter(japanese, "charset")) == "utf-8");

    // The attachment: disposition, file name (RFC 2231) and bytes.
    GMimeObject* pdf = g_mime_multipart_get_part(mp, 3);
    CHECK(typeOf(pdf) == "application/pdf");
    CHECK(transferEncodingOf(pdf) == "base64");
    REQUIRE(g_mime_object_get_disposition(pdf) != nullptr);
    CHECK(std::string(g_mime_object_get_disposition(pdf)) == "attachment");
    REQUIRE(g_mime_part_get_filename(GMIME_PART(pdf)) != nullptr);
    CHECK(std::string(g_mime_part_get_filename(GMIME_PART(pdf))) == "見積書_2024年度.pdf");
    CHECK(contentOf(pdf) == m.body.children[3].body);

    // The nested message keeps its own headers and structure.
    GMimeObject* nested = g_mime_multipart_get_part(mp, 4);
    REQUIRE(GMIME_IS_MESSAGE_PART(nested));
    CHECK(std::string(g_mime_object_get_disposition(nested)) == "attachment");
    GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(nested));
    REQUIRE(inner);
    CHECK(std::string(g_mime_message_get_subject(inner)) == "inner");
    GMimeObject* innerRoot = g_mime_message_get_mime_part(inner);
    REQUIRE(GMIME_IS_MULTIPART(innerRoot));
    REQUIRE(g_mime_multipart_get_count(GMIME_MULTIPART(innerRoot)) == 2);
    CHECK(contentOf(g_mime_multipart_get_part(GMIME_MULTIPART(innerRoot), 0)) ==
          "inner text\r\n");
    const std::string outer = g_mime_multipart_get_boundary(mp);
    const std::string innerB = g_mime_multipart_get_boundary(GMIME_MULTIPART(innerRoot));
    CHECK(outer != innerB);
  }

  TEST_CASE("mime_writer: every written line is 7-bit, CRLF-terminated and at most 998 octets") {
    OutMessage m = sampleMessage();
    m.body.children.push_back(textEntity(std::string(3000, 'L') + "\n"));  // one overlong line
    m.body.children.push_back(textEntity(std::string("nul\0inside\n", 11)));
    m.body.children.push_back(textEntity("bare\rCR and bare\nLF\r\nmixed"));
    const std::string out = writeMessage(m, "s");
    for (std::size_t i = 0; i < out.size(); ++i) {
      const auto c = static_cast<unsigned char>(out[i]);
      REQUIRE(c < 0x80);
      REQUIRE(c != 0);
      if (c == '\r') REQUIRE((i + 1 < out.size() && out[i + 1] == '\n'));
      if (c == '\n') REQUIRE((i > 0 && out[i - 1] == '\r'));
    }
    for (const auto& line : splitCrlf(out)) CHECK(line.size() <= 998);
    CHECK(mugai::core::verifyOutput(out, mugai::core::Limits{}) == "");
    Parsed p(out);
    REQUIRE(GMIME_IS_MULTIPART(p.root()));
    GMimeMultipart* mp = GMIME_MULTIPART(p.root());
    REQUIRE(g_mime_multipart_get_count(mp) == 8);
    CHECK(contentOf(g_mime_multipart_get_part(mp, 5)) == std::string(3000, 'L') + "\r\n");
    CHECK(contentOf(g_mime_multipart_get_part(mp, 6)) == std::string("nul\0inside\r\n", 12));
    CHECK(contentOf(g_mime_multipart_get_part(mp, 7)) == "bare\r\nCR and bare\r\nLF\r\nmixed\r\n");
  }

  TEST_CASE("mime_writer: a boundary never appears inside the content it delimits") {
    // Learn the boundary the writer would use, then put it (and its delimiter form) in the text.
    OutMessage probe;
    probe.body.type = "multipart/mixed";
    probe.body.children.push_back(textEntity("x\n"));
    probe.body.children.push_back(textEntity("y\n"));
    Parsed first(writeMessage(probe, "collide"));
    REQUIRE(GMIME_IS_MULTIPART(first.root()));
    const std::string b = g_mime_multipart_get_boundary(GMIME_MULTIPART(first.root()));

    OutMessage m;
    m.body.type = "multipart/mixed";
    m.body.children.push_back(textEntity("before\n--" + b + "\nafter\n--" + b + "--\n"));
    m.body.children.push_back(textEntity("plain mention " + b + " inline\n"));
    m.body.children.push_back(attachmentEntity("application/pdf", "b.pdf", "--" + b + "\r\n"));
    const std::string out = writeMessage(m, "collide");
    Parsed p(out);
    REQUIRE(GMIME_IS_MULTIPART(p.root()));
    GMimeMultipart* mp = GMIME_MULTIPART(p.root());
    const std::string used = g_mime_multipart_get_boundary(mp);
    REQUIRE(g_mime_multipart_get_count(mp) == 3);
    // The boundary occurs only in the Content-Type parameter and the delimiter lines.
    std::size_t count = 0;
    for (auto pos = out.find(used); pos != std::string::npos; pos = out.find(used, pos + 1)) {
      ++count;
    }
    CHECK(count == 1 + 3 + 1);
    CHECK(contentOf(g_mime_multipart_get_part(mp, 0)) == crlfOf(m.body.children[0].body));
    CHECK(contentOf(g_mime_multipart_get_part(mp, 1)) == crlfOf(m.body.children[1].body));
    CHECK(contentOf(g_mime_multipart_get_part(mp, 2)) == m.body.children[2].body);
    CHECK(mugai::core::verifyOutput(out, mugai::core::Limits{}) == "");
  }

  TEST_CASE("mime_writer: a single text body is written without a multipart wrapper") {
    OutMessage m;
    m.fields = {"Subject: one\r\n"};
    m.body = textEntity("just text\n");
    const std::string out = writeMessage(m, "x");
    CHECK(out.find("multipart") == std::string::npos);
    CHECK(out.find("MIME-Version: 1.0\r\n") != std::string::npos);
    CHECK(out.find("Content-Type: text/plain; charset=utf-8\r\n") != std::string::npos);
    CHECK(out.find("Content-Transfer-Encoding: 7bit\r\n") != std::string::npos);
    CHECK(out.size() >= 11);
    CHECK(out.compare(out.size() - 11, 11, "just text\r\n") == 0);
    CHECK(mugai::core::verifyOutput(out, mugai::core::Limits{}) == "");
  }

  TEST_CASE("mime_writer: ISO-2022-JP text stays 7bit with its escapes") {
    OutMessage m;
    m.body = textEntity("\x1B$BF|K\\8l\x1B(B\n", "iso-2022-jp");
    const std::string out = writeMessage(m, "x");
    CHECK(out.find("charset=iso-2022-jp") != std::string::npos);
    CHECK(out.find("Content-Transfer-Encoding: 7bit") != std::string::npos);
    Parsed p(out);
    REQUIRE(GMIME_IS_PART(p.root()));
    CHECK(contentOf(p.root()) == "\x1B$BF|K\\8l\x1B(B\r\n");
  }

  TEST_CASE("mime_writer: a text attachment carries filename and name parameters") {
    OutMessage m;
    m.body.type = "multipart/mixed";
    m.body.children.push_back(textEntity("body\n"));
    OutEntity t = attachmentEntity("text/plain", "メモ.txt", "memo\n");
    t.charset = "utf-8";
    m.body.children.push_back(t);
    const std::string out = writeMessage(m, "x");
    Parsed p(out);
    REQUIRE(GMIME_IS_MULTIPART(p.root()));
    GMimeObject* att = g_mime_multipart_get_part(GMIME_MULTIPART(p.root()), 1);
    REQUIRE(GMIME_IS_PART(att));
    CHECK(std::string(g_mime_object_get_disposition(att)) == "attachment");
    const char* fn = g_mime_object_get_content_disposition_parameter(att, "filename");
    REQUIRE(fn != nullptr);
    CHECK(std::string(fn) == "メモ.txt");
    const char* nm = g_mime_object_get_content_type_parameter(att, "name");
    REQUIRE(nm != nullptr);
    char* decoded = g_mime_utils_header_decode_text(nullptr, nm);
    CHECK(std::string(decoded) == "メモ.txt");
    g_free(decoded);
    CHECK(mugai::core::verifyOutput(out, mugai::core::Limits{}) == "");
  }

  TEST_CASE("mime_writer: header lines for a Japanese file name are at most 78 octets") {
    // Regression (was a bug): nameParam's first token is `name="` + a 72-octet encoded-word (79
    // octets), so the Content-Type line is at least 80 octets whatever the folding
    // (header_encode.cc, nameParam with kWordPayload = 45). RFC 5322 asks for 78 where possible; a
    // shorter first word fits.
    OutMessage m;
    m.body = attachmentEntity("application/pdf", repeat("見積書", 10) + ".pdf", "%PDF-1.4\n");
    const std::string out = writeMessage(m, "x");
    const std::string headers = out.substr(0, out.find("\r\n\r\n"));
    for (const auto& line : splitCrlf(headers)) {
      CAPTURE(line);
      CHECK(line.size() <= 78);
    }
  }
}
