// Fuzz target for the ESMTP session (smtp-relay/session): hostile clients, fed in arbitrary
// chunks. Checks what must hold whatever the client sends: every reply is well-formed (three
// digits, ' ' or '-', text without CR/LF, CRLF), a closed session stays silent, and every message
// the session hands to the spool has only CRLF line ends (no bare CR or LF: the smuggling
// defence) and stays within the size limit. Seeds: tests/fuzz/corpus/fuzz_session/.
//
// Input layout: byte 0 picks options (bit 0: STARTTLS offered; bits 1-7: chunk size 1..128),
// the rest is what the client sends.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtp-relay/session.h"

namespace {

class CheckingSink : public mugai::relay::MessageSink {
 public:
  explicit CheckingSink(std::uint64_t maxBytes) : maxBytes_(maxBytes) {}
  mugai::relay::CommitResult commit(const mugai::relay::Envelope& envelope,
                                    std::string_view message) override {
    if (envelope.recipients.empty() || message.size() > maxBytes_) std::abort();
    for (std::size_t i = 0; i < message.size(); ++i) {
      if (message[i] == '\r' && (i + 1 >= message.size() || message[i + 1] != '\n')) std::abort();
      if (message[i] == '\n' && (i == 0 || message[i - 1] != '\r')) std::abort();
    }
    mugai::relay::CommitResult r;
    r.status = mugai::relay::Status::Queued;
    r.queueId = "FUZZ" + std::to_string(++count_);
    return r;
  }

 private:
  std::uint64_t maxBytes_;
  std::size_t count_ = 0;
};

void checkReplies(std::string_view out) {
  while (!out.empty()) {
    const auto end = out.find("\r\n");
    if (end == std::string_view::npos) std::abort();  // every reply line ends in CRLF
    const std::string_view line = out.substr(0, end);
    if (line.size() < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
        line[2] < '0' || line[2] > '9') {
      std::abort();
    }
    if (line.size() > 3 && line[3] != ' ' && line[3] != '-') std::abort();
    if (line.find_first_of("\r\n") != std::string_view::npos || line.size() > 512) std::abort();
    out.remove_prefix(end + 2);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  mugai::relay::SessionConfig config;
  config.hostname = "mx.fuzz.invalid";
  config.acceptDomains = {"city.example.jp"};
  config.limits.maxMessageBytes = 4096;  // small limits, so the limits themselves are exercised
  config.limits.maxHeaderBytes = 1024;
  config.limits.maxDataLine = 256;
  config.limits.maxRecipients = 3;
  config.limits.maxHops = 3;
  config.tlsAvailable = (data[0] & 1) != 0;
  const std::size_t chunk = 1 + (data[0] >> 1);
  CheckingSink sink(config.limits.maxMessageBytes);
  mugai::relay::Session session(config, sink, "192.0.2.1",
                                [] { return std::string("Thu, 26 Nov 2026 00:00:00 +0000"); });
  checkReplies(session.greet());
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  while (!input.empty()) {
    const std::string_view piece = input.substr(0, chunk);
    input.remove_prefix(piece.size());
    const bool wasClosed = session.closed();
    const std::string out = session.feed(piece);
    if (wasClosed && !out.empty()) std::abort();
    checkReplies(out);
    if (session.tlsPending()) session.tlsStarted();
  }
  checkReplies(session.timeout());
  return 0;
}
