// The ESMTP server session: a pure state machine, fed the bytes a client sent and returning the
// bytes to send back. It owns no socket and no clock, so every dialog (including the hostile ones)
// is a unit test.
//
// Protocol: RFC 5321 with PIPELINING (2920), SIZE (1870), 8BITMIME (6152) and
// ENHANCEDSTATUSCODES (2034). Replies come from the table in reply.h only.
//
// What it refuses, because the relay sits in front of a government mail server:
//   - recipients outside the accepted domains (550 5.7.1: never an open relay), and local parts
//     with routing characters ('%', '!', '@') that the next hop might act on;
//   - SMTP smuggling: only <CRLF>.<CRLF> ends DATA; a bare CR or LF anywhere in the data makes the
//     whole message refused (550 5.5.2) at the real end of the data, so two servers can never
//     disagree about where the message ended;
//   - a client that talks before the greeting, or pipelines where RFC 2920 forbids it (after
//     EHLO/HELO/DATA, or without having seen PIPELINING in an EHLO reply): 554, then close;
//   - STARTTLS command injection (CVE-2011-0411 and kin): whatever follows STARTTLS in the
//     plaintext buffer is discarded, never executed, and after the handshake the session starts
//     over from the greeting state (RFC 3207 4.2: the client must EHLO again);
//   - every limit (command and data line length, message and header size, recipients, hops,
//     errors) with its RFC reply.
// Memory: a session holds at most the command line limit plus the message size limit, and the
// message data of all sessions together is bounded by a shared DataBudget (relay.
// max_buffered_bytes): a message that does not fit is read to its end and refused with 452 4.3.1,
// so the client tries again later.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "smtp-relay/reply.h"

namespace mugai::relay {

/// Who sent a message and to whom, as given in the SMTP dialog.
struct Envelope {
  std::string helo;                     ///< the EHLO/HELO argument
  std::string client;                   ///< client IP address, as text
  std::string sender;                   ///< MAIL FROM address without brackets; "" = null sender
  std::vector<std::string> recipients;  ///< RCPT TO addresses, domain lower-cased
  bool esmtp = false;                   ///< EHLO was used
};

/// The answer of a MessageSink to one message.
struct CommitResult {
  Status status = Status::SpoolIoError;  ///< Queued only when the message is on stable storage
  std::string queueId;                   ///< with Queued
};

/// Where a session puts each accepted message (the spool, or a test double).
class MessageSink {
 public:
  virtual ~MessageSink() = default;
  /// Stores the message and its envelope. Must return Status::Queued only after both are on
  /// stable storage (the session then answers 250); any other status is the reply to the final
  /// dot. May be called from many sessions' threads at once.
  virtual CommitResult commit(const Envelope& envelope, std::string_view message) = 0;
};

/// Bytes of message data that all sessions together may hold in memory. Thread-safe.
class DataBudget {
 public:
  explicit DataBudget(std::uint64_t capacity) : capacity_(capacity) {}
  DataBudget(const DataBudget&) = delete;
  DataBudget& operator=(const DataBudget&) = delete;
  /// Takes `n` bytes, or nothing and false when that would exceed the capacity.
  bool take(std::uint64_t n);
  /// Gives back bytes taken before.
  void give(std::uint64_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }
  std::uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  std::uint64_t capacity() const { return capacity_; }

 private:
  const std::uint64_t capacity_;
  std::atomic<std::uint64_t> used_{0};
};

/// The largest buffer a session grows for one message of at most `maxMessageBytes` (its data,
/// plus room for the Received field the session writes first). While it grows, the old buffer
/// (at least half of the new one) is held too: a DataBudget below twice this cannot always hold
/// one message of the largest size.
constexpr std::uint64_t messageBufferCap(std::uint64_t maxMessageBytes) {
  constexpr std::uint64_t kRoom = 4096;  // a Received field is under 2.5 KiB
  return maxMessageBytes > UINT64_MAX - kRoom ? UINT64_MAX : maxMessageBytes + kRoom;
}

struct SessionLimits {
  std::size_t maxCommandLine = 2048;         ///< octets of a command line, CRLF included
  std::size_t maxDataLine = 65536;           ///< octets of a message line, CRLF excluded
  std::uint64_t maxMessageBytes = 64ull << 20;  ///< message data (after dot-unstuffing)
  std::size_t maxHeaderBytes = 1u << 20;     ///< header section of the message
  std::size_t maxRecipients = 100;           ///< RCPT accepted per transaction
  std::size_t maxErrors = 10;                ///< error replies before 421 and disconnect
  std::size_t maxHops = 50;                  ///< Received fields allowed in the header section
  std::size_t maxAddress = 256;              ///< octets of a path inside <> (RFC 5321 4.5.3.1.3)
};

struct SessionConfig {
  std::string hostname = "mugai.invalid";  ///< in the greeting, EHLO reply and Received field
  std::set<std::string> acceptDomains;     ///< lower case, without trailing dot
  SessionLimits limits;
  /// Offer STARTTLS (RFC 3207). Only when the caller can run the handshake: a certificate and
  /// key are configured.
  bool tlsAvailable = false;
};

class Session {
 public:
  /// `clock` returns the RFC 5322 date for the Received field (injectable for tests); empty means
  /// the current time. `budget`, shared by all sessions, bounds the message data they hold
  /// together; null means no bound beyond each session's own limits. The config, sink and
  /// budget must outlive the session.
  Session(const SessionConfig& config, MessageSink& sink, std::string client,
          std::function<std::string()> clock = {}, DataBudget* budget = nullptr);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// The greeting. Input fed before this call is an early talker: refused with 554 and closed.
  std::string greet();
  /// Consumes bytes from the client and returns the replies to send (possibly empty). After the
  /// session closed, returns "" and ignores input.
  std::string feed(std::string_view bytes);
  /// The client was silent too long: 421 4.4.2 and closed.
  std::string timeout();
  /// The relay stops: 421 4.3.2 and closed.
  std::string shutdown();

  /// The 220 to STARTTLS was just returned: the caller must now run the TLS handshake and then
  /// call tlsStarted(), or close the connection. Input fed meanwhile is plaintext sent after
  /// STARTTLS and is discarded.
  bool tlsPending() const { return state_ == State::TlsHandshake; }
  /// The handshake succeeded: every plaintext byte still buffered is dropped and the session is
  /// back to its state right after the greeting (EHLO needed, no transaction, no PIPELINING).
  void tlsStarted();
  /// The session runs over TLS (STARTTLS is no longer offered).
  bool tlsActive() const { return tlsActive_; }

  bool closed() const { return state_ == State::Closed; }
  /// True while the message data is being read (the caller applies the data timeout then).
  bool inData() const { return state_ == State::Data; }
  /// Messages answered with 250 in this session.
  std::size_t queued() const { return queued_; }

 private:
  enum class State { Connected, Greeted, Ready, Mail, Data, TlsHandshake, Closed };

  void onLine(std::string_view line, bool more, std::string& out);
  std::size_t consumeData(std::size_t pos, std::string& out);
  void onDataLine(std::string_view content, bool crlf, std::string& out);
  void finishData(std::string& out);
  void reply(std::string& out, Status status, std::string_view detail = {});
  void resetTransaction();
  bool reserveMessage(std::size_t more);
  void releaseMessage();
  std::string receivedField() const;

  void cmdHelo(std::string_view arg, bool extended, std::string& out);
  void cmdMail(std::string_view arg, std::string& out);
  void cmdRcpt(std::string_view arg, std::string& out);
  void cmdData(std::string_view arg, std::string& out);
  void cmdStartTls(std::string_view arg, std::string& out);

  const SessionConfig& config_;
  MessageSink& sink_;
  std::function<std::string()> clock_;
  DataBudget* budget_;
  State state_ = State::Connected;
  std::string in_;            // unconsumed input
  bool discardLine_ = false;  // skipping the rest of an overlong command line
  bool pipelining_ = false;   // the client saw PIPELINING (used EHLO)
  bool tlsActive_ = false;
  std::size_t errors_ = 0;
  std::size_t queued_ = 0;
  Envelope envelope_;

  // The message being read: the Received field, then the data as it arrives.
  std::string message_;
  std::uint64_t reserved_ = 0;  // bytes of budget_ held for message_'s buffer
  bool overBudget_ = false;     // budget_ could not hold the message: 452 at its end
  std::uint64_t dataBytes_ = 0;
  std::size_t headerBytes_ = 0;
  std::size_t hops_ = 0;
  bool inHeader_ = true;
  bool lineStart_ = true;   // the next byte starts a line after a CRLF (or after the 354)
  bool bare_ = false;       // a bare CR or LF was seen
  bool tooBig_ = false;
  bool headerTooBig_ = false;
  bool lineTooLong_ = false;
  std::size_t partialLine_ = 0;  // octets of the current line already consumed (overlong line)
};

}  // namespace mugai::relay
