// PDF rebuilding with qpdf: bound, parse, strip active content by structure, write, re-check.
#include "sanitizers/pdf/pdf_sanitizer.h"

// Use qpdf without its deprecated PointerHolder (std::shared_ptr throughout).
#define POINTERHOLDER_TRANSITION 4
#include <qpdf/Buffer.hh>
#include <qpdf/BufferInputSource.hh>
#include <qpdf/Constants.h>
#include <qpdf/Pipeline.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFExc.hh>
#include <qpdf/QPDFLogger.hh>
#include <qpdf/QPDFObjGen.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageObjectHelper.hh>
#include <qpdf/QPDFTokenizer.hh>
#include <qpdf/QPDFWriter.hh>
#include <qpdf/QPDFXRefEntry.hh>

#include <chrono>
#include <cstdio>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/policy.h"

namespace mugai::sanitizers::pdf {
namespace {

using Clock = std::chrono::steady_clock;
using Handle = QPDFObjectHandle;

// qpdf decompresses cross-reference streams (while opening the file) and object streams (when
// their objects are resolved) with no size limit of its own. Both are decoded here first into a
// counter, so that a flate bomb is refused before qpdf inflates it; this is their combined decoded
// size. A named constant until core/limits.h gets a PDF entry; real documents stay far below it
// (500000 objects take about 4 MiB of cross-reference stream).
constexpr std::uint64_t kMaxStructureBytes = 64ull << 20;
// Cross-reference sections followed, and object headers examined, by the pre-scan.
constexpr std::size_t kMaxXrefSections = 4096;
// qpdf's parser already caps nesting; this guards the walk below against a deeper tree anyway.
constexpr std::size_t kMaxNesting = 512;
// Decoded bytes the output check inflates in total (every stream through its lossless filters,
// as `qpdf --check` does). Past this the file is refused: real mail attachments stay far below
// (scans are DCT, CCITT or JBIG2, which the check does not decode), and a flate bomb in an
// image or content stream must not cost unbounded time. A named constant until core/limits.h
// gets a PDF entry.
constexpr std::uint64_t kMaxCheckedStreamBytes = 512ull << 20;
// Actions followed along one /Next chain when reporting what a removed chain contained.
constexpr std::size_t kMaxChain = 64;
// The walk checks the clock every so many dictionaries.
constexpr std::size_t kDeadlineEvery = 256;
// A finding detail (file name, action type) is cut to this many bytes.
constexpr std::size_t kMaxDetail = 120;
// Distinct (kind, detail) findings kept; more are merged under the detail "more".
constexpr std::size_t kMaxDistinctFindings = 100;

constexpr std::string_view kPdfHeader = "%PDF-";

// Internal early exit with a removal reason; caught in sanitize(), never escapes it.
struct Stop {
  std::string reason;
};

// ---- Small helpers ------------------------------------------------------------------------------

std::string nameOf(Handle h) { return h.isName() ? h.getName() : std::string(); }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (lower(s[i]) != prefix[i]) return false;
  }
  return true;
}

bool endsWithNoCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && startsWithNoCase(s.substr(s.size() - suffix.size()), suffix);
}

// Length of the valid UTF-8 sequence at s[i], or 0.
std::size_t utf8Length(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  std::size_t n = 0;
  std::uint32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) { n = 2; min = 0x80; }
  else if ((b0 & 0xF0) == 0xE0) { n = 3; min = 0x800; }
  else if ((b0 & 0xF8) == 0xF0) { n = 4; min = 0x10000; }
  else return 0;
  if (i + n > s.size()) return 0;
  std::uint32_t cp = b0 & (0x7Fu >> n);
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

// Text from the file made fit for a finding detail: valid UTF-8 (invalid bytes become '?'), no
// control characters, at most kMaxDetail bytes, never cut inside a character.
std::string cleanDetail(std::string_view raw) {
  std::string out;
  for (std::size_t i = 0; i < raw.size();) {
    const std::size_t n = utf8Length(raw, i);
    if (out.size() + (n == 0 ? 1 : n) > kMaxDetail) break;
    if (n == 0) {
      out += '?';
      ++i;
      continue;
    }
    const auto c = static_cast<unsigned char>(raw[i]);
    if (n == 1 && (c < 0x20 || c == 0x7F)) {
      out += ' ';
    } else {
      out.append(raw.substr(i, n));
    }
    i += n;
  }
  return out;
}

// The name a file specification (dictionary or string) gives its file, for the notice.
std::string fileNameOf(Handle fs) {
  Handle s;
  if (fs.isString()) {
    s = fs;
  } else if (fs.isDictionary()) {
    for (const char* key : {"/UF", "/F", "/DOS", "/Unix", "/Mac"}) {
      if (Handle v = fs.getKey(key); v.isString()) {
        s = v;
        break;
      }
    }
  }
  if (!s.isInitialized() || !s.isString()) return {};
  return cleanDetail(s.getUTF8Value());
}

// ---- Action and annotation classification ------------------------------------------------------

struct Verdict {
  std::string kind;    // finding kind; empty when the action is harmless
  std::string detail;  // extra detail (URI scheme, unknown type), may be empty
};

// Action types that reach outside the document or run code. Their removal has its own code.
constexpr std::pair<std::string_view, std::string_view> kDangerousActions[] = {
    {"/JavaScript", "pdf.javascript_removed"},
    {"/Launch", "pdf.launch_removed"},
    {"/SubmitForm", "pdf.submitform_removed"},
    {"/ImportData", "pdf.importdata_removed"},
    {"/GoToR", "pdf.gotor_removed"},
    {"/GoToE", "pdf.gotoe_removed"},
    {"/Movie", "pdf.media_removed"},
    {"/Sound", "pdf.media_removed"},
    {"/Rendition", "pdf.media_removed"},
    {"/GoTo3DView", "pdf.media_removed"},
    {"/RichMediaExecute", "pdf.richmedia_removed"},
};

// Action types that stay inside the document and run nothing.
constexpr std::string_view kHarmlessActions[] = {"/GoTo",         "/Named", "/Hide",
                                                 "/ResetForm",    "/Trans", "/SetOCGState",
                                                 "/NOP",          "/SetState"};

// Annotation subtypes that carry files, media or executable players; removed from pages.
constexpr std::pair<std::string_view, std::string_view> kDangerousAnnots[] = {
    {"/FileAttachment", "pdf.file_attachment_removed"},
    {"/RichMedia", "pdf.richmedia_removed"},
    {"/3D", "pdf.media_removed"},
    {"/Screen", "pdf.media_removed"},
    {"/Movie", "pdf.media_removed"},
    {"/Sound", "pdf.media_removed"},
};

std::string_view dangerousActionKind(std::string_view type) {
  for (const auto& [name, kind] : kDangerousActions) {
    if (name == type) return kind;
  }
  return {};
}

std::string_view dangerousAnnotKind(Handle d) {
  if (!d.isDictionary()) return {};
  const std::string subtype = nameOf(d.getKey("/Subtype"));
  for (const auto& [name, kind] : kDangerousAnnots) {
    if (name == subtype) return kind;
  }
  return {};
}

// Only web and mail links survive: they are what a reader expects a link to do, and the mail
// client or browser that opens them applies its own protection. file:, javascript:, smb:, custom
// schemes and relative references are removed; with `web_links = remove` (keepWebLinks false),
// web links too.
bool uriAllowed(Handle uri, bool keepWebLinks) {
  if (!keepWebLinks || !uri.isString()) return false;
  const std::string s = uri.getStringValue();
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) return false;
  }
  return startsWithNoCase(s, "http://") || startsWithNoCase(s, "https://") ||
         startsWithNoCase(s, "mailto:");
}

// "javascript:" for "JavaScript:alert(1)"; "relative" when there is no scheme.
std::string uriScheme(Handle uri) {
  if (!uri.isString()) return "malformed";
  const std::string s = uri.getStringValue();
  std::string scheme;
  for (const char c : s) {
    if (c == ':') return scheme.empty() ? "relative" : scheme + ":";
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (!scheme.empty() && ((c >= '0' && c <= '9') || c == '+' || c == '-' ||
                                         c == '.'));
    if (!ok || scheme.size() >= 16) return "relative";
    scheme += lower(c);
  }
  return "relative";
}

Verdict judge(Handle action, bool keepWebLinks) {
  if (!action.isDictionary()) return {"pdf.action_removed", "malformed"};
  Handle s = action.getKey("/S");
  if (!s.isName()) return {"pdf.action_removed", "untyped"};
  const std::string type = s.getName();
  if (const auto kind = dangerousActionKind(type); !kind.empty()) return {std::string(kind), {}};
  if (type == "/URI") {
    Handle uri = action.getKey("/URI");
    if (uriAllowed(uri, keepWebLinks)) return {};
    return {"pdf.uri_removed", uriScheme(uri)};
  }
  // A thread action with /F opens an article thread in another file.
  if (type == "/Thread") {
    return action.hasKey("/F") ? Verdict{"pdf.gotor_removed", {}} : Verdict{};
  }
  for (const auto harmless : kHarmlessActions) {
    if (harmless == type) return {};
  }
  return {"pdf.action_removed", cleanDetail(type.substr(1))};
}

// True for a dictionary that is itself an action the self-check must never find in an output.
// Unknown /S types are not included: /S names structure-element roles, transitions, soft masks
// and more, so only the known dangerous action types (and bad URIs) are recognised anywhere.
bool isDangerousActionDict(Handle d, bool keepWebLinks) {
  if (!d.isDictionary()) return false;
  const std::string type = nameOf(d.getKey("/S"));
  if (type.empty()) return false;
  if (!dangerousActionKind(type).empty()) return true;
  if (type == "/URI") return !uriAllowed(d.getKey("/URI"), keepWebLinks);
  if (type == "/Thread") return d.hasKey("/F");
  return false;
}

// ---- Findings -----------------------------------------------------------------------------------

// Merges repeated (kind, detail) pairs, in first-seen order, so that a file with a thousand
// JavaScript links gives one line, and bounds the number of distinct findings.
class Recorder {
 public:
  void add(std::string_view kind, std::string detail) {
    Key key{std::string(kind), std::move(detail)};
    auto it = counts_.find(key);
    if (it == counts_.end()) {
      if (order_.size() >= kMaxDistinctFindings) key.second = "more";
      it = counts_.find(key);
      if (it == counts_.end()) {
        order_.push_back(key);
        it = counts_.emplace(key, 0).first;
      }
    }
    ++it->second;
  }

  bool has(std::string_view kind) const {
    for (const auto& k : order_) {
      if (k.first == kind) return true;
    }
    return false;
  }

  core::Findings finish() const {
    // An attachment annotation's file is reported once, as the attachment.
    std::set<std::string> attachments;
    for (const auto& k : order_) {
      if (k.first == "pdf.file_attachment_removed") attachments.insert(k.second);
    }
    core::Findings out;
    for (const auto& k : order_) {
      if (k.first == "pdf.embedded_file_removed" && attachments.count(k.second) != 0) continue;
      const std::size_t n = counts_.at(k);
      std::string detail = k.second;
      if (n > 1) detail += (detail.empty() ? "x" : " x") + std::to_string(n);
      out.push_back({k.first, std::move(detail)});
    }
    return out;
  }

 private:
  using Key = std::pair<std::string, std::string>;
  std::vector<Key> order_;
  std::map<Key, std::size_t> counts_;
};

// ---- Walking every dictionary ------------------------------------------------------------------

class Deadline {
 public:
  explicit Deadline(Clock::time_point deadline)
      : deadline_(deadline), set_(deadline != Clock::time_point{}) {}
  void check() const {
    if (set_ && Clock::now() > deadline_) throw Stop{"limit.wall_time"};
  }
  void tick() {
    if (++ticks_ % kDeadlineEvery == 0) check();
  }

 private:
  Clock::time_point deadline_;
  bool set_;
  std::size_t ticks_ = 0;
};

// Calls visit(dict) for every dictionary in `roots` and every direct dictionary nested in them
// (stream dictionaries included), parents before children. Indirect values are not followed:
// each indirect object is a root of its own. `visit` may remove keys; removed values are not
// walked.
template <class Visit>
void forEachDictionary(const std::vector<Handle>& roots, Deadline& deadline, Visit&& visit) {
  std::vector<std::pair<Handle, std::size_t>> stack;
  for (Handle root : roots) {
    Handle top = root;
    if (top.isStream()) top = top.getDict();
    if (!top.isDictionary() && !top.isArray()) continue;
    stack.emplace_back(top, 0);
    while (!stack.empty()) {
      // Not a structured binding: clang before 16 cannot capture one in the lambda below.
      Handle h = stack.back().first;
      const std::size_t depth = stack.back().second;
      stack.pop_back();
      deadline.tick();
      if (depth > kMaxNesting) throw Stop{"pdf.invalid"};
      auto push = [&](Handle child) {
        if (!child.isIndirect() && (child.isDictionary() || child.isArray())) {
          stack.emplace_back(child, depth + 1);
        }
      };
      if (h.isDictionary()) {
        visit(h);
        for (const auto& key : h.getKeys()) push(h.getKey(key));
      } else {
        const int n = h.getArrayNItems();
        for (int i = 0; i < n; ++i) push(h.getArrayItem(i));
      }
    }
  }
}

// What role a dictionary plays, for the "where" of a finding.
std::string roleOf(Handle d, QPDFObjGen root) {
  if (d.isIndirect() && d.getObjGen() == root) return "catalog";
  const std::string type = nameOf(d.getKey("/Type"));
  if (type == "/Catalog") return "catalog";
  if (type == "/Page") return "page";
  if (d.hasKey("/FT")) return "field";
  if (type == "/Annot" || (d.hasKey("/Subtype") && d.hasKey("/Rect"))) return "annotation";
  if (d.hasKey("/Title")) return "outline";
  if (d.hasKey("/S")) return "action";
  if (d.hasKey("/Kids") && d.hasKey("/T")) return "field";
  return "other";
}

// ---- The sanitizing passes ----------------------------------------------------------------------

class Cleaner {
 public:
  Cleaner(QPDFObjGen root, Deadline& deadline, bool keepWebLinks)
      : root_(root), deadline_(deadline), keepWebLinks_(keepWebLinks) {}

  // Pass 1: every key that refers to active content is judged where it is referenced and removed
  // from the referring dictionary, so the finding says where the content was attached.
  void removeReferences(const std::vector<Handle>& roots) {
    forEachDictionary(roots, deadline_, [this](Handle d) { referencesIn(d); });
  }

  // Pass 2: whatever active object is still present (reachable through a key no reader should
  // use, or not at all) is emptied in place, and stray /JS keys are dropped. Objects already
  // reported by pass 1 are emptied silently.
  void neutralizeObjects(const std::vector<Handle>& roots) {
    for (Handle h : roots) {
      deadline_.tick();
      if (h.isStream() && nameOf(h.getDict().getKey("/Type")) == "/EmbeddedFile") {
        if (!reported(h)) findings_.add("pdf.embedded_file_removed", "other");
        h.replaceStreamData(std::string(), Handle::newNull(), Handle::newNull());
        clearKeys(h.getDict());
      }
    }
    forEachDictionary(roots, deadline_, [this](Handle d) { selfIn(d); });
  }

  void finishFindings() {
    if (removedEmbeddedTree_ && !findings_.has("pdf.embedded_file_removed") &&
        !findings_.has("pdf.file_attachment_removed")) {
      findings_.add("pdf.embedded_file_removed", "EmbeddedFiles");
    }
    if (signed_) findings_.add("pdf.signature_invalidated", {});
  }

  Recorder& findings() { return findings_; }

 private:
  bool reported(Handle h) const { return h.isIndirect() && reported_.count(h.getObjGen()) != 0; }
  void markReported(Handle h) {
    if (h.isIndirect()) reported_.insert(h.getObjGen());
  }

  static void clearKeys(Handle d) {
    for (const auto& key : d.getKeys()) d.removeKey(key);
  }

  // Reports every dangerous action along the chain that starts at `action` (following /Next)
  // and marks them reported. Returns how many were dangerous.
  std::size_t reportChain(Handle action, const std::string& where) {
    std::size_t dangerous = 0;
    std::set<QPDFObjGen> seen;
    std::vector<Handle> queue{action};
    for (std::size_t i = 0; i < queue.size() && i < kMaxChain; ++i) {
      Handle a = queue[i];
      if (a.isIndirect() && !seen.insert(a.getObjGen()).second) continue;
      Verdict v = judge(a, keepWebLinks_);
      if (!v.kind.empty()) {
        ++dangerous;
        if (where == "OpenAction" && v.kind == "pdf.action_removed") {
          v.kind = "pdf.openaction_removed";
        }
        std::string detail = where;
        if (!v.detail.empty()) detail += " (" + v.detail + ")";
        findings_.add(v.kind, std::move(detail));
        markReported(a);
      }
      if (!a.isDictionary()) continue;
      Handle next = a.getKey("/Next");
      if (next.isDictionary()) {
        queue.push_back(next);
      } else if (next.isArray()) {
        const int n = next.getArrayNItems();
        for (int k = 0; k < n && queue.size() < kMaxChain; ++k) {
          queue.push_back(next.getArrayItem(k));
        }
      }
    }
    return dangerous;
  }

  // Judges the action under `key` of `d`; removes the key when the action is not harmless.
  void judgeActionKey(Handle d, const char* key, const std::string& where) {
    Handle a = d.getKey(key);
    if (judge(a, keepWebLinks_).kind.empty()) return;
    reportChain(a, where);
    d.removeKey(key);
  }

  void referencesIn(Handle d) {
    const std::string role = roleOf(d, root_);

    if (d.hasKey("/AA")) {
      const std::string where = "AA(" + role + ")";
      Handle aa = d.getKey("/AA");
      std::size_t dangerous = 0;
      if (aa.isDictionary()) {
        for (const auto& trigger : aa.getKeys()) {
          dangerous += reportChain(aa.getKey(trigger), where);
        }
      }
      if (dangerous == 0) findings_.add("pdf.additional_actions_removed", where);
      d.removeKey("/AA");
    }

    if (d.hasKey("/OpenAction")) {
      Handle oa = d.getKey("/OpenAction");
      // A destination (array, or a named destination) only opens a page: kept.
      if (oa.isDictionary()) {
        judgeActionKey(d, "/OpenAction", "OpenAction");
      } else if (oa.isNull()) {
        d.removeKey("/OpenAction");
      } else if (!oa.isArray() && !oa.isName() && !oa.isString()) {
        findings_.add("pdf.openaction_removed", "malformed");
        d.removeKey("/OpenAction");
      }
    }

    // /A is an action in annotations, fields and outline items; elsewhere (structure elements)
    // it holds attributes, which are judged only when they look like an action.
    const bool actionContext = role == "annotation" || role == "field" || role == "outline";
    if (d.hasKey("/A")) {
      Handle a = d.getKey("/A");
      if (actionContext || (a.isDictionary() && a.hasKey("/S"))) {
        if (a.isDictionary() || actionContext) judgeActionKey(d, "/A", role);
      }
    }
    if (d.hasKey("/PA") && role == "annotation") judgeActionKey(d, "/PA", role);

    // /Next chains actions; in outline items it is the next sibling, so only actions qualify.
    if (d.hasKey("/Next") && d.hasKey("/S") && role == "action") {
      Handle next = d.getKey("/Next");
      if (next.isDictionary()) {
        judgeActionKey(d, "/Next", "Next");
      } else if (next.isArray()) {
        for (int i = next.getArrayNItems() - 1; i >= 0; --i) {
          Handle item = next.getArrayItem(i);
          if (judge(item, keepWebLinks_).kind.empty()) continue;
          reportChain(item, "Next");
          next.eraseItem(i);
        }
      } else {
        d.removeKey("/Next");
      }
    }

    if (Handle annots = d.getKey("/Annots"); annots.isArray()) {
      std::vector<std::pair<std::string_view, std::string>> removed;
      for (int i = annots.getArrayNItems() - 1; i >= 0; --i) {
        Handle annot = annots.getArrayItem(i);
        const std::string_view kind = dangerousAnnotKind(annot);
        if (kind.empty()) continue;
        std::string detail;
        if (kind == "pdf.file_attachment_removed") {
          detail = fileNameOf(annot.getKey("/FS"));
          if (detail.empty()) detail = "annotation";
        } else {
          detail = cleanDetail(nameOf(annot.getKey("/Subtype")).substr(1));
        }
        removed.emplace_back(kind, std::move(detail));
        markReported(annot);
        annots.eraseItem(i);
      }
      // Reported in page order although the array is edited from its end.
      for (auto it = removed.rbegin(); it != removed.rend(); ++it) {
        findings_.add(it->first, it->second);
      }
    }

    if (d.hasKey("/EF")) {
      std::string file = fileNameOf(d);
      findings_.add("pdf.embedded_file_removed", file.empty() ? "file" : std::move(file));
      if (Handle ef = d.getKey("/EF"); ef.isDictionary()) {
        for (const auto& key : ef.getKeys()) markReported(ef.getKey(key));
      }
      d.removeKey("/EF");
    }
    if (d.hasKey("/RF")) d.removeKey("/RF");  // related files of an embedded file

    if (d.hasKey("/JavaScript")) {
      findings_.add("pdf.javascript_removed", "Names");
      d.removeKey("/JavaScript");
    }
    if (d.hasKey("/EmbeddedFiles")) {
      removedEmbeddedTree_ = true;
      d.removeKey("/EmbeddedFiles");
    }
    if (d.hasKey("/XFA")) {
      findings_.add("pdf.xfa_removed", {});
      d.removeKey("/XFA");
    }
    // Without XFA there is nothing to render dynamically; a portfolio without files is empty.
    if (d.hasKey("/NeedsRendering")) d.removeKey("/NeedsRendering");
    if (d.hasKey("/Collection")) d.removeKey("/Collection");

    if (d.hasKey("/ByteRange") && d.hasKey("/Contents")) signed_ = true;
  }

  void selfIn(Handle d) {
    if (isDangerousActionDict(d, keepWebLinks_)) {
      if (!reported(d)) {
        const Verdict v = judge(d, keepWebLinks_);
        std::string detail = "other";
        if (!v.detail.empty()) detail += " (" + v.detail + ")";
        findings_.add(v.kind, std::move(detail));
      }
      clearKeys(d);
      return;
    }
    if (const std::string_view kind = dangerousAnnotKind(d); !kind.empty()) {
      if (!reported(d)) findings_.add(kind, "other");
      clearKeys(d);
      return;
    }
    if (d.hasKey("/JS")) {
      findings_.add("pdf.javascript_removed", roleOf(d, root_));
      d.removeKey("/JS");
    }
  }

  QPDFObjGen root_;
  Deadline& deadline_;
  bool keepWebLinks_;  // policy web_links: whether http(s)/mailto links stay
  Recorder findings_;
  std::set<QPDFObjGen> reported_;
  bool removedEmbeddedTree_ = false;
  bool signed_ = false;
};

// ---- Bounds checked before qpdf decompresses anything -------------------------------------------

// Counts bytes and gives up (by throwing, which qpdf turns into a failed pipeStreamData) once
// more than `limit` arrive.
// With a deadline it also gives up once that passes (checked every kDeadlineEvery writes), so
// that one long decode cannot outlive the message's wall-time limit.
class QPDF_DLL_CLASS BoundedCount final : public Pipeline {
 public:
  explicit BoundedCount(std::uint64_t limit, Clock::time_point deadline = {})
      : Pipeline("mugai-count", nullptr), limit_(limit), deadline_(deadline) {}
  void write(unsigned char const* /*data*/, std::size_t len) override {
    count_ += len;
    if (count_ > limit_) {
      exceeded_ = true;
      throw std::length_error("stream too large");
    }
    if (deadline_ != Clock::time_point{} && ++writes_ % kDeadlineEvery == 0 &&
        Clock::now() > deadline_) {
      expired_ = true;
      throw std::runtime_error("deadline passed");
    }
  }
  void finish() override {}
  std::uint64_t count() const { return count_; }
  bool exceeded() const { return exceeded_; }
  bool expired() const { return expired_; }

 private:
  std::uint64_t limit_;
  Clock::time_point deadline_;
  std::uint64_t count_ = 0;
  std::size_t writes_ = 0;
  bool exceeded_ = false;
  bool expired_ = false;
};

// Accepts every content-stream object; qpdf reports what it cannot parse as warnings or
// exceptions, which is all the check needs.
class IgnoreContents final : public QPDFObjectHandle::ParserCallbacks {
 public:
  void handleObject(QPDFObjectHandle /*object*/) override {}
  void handleEOF() override {}
};

// Each QPDF gets its own logger that discards everything: nothing reaches stderr, and no state
// is shared between threads.
std::shared_ptr<QPDFLogger> quietLogger() {
  auto logger = QPDFLogger::create();
  logger->setInfo(logger->discard());
  logger->setWarn(logger->discard());
  logger->setError(logger->discard());
  return logger;
}

// True when `h` is, or directly contains, an indirect reference (two levels: /DecodeParms may be
// an array of dictionaries).
bool containsIndirect(Handle h, int depth = 0) {
  if (h.isIndirect()) return true;
  if (depth >= 2) return false;
  if (h.isArray()) {
    for (int i = 0; i < h.getArrayNItems(); ++i) {
      if (containsIndirect(h.getArrayItem(i), depth + 1)) return true;
    }
  } else if (h.isDictionary()) {
    for (const auto& key : h.getKeys()) {
      if (containsIndirect(h.getKey(key), depth + 1)) return true;
    }
  }
  return false;
}

bool isPdfSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\0';
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Decodes, into a counter and before qpdf opens the file, every cross-reference stream qpdf could
// decode while opening it: those it reaches from a startxref value through /Prev and /XRefStm
// (every startxref in the file is taken, a superset of the last one qpdf uses), and every object
// whose dictionary says /Type /XRef (what qpdf's recovery may try when the chain is broken).
// Dictionaries are read with qpdf's own tokenizer and parser, and decoded with qpdf's own filters,
// so that names written with #xx escapes or unusual filter chains are seen as qpdf sees them.
class XrefStreamCheck {
 public:
  XrefStreamCheck(std::string_view bytes, Deadline& deadline, std::uint64_t& used)
      : bytes_(bytes),
        buffer_(const_cast<unsigned char*>(reinterpret_cast<const unsigned char*>(bytes.data())),
                bytes.size()),
        input_(std::make_shared<BufferInputSource>("attachment.pdf", &buffer_, false)),
        deadline_(deadline),
        used_(used) {
    scratch_.setLogger(quietLogger());
    scratch_.setSuppressWarnings(true);
    scratch_.emptyPDF();
  }

  void run() {
    for (auto pos = bytes_.find("startxref"); pos != std::string_view::npos;
         pos = bytes_.find("startxref", pos + 1)) {
      pushOffset(integerAt(pos + 9));
    }
    followQueue();
    std::size_t headers = 0;
    for (auto pos = bytes_.find("obj"); pos != std::string_view::npos;
         pos = bytes_.find("obj", pos + 1)) {
      if (!isObjectHeader(pos)) continue;
      deadline_.tick();
      if (++headers > kMaxXrefSections * 64) throw Stop{"limit.pdf_objects"};
      input_->seek(static_cast<qpdf_offset_t>(pos + 3), SEEK_SET);
      streamAfterHeader(true);
    }
    followQueue();
  }

 private:
  // The unsigned integer after optional white space at `pos`, or -1.
  long long integerAt(std::size_t pos) const {
    while (pos < bytes_.size() && isPdfSpace(bytes_[pos])) ++pos;
    long long v = -1;
    for (std::size_t n = 0; pos < bytes_.size() && isDigit(bytes_[pos]) && n < 15; ++pos, ++n) {
      v = (v < 0 ? 0 : v * 10) + (bytes_[pos] - '0');
    }
    return v;
  }

  void pushOffset(long long offset) {
    if (offset >= 0 && static_cast<std::uint64_t>(offset) < bytes_.size() &&
        queue_.size() < kMaxXrefSections) {
      queue_.push_back(offset);
    }
  }

  void pushInteger(Handle dict, const char* key) {
    Handle v = dict.getKey(key);
    if (!v.isIndirect() && v.isInteger()) pushOffset(v.getIntValue());
  }

  // "N G obj" as qpdf's recovery recognises it: digits, white space, digits, white space, "obj",
  // then a delimiter.
  bool isObjectHeader(std::size_t pos) const {
    const std::size_t after = pos + 3;
    if (after < bytes_.size() && !isPdfSpace(bytes_[after]) && bytes_[after] != '<' &&
        bytes_[after] != '%') {
      return false;
    }
    std::size_t i = pos;
    for (int field = 0; field < 2; ++field) {
      const std::size_t spaceEnd = i;
      while (i > 0 && isPdfSpace(bytes_[i - 1])) --i;
      if (i == spaceEnd) return false;
      const std::size_t digitsEnd = i;
      while (i > 0 && isDigit(bytes_[i - 1])) --i;
      if (i == digitsEnd) return false;
    }
    return true;
  }

  void followQueue() {
    while (!queue_.empty()) {
      const long long offset = queue_.back();
      queue_.pop_back();
      if (!seen_.insert(offset).second) continue;
      if (seen_.size() > kMaxXrefSections) throw Stop{"limit.pdf_objects"};
      deadline_.tick();
      section(offset);
    }
  }

  // One cross-reference section: a classic table (whose trailer may point at a stream with
  // /XRefStm) or a cross-reference stream.
  void section(long long offset) {
    try {
      input_->seek(offset, SEEK_SET);
      QPDFTokenizer tokenizer;
      const auto first = tokenizer.readToken(input_, "xref", true, 32);
      if (first.isWord("xref")) {
        const auto trailer = bytes_.find("trailer", static_cast<std::size_t>(offset));
        if (trailer == std::string_view::npos) return;
        input_->seek(static_cast<qpdf_offset_t>(trailer + 7), SEEK_SET);
        bool empty = false;
        Handle dict = Handle::parse(input_, "trailer", tokenizer, empty, nullptr, &scratch_);
        if (!dict.isDictionary()) return;
        pushInteger(dict, "/Prev");
        pushInteger(dict, "/XRefStm");
        return;
      }
      if (!first.isInteger()) return;
      if (!tokenizer.readToken(input_, "xref", true, 32).isInteger()) return;
      if (!tokenizer.readToken(input_, "xref", true, 32).isWord("obj")) return;
    } catch (const QPDFExc&) {
      return;  // qpdf cannot read a section here either
    }
    streamAfterHeader(false);
  }

  // Reads the dictionary and stream at the input's position (just after "obj") and decodes the
  // stream into the counter. With `onlyXref`, only a stream of /Type /XRef is decoded.
  void streamAfterHeader(bool onlyXref) {
    Handle dict;
    std::size_t start = 0;
    try {
      QPDFTokenizer tokenizer;
      bool empty = false;
      dict = Handle::parse(input_, "xref stream", tokenizer, empty, nullptr, &scratch_);
      if (!dict.isDictionary()) return;
      if (onlyXref && nameOf(dict.getKey("/Type")) != "/XRef") return;
      pushInteger(dict, "/Prev");
      if (!tokenizer.readToken(input_, "xref stream", true, 32).isWord("stream")) return;
      start = static_cast<std::size_t>(input_->tell());
    } catch (const QPDFExc&) {
      return;
    }
    if (start < bytes_.size() && bytes_[start] == '\r') ++start;
    if (start < bytes_.size() && bytes_[start] == '\n') ++start;
    if (start >= bytes_.size() || !decoded_.insert(start).second) return;

    Handle filter = dict.getKey("/Filter");
    Handle parms = dict.getKey("/DecodeParms");
    // Every entry of a cross-reference stream dictionary must be direct (ISO 32000-1, 7.5.8.2);
    // an indirect filter is a file built to be read differently here and in qpdf.
    if (containsIndirect(filter) || containsIndirect(parms)) throw Stop{"pdf.invalid"};
    if (filter.isNull()) return;  // stored: no larger than the file

    std::size_t length = bytes_.size() - start;
    Handle declared = dict.getKey("/Length");
    if (!declared.isIndirect() && declared.isInteger() && declared.getIntValue() >= 0 &&
        static_cast<std::uint64_t>(declared.getIntValue()) <= length) {
      length = static_cast<std::size_t>(declared.getIntValue());
    } else if (const auto end = bytes_.find("endstream", start); end != std::string_view::npos) {
      length = end - start;
    }
    Handle stream = scratch_.newStream();
    stream.replaceStreamData(std::string(bytes_.substr(start, length)), filter, parms);
    BoundedCount counter(kMaxStructureBytes - used_);
    stream.pipeStreamData(&counter, 0, qpdf_dl_all, true, false);
    if (counter.exceeded()) throw Stop{"limit.pdf_stream_bytes"};
    used_ += counter.count();
  }

  std::string_view bytes_;
  Buffer buffer_;
  std::shared_ptr<InputSource> input_;
  Deadline& deadline_;
  std::uint64_t& used_;
  QPDF scratch_;
  std::vector<long long> queue_;
  std::set<long long> seen_;
  std::set<std::size_t> decoded_;
};

// Refuses too many objects, and object streams that would inflate beyond the limit, before
// getAllObjects() makes qpdf parse (and inflate) everything.
void checkObjectStreams(QPDF& q, const core::Limits& limits, Deadline& deadline,
                        std::uint64_t& used) {
  const std::map<QPDFObjGen, QPDFXRefEntry> xref = q.getXRefTable();
  if (xref.size() > limits.maxPdfObjects) throw Stop{"limit.pdf_objects"};
  std::set<int> objectStreams;
  for (const auto& [og, entry] : xref) {
    if (entry.getType() == 2) objectStreams.insert(entry.getObjStreamNumber());
  }
  for (const int number : objectStreams) {
    deadline.check();
    Handle stream = q.getObjectByID(number, 0);
    if (!stream.isStream()) continue;
    BoundedCount counter(kMaxStructureBytes - used);
    stream.pipeStreamData(&counter, 0, qpdf_dl_all, true, false);
    if (counter.exceeded()) throw Stop{"limit.pdf_stream_bytes"};
    used += counter.count();
  }
}

void openQuietly(QPDF& q, std::string_view bytes) {
  q.setLogger(quietLogger());
  q.setSuppressWarnings(true);
  q.processMemoryFile("attachment.pdf", bytes.data(), bytes.size());
}

// Only what a reader needs from the trailer is kept; other keys could refer to anything.
void trimTrailer(Handle trailer) {
  static const std::set<std::string> kKeep = {"/Root", "/Info", "/ID", "/Encrypt", "/Size"};
  for (const auto& key : trailer.getKeys()) {
    if (kKeep.count(key) == 0) trailer.removeKey(key);
  }
}

std::string writeFresh(QPDF& q) {
  QPDFWriter w(q);
  w.setOutputMemory();
  w.setPreserveEncryption(false);
  // Streams are copied as they are, filters and all (images and content keep their bytes, and
  // nothing is decoded). Compressing the unfiltered ones would be smaller, but qpdf then writes
  // /Filter after /Length and the next rebuild sorts them: the output would not be a fixed point.
  // Object and xref streams are regenerated (and compressed) whatever the mode.
  w.setStreamDataMode(qpdf_s_preserve);
  w.setObjectStreamMode(qpdf_o_generate);
  w.setDeterministicID(true);
  w.write();
  const auto buffer = w.getBufferSharedPointer();
  return std::string(reinterpret_cast<const char*>(buffer->getBuffer()), buffer->getSize());
}

// What `qpdf --check` does beyond parsing, on a parsed output: every stream decodes through its
// lossless filters (image codecs are left alone: the output copies image bytes unchanged, and
// decoding a hostile JPEG costs memory), and every page's content streams parse. Damage here
// shows as qpdf warnings or as a false return. Throws Stop on the budget or the deadline.
bool streamsDecode(QPDF& q, const std::vector<Handle>& all, Deadline& deadline,
                   Clock::time_point due) {
  std::uint64_t used = 0;
  for (Handle h : all) {
    if (!h.isStream()) continue;
    deadline.tick();
    BoundedCount counter(kMaxCheckedStreamBytes - used, due);
    bool filtered = false;
    const bool ok = h.pipeStreamData(&counter, &filtered, 0, qpdf_dl_specialized, true, false);
    if (counter.exceeded()) throw Stop{"limit.pdf_stream_bytes"};
    if (counter.expired()) throw Stop{"limit.wall_time"};
    if (!ok) return false;
    used += counter.count();
  }
  for (QPDFPageObjectHelper page : q.getAllPages()) {
    deadline.tick();
    IgnoreContents ignore;
    page.parseContents(&ignore);
  }
  return true;
}

// The rebuilt bytes must read back with no warning, with a page tree, with every stream
// decodable and every content stream parseable, and with nothing active left (the same
// predicates as pass 2, on a fresh parse). Returns "" when they do, else what failed.
std::string verifyRebuilt(std::string_view bytes, Deadline& deadline, Clock::time_point due,
                          bool keepWebLinks) {
  QPDF q;
  openQuietly(q, bytes);
  const std::vector<Handle> all = q.getAllObjects();
  if (q.getAllPages().empty()) return "no pages";
  if (q.numWarnings() != 0) return "warnings";
  try {
    if (!streamsDecode(q, all, deadline, due)) return "damaged stream";
  } catch (const QPDFExc&) {
    return "damaged stream";
  }
  if (q.numWarnings() != 0) return "damaged stream";
  std::vector<Handle> roots = all;
  roots.push_back(q.getTrailer());
  std::string problem;
  for (Handle h : all) {
    if (h.isStream() && nameOf(h.getDict().getKey("/Type")) == "/EmbeddedFile") problem = "file";
  }
  forEachDictionary(roots, deadline, [&problem, keepWebLinks](Handle d) {
    if (!problem.empty()) return;
    for (const char* key : {"/JS", "/AA", "/JavaScript", "/EmbeddedFiles", "/EF", "/XFA"}) {
      if (d.hasKey(key)) problem = key;
    }
    if (isDangerousActionDict(d, keepWebLinks)) problem = "action";
    if (!dangerousAnnotKind(d).empty()) problem = "annotation";
  });
  if (q.numWarnings() != 0) return "warnings";
  return problem;
}

std::string outputName(const std::vector<std::string>& names) {
  if (names.empty() || names[0].empty()) return "document.pdf";
  if (endsWithNoCase(names[0], ".pdf")) return names[0];
  return names[0] + ".pdf";
}

PartOutput removed(std::string reason) {
  PartOutput out;
  out.disposition = core::Disposition::Removed;
  out.reason = std::move(reason);
  return out;
}

PartOutput rebuild(const PartInput& in, const core::Limits& limits) {
  const bool keepWebLinks = in.policy == nullptr || in.policy->keepWebLinks;
  Deadline deadline(in.deadline);
  deadline.check();

  std::uint64_t structureBytes = 0;
  XrefStreamCheck(in.bytes, deadline, structureBytes).run();
  deadline.check();

  QPDF q;
  try {
    openQuietly(q, in.bytes);
  } catch (const QPDFExc& e) {
    if (e.getErrorCode() == qpdf_e_password) return removed("pdf.encrypted");
    return removed("pdf.invalid");
  }
  // Readable with the empty password as owner only means a reader asks for a password.
  const bool encrypted = q.isEncrypted();
  if (encrypted && !q.userPasswordMatched()) return removed("pdf.encrypted");

  checkObjectStreams(q, limits, deadline, structureBytes);
  deadline.check();
  std::vector<Handle> all = q.getAllObjects();
  if (all.size() > limits.maxPdfObjects) throw Stop{"limit.pdf_objects"};
  Handle root = q.getRoot();
  if (!root.isDictionary()) return removed("pdf.invalid");
  // Resolving the page tree lets qpdf repair it now, so that the output is already repaired.
  q.getAllPages();
  deadline.check();

  Handle trailer = q.getTrailer();
  trimTrailer(trailer);
  std::vector<Handle> roots = std::move(all);
  roots.push_back(trailer);

  Cleaner cleaner(root.getObjGen(), deadline, keepWebLinks);
  cleaner.removeReferences(roots);
  cleaner.neutralizeObjects(roots);
  cleaner.finishFindings();
  deadline.check();

  std::string bytes = writeFresh(q);
  const std::size_t warnings = q.numWarnings();
  // Decryption problems show up as warnings while streams are written: the output could hold
  // garbage where the document had content, so an encrypted input must convert cleanly.
  if (encrypted && warnings != 0) return removed("pdf.encrypted");
  deadline.check();
  const std::string problem = verifyRebuilt(bytes, deadline, in.deadline, keepWebLinks);
  // Damage copied from the input (a stream that does not decode, content that does not parse,
  // no page at all) means the file would not open properly: it is removed as invalid. Anything
  // else is the rebuild's own failure.
  if (problem == "damaged stream" || problem == "no pages") return removed("pdf.invalid");
  if (!problem.empty()) return removed("pdf.rebuild_failed");

  PartOutput out;
  out.disposition = core::Disposition::Rebuilt;
  out.contentType = "application/pdf";
  out.filename = outputName(in.names);
  out.bytes = std::move(bytes);
  if (encrypted) cleaner.findings().add("pdf.decrypted", {});
  if (warnings != 0) cleaner.findings().add("pdf.repaired", std::to_string(warnings));
  out.findings = cleaner.findings().finish();
  return out;
}

}  // namespace

bool PdfSanitizer::handles(std::string_view trueType, std::string_view /*declaredType*/) const {
  return trueType == "pdf";
}

PartOutput PdfSanitizer::sanitize(const PartInput& in) const {
  static const core::Limits kDefaultLimits;
  const core::Limits& limits = in.limits ? *in.limits : kDefaultLimits;
  // qpdf looks for the header anywhere in the first kilobyte; other readers do not. Bytes in
  // front of it are how polyglot files hide a PDF inside another format.
  if (in.bytes.substr(0, kPdfHeader.size()) != kPdfHeader) {
    return removed(in.bytes.find(kPdfHeader) != std::string_view::npos ? "pdf.header_not_at_start"
                                                                        : "pdf.invalid");
  }
  try {
    return rebuild(in, limits);
  } catch (const Stop& stop) {
    return removed(stop.reason);
  } catch (const std::exception&) {
    return removed("pdf.invalid");
  } catch (...) {
    return removed("pdf.invalid");
  }
}

MUGAI_REGISTER_SANITIZER(PdfSanitizer)

}  // namespace mugai::sanitizers::pdf
