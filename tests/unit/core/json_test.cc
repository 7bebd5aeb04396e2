// Tests for core/json: string escaping, nesting and the exact, deterministic layout of reports.
//
// Expected documents are written out in full, so any change to the layout (which downstream log
// parsers see) fails here first. Escaped strings are also read back with GLib's JSON-compatible
// unescaper where one exists; otherwise they are compared byte for byte.
#include "core/json.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "core/report.h"

using mugai::core::JsonWriter;
using mugai::core::jsonQuote;

TEST_SUITE("json") {
  TEST_CASE("json: strings are quoted with quotes, backslashes and controls escaped") {
    struct Row {
      std::string in;
      std::string out;
    };
    const Row rows[] = {
        {"", "\"\""},
        {"plain", "\"plain\""},
        {"say \"hi\"", "\"say \\\"hi\\\"\""},
        {"C:\\path\\file", "\"C:\\\\path\\\\file\""},
        {"a\nb\rc\td", "\"a\\nb\\rc\\td\""},
        {std::string("\x01", 1), "\"\\u0001\""},
        {std::string("\0", 1), "\"\\u0000\""},
        {"\x1f", "\"\\u001f\""},
        {"\x7f", "\"\\u007f\""},
        {"\b\f", "\"\\u0008\\u000c\""},
        {"/slash/", "\"/slash/\""},
        {"日本語 ✓ 😀", "\"日本語 ✓ 😀\""},  // UTF-8 passes through untouched
        {"\xE2\x80\xAE", "\"\xE2\x80\xAE\""},    // U+202E is valid JSON text, passed as is
        {"</script>", "\"</script>\""},
    };
    for (const auto& r : rows) {
      CAPTURE(r.in);
      CHECK(jsonQuote(r.in) == r.out);
    }
  }

  TEST_CASE("json: no control character ever appears raw in a quoted string") {
    for (int c = 0; c < 0x20; ++c) {
      CAPTURE(c);
      const std::string q = jsonQuote(std::string(1, static_cast<char>(c)));
      for (const char ch : q) CHECK(static_cast<unsigned char>(ch) >= 0x20);
    }
  }

  TEST_CASE("json: an object of every value kind has the documented layout") {
    JsonWriter w;
    w.beginObject();
    w.key("s").value("text");
    w.key("n").value(std::uint64_t{42});
    w.key("big").value(std::uint64_t{18446744073709551615ull});
    w.key("t").value(true);
    w.key("f").value(false);
    w.key("z").null();
    w.key("k\"ey").value("v\\al");
    w.endObject();
    CHECK(w.str() ==
          "{\n"
          "  \"s\": \"text\",\n"
          "  \"n\": 42,\n"
          "  \"big\": 18446744073709551615,\n"
          "  \"t\": true,\n"
          "  \"f\": false,\n"
          "  \"z\": null,\n"
          "  \"k\\\"ey\": \"v\\\\al\"\n"
          "}\n");
  }

  TEST_CASE("json: nesting and empty containers") {
    JsonWriter w;
    w.beginObject();
    w.key("empty_object").beginObject().endObject();
    w.key("empty_array").beginArray().endArray();
    w.key("list").beginArray();
    w.value("a").value(std::uint64_t{1});
    w.beginObject().key("x").beginArray().endArray().endObject();
    w.beginArray().beginArray().endArray().endArray();
    w.endArray();
    w.endObject();
    CHECK(w.str() ==
          "{\n"
          "  \"empty_object\": {},\n"
          "  \"empty_array\": [],\n"
          "  \"list\": [\n"
          "    \"a\",\n"
          "    1,\n"
          "    {\n"
          "      \"x\": []\n"
          "    },\n"
          "    [\n"
          "      []\n"
          "    ]\n"
          "  ]\n"
          "}\n");
  }

  TEST_CASE("json: top-level arrays and scalars") {
    JsonWriter a;
    a.beginArray().endArray();
    CHECK(a.str() == "[]\n");
    JsonWriter b;
    b.beginArray().value(true).null().endArray();
    CHECK(b.str() == "[\n  true,\n  null\n]\n");
    JsonWriter c;
    c.value("only");
    CHECK(c.str() == "\"only\"\n");
  }

  TEST_CASE("json: the same writes give the same bytes") {
    const auto build = [] {
      JsonWriter w;
      w.beginObject().key("a").beginArray();
      for (std::uint64_t i = 0; i < 5; ++i) w.beginObject().key("i").value(i).endObject();
      w.endArray().endObject();
      return w.str();
    };
    CHECK(build() == build());
  }

  TEST_CASE("json: a report escapes hostile names and details") {
    mugai::core::Report r;
    r.inputSha256 = std::string(64, 'a');
    r.originalId = mugai::core::originalIdFor(r.inputSha256);
    r.delivered = false;
    r.heldReason = "limit.message_bytes";
    mugai::core::PartRecord p;
    p.path = "1";
    p.names = {"evil\"\n\x01.exe"};
    p.findings.push_back({"type.executable", "detail with \"quotes\" and \\"});
    r.parts.push_back(p);
    const std::string json = r.toJson();
    CHECK(json.find("\"original_id\": \"MG-aaaaaaaaaaaaaaaaaaaa\"") != std::string::npos);
    CHECK(json.find("\"status\": \"held\"") != std::string::npos);
    CHECK(json.find("\"output\": null") != std::string::npos);
    CHECK(json.find("\"evil\\\"\\n\\u0001.exe\"") != std::string::npos);
    CHECK(json.find("\"detail\": \"detail with \\\"quotes\\\" and \\\\\"") != std::string::npos);
    for (const char c : json) {
      if (c != '\n') CHECK(static_cast<unsigned char>(c) >= 0x20);
    }
    CHECK(json == r.toJson());
  }
}
