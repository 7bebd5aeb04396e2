// See pipeline.h. The walk turns the input tree into an ordered list of output items (text
// bodies and sanitized attachments) per message level; the reconstruction then builds one
// multipart/mixed (or a single text part) from them. Flattening the input's containers this way
// is what makes ambiguous structures (alternatives of alternatives, related inside signed…)
// come out as one unambiguous tree, and it bounds the output depth by the message/rfc822
// nesting alone.
#include "core/pipeline.h"

#include <gmime/gmime.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>

#include "core/charset.h"
#include "core/digest.h"
#include "core/header_encode.h"
#include "core/mime_writer.h"
#include "core/notice.h"
#include "core/sniff.h"
#include "core/text_util.h"
#include "sanitizers/html/html_to_text.h"
#include "sanitizers/sanitizer.h"
#include "sanitizers/text/text_sanitizer.h"

namespace mugai::core {
namespace {

using Clock = std::chrono::steady_clock;

// --- GLib/GMime ownership helpers -------------------------------------------------------------

struct GObjectUnref {
  void operator()(gpointer p) const {
    if (p) g_object_unref(p);
  }
};
template <typename T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

struct GFree {
  void operator()(gpointer p) const { g_free(p); }
};
using GString_ = std::unique_ptr<char, GFree>;

void ensureGMime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

using text::isAscii;
using text::lower;

std::string_view warningName(GMimeParserWarning w) {
  switch (w) {
    case GMIME_WARN_DUPLICATED_HEADER: return "duplicated_header";
    case GMIME_WARN_DUPLICATED_PARAMETER: return "duplicated_parameter";
    case GMIME_WARN_UNENCODED_8BIT_HEADER: return "unencoded_8bit_header";
    case GMIME_WARN_INVALID_CONTENT_TYPE: return "invalid_content_type";
    case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE: return "invalid_rfc2047_header_value";
    case GMIME_WARN_MALFORMED_MULTIPART: return "malformed_multipart";
    case GMIME_WARN_TRUNCATED_MESSAGE: return "truncated_message";
    case GMIME_WARN_MALFORMED_MESSAGE: return "malformed_message";
    case GMIME_CRIT_INVALID_HEADER_NAME: return "invalid_header_name";
    case GMIME_CRIT_CONFLICTING_HEADER: return "conflicting_header";
    case GMIME_CRIT_CONFLICTING_PARAMETER: return "conflicting_parameter";
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY: return "multipart_without_boundary";
    case GMIME_WARN_INVALID_PARAMETER: return "invalid_parameter";
    case GMIME_WARN_INVALID_ADDRESS_LIST: return "invalid_address_list";
    case GMIME_CRIT_NESTING_OVERFLOW: return "nesting_overflow";
    case GMIME_WARN_PART_WITHOUT_CONTENT: return "part_without_content";
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT: return "part_without_headers_or_content";
  }
  return "unknown";
}

bool isCritical(GMimeParserWarning w) {
  switch (w) {
    case GMIME_CRIT_INVALID_HEADER_NAME:
    case GMIME_CRIT_CONFLICTING_HEADER:
    case GMIME_CRIT_CONFLICTING_PARAMETER:
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
    case GMIME_CRIT_NESTING_OVERFLOW:
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
      return true;
    default:
      return false;
  }
}

struct Warnings {
  Findings findings;
  std::size_t count = 0;
};

void onParserWarning(gint64 offset, GMimeParserWarning code, const gchar* item, gpointer data) {
  auto* w = static_cast<Warnings*>(data);
  ++w->count;
  if (w->findings.size() >= 64) return;  // capped: a hostile message can raise thousands
  std::string detail(warningName(code));
  if (offset >= 0) detail += " at " + std::to_string(offset);
  if (item) {
    std::string shown(item);
    if (shown.size() > 80) shown.resize(80);
    repairUtf8(shown);
    detail += ": " + shown;
  }
  w->findings.push_back({isCritical(code) ? "mime.parser_critical" : "mime.parser_warning", detail});
}

// Parses bytes as a message with our warning callback; nullptr when GMime finds no message.
GPtr<GMimeMessage> parseMessage(std::string_view bytes, Warnings& warnings) {
  GMimeParserOptions* options = g_mime_parser_options_new();
  static const char* kFallback[] = {"utf-8", "cp932", "euc-jp", "iso-8859-1", nullptr};
  g_mime_parser_options_set_fallback_charsets(options, kFallback);
  g_mime_parser_options_set_warning_callback(options, onParserWarning, &warnings);
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(bytes.data(), bytes.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  GPtr<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), options));
  g_mime_parser_options_free(options);
  return msg;
}

std::string decodedContent(GMimePart* part) {
  GMimeDataWrapper* wrapper = g_mime_part_get_content(part);
  if (!wrapper) return {};
  GPtr<GMimeStream> mem(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(wrapper, mem.get());
  GByteArray* arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
  return std::string(reinterpret_cast<const char*>(arr->data), arr->len);
}

std::string mimeTypeOf(GMimeObject* obj) {
  GMimeContentType* ct = g_mime_object_get_content_type(obj);
  if (!ct) return "text/plain";
  GString_ t(g_mime_content_type_get_mime_type(ct));
  return t ? lower(t.get()) : "application/octet-stream";
}

std::string paramOf(GMimeObject* obj, const char* name) {
  const char* v = g_mime_object_get_content_type_parameter(obj, name);
  return v ? std::string(v) : std::string();
}

// --- output helpers ------------------------------------------------------------------------

// A file name as written to the output: last path component, no controls or bidi, bounded.
std::string cleanFilename(std::string_view raw, std::string_view fallback) {
  std::string name(raw);
  const auto slash = name.find_last_of("/\\");
  if (slash != std::string::npos) name.erase(0, slash + 1);
  Findings ignored;
  sanitizers::text::neutralize(name, ignored);
  std::string out;
  for (const char c : name) {
    if (c != '\n' && c != '\t' && c != '"') out += c;
  }
  while (!out.empty() && (out.front() == ' ' || out.front() == '.')) out.erase(0, 1);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > 180) {
    std::size_t cut = 180;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out.empty() ? std::string(fallback) : out;
}

// Extensions under which kept plain text may travel: their programs show text as text. A name
// without an extension is left as it is (the content type decides how it opens).
bool hasTextExtension(std::string_view name) {
  static constexpr std::string_view kText[] = {
      "txt", "text", "log", "md", "markdown", "rst", "csv", "tsv", "xml", "json", "yaml", "yml",
      "ini", "cfg", "conf", "asc", "vcf", "ics", "diff", "patch", "srt", "me"};
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return true;
  const std::string ext = lower(name.substr(dot + 1));
  return std::find(std::begin(kText), std::end(kText), ext) != std::end(kText);
}

std::string defaultName(std::string_view trueType) {
  if (trueType == "text" || trueType == "empty") return "attachment.txt";
  if (trueType == "calendar") return "invite.ics";
  return "attachment." + std::string(trueType);
}

// --- the walk --------------------------------------------------------------------------------

struct Item {
  bool body = false;  ///< a text body (the notice goes into the first one)
  OutEntity entity;
};

enum class Mode { Normal, RelatedResource, UnusedAlternative };

struct Ctx {
  const Policy& policy;
  const Limits& limits;
  Report& report;
  Clock::time_point deadline;
  std::uint32_t partsSeen = 0;
  std::uint64_t partsOverLimit = 0;
  std::uint64_t partsOverTime = 0;
  Warnings warnings;
  // Entities the reconstruction adds (a multipart/mixed wrapper, a text part for the notice):
  // limit.max_parts bounds the input walked, the output check allows these on top.
  std::uint32_t partsAdded = 0;
};

bool isTextBodyType(std::string_view declared) {
  if (declared == "text/html" || declared == "text/csv" || declared == "text/calendar" ||
      declared == "text/xml" || declared == "text/x-vcard" || declared == "text/vcard" ||
      declared == "text/rtf" || declared == "text/richtext" || declared == "text/x-vcalendar" ||
      declared == "text/tab-separated-values" || declared == "text/javascript" ||
      declared == "text/ecmascript" || declared == "text/x-sh" || declared == "text/x-python") {
    return false;
  }
  if (declared.rfind("text/", 0) == 0) return true;
  return declared == "message/delivery-status" || declared == "message/disposition-notification" ||
         declared == "message/feedback-report" || declared == "message/global-delivery-status" ||
         declared == "message/global-disposition-notification";
}

bool textLikeToken(std::string_view tt) {
  return tt == "text" || tt == "empty" || tt == "eml" || tt == "unknown" || tt == "xml" ||
         tt == "calendar" || tt == "vcard" || tt == "html" || tt == "svg";
}

// The parameters of a raw Content-Type or Content-Disposition value, as (lower-case name,
// value) pairs: ';'-separated, values unquoted (backslash escapes undone). Only what the
// candidate-name check needs; GMime remains the parser of record.
std::vector<std::pair<std::string, std::string>> rawParameters(std::string_view raw) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = raw.find(';');
  while (i != std::string_view::npos && i < raw.size() && out.size() < 64) {
    ++i;  // past ';'
    const std::size_t eq = raw.find_first_of("=;", i);
    if (eq == std::string_view::npos || raw[eq] == ';') {
      i = eq;
      continue;
    }
    std::string name;
    for (const char c : raw.substr(i, eq - i)) {
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') name += g_ascii_tolower(c);
    }
    std::size_t j = eq + 1;
    while (j < raw.size() && (raw[j] == ' ' || raw[j] == '\t' || raw[j] == '\r' || raw[j] == '\n')) ++j;
    std::string value;
    if (j < raw.size() && raw[j] == '"') {
      for (++j; j < raw.size() && raw[j] != '"'; ++j) {
        if (raw[j] == '\\' && j + 1 < raw.size()) ++j;
        if (raw[j] != '\r' && raw[j] != '\n') value += raw[j];
      }
      i = raw.find(';', j);
    } else {
      const std::size_t end = raw.find(';', j);
      value = std::string(raw.substr(j, end == std::string_view::npos ? end : end - j));
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t' ||
                                value.back() == '\r' || value.back() == '\n')) {
        value.pop_back();
      }
      i = end;
    }
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

std::vector<std::string> candidateNames(GMimeObject* obj, std::uint32_t maxNames) {
  std::vector<std::string> names;
  const auto addFrom = [&](GMimeParamList* list, bool disposition) {
    if (!list) return;
    const int n = g_mime_param_list_length(list);
    for (int i = 0; i < n && names.size() < maxNames; ++i) {
      GMimeParam* p = g_mime_param_list_get_parameter_at(list, i);
      const std::string pname = lower(g_mime_param_get_name(p));
      const bool wanted = disposition ? pname.rfind("filename", 0) == 0 : pname.rfind("name", 0) == 0;
      const char* value = g_mime_param_get_value(p);
      if (!wanted || !value || !*value) continue;
      std::string v = std::string(value).find("=?") != std::string::npos ? decodeHeaderText(value)
                                                                         : std::string(value);
      repairUtf8(v);
      if (std::find(names.begin(), names.end(), v) == names.end()) names.push_back(v);
    }
  };
  if (GMimeContentDisposition* d = g_mime_object_get_content_disposition(obj)) {
    addFrom(g_mime_content_disposition_get_parameters(d), true);
  }
  if (GMimeContentType* ct = g_mime_object_get_content_type(obj)) {
    addFrom(g_mime_content_type_get_parameters(ct), false);
  }
  // GMime decodes encoded-words in parameter values itself, and stops at the padding of a
  // B-word followed by another: name="=?UTF-8?B?YQ==?= =?UTF-8?B?LmpzZQ==?=" reads as a there,
  // as a.jse in Outlook. The raw values are decoded here too, and every reading is a candidate.
  const auto addRaw = [&](const char* field, std::string_view prefix) {
    // The value as received (g_mime_object_get_header gives GMime's re-encoding of it).
    GMimeHeader* h = g_mime_header_list_get_header(g_mime_object_get_header_list(obj), field);
    const char* raw = h ? g_mime_header_get_raw_value(h) : nullptr;
    if (!raw) return;
    for (const auto& [pname, value] : rawParameters(raw)) {
      if (names.size() >= maxNames) return;
      if (pname.rfind(prefix, 0) != 0 || pname.find('*') != std::string::npos) continue;
      if (value.find("=?") == std::string::npos) continue;
      std::string v = decodeHeaderText(value);
      repairUtf8(v);
      if (!v.empty() && std::find(names.begin(), names.end(), v) == names.end()) names.push_back(v);
    }
  };
  addRaw("Content-Disposition", "filename");
  addRaw("Content-Type", "name");
  return names;
}

bool isAttachmentDisposition(GMimeObject* obj) {
  const char* d = g_mime_object_get_disposition(obj);
  return d && g_ascii_strcasecmp(d, "attachment") == 0;
}

bool blockedByName(const std::vector<std::string>& names, const Policy& policy) {
  return std::any_of(names.begin(), names.end(),
                     [&](const std::string& n) { return policy.isBlockedName(n); });
}

// Decides what happens to one file — an attachment, or a member of an archive being rebuilt —
// and runs its sanitizer. The order matters: the content's own type first (the most precise
// reason), then every candidate name (so "a.txt" declared beside "a.exe" cannot slip through on
// its text content), then policy, encryption, active text formats, and finally the registry;
// a type no sanitizer handles is removed. `cut` receives files cut out of a text file.
sanitizers::PartOutput dispatchFile(const sanitizers::PartInput& in,
                                    std::vector<sanitizers::text::CutBlock>* cut) {
  const Policy& policy = *in.policy;
  const std::string tt(in.trueType);
  sanitizers::PartOutput out;
  const auto remove = [&](const char* reason) {
    out.disposition = Disposition::Removed;
    out.reason = reason;
    return out;
  };
  const std::string_view family = familyOf(tt);
  if (family == "executable" || family == "script" || family == "shortcut" ||
      family == "disk-image") {
    return remove("type.executable");
  }
  if (blockedByName(in.names, policy)) return remove("name.blocked_extension");
  if (policy.removeTypes.count(tt)) return remove("type.blocked");
  if (tt == "zip-encrypted") return remove("encrypted.zip");
  if (family == "encrypted") return remove("encrypted.file");
  if (tt == "html" || tt == "svg" || in.declaredType == "text/html" ||
      in.declaredType == "image/svg+xml") {
    return remove("type.unsafe_text");
  }
  if (Clock::now() > in.deadline) return remove("limit.wall_time");
  const std::string fallbackName = defaultName(tt);
  const std::string outName = cleanFilename(in.names.empty() ? "" : in.names.front(), fallbackName);

  const sanitizers::Sanitizer* s = sanitizers::findSanitizer(tt, in.declaredType);
  if (!s && (tt == "text" || tt == "empty" || tt == "xml" || tt == "vcard")) {
    auto res = sanitizers::text::sanitizePlainText(in.bytes, in.charset, *in.limits);
    out.disposition = Disposition::Kept;
    out.sanitizer = "text";
    out.contentType = "text/plain";
    out.charset = "utf-8";
    out.filename = outName;
    out.bytes = std::move(res.utf8);
    out.findings = std::move(res.findings);
    // Text kept under a name that promises another format ("oops" as bad1.pdf) would open in
    // that format's program: the name gets ".txt", so it opens as what it is.
    if (!hasTextExtension(out.filename)) {
      out.findings.push_back({"type.renamed", out.filename + " → " + out.filename + ".txt"});
      out.filename += ".txt";
    }
    if (cut) *cut = std::move(res.cut);
    return out;
  }
  if (!s) return remove(family == "archive" ? "archive.unsupported" : "type.no_sanitizer");
  try {
    out = s->sanitize(in);
  } catch (const std::exception& e) {
    out = {};
    out.disposition = Disposition::Removed;
    out.reason = "error.sanitizer";
    out.findings.push_back({"error.sanitizer", e.what()});
  }
  out.sanitizer = std::string(s->name());
  if (out.disposition != Disposition::Removed) {
    out.filename = cleanFilename(out.filename.empty() ? outName : out.filename, fallbackName);
  }
  return out;
}

class Walker {
 public:
  explicit Walker(Ctx& ctx) : ctx_(ctx) {}

  /// Builds the output for one message level: header fields and items.
  struct Level {
    std::vector<std::string> fields;
    std::vector<Item> items;
  };

  Level message(GMimeMessage* msg, const std::string& path, unsigned msgDepth, bool nested) {
    Level level;
    level.fields = headerFields(msg, path, nested);
    GMimeObject* root = g_mime_message_get_mime_part(msg);
    if (root) walk(root, path, 1, msgDepth, nested, Mode::Normal, level.items);
    return level;
  }

  OutMessage assemble(Level level, std::string_view notice) {
    OutMessage out;
    out.fields = std::move(level.fields);
    auto firstBody = std::find_if(level.items.begin(), level.items.end(),
                                  [](const Item& i) { return i.body; });
    if (!notice.empty()) {
      if (firstBody == level.items.end()) {
        Item item;
        item.body = true;
        item.entity.charset = "utf-8";
        level.items.insert(level.items.begin(), std::move(item));
        firstBody = level.items.begin();
        ++ctx_.partsAdded;
      }
      firstBody->entity.body.insert(0, notice);
    }
    for (auto& item : level.items) {
      if (item.body) encodeTextBody(item.entity);
    }
    if (level.items.size() == 1 && level.items.front().body) {
      out.body = std::move(level.items.front().entity);
    } else if (level.items.empty()) {
      out.body.type = "text/plain";
      out.body.charset = "utf-8";
      ++ctx_.partsAdded;
    } else {
      out.body.type = "multipart/mixed";
      ++ctx_.partsAdded;
      for (auto& item : level.items) out.body.children.push_back(std::move(item.entity));
    }
    return out;
  }

 private:
  // Text bodies are kept as UTF-8 until the end; here they take the output charset.
  void encodeTextBody(OutEntity& e) {
    if (!e.body.empty() && e.body.back() != '\n') e.body += '\n';
    e.charset = "utf-8";
    if (ctx_.policy.outputCharset == OutputCharset::Iso2022Jp) {
      if (auto jis = encodeFromUtf8(e.body, "ISO-2022-JP")) {
        e.body = std::move(*jis);
        e.charset = "iso-2022-jp";
      }
    }
  }

  PartRecord& record(const std::string& path, std::string declared, std::string trueType,
                     bool nested) {
    PartRecord r;
    r.path = path;
    r.declaredType = std::move(declared);
    r.trueType = std::move(trueType);
    r.inAttachedMessage = nested;
    ctx_.report.parts.push_back(std::move(r));
    return ctx_.report.parts.back();
  }

  void removed(const std::string& path, std::string declared, std::string trueType,
               std::vector<std::string> names, std::uint64_t size, std::string reason,
               bool nested, Findings findings = {}) {
    PartRecord& r = record(path, std::move(declared), std::move(trueType), nested);
    r.names = std::move(names);
    r.size = size;
    r.disposition = Disposition::Removed;
    r.reason = std::move(reason);
    r.findings = std::move(findings);
  }

  // Counts the entity; false when a limit says it must not be processed.
  bool admit() {
    ++ctx_.partsSeen;
    if (ctx_.partsSeen > ctx_.limits.maxParts) {
      ++ctx_.partsOverLimit;
      return false;
    }
    if (Clock::now() > ctx_.deadline) {
      ++ctx_.partsOverTime;
      return false;
    }
    return true;
  }

  void walk(GMimeObject* obj, const std::string& path, unsigned depth, unsigned msgDepth,
            bool nested, Mode mode, std::vector<Item>& out) {
    if (!admit()) return;
    const std::string declared = mimeTypeOf(obj);
    if (depth > ctx_.limits.maxInputDepth) {
      removed(path, declared, GMIME_IS_MULTIPART(obj) ? "multipart" : "", {}, 0, "limit.depth",
              nested);
      return;
    }
    if (GMIME_IS_MULTIPART_ENCRYPTED(obj) || declared == "multipart/encrypted") {
      removed(path, declared, "multipart", {}, 0, "encrypted.mail", nested);
      return;
    }
    if (GMIME_IS_MULTIPART(obj)) {
      multipart(GMIME_MULTIPART(obj), declared, path, depth, msgDepth, nested, mode, out);
      return;
    }
    if (GMIME_IS_MESSAGE_PARTIAL(obj) || declared == "message/partial") {
      removed(path, declared, "message", {}, 0, "message.partial", nested);
      return;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
      messagePart(GMIME_MESSAGE_PART(obj), declared, path, msgDepth, nested, out);
      return;
    }
    if (declared == "message/external-body") {
      removed(path, declared, "message", {}, 0, "message.external_body", nested);
      return;
    }
    if (GMIME_IS_PART(obj)) {
      leaf(GMIME_PART(obj), declared, path, msgDepth, nested, mode, out);
      return;
    }
    removed(path, declared, "unknown", {}, 0, "type.no_sanitizer", nested);
  }

  void multipart(GMimeMultipart* mp, const std::string& declared, const std::string& path,
                 unsigned depth, unsigned msgDepth, bool nested, Mode mode,
                 std::vector<Item>& out) {
    PartRecord& self = record(path, declared, "multipart", nested);
    self.disposition = Disposition::Container;
    const int n = g_mime_multipart_get_count(mp);
    const auto child = [&](int i) { return g_mime_multipart_get_part(mp, i); };
    const auto childPath = [&](int i) { return path + "." + std::to_string(i + 1); };

    if (declared == "multipart/alternative" && mode == Mode::Normal) {
      const int chosen = chooseAlternative(mp);
      for (int i = 0; i < n; ++i) {
        walk(child(i), childPath(i), depth + 1, msgDepth, nested,
             i == chosen ? Mode::Normal : Mode::UnusedAlternative, out);
      }
      return;
    }
    if (declared == "multipart/related") {
      int root = 0;
      const std::string start = paramOf(GMIME_OBJECT(mp), "start");
      if (!start.empty()) {
        for (int i = 0; i < n; ++i) {
          const char* cid = g_mime_object_get_content_id(child(i));
          if (cid && start.find(cid) != std::string::npos) {
            root = i;
            break;
          }
        }
      }
      for (int i = 0; i < n; ++i) {
        const Mode m = mode == Mode::UnusedAlternative ? mode
                       : i == root                     ? mode
                                                       : Mode::RelatedResource;
        walk(child(i), childPath(i), depth + 1, msgDepth, nested, m, out);
      }
      return;
    }
    if (declared == "multipart/signed") {
      for (int i = 0; i < n; ++i) {
        if (i == 0) {
          walk(child(i), childPath(i), depth + 1, msgDepth, nested, mode, out);
        } else if (admit()) {
          GMimeObject* sig = child(i);
          std::string bytes = GMIME_IS_PART(sig) ? decodedContent(GMIME_PART(sig)) : "";
          removed(childPath(i), mimeTypeOf(sig), sniff(bytes, ctx_.limits),
                  candidateNames(sig, ctx_.limits.maxNames), bytes.size(), "signature.dropped",
                  nested);
        }
      }
      return;
    }
    for (int i = 0; i < n; ++i) {
      walk(child(i), childPath(i), depth + 1, msgDepth, nested, mode, out);
    }
  }

  // The alternative to render: the first text/plain body, else the first HTML, else the first
  // container (which may hold either), else the first part.
  int chooseAlternative(GMimeMultipart* mp) {
    const int n = g_mime_multipart_get_count(mp);
    int html = -1;
    int container = -1;
    for (int i = 0; i < n; ++i) {
      GMimeObject* c = g_mime_multipart_get_part(mp, i);
      const std::string t = mimeTypeOf(c);
      if (isAttachmentDisposition(c)) continue;
      if (t == "text/plain") return i;
      if (t == "text/html" && html < 0) html = i;
      if (GMIME_IS_MULTIPART(c) && container < 0) container = i;
    }
    if (html >= 0) return html;
    if (container >= 0) return container;
    return 0;
  }

  void messagePart(GMimeMessagePart* mp, const std::string& declared, const std::string& path,
                   unsigned msgDepth, bool nested, std::vector<Item>& out) {
    GMimeObject* obj = GMIME_OBJECT(mp);
    std::vector<std::string> names = candidateNames(obj, ctx_.limits.maxNames);
    GMimeMessage* inner = g_mime_message_part_get_message(mp);
    // Each attached message adds two output levels (message/rfc822 and its multipart).
    if ((msgDepth + 1) * 2 + 1 > ctx_.limits.maxDepth) {
      removed(path, declared, "eml", names, 0, "limit.depth", nested);
      return;
    }
    if (!inner) {
      removed(path, declared, "empty", names, 0, "type.no_sanitizer", nested);
      return;
    }
    PartRecord& self = record(path, declared, "eml", nested);
    self.names = names;
    nestMessage(inner, path, msgDepth, ctx_.report.parts.size() - 1,
                names.empty() ? "" : cleanFilename(names.front(), "message.eml"), out);
  }

  // Sanitizes `inner` as an attached message and adds it as message/rfc822; `selfIndex` is the
  // container's record (the walk appends records, so an index, not a reference).
  void nestMessage(GMimeMessage* inner, const std::string& path, unsigned msgDepth,
                   std::size_t selfIndex, std::string filename, std::vector<Item>& out) {
    Level level = message(inner, path + ".m", msgDepth + 1, true);
    OutMessage built = assemble(std::move(level), "");
    PartRecord& r = ctx_.report.parts[selfIndex];
    r.disposition = Disposition::Container;
    r.outputType = "message/rfc822";
    r.outputName = filename;
    Item item;
    item.entity.type = "message/rfc822";
    item.entity.attachment = true;
    item.entity.filename = std::move(filename);
    item.entity.message = std::make_shared<OutMessage>(std::move(built));
    out.push_back(std::move(item));
  }

  // An attachment that is itself a whole message (an .eml file): parsed and nested.
  bool embeddedMessage(std::string_view bytes, const std::string& path, PartRecord& self,
                       unsigned msgDepth, std::vector<Item>& out) {
    if ((msgDepth + 1) * 2 + 1 > ctx_.limits.maxDepth) return false;
    Warnings w;
    GPtr<GMimeMessage> inner = parseMessage(bytes, w);
    if (!inner) return false;
    for (auto& f : w.findings) self.findings.push_back(std::move(f));
    const std::size_t selfIndex = static_cast<std::size_t>(&self - ctx_.report.parts.data());
    nestMessage(inner.get(), path, msgDepth, selfIndex,
                self.names.empty() ? "message.eml" : cleanFilename(self.names.front(), "message.eml"),
                out);
    return true;
  }

  void leaf(GMimePart* part, const std::string& declared, const std::string& path,
            unsigned msgDepth, bool nested, Mode mode, std::vector<Item>& out) {
    GMimeObject* obj = GMIME_OBJECT(part);
    const std::string bytes = decodedContent(part);
    const std::string charset = paramOf(obj, "charset");
    std::string tt = sniff(bytes, ctx_.limits);
    std::vector<std::string> names = candidateNames(obj, ctx_.limits.maxNames);
    const bool attachment = isAttachmentDisposition(obj) || !names.empty();
    // A body is only ever rendered as text, so a "%PDF-" quoted past offset 0 does not make it
    // a PDF file (an attachment with one is still judged a PDF).
    if (tt == "pdf" && mode == Mode::Normal && !attachment && isTextBodyType(declared)) {
      tt = sniffBody(bytes, ctx_.limits);
    }

    if (declared == "application/pkcs7-mime" || declared == "application/x-pkcs7-mime") {
      const std::string smime = lower(paramOf(obj, "smime-type"));
      removed(path, declared, tt, names, bytes.size(),
              smime == "signed-data" ? "smime.opaque_signed" : "encrypted.mail", nested);
      return;
    }

    if (mode == Mode::UnusedAlternative && !attachment &&
        (declared == "text/plain" || declared == "text/html" || declared.rfind("text/", 0) == 0)) {
      removed(path, declared, tt, names, bytes.size(), "alternative.unused", nested);
      return;
    }

    if (mode == Mode::Normal && !attachment && textLikeToken(tt)) {
      if (declared == "text/html") {
        htmlBody(bytes, charset, declared, tt, path, nested, out);
        return;
      }
      if (isTextBodyType(declared)) {
        textBody(bytes, charset, declared, tt, path, nested, out);
        return;
      }
    }
    attachmentPart(bytes, charset, declared, tt, std::move(names), path, msgDepth, nested, mode,
                   out);
  }

  void textBody(const std::string& bytes, const std::string& charset, const std::string& declared,
                const std::string& tt, const std::string& path, bool nested,
                std::vector<Item>& out) {
    auto res = sanitizers::text::sanitizePlainText(bytes, charset, ctx_.limits);
    PartRecord& r = bodyRecord(path, declared, tt, nested, bytes.size(), Disposition::Kept, "text");
    r.findings = std::move(res.findings);
    dropCutFindings(r.findings, res.cut);
    cutBlocks(res.cut, path, nested);
    pushBody(std::move(res.utf8), out);
  }

  void htmlBody(const std::string& bytes, const std::string& charset, const std::string& declared,
                const std::string& tt, const std::string& path, bool nested,
                std::vector<Item>& out) {
    auto res = sanitizers::html::htmlToText(bytes, charset, ctx_.limits);
    PartRecord& r =
        bodyRecord(path, declared, tt, nested, bytes.size(), Disposition::Converted, "html");
    r.findings.push_back({"html.converted", ""});
    for (auto& f : res.findings) r.findings.push_back(std::move(f));
    pushBody(std::move(res.text), out);
  }

  // The record of a body that becomes the message's text/plain.
  PartRecord& bodyRecord(const std::string& path, const std::string& declared,
                         const std::string& tt, bool nested, std::size_t size,
                         Disposition disposition, const char* sanitizer) {
    PartRecord& r = record(path, declared, tt, nested);
    r.size = size;
    r.disposition = disposition;
    r.sanitizer = sanitizer;
    r.outputType = "text/plain";
    return r;
  }

  static void pushBody(std::string utf8, std::vector<Item>& out) {
    Item item;
    item.body = true;
    item.entity.body = std::move(utf8);
    out.push_back(std::move(item));
  }

  // Each file cut out of a text gets its own removed record (named in the notice), so the
  // text's own finding for it would only say the same thing twice.
  static void dropCutFindings(Findings& findings, const std::vector<sanitizers::text::CutBlock>& cut) {
    if (cut.empty()) return;
    std::erase_if(findings, [](const Finding& f) { return f.kind == "text.encoded_file_removed"; });
  }

  void cutBlocks(const std::vector<sanitizers::text::CutBlock>& cut, const std::string& path,
                 bool nested) {
    for (std::size_t i = 0; i < cut.size(); ++i) {
      removed(path + "/" + cut[i].encoding + std::to_string(i + 1), "", cut[i].encoding,
              cut[i].name.empty() ? std::vector<std::string>{} : std::vector<std::string>{cut[i].name},
              0, "text.encoded_file_removed", nested);
    }
  }

  void attachmentPart(const std::string& bytes, const std::string& charset,
                      const std::string& declared, const std::string& tt,
                      std::vector<std::string> names, const std::string& path, unsigned msgDepth,
                      bool nested, Mode mode, std::vector<Item>& out) {
    if (mode != Mode::Normal && !ctx_.policy.relatedImagesAsAttachments) {
      return removed(path, declared, tt, names, bytes.size(), "related.image_dropped", nested);
    }
    // An attached whole message (an .eml file) is nested like message/rfc822, once the checks
    // on its names have passed.
    if (tt == "eml" && !blockedByName(names, ctx_.policy)) {
      PartRecord& self = record(path, declared, tt, nested);
      self.names = names;
      self.size = bytes.size();
      if (embeddedMessage(bytes, path, self, msgDepth, out)) return;
      ctx_.report.parts.pop_back();
    }
    sanitizers::PartInput in;
    in.bytes = bytes;
    in.declaredType = declared;
    in.charset = charset;
    in.trueType = tt;
    in.names = names;
    in.limits = &ctx_.limits;
    in.policy = &ctx_.policy;
    in.depth = 0;
    in.deadline = ctx_.deadline;
    in.dispatch = [](const sanitizers::PartInput& member) { return dispatchFile(member, nullptr); };
    std::vector<sanitizers::text::CutBlock> cut;
    sanitizers::PartOutput res = dispatchFile(in, &cut);

    PartRecord& r = record(path, declared, tt, nested);
    r.names = std::move(names);
    r.size = bytes.size();
    r.sanitizer = res.sanitizer;
    r.disposition = res.disposition;
    r.reason = res.reason;
    r.findings = std::move(res.findings);
    dropCutFindings(r.findings, cut);
    cutBlocks(cut, path, nested);
    if (res.disposition == Disposition::Removed) return;
    Item item;
    item.entity.type = res.contentType;
    item.entity.charset = res.charset;
    item.entity.attachment = true;
    item.entity.filename = res.filename;
    item.entity.body = std::move(res.bytes);
    ctx_.report.parts.back().outputType = item.entity.type;
    ctx_.report.parts.back().outputName = item.entity.filename;
    out.push_back(std::move(item));
  }

  // --- headers ---------------------------------------------------------------------------------

  std::vector<std::string> headerFields(GMimeMessage* msg, const std::string& path, bool nested) {
    GMimeHeaderList* list = g_mime_object_get_header_list(GMIME_OBJECT(msg));
    const int n = std::min<int>(g_mime_header_list_get_count(list),
                                static_cast<int>(ctx_.limits.maxHeaderFields));
    struct Wanted {
      const char* name;
      int index = -1;
    };
    Wanted wanted[] = {{"Date"},     {"From"},        {"Reply-To"},  {"Subject"}, {"To"},
                       {"Cc"},       {"Message-ID"},  {"In-Reply-To"}, {"References"}};
    std::vector<std::string> received;
    std::uint64_t headerBytes = 0;
    const auto note = [&](const char* kind, std::string detail) {
      if (nested) detail = path + ": " + detail;
      ctx_.report.messageFindings.push_back({kind, std::move(detail)});
    };
    if (const int total = g_mime_header_list_get_count(list); total > n) {
      note("limit.header_fields", std::to_string(total - n) + " fields not read");
    }
    std::uint64_t receivedDropped = 0;
    for (int i = 0; i < n; ++i) {
      GMimeHeader* h = g_mime_header_list_get_header_at(list, i);
      const char* name = g_mime_header_get_name(h);
      const char* raw = g_mime_header_get_raw_value(h);
      if (!name || !raw) continue;
      headerBytes += std::strlen(name) + std::strlen(raw);
      if (headerBytes > ctx_.limits.maxHeaderBytes) {
        note("limit.header_bytes", name);
        break;
      }
      if (g_ascii_strcasecmp(name, "Received") == 0) {
        if (received.size() < ctx_.limits.maxReceivedHeaders) {
          received.push_back(traceField(raw));
        } else {
          ++receivedDropped;
        }
        continue;
      }
      for (auto& w : wanted) {
        if (g_ascii_strcasecmp(name, w.name) != 0) continue;
        if (w.index >= 0) {
          note("header.duplicate", w.name);
        } else {
          w.index = i;
        }
      }
    }
    if (receivedDropped > 0) {
      note("limit.received_headers", std::to_string(receivedDropped) + " Received fields left out");
    }
    std::vector<std::string> fields = std::move(received);
    for (const auto& w : wanted) {
      if (w.index < 0) continue;
      const char* raw = g_mime_header_get_raw_value(g_mime_header_list_get_header_at(list, w.index));
      const std::string_view name = w.name;
      if (std::any_of(raw, raw + std::strlen(raw),
                      [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
        note("header.raw_8bit", std::string(name));
      }
      std::string field;
      if (name == "Subject") {
        field = subjectField(raw, nested);
      } else if (name == "Date") {
        field = dateField(raw);
        if (field.empty()) note("header.date_invalid", "");
      } else if (name == "Message-ID") {
        field = msgIdField("Message-ID", raw, true);
      } else if (name == "In-Reply-To" || name == "References") {
        field = msgIdField(name, raw, false);
      } else {
        field = addressField(name, raw, [&](std::string d) { note("header.address_dropped", d); });
      }
      if (!field.empty()) fields.push_back(std::move(field));
    }
    return fields;
  }

  std::string subjectField(const char* raw, bool nested) {
    std::string subject = decodeHeaderText(raw);
    // Unfolded and trimmed; controls and bidi neutralized like any text the reader sees.
    Findings f;
    sanitizers::text::neutralize(subject, f);
    std::replace(subject.begin(), subject.end(), '\n', ' ');
    while (!subject.empty() && (subject.front() == ' ' || subject.front() == '\t')) subject.erase(0, 1);
    while (!subject.empty() && (subject.back() == ' ' || subject.back() == '\t')) subject.pop_back();
    if (!nested && !ctx_.policy.subjectTag.empty() &&
        subject.rfind(ctx_.policy.subjectTag, 0) != 0) {
      subject = ctx_.policy.subjectTag + subject;
    }
    return unstructuredField("Subject", subject);
  }

  static std::string dateField(const char* raw) {
    GDateTime* dt = g_mime_utils_header_decode_date(raw);
    if (!dt) return {};
    static constexpr const char* kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const gint64 offsetMin = g_date_time_get_utc_offset(dt) / G_TIME_SPAN_MINUTE;
    const gint64 absMin = offsetMin < 0 ? -offsetMin : offsetMin;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %d %s %04d %02d:%02d:%02d %c%02d%02d",
                  kDays[(g_date_time_get_day_of_week(dt) + 6) % 7], g_date_time_get_day_of_month(dt),
                  kMonths[(g_date_time_get_month(dt) + 11) % 12], g_date_time_get_year(dt),
                  g_date_time_get_hour(dt), g_date_time_get_minute(dt), g_date_time_get_second(dt),
                  offsetMin < 0 ? '-' : '+', static_cast<int>(absMin / 60),
                  static_cast<int>(absMin % 60));
    g_date_time_unref(dt);
    return "Date: " + std::string(buf) + "\r\n";
  }

  static bool safeMsgId(std::string_view id) {
    if (id.empty() || id.size() > 900) return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
      const auto u = static_cast<unsigned char>(c);
      return u > 0x20 && u < 0x7f && c != '<' && c != '>';
    });
  }

  std::string msgIdField(std::string_view name, const char* raw, bool single) {
    std::vector<std::string> tokens;
    if (single) {
      GString_ id(g_mime_utils_decode_message_id(raw));
      if (id && safeMsgId(id.get())) tokens.push_back("<" + std::string(id.get()) + ">");
    } else {
      GMimeReferences* refs = g_mime_references_parse(nullptr, raw);
      if (refs) {
        const int n = g_mime_references_length(refs);
        for (int i = 0; i < n && tokens.size() < 200; ++i) {
          const char* id = g_mime_references_get_message_id(refs, i);
          if (id && safeMsgId(id)) tokens.push_back("<" + std::string(id) + ">");
        }
        g_mime_references_free(refs);
      }
    }
    if (tokens.empty()) return {};
    return foldedField(name, tokens, " ");
  }

  template <typename Note>
  std::string addressField(std::string_view name, const char* raw, Note&& note) {
    GPtr<InternetAddressList> list(internet_address_list_parse(nullptr, raw));
    if (!list) return {};
    std::vector<std::string> tokens;
    const auto mailboxTokens = [&](InternetAddressMailbox* mb, std::vector<std::string>& into) {
      // The IDNA conversion (libidn2) is only needed for a non-ASCII address, and it is costly.
      const char* addr = internet_address_mailbox_get_addr(mb);
      if (addr && !isAscii(addr)) addr = internet_address_mailbox_get_idn_addr(mb);
      std::string a = addr ? addr : "";
      const bool ok = !a.empty() && a.size() < 500 && std::all_of(a.begin(), a.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f && c != '<' && c != '>' && c != ',';
      });
      if (!ok) {
        std::string shown = a.substr(0, 80);
        repairUtf8(shown);
        note(shown);
        return false;
      }
      const char* display = internet_address_get_name(INTERNET_ADDRESS(mb));
      std::string dn = display ? display : "";
      repairUtf8(dn);
      Findings ignored;
      sanitizers::text::neutralize(dn, ignored);
      std::replace(dn.begin(), dn.end(), '\n', ' ');
      for (auto& t : phraseTokens(dn)) into.push_back(std::move(t));
      into.push_back(dn.empty() ? a : "<" + a + ">");
      return true;
    };
    const int n = internet_address_list_length(list.get());
    std::vector<std::vector<std::string>> entries;
    for (int i = 0; i < n && entries.size() < 1000; ++i) {
      InternetAddress* ia = internet_address_list_get_address(list.get(), i);
      std::vector<std::string> entry;
      if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
        if (!mailboxTokens(INTERNET_ADDRESS_MAILBOX(ia), entry)) continue;
      } else if (INTERNET_ADDRESS_IS_GROUP(ia)) {
        const char* gname = internet_address_get_name(ia);
        std::string g = gname ? gname : "";
        repairUtf8(g);
        auto phrase = phraseTokens(g.empty() ? std::string("undisclosed-recipients") : g);
        for (auto& t : phrase) entry.push_back(std::move(t));
        entry.back() += ":";
        InternetAddressList* members = internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia));
        const int m = members ? internet_address_list_length(members) : 0;
        std::vector<std::string> memberTokens;
        bool first = true;
        for (int j = 0; j < m; ++j) {
          InternetAddress* mia = internet_address_list_get_address(members, j);
          if (!INTERNET_ADDRESS_IS_MAILBOX(mia)) continue;
          std::vector<std::string> mt;
          if (!mailboxTokens(INTERNET_ADDRESS_MAILBOX(mia), mt)) continue;
          if (!first) memberTokens.back() += ",";
          first = false;
          for (auto& t : mt) memberTokens.push_back(std::move(t));
        }
        if (memberTokens.empty()) {
          entry.back() += ";";
        } else {
          memberTokens.back() += ";";
          for (auto& t : memberTokens) entry.push_back(std::move(t));
        }
      }
      if (!entry.empty()) entries.push_back(std::move(entry));
    }
    if (entries.empty()) return {};
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (i + 1 < entries.size()) entries[i].back() += ",";
      for (auto& t : entries[i]) tokens.push_back(std::move(t));
    }
    return foldedField(name, tokens, " ");
  }

  // A Received field made safe: unfolded, 7-bit, bounded, refolded at white space.
  static std::string traceField(const char* raw) {
    std::string v;
    for (const char* p = raw; *p && v.size() < 900; ++p) {
      const auto c = static_cast<unsigned char>(*p);
      if (c == '\r' || c == '\n' || c == '\t') {
        v += ' ';
      } else if (c < 0x20 || c >= 0x7f) {
        v += '?';
      } else {
        v += static_cast<char>(c);
      }
    }
    std::vector<std::string> tokens;
    std::size_t i = 0;
    while (i < v.size()) {
      while (i < v.size() && v[i] == ' ') ++i;
      const auto j = v.find(' ', i);
      const auto word = v.substr(i, j == std::string::npos ? std::string::npos : j - i);
      if (!word.empty()) tokens.push_back(word);
      if (j == std::string::npos) break;
      i = j;
    }
    if (tokens.empty()) tokens.push_back("unknown");
    return foldedField("Received", tokens, " ");
  }

  Ctx& ctx_;
};

std::string_view skipLeadingWhitespace(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
  return s.substr(i);
}

// --- verification ------------------------------------------------------------------------------

bool allowedOutputType(std::string_view t) {
  static constexpr std::string_view kAllowed[] = {
      "multipart/mixed", "multipart/alternative", "multipart/related", "message/rfc822",
      "text/plain", "text/csv", "text/tab-separated-values", "text/calendar", "image/png",
      "image/jpeg", "image/gif", "application/pdf", "application/zip",
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
      "application/vnd.openxmlformats-officedocument.presentationml.presentation"};
  return std::find(std::begin(kAllowed), std::end(kAllowed), t) != std::end(kAllowed);
}

std::string checkTree(GMimeObject* obj, unsigned depth, unsigned& parts, const Limits& limits) {
  ++parts;
  if (depth > limits.maxDepth) return "output nesting deeper than " + std::to_string(limits.maxDepth);
  if (parts > limits.maxParts) return "output has more than " + std::to_string(limits.maxParts) + " parts";
  const std::string type = mimeTypeOf(obj);
  if (!allowedOutputType(type)) return "type not allowed in output: " + type;
  if (GMIME_IS_MULTIPART(obj)) {
    GMimeMultipart* mp = GMIME_MULTIPART(obj);
    for (int i = 0; i < g_mime_multipart_get_count(mp); ++i) {
      auto p = checkTree(g_mime_multipart_get_part(mp, i), depth + 1, parts, limits);
      if (!p.empty()) return p;
    }
  } else if (GMIME_IS_MESSAGE_PART(obj)) {
    GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
    if (!inner) return "empty message/rfc822";
    GMimeObject* root = g_mime_message_get_mime_part(inner);
    if (root) return checkTree(root, depth + 1, parts, limits);
  }
  return {};
}

}  // namespace

std::string verifyOutput(std::string_view message, const Limits& limits) {
  ensureGMime();
  std::size_t line = 0;
  for (std::size_t i = 0; i < message.size(); ++i) {
    const auto c = static_cast<unsigned char>(message[i]);
    if (c == 0) return "NUL byte at offset " + std::to_string(i);
    if (c >= 0x80) return "8-bit byte at offset " + std::to_string(i);
    if (c == '\r') {
      if (i + 1 >= message.size() || message[i + 1] != '\n') return "bare CR at offset " + std::to_string(i);
      ++i;
      line = 0;
      continue;
    }
    if (c == '\n') return "bare LF at offset " + std::to_string(i);
    if (++line > limits.maxOutputLine) return "line longer than " + std::to_string(limits.maxOutputLine);
  }
  Warnings w;
  GPtr<GMimeMessage> msg = parseMessage(message, w);
  if (!msg) return "output does not parse as a message";
  if (w.count > 0) return "output raises a parser warning: " + w.findings.front().detail;
  GMimeObject* root = g_mime_message_get_mime_part(msg.get());
  if (!root) return "output has no body";
  unsigned parts = 0;
  return checkTree(root, 1, parts, limits);
}

sanitizers::PartOutput sanitizeFile(std::string_view bytes, std::string_view name,
                                    const Policy& policy) {
  try {
    ensureGMime();
    const std::string tt = sniff(bytes, policy.limits);
    sanitizers::PartInput in;
    in.bytes = bytes;
    in.declaredType = "application/octet-stream";
    in.trueType = tt;
    if (!name.empty()) in.names.emplace_back(name);
    in.limits = &policy.limits;
    in.policy = &policy;
    in.deadline = Clock::now() + std::chrono::milliseconds(policy.limits.maxWallMs);
    in.dispatch = [](const sanitizers::PartInput& member) { return dispatchFile(member, nullptr); };
    return dispatchFile(in, nullptr);
  } catch (const std::exception& e) {
    sanitizers::PartOutput out;
    out.reason = "error.sanitizer";
    out.findings.push_back({"error.sanitizer", e.what()});
    return out;
  }
}

Outcome sanitizeMessage(std::string_view input, const Policy& policy,
                        const PipelineOptions& options) {
  ensureGMime();
  const auto t0 = Clock::now();
  Outcome outcome;
  Report& report = outcome.report;
  report.inputSha256 = sha256Hex(input);
  report.inputSize = input.size();
  report.originalId = originalIdFor(report.inputSha256);
  report.withTimings = options.timings;
  const auto us = [](Clock::time_point a, Clock::time_point b) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(b - a).count());
  };
  const auto hold = [&](std::string reason, std::string detail) {
    outcome.delivered = false;
    outcome.message.clear();
    report.delivered = false;
    report.heldReason = std::move(reason);
    report.heldDetail = std::move(detail);
    report.outputSha256.clear();
    report.outputSize = 0;
  };
  if (input.size() > policy.limits.maxMessageBytes) {
    hold("limit.message_bytes", std::to_string(input.size()) + " bytes");
    return outcome;
  }
  try {
    Ctx ctx{policy, policy.limits, report,
            t0 + std::chrono::milliseconds(policy.limits.maxWallMs), 0, 0, 0, {}};
    GPtr<GMimeMessage> msg = parseMessage(input, ctx.warnings);
    if (!msg) {
      // GMime finds no header block. Real mail like this starts with blank or indented lines
      // (a mangled first header), or has no header at all; recover the first by dropping the
      // leading white space, and read the second as a body without headers.
      const std::string_view trimmed = skipLeadingWhitespace(input);
      if (trimmed.size() != input.size()) msg = parseMessage(trimmed, ctx.warnings);
      if (!msg) {
        const std::string bodyOnly = "\r\n" + std::string(input);
        msg = parseMessage(bodyOnly, ctx.warnings);
        report.messageFindings.push_back({"mime.headerless", ""});
      } else {
        report.messageFindings.push_back({"mime.leading_junk", ""});
      }
    }
    const auto t1 = Clock::now();
    if (!msg) {
      hold("mime.unparseable", "no message could be parsed from the input");
      return outcome;
    }
    Walker walker(ctx);
    Walker::Level level = walker.message(msg.get(), "1", 0, false);
    for (auto& f : ctx.warnings.findings) report.messageFindings.push_back(std::move(f));
    if (ctx.warnings.count > ctx.warnings.findings.size()) {
      report.messageFindings.push_back(
          {"mime.parser_warning", std::to_string(ctx.warnings.count) + " warnings in total"});
    }
    if (ctx.partsOverLimit > 0) {
      PartRecord r;
      r.path = "*";
      r.disposition = Disposition::Removed;
      r.reason = "limit.parts";
      r.findings.push_back({"limit.parts", std::to_string(ctx.partsOverLimit) + " parts not processed"});
      report.parts.push_back(std::move(r));
    }
    if (ctx.partsOverTime > 0) {
      PartRecord r;
      r.path = "*";
      r.disposition = Disposition::Removed;
      r.reason = "limit.wall_time";
      r.findings.push_back({"limit.wall_time", std::to_string(ctx.partsOverTime) + " parts not processed"});
      report.parts.push_back(std::move(r));
    }
    const auto t2 = Clock::now();

    // Headers Mugai adds: status and the original's ID, then the notice.
    std::size_t counts[5] = {0, 0, 0, 0, 0};
    for (const auto& p : report.parts) ++counts[static_cast<int>(p.disposition)];
    const std::string notice = buildNotice(report, policy);
    report.noticeAdded = !notice.empty();
    level.fields.push_back("X-Mugai-Status: " + std::string(needsNotice(report) ? "sanitized" : "clean") + "\r\n");
    level.fields.push_back("X-Mugai-Original-Id: " + report.originalId + "\r\n");
    level.fields.push_back(foldedField(
        "X-Mugai-Actions",
        {"kept=" + std::to_string(counts[0]) + ";", "converted=" + std::to_string(counts[1]) + ";",
         "rebuilt=" + std::to_string(counts[2]) + ";", "removed=" + std::to_string(counts[3])},
        " "));
    OutMessage out = walker.assemble(std::move(level), notice);
    outcome.message = writeMessage(out, report.inputSha256, policy.limits.maxOutputLine);
    const auto t3 = Clock::now();
    Limits outputLimits = policy.limits;
    outputLimits.maxParts += ctx.partsAdded;
    if (const std::string problem = verifyOutput(outcome.message, outputLimits); !problem.empty()) {
      hold("error.self_verify", problem);
      return outcome;
    }
    const auto t4 = Clock::now();
    outcome.delivered = true;
    report.delivered = true;
    report.outputSha256 = sha256Hex(outcome.message);
    report.outputSize = outcome.message.size();
    if (options.timings) {
      report.timingsUs = {{"parse", us(t0, t1)}, {"sanitize", us(t1, t2)},
                          {"reconstruct", us(t2, t3)}, {"verify", us(t3, t4)}};
    }
  } catch (const std::exception& e) {
    hold("error.internal", e.what());
  }
  return outcome;
}

}  // namespace mugai::core
