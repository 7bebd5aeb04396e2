// Delivery to the next hop: an SMTP client (or a maildir writer) that reports a result per
// recipient.
//
// The next hop is trusted no more than a client: its replies are read with bounds (line length,
// number of continuation lines, total size, a well-formed and consistent code on every line),
// and anything else is a protocol error treated as a temporary failure. Every read waits at most
// the delivery timeout, the reply to the final dot included. The message is sent dot-stuffed with
// CRLF line ends only (a bare CR or LF is written as CRLF), so a message can never end early at
// the next hop whatever the pipeline produced.
//
// Connections are reused (a ConnectionCache per delivery thread): a city hall's mail comes in
// bursts to one LGWAN-side server, and a TCP connect, greeting and EHLO per message would cost
// the next hop more than the message itself.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp-relay/relay_config.h"
#include "smtp-relay/spool.h"

namespace mugai::relay {

/// One SMTP reply as read from a server.
struct SmtpReply {
  int code = 0;                     ///< 200..599
  std::vector<std::string> lines;   ///< text of each line, after "CODE-" / "CODE "
  std::string text() const;         ///< "CODE first-line" for logs (bounded)
};

/// Reads replies from a byte stream with bounds. Fed bytes as they arrive.
class ReplyReader {
 public:
  static constexpr std::size_t kMaxLine = 2048;
  static constexpr std::size_t kMaxLines = 100;

  enum class Result { NeedMore, Done, Bad };
  /// Appends bytes to the internal buffer (callers feed at most what they read).
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  /// Tries to take one complete reply from the buffer. Bad: overlong line, too many lines, a
  /// malformed or inconsistent code; `error` says which. Bytes after the reply stay buffered.
  Result next(SmtpReply& reply, std::string& error);

 private:
  std::string buffer_;
};

/// Returns the message with CRLF line ends, dot-stuffed, ending in CRLF, followed by ".\r\n".
std::string dotStuff(std::string_view message);

enum class RcptState { Delivered, Failed, Deferred };

struct RcptResult {
  std::string recipient;
  RcptState state = RcptState::Deferred;
  std::string reply;  ///< the reply or the error that decided the state (for logs, DSNs)
};

struct DeliveryResult {
  std::vector<RcptResult> recipients;  ///< one per envelope recipient, in order
  std::string hop;                     ///< the next hop that answered last (for logs)
};

class SmtpConnection;

/// SMTP connections left open after a transaction, at most one per next hop, for the next
/// message to the same hop. Owned by one delivery thread: not thread-safe.
class ConnectionCache {
 public:
  /// A connection carries at most this many transactions, so that traffic that failed over to
  /// a second hop goes back to the first one once it recovers (Postfix limits reuse by time for
  /// the same reason).
  static constexpr std::size_t kMaxTransactions = 100;

  ConnectionCache();
  ~ConnectionCache();  ///< closeAll()
  ConnectionCache(const ConnectionCache&) = delete;
  ConnectionCache& operator=(const ConnectionCache&) = delete;

  /// Says QUIT on every open connection and closes it (idle too long, or the relay stops).
  void closeAll();
  bool empty() const { return open_.empty(); }

  /// For deliver(): the open connection to `hop`, removed from the cache (null if none).
  std::unique_ptr<SmtpConnection> take(const NextHop& hop);
  /// For deliver(): keeps a connection whose transaction ended cleanly.
  void put(const NextHop& hop, std::unique_ptr<SmtpConnection> connection);

 private:
  std::map<std::string, std::unique_ptr<SmtpConnection>> open_;
};

/// Delivers one spooled message to the first next hop that takes it (failover in order: a hop
/// that cannot be reached, greets with an error or answers MAIL with 4xx is skipped). Never
/// throws. `hostname` is used in EHLO/HELO. With a `cache`, an open connection to the hop is
/// reused after a RSET (a connection that fails the RSET is replaced by a new one, which costs
/// the message nothing), and the connection is left open in the cache afterwards; without one,
/// each call connects and ends with QUIT.
DeliveryResult deliver(const std::vector<NextHop>& hops, const SpoolEntry& entry,
                       const std::string& hostname, std::uint32_t timeoutS,
                       ConnectionCache* cache = nullptr);

}  // namespace mugai::relay
