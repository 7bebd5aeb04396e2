// Tests for core/policy and core/limits: the defaults, every config key, errors that name the
// file and line, limit parsing at its edges, and the blocked-name check.
//
// The example config in deploy/ is read too: every key it documents must parse, and every limit
// must be documented there, so the example and the parser cannot drift apart.
#include "core/policy.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "core/limits.h"
#include "core/sniff.h"

using mugai::core::ConfigError;
using mugai::core::Limits;
using mugai::core::OutputCharset;
using mugai::core::Policy;

namespace {

/// The ConfigError message for `text`, or "" when it parses.
std::string errorOf(const std::string& text, const std::string& source = "x.conf") {
  try {
    (void)Policy::fromConfig(text, source);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The message-level limits, in declaration order. More limits (attachment rebuilders) may sit
// between them; these must all exist and keep their relative order.
const std::vector<std::string> kCoreLimitNames = {
    "max_message_bytes", "max_header_bytes", "max_header_fields", "max_received_headers",
    "max_parts",         "max_depth",        "max_input_depth",   "max_names",
    "max_wall_ms",       "max_text_bytes",   "max_html_bytes",    "max_html_depth",
    "max_link_chars",    "max_output_line"};

std::vector<std::string> limitNames() {
  std::vector<std::string> names;
  for (const auto& [name, value] : Limits{}.list()) names.push_back(name);
  return names;
}

}  // namespace

TEST_SUITE("policy") {
  TEST_CASE("policy: defaults leave the subject alone and sanitize everything") {
    const Policy p = Policy::defaults();
    CHECK(p.subjectTag.empty());
    CHECK(p.outputCharset == OutputCharset::Utf8);
    CHECK(p.relatedImagesAsAttachments);
    CHECK(p.notice);
    CHECK(p.removeTypes.empty());
    CHECK(p.extraBlockedExtensions.empty());
    CHECK_FALSE(p.contact.empty());
    CHECK(p.limits.list() == Limits{}.list());
    CHECK(p.limits.maxMessageBytes == (64ull << 20));
    CHECK(p.limits.maxParts == 1000);
    CHECK(p.limits.maxOutputLine == 998);
    // An empty or comment-only config is the defaults.
    const Policy e = Policy::fromConfig("# nothing\n\n   \n\t# indented comment\n", "e.conf");
    CHECK(e.subjectTag == p.subjectTag);
    CHECK(e.contact == p.contact);
    CHECK(e.limits.list() == p.limits.list());
  }

  TEST_CASE("policy: every key is read from the config text") {
    const std::string text =
        "# comment\n"
        "subject_tag = \"[無害化] \"\n"
        "output_charset = ISO-2022-JP\n"
        "related_images = remove\n"
        "notice = off\n"
        "remove_types = PDF, zip ,docm\n"
        "blocked_extensions = xyz, .ABC\n"
        "contact = 情報政策課 内線 1234\n"
        "limit.max_parts = 50\n"
        "LIMIT.MAX_MESSAGE_BYTES = 1048576\r\n"
        "  limit.max_depth=8  \n";
    const Policy p = Policy::fromConfig(text, "t.conf");
    CHECK(p.subjectTag == "[無害化] ");
    CHECK(p.outputCharset == OutputCharset::Iso2022Jp);
    CHECK_FALSE(p.relatedImagesAsAttachments);
    CHECK_FALSE(p.notice);
    CHECK(p.removeTypes == std::set<std::string>{"pdf", "zip", "docm"});
    CHECK(p.extraBlockedExtensions == std::set<std::string>{"xyz", "abc"});
    CHECK(p.contact == "情報政策課 内線 1234");
    CHECK(p.limits.maxParts == 50);
    CHECK(p.limits.maxMessageBytes == 1048576);
    CHECK(p.limits.maxDepth == 8);
    CHECK(p.limits.maxHeaderFields == Limits{}.maxHeaderFields);  // untouched
  }

  TEST_CASE("policy: boolean and enumerated values accept their spellings") {
    struct Row {
      const char* line;
      bool notice;
    };
    const Row rows[] = {{"notice = on", true},    {"notice = off", false}, {"notice = yes", true},
                        {"notice = no", false},   {"notice = true", true}, {"notice = FALSE", false},
                        {"notice = 1", true},     {"notice = 0", false},   {"notice = \"off\"", false}};
    for (const auto& r : rows) {
      CAPTURE(std::string(r.line));
      CHECK(Policy::fromConfig(r.line, "b.conf").notice == r.notice);
    }
    CHECK(Policy::fromConfig("output_charset = utf-8", "c").outputCharset == OutputCharset::Utf8);
    CHECK(Policy::fromConfig("related_images = attach", "c").relatedImagesAsAttachments);
  }

  TEST_CASE("policy: errors name the source and the line") {
    struct Row {
      std::string text;
      std::string message;
    };
    const std::vector<Row> rows = {
        {"# ok\nnotice = on\nfoo = 1\n", "x.conf:3: unknown key 'foo'"},
        {"just words\n", "x.conf:1: expected 'key = value'"},
        {"\n\nnotice = maybe\n", "x.conf:3: notice must be on or off"},
        {"output_charset = shift_jis", "x.conf:1: output_charset must be utf-8 or iso-2022-jp"},
        {"related_images = inline", "x.conf:1: related_images must be attach or remove"},
        {"remove_types = pdf, exe", "x.conf:1: unknown type 'exe' in remove_types"},
        {"blocked_extensions = a/b", "x.conf:1: bad extension in blocked_extensions"},
        {"blocked_extensions = .", "x.conf:1: bad extension in blocked_extensions"},
        {"contact =", "x.conf:1: contact must not be empty"},
        {"limit.max_parts = 0",
         "x.conf:1: bad limit 'limit.max_parts' (unknown name, not a positive integer, or out of range)"},
        {"limit.no_such = 5",
         "x.conf:1: bad limit 'limit.no_such' (unknown name, not a positive integer, or out of range)"},
    };
    for (const auto& r : rows) {
      CAPTURE(r.text);
      CHECK(errorOf(r.text) == r.message);
    }
    CHECK(errorOf("foo = 1", "/etc/mugai/mugai.conf") ==
          "/etc/mugai/mugai.conf:1: unknown key 'foo'");
  }

  TEST_CASE("policy: relay.* keys are skipped, other unknown keys are still errors") {
    // The relay's loader validates relay.* lines; the pipeline must not reject the shared file.
    const Policy p = Policy::fromConfig(
        "relay.listen = 0.0.0.0:25\nRELAY.Whatever = x # even a misspelt one\nnotice = off\n",
        "x.conf");
    CHECK_FALSE(p.notice);
    CHECK(errorOf("relay.x = 1\nrelayx = 1\n") == "x.conf:2: unknown key 'relayx'");
    CHECK(errorOf("relay = 1\n") == "x.conf:1: unknown key 'relay'");
  }

  TEST_CASE("policy: bad limit values are rejected, good ones at the edges accepted") {
    const std::vector<std::string> bad = {"0",          "-1",        "abc",   "",
                                          "1.5",        "0x10",      "1e3",   "+5",
                                          "5 apples",   "4294967296",  // > uint32 for max_parts
                                          "99999999999999999999999"};
    for (const auto& v : bad) {
      CAPTURE(v);
      CHECK(errorOf("limit.max_parts = " + v).rfind("x.conf:1: bad limit 'limit.max_parts'", 0) ==
            0);
      Limits l;
      CHECK_FALSE(l.set("max_parts", v));
      CHECK(l.maxParts == Limits{}.maxParts);  // a rejected value changes nothing
    }
    Limits l;
    CHECK(l.set("max_parts", "1"));
    CHECK(l.maxParts == 1);
    CHECK(l.set("max_parts", "4294967295"));
    CHECK(l.maxParts == 4294967295u);
    CHECK(l.set("max_message_bytes", "4294967296"));  // a 64-bit limit takes it
    CHECK(l.maxMessageBytes == 4294967296ull);
    CHECK(l.set("max_message_bytes", "18446744073709551615"));
    CHECK_FALSE(l.set("max_message_bytes", "18446744073709551616"));
    CHECK(l.maxMessageBytes == 18446744073709551615ull);
    CHECK_FALSE(l.set("MAX_PARTS", "5"));  // names are exact; the config lower-cases keys
    CHECK_FALSE(l.set("", "5"));
  }

  TEST_CASE("policy: max_output_line is capped at 998") {
    Limits l;
    CHECK(l.set("max_output_line", "5000"));
    CHECK(l.maxOutputLine == 998);
    CHECK(l.set("max_output_line", "500"));
    CHECK(l.maxOutputLine == 500);
  }

  TEST_CASE("policy: Limits::list names every limit in order and round-trips through set") {
    const Limits d;
    const auto list = d.list();
    const auto names = limitNames();
    // Unique snake_case "max_…" names, the core ones among them in declaration order.
    CHECK(std::set<std::string>(names.begin(), names.end()).size() == names.size());
    std::size_t at = 0;
    for (const auto& core : kCoreLimitNames) {
      CAPTURE(core);
      const auto it = std::find(names.begin() + static_cast<std::ptrdiff_t>(at), names.end(), core);
      REQUIRE(it != names.end());
      at = static_cast<std::size_t>(it - names.begin()) + 1;
    }
    CHECK(names.back() == "max_output_line");
    for (const auto& n : names) {
      CAPTURE(n);
      CHECK(n.rfind("max_", 0) == 0);
      CHECK(n.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string::npos);
    }
    Limits changed;
    std::uint64_t v = 80;  // max_output_line accepts 78..998 only
    for (const auto& [name, value] : list) {
      const auto& nameShown = name;  // clang 14 cannot capture a structured binding
      CAPTURE(nameShown);
      CHECK(value > 0);
      CHECK(changed.set(name, std::to_string(v)));
      ++v;
    }
    Limits copy;
    for (const auto& [name, value] : changed.list()) CHECK(copy.set(name, std::to_string(value)));
    CHECK(copy.list() == changed.list());
    CHECK(changed.list() != list);
    CHECK(changed.maxMessageBytes == 80);
    CHECK(changed.maxOutputLine == 80 + list.size() - 1);
    // Below the 78-octet header fold no output could comply: refused, not silently raised.
    CHECK_FALSE(copy.set("max_output_line", "77"));
    CHECK(copy.set("max_output_line", "78"));
    CHECK(copy.set("max_output_line", "5000"));
    CHECK(copy.maxOutputLine == 998);
    // Every value set is the value listed.
    std::uint64_t expect = 80;
    for (const auto& [name, value] : changed.list()) CHECK(value == expect++);
  }

  TEST_CASE("policy: remove_types accepts exactly the tokens sniff() can return") {
    for (const auto token : mugai::core::sniffTokens()) {
      CAPTURE(std::string(token));
      const std::string err = errorOf("remove_types = " + std::string(token));
      CHECK(err == "");
    }
    for (const std::string t : {"exe", "javascript", "pdf ", "PDF"}) {
      CAPTURE(t);
      const std::string err = errorOf("remove_types = " + t);
      const bool known = t == "pdf " || t == "PDF";  // trimmed and lower-cased
      CHECK((err.empty() == known));
    }
  }

  TEST_CASE("policy: isBlockedName uses the built-in list and the extra extensions") {
    const Policy d = Policy::defaults();
    const Policy p = Policy::fromConfig("blocked_extensions = xyz, .abc", "b.conf");
    struct Row {
      const char* name;
      bool byDefault;
      bool withExtra;
    };
    const Row rows[] = {
        {"a.exe", true, true},           {"A.EXE", true, true},
        {"report.pdf.exe", true, true},  {"a.exe. ", true, true},
        {"a.js", true, true},            {"a.xyz", false, true},
        {"A.XYZ", false, true},          {"a.abc", false, true},
        {"a.xyz. .", false, true},       {"a.xyz.pdf", false, false},
        {"xyz", false, false},           {"a.xyzz", false, false},
        {"a.pdf", false, false},         {"", false, false},
    };
    for (const auto& r : rows) {
      CAPTURE(std::string(r.name));
      CHECK(d.isBlockedName(r.name) == r.byDefault);
      CHECK(p.isBlockedName(r.name) == r.withExtra);
    }
  }

  TEST_CASE("policy: extra extensions are matched as robustly as the built-in ones") {
    // Regression (was a bug): hasDangerousExtension ignores invisible Unicode marks and "::$DATA"
    // ("a.exe::$DATA" is blocked), but Policy::isBlockedName's own check for extraBlockedExtensions
    // only strips trailing dots and spaces, so "a.xyz::$DATA" and "a.xyz\u200E" pass (policy.cc,
    // isBlockedName).
    const Policy p = Policy::fromConfig("blocked_extensions = xyz", "b.conf");
    CHECK(Policy::defaults().isBlockedName("a.exe::$DATA"));  // the built-in behaviour
    CHECK(p.isBlockedName("a.xyz::$DATA"));
    CHECK(p.isBlockedName("a.xyz\xE2\x80\x8E"));  // U+200E LEFT-TO-RIGHT MARK
    CHECK(p.isBlockedName("a.xyz\xE2\x80\x8B"));  // U+200B ZERO WIDTH SPACE
  }

  TEST_CASE("policy: a multi-part extension is either rejected or matched") {
    // Regression (was a bug): "blocked_extensions = tar.gz" is accepted, but isBlockedName compares
    // only the text after the last dot ("gz"), so the configured entry can never match anything: a
    // silent no-op in a security setting (policy.cc, fromConfig blocked_extensions /
    // isBlockedName).
    const std::string err = errorOf("blocked_extensions = tar.gz");
    if (err.empty()) {
      const Policy p = Policy::fromConfig("blocked_extensions = tar.gz", "b.conf");
      CHECK(p.isBlockedName("backup.tar.gz"));
    } else {
      CHECK(err.rfind("x.conf:1:", 0) == 0);
    }
  }

  TEST_CASE("policy: a '#' after a value starts a comment, as the example config does") {
    // Regression: the example writes "#limit.max_parts = 1000   # MIME entities walked…", and
    // uncommenting it once gave "bad limit". A '#' inside a quoted value must stay.
    CHECK(errorOf("limit.max_parts = 500   # entities walked") == "");
    CHECK(errorOf("notice = off # quiet") == "");
    const std::string err = errorOf("limit.max_parts = 500   # entities walked");
    if (err.empty()) {
      CHECK(Policy::fromConfig("limit.max_parts = 500 # c", "c").limits.maxParts == 500);
    }
  }

  TEST_CASE("policy: a '#' inside a quoted value is part of the value") {
    const Policy p = Policy::fromConfig("subject_tag = \"[#1] \"", "q.conf");
    CHECK(p.subjectTag == "[#1] ");
    CHECK(Policy::fromConfig("subject_tag = \"[#2] \"  # why", "q.conf").subjectTag == "[#2] ");
    CHECK(errorOf("subject_tag = \"open") == "x.conf:1: unterminated quoted value");
    CHECK(errorOf("subject_tag = \"a\" b") == "x.conf:1: unexpected text after quoted value");
  }

  TEST_CASE("policy: a UTF-8 byte order mark at the start of the file is ignored") {
    // Regression (was a bug): a config saved by Windows Notepad starts with EF BB BF; the first key
    // then reads "\xEF\xBB\xBFsubject_tag" and fromConfig fails with "unknown key" on line 1
    // (policy.cc, fromConfig). The config is documented as UTF-8 text and the staff edit it in
    // Japanese.
    CHECK(errorOf("\xEF\xBB\xBFsubject_tag = \"[無害化] \"\n") == "");
  }

  TEST_CASE("policy: the example config documents every limit and parses when uncommented") {
    const std::filesystem::path example =
        std::filesystem::path(MUGAI_SOURCE_DIR) / "deploy" / "mugai.conf.example";
    if (!std::filesystem::exists(example)) {
      MESSAGE("deploy/mugai.conf.example not found; skipped");
      return;
    }
    const std::string text = readFile(example);
    for (const auto& name : limitNames()) {
      CAPTURE(name);
      CHECK(text.find("limit." + name + " =") != std::string::npos);
    }
    // Every documented setting line ("#key = value"), uncommented and stripped of the trailing
    // explanation, parses.
    std::size_t settings = 0;
    std::size_t start = 0;
    while (start < text.size()) {
      auto nl = text.find('\n', start);
      if (nl == std::string::npos) nl = text.size();
      std::string line = text.substr(start, nl - start);
      start = nl + 1;
      if (line.size() < 2 || line[0] != '#' || line[1] == ' ' || line.find('=') == std::string::npos) {
        continue;
      }
      line.erase(0, 1);
      const auto hash = line.find("   #");
      if (hash != std::string::npos) line.resize(hash);
      CAPTURE(line);
      CHECK(errorOf(line) == "");
      ++settings;
    }
    CHECK(settings >= 7 + limitNames().size());
  }

  TEST_CASE("policy: the example config lines parse exactly as written when uncommented") {
    // The limit lines of the example carry "   # explanation"; each must parse on its own.
    const std::filesystem::path example =
        std::filesystem::path(MUGAI_SOURCE_DIR) / "deploy" / "mugai.conf.example";
    if (!std::filesystem::exists(example)) {
      MESSAGE("deploy/mugai.conf.example not found; skipped");
      return;
    }
    const std::string text = readFile(example);
    std::size_t start = 0;
    while (start < text.size()) {
      auto nl = text.find('\n', start);
      if (nl == std::string::npos) nl = text.size();
      std::string line = text.substr(start, nl - start);
      start = nl + 1;
      if (line.size() < 2 || line[0] != '#' || line[1] == ' ' || line.find('=') == std::string::npos) {
        continue;
      }
      line.erase(0, 1);
      CAPTURE(line);
      CHECK(errorOf(line) == "");
    }
  }

  TEST_CASE("policy: fromFile reads a file and reports unreadable paths") {
    const auto dir = std::filesystem::temp_directory_path() / "mugai_policy_test";
    std::filesystem::create_directories(dir);
    const auto good = dir / "good.conf";
    {
      std::ofstream out(good, std::ios::binary);
      out << "subject_tag = \"[外部] \"\nlimit.max_parts = 7\n";
    }
    const Policy p = Policy::fromFile(good.string());
    CHECK(p.subjectTag == "[外部] ");
    CHECK(p.limits.maxParts == 7);

    const auto bad = dir / "bad.conf";
    {
      std::ofstream out(bad, std::ios::binary);
      out << "notice = on\nnotice = sometimes\n";
    }
    try {
      (void)Policy::fromFile(bad.string());
      FAIL("a bad config was accepted");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()) == bad.string() + ":2: notice must be on or off");
    }

    const std::string missing = (dir / "missing.conf").string();
    try {
      (void)Policy::fromFile(missing);
      FAIL("a missing config was accepted");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()).rfind(missing + ":", 0) == 0);
    }
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("policy: a directory given as the config file is an error, not the defaults") {
    // Regression (was a bug): std::ifstream opens a directory without error on Linux, the read
    // fails with EISDIR, but `text << in.rdbuf()` sets failbit on `text`, not badbit on `in`, so
    // fromFile returns the defaults for "mugai --config /etc/mugai/" (policy.cc, fromFile). Check
    // is_regular_file or text.fail()/in.fail() after the read.
    const auto dir = std::filesystem::temp_directory_path() / "mugai_policy_dir_test";
    std::filesystem::create_directories(dir);
    bool threw = false;
    try {
      (void)Policy::fromFile(dir.string());
    } catch (const ConfigError& e) {
      threw = true;
      CHECK(std::string(e.what()).rfind(dir.string() + ":", 0) == 0);
    }
    CHECK(threw);
    std::filesystem::remove_all(dir);
  }
}
