#include "core/notice.h"

#include <map>
#include <vector>

#include "core/charset.h"

namespace mugai::core {
namespace {

constexpr std::size_t kMaxLines = 30;

struct Line {
  std::string ja;
  std::string en;
};

// An untrusted name made safe to show: escaped, and shortened on a character boundary (never
// inside a "<U+XXXX>" escape) when it is long.
std::string shownName(std::string_view name) {
  std::string shown = escapeForDisplay(name);
  if (shown.size() > 120) {
    std::size_t cut = 117;
    while (cut > 0 && (static_cast<unsigned char>(shown[cut]) & 0xC0) == 0x80) --cut;
    const auto open = shown.rfind("<U+", cut);
    if (open != std::string::npos && shown.find('>', open) >= cut) cut = open;
    shown = shown.substr(0, cut) + "...";
  }
  repairUtf8(shown);
  return shown;
}

std::string displayName(const PartRecord& p) {
  const std::string& n = !p.names.empty() ? p.names.front() : p.outputName;
  if (n.empty()) return {};
  return shownName(n);
}

// The wording of one finding. Changes to a member of an archive name the member (their detail
// is "<member>: <reason code>" or "<old> → <new>"), so staff know which file went and why.
Line findingText(const Finding& f) {
  const Description d = describe(f.kind);
  Line line{std::string(d.ja), std::string(d.en)};
  if (f.kind != "zip.member_removed" && f.kind != "zip.member_renamed") return line;
  std::string member = f.detail;
  std::string whyJa;
  std::string whyEn;
  if (const auto sep = f.detail.rfind(": "); f.kind == "zip.member_removed" &&
                                             sep != std::string::npos) {
    const std::string code = f.detail.substr(sep + 2);
    if (isKnownCode(code)) {
      const Description why = describe(code);
      member = f.detail.substr(0, sep);
      whyJa = " (" + std::string(why.ja) + ")";
      whyEn = " (" + std::string(why.en) + ")";
    }
  }
  if (member.empty()) return line;
  const std::string shown = shownName(member);
  line.ja += ": 「" + shown + "」" + whyJa;
  line.en += ": \"" + shown + "\"" + whyEn;
  return line;
}

// "「a.exe」" / "\"a.exe\"" or a description of an unnamed part.
std::pair<std::string, std::string> subject(const PartRecord& p) {
  const std::string name = displayName(p);
  std::string ja;
  std::string en;
  if (p.inAttachedMessage) {
    ja = "添付メール内の";
    en = "in an attached message, ";
  }
  if (!name.empty()) {
    ja += "「" + name + "」";
    en += "\"" + name + "\"";
  } else if (p.sanitizer == "text" || p.sanitizer == "html") {
    ja += "本文";
    en += "the body";
  } else {
    const std::string type = escapeForDisplay(p.declaredType.empty() ? p.trueType : p.declaredType);
    ja += "名前のないパート (" + type + ")";
    en += "an unnamed part (" + type + ")";
  }
  return {ja, en};
}

}  // namespace

bool needsNotice(const Report& report) {
  for (const auto& f : report.messageFindings) {
    if (isNoticeWorthy(f.kind)) return true;
  }
  for (const auto& p : report.parts) {
    if (p.disposition == Disposition::Removed && isNoticeWorthy(p.reason)) return true;
    if (p.disposition == Disposition::Converted) return true;
    for (const auto& f : p.findings) {
      if (isNoticeWorthy(f.kind)) return true;
    }
  }
  return false;
}

std::string buildNotice(const Report& report, const Policy& policy) {
  if (!policy.notice || !needsNotice(report)) return {};
  // Collect lines, merging exact duplicates with a count.
  std::vector<Line> lines;
  std::vector<std::size_t> counts;
  std::map<std::string, std::size_t> index;
  const auto push = [&](std::string ja, std::string en) {
    const std::string key = ja + "\n" + en;
    const auto it = index.find(key);
    if (it != index.end()) {
      ++counts[it->second];
      return;
    }
    index.emplace(key, lines.size());
    lines.push_back({std::move(ja), std::move(en)});
    counts.push_back(1);
  };
  for (const auto& f : report.messageFindings) {
    if (!isNoticeWorthy(f.kind)) continue;
    const Description d = describe(f.kind);
    push("メール全体: " + std::string(d.ja), "whole message: " + std::string(d.en));
  }
  for (const auto& p : report.parts) {
    const auto [sja, sen] = subject(p);
    if (p.disposition == Disposition::Removed) {
      if (!isNoticeWorthy(p.reason)) continue;
      const Description d = describe(p.reason);
      push(sja + ": " + std::string(d.ja), sen + ": " + std::string(d.en));
      continue;
    }
    for (const auto& f : p.findings) {
      if (!isNoticeWorthy(f.kind)) continue;
      const Line t = findingText(f);
      push(sja + ": " + t.ja, sen + ": " + t.en);
    }
  }
  const auto countSuffix = [](std::size_t n, bool ja) {
    if (n <= 1) return std::string();
    return ja ? " (" + std::to_string(n) + " 件)" : " (" + std::to_string(n) + " times)";
  };
  const std::size_t shown = std::min(lines.size(), kMaxLines);
  std::string out;
  out += "---- 無害化のお知らせ (Mugai) ----\n";
  out += "このメールは無害化処理されました。次の変更を行いました。\n";
  for (std::size_t i = 0; i < shown; ++i) out += "・" + lines[i].ja + countSuffix(counts[i], true) + "\n";
  if (lines.size() > shown) out += "・ほか " + std::to_string(lines.size() - shown) + " 件\n";
  out += "原本ID: " + report.originalId + "\n";
  out += "原本が必要な場合は、この原本IDを添えて " + policy.contact + " にお問い合わせください。\n";
  out += "\n";
  out += "---- Mugai sanitizing notice ----\n";
  out += "This message was sanitized. The following changes were made:\n";
  for (std::size_t i = 0; i < shown; ++i) out += "- " + lines[i].en + countSuffix(counts[i], false) + "\n";
  if (lines.size() > shown) out += "- and " + std::to_string(lines.size() - shown) + " more\n";
  out += "Original ID: " + report.originalId + "\n";
  out += "To obtain the original, quote this ID to " + policy.contact + ".\n";
  out += "--------------------------------\n\n";
  return out;
}

}  // namespace mugai::core
