// See reply.h. The table is indexed by the enum's value; a static_assert keeps the two in step.
#include "smtp-relay/reply.h"

#include <algorithm>
#include <iterator>
#include <cstddef>

namespace mugai::relay {
namespace {

// In the order of the Status enum.
constexpr ReplySpec kReplies[] = {
    {220, "", "ESMTP Mugai", false},
    {221, "2.0.0", "Bye", true},
    {214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP", false},
    {250, "", "Hello", false},
    {250, "2.0.0", "Ok", false},
    {250, "2.1.0", "Sender ok", false},
    {250, "2.1.5", "Recipient ok", false},
    {250, "2.0.0", "Ok: queued", false},
    {252, "2.0.0", "Cannot VRFY user, but will accept message for accepted domains", false},
    {354, "", "End data with <CR><LF>.<CR><LF>", false},
    {220, "2.0.0", "Ready to start TLS", false},
    {421, "4.3.2", "Service shutting down, closing transmission channel", true},
    {421, "4.4.2", "Timeout exceeded, closing transmission channel", true},
    {421, "4.7.0", "Too many errors, closing transmission channel", true},
    {421, "4.7.0", "Too many connections, try again later", true},
    {451, "4.3.0", "Local error in processing: message not stored, try again later", false},
    {452, "4.3.1", "Insufficient system storage, try again later", false},
    {452, "4.5.3", "Too many recipients", false},
    {500, "5.5.2", "Line too long", false},
    {500, "5.5.2", "Bare LF in command line; lines end with <CR><LF>", false},
    {500, "5.5.2", "Command unrecognized", false},
    {501, "5.5.4", "Syntax error in parameters or arguments", false},
    {501, "5.1.7", "Bad sender address syntax", false},
    {501, "5.1.3", "Bad recipient address syntax", false},
    {502, "5.5.1", "Command not implemented", false},
    {503, "5.5.1", "Bad sequence of commands", false},
    {555, "5.5.4", "Parameter not recognized or not implemented", false},
    {550, "5.7.1", "Relay access denied", false},
    {554, "5.7.1", "Client host rejected: access denied", true},
    {550, "5.5.2", "Message refused: bare CR or LF in message data", false},
    {550, "5.6.0", "Message refused: a line is longer than the limit", false},
    {552, "5.3.4", "Message size exceeds fixed limit", false},
    {552, "5.3.4", "Message header size exceeds limit", false},
    {554, "5.4.6", "Too many hops: mail loop suspected", false},
    {554, "5.5.1", "No valid recipients", false},
    {554, "5.5.0", "Protocol error: talking before the greeting", true},
    {554, "5.5.0", "Protocol error: improper use of command pipelining", true},
};

// A row added to the enum but not to the table (or the reverse) fails the build.
static_assert(static_cast<std::size_t>(Status::BadPipelining) + 1 == std::size(kReplies),
              "reply table out of step with Status");

constexpr std::size_t kMaxDetail = 400;

std::string cleanDetail(std::string_view detail) {
  std::string out;
  out.reserve(std::min(detail.size(), kMaxDetail));
  for (const char c : detail) {
    if (out.size() >= kMaxDetail) break;
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7F || u >= 0x80 ? '?' : c);
  }
  return out;
}

void appendLine(std::string& out, const ReplySpec& spec, char sep, std::string_view text) {
  out += std::to_string(spec.code);
  out.push_back(sep);
  if (!spec.enhanced.empty()) {
    out += spec.enhanced;
    out.push_back(' ');
  }
  out += cleanDetail(text);
  out += "\r\n";
}

}  // namespace

const ReplySpec& replySpec(Status status) {
  return kReplies[static_cast<std::size_t>(status)];
}

std::string formatReply(Status status, std::string_view detail) {
  const ReplySpec& spec = replySpec(status);
  std::string out;
  appendLine(out, spec, ' ', detail.empty() ? spec.text : detail);
  return out;
}

std::string formatMultiline(Status status, const std::vector<std::string>& lines) {
  if (lines.empty()) return formatReply(status);
  const ReplySpec& spec = replySpec(status);
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    appendLine(out, spec, i + 1 == lines.size() ? ' ' : '-', lines[i]);
  }
  return out;
}

bool isError(Status status) { return replySpec(status).code >= 400; }

}  // namespace mugai::relay
