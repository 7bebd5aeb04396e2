#include "core/report.h"

#include "core/json.h"

namespace mugai::core {
namespace {

void writeFindings(JsonWriter& w, const Findings& findings) {
  w.beginArray();
  for (const auto& f : findings) {
    w.beginObject().key("kind").value(f.kind);
    if (!f.detail.empty()) w.key("detail").value(f.detail);
    w.endObject();
  }
  w.endArray();
}

}  // namespace

std::string originalIdFor(const std::string& inputSha256) {
  return "MG-" + inputSha256.substr(0, 20);
}

std::string Report::toJson() const {
  JsonWriter w;
  w.beginObject();
  w.key("schema").value("mugai-report/1");
  w.key("status").value(delivered ? "delivered" : "held");
  if (!delivered) {
    w.key("held_reason").value(heldReason);
    if (!heldDetail.empty()) w.key("held_detail").value(heldDetail);
  }
  w.key("original_id").value(originalId);
  w.key("input").beginObject().key("sha256").value(inputSha256).key("size").value(inputSize).endObject();
  w.key("output");
  if (delivered) {
    w.beginObject().key("sha256").value(outputSha256).key("size").value(outputSize).endObject();
  } else {
    w.null();
  }
  w.key("notice_added").value(noticeAdded);
  w.key("findings");
  writeFindings(w, messageFindings);
  w.key("parts").beginArray();
  for (const auto& p : parts) {
    w.beginObject();
    w.key("path").value(p.path);
    w.key("declared_type").value(p.declaredType);
    w.key("true_type").value(p.trueType);
    w.key("names").beginArray();
    for (const auto& n : p.names) w.value(n);
    w.endArray();
    w.key("size").value(p.size);
    w.key("disposition").value(dispositionName(p.disposition));
    if (!p.reason.empty()) w.key("reason").value(p.reason);
    if (!p.sanitizer.empty()) w.key("sanitizer").value(p.sanitizer);
    if (!p.outputType.empty()) w.key("output_type").value(p.outputType);
    if (!p.outputName.empty()) w.key("output_name").value(p.outputName);
    if (p.inAttachedMessage) w.key("in_attached_message").value(true);
    w.key("findings");
    writeFindings(w, p.findings);
    w.endObject();
  }
  w.endArray();
  if (withTimings) {
    w.key("timings_us").beginObject();
    for (const auto& [stage, us] : timingsUs) w.key(stage).value(us);
    w.endObject();
  }
  w.endObject();
  return w.str();
}

}  // namespace mugai::core
