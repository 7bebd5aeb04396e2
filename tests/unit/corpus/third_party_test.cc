// The pipeline over mail written by other projects (../shared/corpus/third-party): parser test
// suites, real-world breakage, hostile structures. Skips cleanly when the folder is absent.
//
// Each message must: not crash; come out either held or as a message that passes verifyOutput
// (7-bit, CRLF, ≤ 998-octet lines, allowed types only — so no text/html — and no GMime warning
// on re-parse); be byte-identical on a second run; finish within the per-message wall-time
// limit (1 s; relaxed under sanitizers, which are ~10× slower); change nothing further when its
// output is sanitized again; keep every line of its UTF-8/ASCII text bodies; and name every
// removed file in the notice. At most 10% of the messages may be held.
#include <doctest/doctest.h>
#include <gmime/gmime.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/charset.h"
#include "core/pipeline.h"

namespace fs = std::filesystem;
using namespace mugai::core;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr std::uint32_t kWallMs = 20000;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr std::uint32_t kWallMs = 20000;
#else
constexpr std::uint32_t kWallMs = 1000;
#endif
#else
constexpr std::uint32_t kWallMs = 1000;
#endif

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool isMessageFile(const fs::path& p) {
  const std::string ext = p.extension().string();
  const std::string name = p.filename().string();
  const std::string dir = p.parent_path().filename().string();
  if (ext == ".eml" || ext == ".msg" || ext == ".raw" || ext == ".mhtml") return true;
  if (dir == "python-email" && name.rfind("msg_", 0) == 0) return true;
  return name.rfind("testRFC822", 0) == 0;
}

std::vector<fs::path> messageFiles(const fs::path& root) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file() || !isMessageFile(e.path())) continue;
    const std::string head = readFile(e.path()).substr(0, 8);
    if (head.rfind("\xD0\xCF\x11\xE0", 0) == 0) continue;  // Outlook .msg (CFB), not RFC 5322
    files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

struct GUnref {
  void operator()(gpointer p) const { if (p) g_object_unref(p); }
};

// Decoded text of every text/plain leaf, through GMime's own charset handling (an oracle that
// does not share Mugai's decoder).
void collectText(GMimeObject* obj, std::vector<std::string>& out, int depth = 0) {
  if (!obj || depth > 64) return;
  if (GMIME_IS_MULTIPART(obj)) {
    GMimeMultipart* mp = GMIME_MULTIPART(obj);
    const bool alternative =
        g_mime_content_type_is_type(g_mime_object_get_content_type(obj), "multipart", "alternative");
    for (int i = 0; i < g_mime_multipart_get_count(mp); ++i) {
      GMimeObject* child = g_mime_multipart_get_part(mp, i);
      // Alternatives say the same thing twice: only the first plain-text one is the body.
      if (alternative && !g_mime_content_type_is_type(g_mime_object_get_content_type(child), "text", "plain")) continue;
      collectText(child, out, depth + 1);
      if (alternative) break;
    }
  } else if (GMIME_IS_MESSAGE_PART(obj)) {
    GMimeMessage* m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
    if (m) collectText(g_mime_message_get_mime_part(m), out, depth + 1);
  } else if (GMIME_IS_TEXT_PART(obj)) {
    GMimeContentType* ct = g_mime_object_get_content_type(obj);
    if (!g_mime_content_type_is_type(ct, "text", "plain")) return;
    // Bodies only: a named text part is a file (an attached .eml may legitimately be nested).
    if (g_mime_part_get_filename(GMIME_PART(obj))) return;
    // The transfer-decoded bytes, used only when they are valid UTF-8 (ASCII included): an
    // oracle that needs no charset decoder at all.
    GMimeDataWrapper* w = g_mime_part_get_content(GMIME_PART(obj));
    if (!w) return;
    GMimeStream* mem = g_mime_stream_mem_new();
    g_mime_data_wrapper_write_to_stream(w, mem);
    GByteArray* arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    std::string text(reinterpret_cast<const char*>(arr->data), arr->len);
    g_object_unref(mem);
    std::string copy = text;
    if (repairUtf8(copy) == 0) out.push_back(std::move(text));
  }
}

std::vector<std::string> textBodies(const std::string& message) {
  GMimeStream* stream = g_mime_stream_mem_new_with_buffer(message.data(), message.size());
  GMimeParser* parser = g_mime_parser_new_with_stream(stream);
  GMimeMessage* msg = g_mime_parser_construct_message(parser, nullptr);
  std::vector<std::string> out;
  if (msg) collectText(g_mime_message_get_mime_part(msg), out);
  if (msg) g_object_unref(msg);
  g_object_unref(parser);
  g_object_unref(stream);
  return out;
}

void collectTypes(GMimeObject* obj, std::vector<std::string>& out, int depth = 0) {
  if (!obj || depth > 64) return;
  char* t = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(obj));
  char* lowered = g_ascii_strdown(t, -1);
  out.emplace_back(lowered);
  g_free(lowered);
  g_free(t);
  if (GMIME_IS_MULTIPART(obj)) {
    for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(obj)); ++i) {
      collectTypes(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), out, depth + 1);
    }
  } else if (GMIME_IS_MESSAGE_PART(obj)) {
    GMimeMessage* m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
    if (m) collectTypes(g_mime_message_get_mime_part(m), out, depth + 1);
  }
}

// Every Content-Type in a message, as GMime reads it.
std::vector<std::string> contentTypes(const std::string& message) {
  GMimeStream* stream = g_mime_stream_mem_new_with_buffer(message.data(), message.size());
  GMimeParser* parser = g_mime_parser_new_with_stream(stream);
  GMimeMessage* msg = g_mime_parser_construct_message(parser, nullptr);
  std::vector<std::string> out;
  if (msg) collectTypes(g_mime_message_get_mime_part(msg), out);
  if (msg) g_object_unref(msg);
  g_object_unref(parser);
  g_object_unref(stream);
  return out;
}

// Lines worth checking: valid UTF-8, printable, long enough to be a sentence.
std::vector<std::string> sentences(const std::string& text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  bool inEncodedFile = false;  // uuencode/yEnc blocks are removed on purpose
  while (i <= text.size()) {
    auto nl = text.find('\n', i);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(i, nl - i);
    i = nl + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.erase(0, 1);
    if (line.rfind("begin ", 0) == 0 || line.rfind("=ybegin", 0) == 0) inEncodedFile = true;
    if (inEncodedFile) {
      if (line == "end" || line.rfind("=yend", 0) == 0) inEncodedFile = false;
      continue;
    }
    if (line.size() < 12) continue;
    std::string copy = line;
    if (repairUtf8(copy) != 0) continue;
    const bool plain = std::all_of(line.begin(), line.end(), [](char c) {
      const auto u = static_cast<unsigned char>(c);
      return u >= 0x20 && u != 0x7f;
    });
    if (!plain || line.find("\xE2\x80") != std::string::npos) continue;  // bidi/format chars
    out.push_back(line);
  }
  return out;
}

}  // namespace

TEST_SUITE("third-party") {
  TEST_CASE("third-party mail: no crash, rules obeyed, deterministic, idempotent, few held") {
    const fs::path root = MUGAI_THIRD_PARTY_DIR;
    if (!fs::is_directory(root)) {
      MESSAGE("skipped: " << root.string() << " is absent");
      return;
    }
    const auto files = messageFiles(root);
    REQUIRE(files.size() > 100);
    Policy policy = Policy::defaults();
    policy.limits.maxWallMs = kWallMs;
    std::size_t held = 0;
    std::size_t linesChecked = 0;
    for (const auto& file : files) {
      const std::string name = fs::relative(file, root).string();
      CAPTURE(name);
      const std::string input = readFile(file);
      const Outcome first = sanitizeMessage(input, policy);
      const Outcome again = sanitizeMessage(input, policy);
      CHECK(first.message == again.message);
      CHECK(first.report.toJson() == again.report.toJson());
      for (const auto& p : first.report.parts) CHECK(p.reason != "limit.wall_time");
      if (!first.delivered) {
        ++held;
        MESSAGE("held: " << name << ": " << first.report.heldReason << " " << first.report.heldDetail);
        continue;
      }
      CHECK(verifyOutput(first.message, policy.limits) == "");
      for (const auto& type : contentTypes(first.message)) CHECK(type != "text/html");

      // A second pass changes nothing further.
      const Outcome second = sanitizeMessage(first.message, policy);
      REQUIRE(second.delivered);
      for (const auto& p : second.report.parts) {
        CHECK(p.disposition != Disposition::Removed);
        CHECK(p.disposition != Disposition::Converted);
      }
      CHECK(textBodies(second.message) == textBodies(first.message));

      // Every removed file is named in the notice.
      const auto outText = textBodies(first.message);
      const std::string notice = outText.empty() ? "" : outText.front();
      for (const auto& p : first.report.parts) {
        if (p.disposition != Disposition::Removed || p.names.empty()) continue;
        const std::string shown = escapeForDisplay(p.names.front()).substr(0, 60);
        CHECK_MESSAGE(notice.find(shown.substr(0, std::min<std::size_t>(shown.size(), 40))) !=
                          std::string::npos,
                      "removed file not named in the notice: " << p.names.front());
      }

      // Every sentence of the sender's UTF-8/ASCII text bodies survives.
      std::string all;
      for (const auto& t : outText) all += t;
      for (const auto& body : textBodies(input)) {
        for (const auto& line : sentences(body)) {
          ++linesChecked;
          CHECK_MESSAGE(all.find(line) != std::string::npos, "sentence lost: " << line);
        }
      }
    }
    MESSAGE(files.size() << " messages, " << held << " held, " << linesChecked << " lines checked");
    CHECK(held * 10 <= files.size());
  }
}
