// See delivery.h. The transaction is MAIL, RCPT… (pipelined when offered), DATA, the dot-stuffed
// message; then QUIT, or the connection waits in the thread's cache for the next message to the
// same hop. Recipients are decided one by one: only a 4xx (or a broken connection) leaves one
// Deferred.
#include "smtp-relay/delivery.h"

#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace mugai::relay {
namespace {

class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

bool allDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

// A connection to an SMTP server with bounded, timed reads, and what its EHLO reply offered.
class SmtpConnection {
 public:
  SmtpConnection(const NextHop& hop, std::uint32_t timeoutS) {
    const Poco::Timespan timeout(static_cast<long>(timeoutS), 0);
    socket_.connect(Poco::Net::SocketAddress(hop.host, hop.port), timeout);
    socket_.setReceiveTimeout(timeout);
    socket_.setSendTimeout(timeout);
    socket_.setNoDelay(true);
  }
  ~SmtpConnection() {
    try {
      socket_.close();
    } catch (...) {
    }
  }
  SmtpReply read() {
    SmtpReply reply;
    std::string error;
    char buf[4096];
    for (;;) {
      switch (reader_.next(reply, error)) {
        case ReplyReader::Result::Done:
          // RFC 5321 3.8: a 421 announces that the server closes the channel.
          if (reply.code == 421) reusable_ = false;
          return reply;
        case ReplyReader::Result::Bad:
          reusable_ = false;
          throw ProtocolError("bad reply from next hop: " + error);
        case ReplyReader::Result::NeedMore: break;
      }
      const int n = socket_.receiveBytes(buf, sizeof buf);
      if (n <= 0) {
        reusable_ = false;
        throw ProtocolError("next hop closed the connection");
      }
      reader_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    }
  }
  void send(std::string_view data) {
    while (!data.empty()) {
      const auto chunk = static_cast<int>(std::min<std::size_t>(data.size(), 1 << 20));
      const int n = socket_.sendBytes(data.data(), chunk);
      if (n <= 0) {
        reusable_ = false;
        throw ProtocolError("next hop stopped reading");
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  void quit() {
    try {
      send("QUIT\r\n");
      read();
    } catch (...) {
      // The transaction is decided; a rude goodbye changes nothing.
    }
  }
  /// False once the server announced it closes (421) or the stream went wrong.
  bool reusable() const { return reusable_; }

  bool pipelining = false;       ///< PIPELINING was offered
  bool size = false;             ///< SIZE was offered
  std::size_t transactions = 0;  ///< MAIL transactions started on this connection

 private:
  Poco::Net::StreamSocket socket_;
  ReplyReader reader_;
  bool reusable_ = true;
};

ConnectionCache::ConnectionCache() = default;

ConnectionCache::~ConnectionCache() { closeAll(); }

void ConnectionCache::closeAll() {
  for (auto& [hop, connection] : open_) connection->quit();
  open_.clear();
}

std::unique_ptr<SmtpConnection> ConnectionCache::take(const NextHop& hop) {
  const auto it = open_.find(hop.text());
  if (it == open_.end()) return nullptr;
  std::unique_ptr<SmtpConnection> c = std::move(it->second);
  open_.erase(it);
  return c;
}

void ConnectionCache::put(const NextHop& hop, std::unique_ptr<SmtpConnection> connection) {
  auto& slot = open_[hop.text()];
  if (slot) slot->quit();  // one per hop: the older one goes
  slot = std::move(connection);
}

namespace {

enum class Next { Done, TryNextHop };

void setPending(DeliveryResult& result, RcptState state, const std::string& why) {
  for (auto& r : result.recipients) {
    if (r.state == RcptState::Deferred) {
      r.state = state;
      r.reply = why;
    }
  }
}

RcptState stateFor(int code) {
  if (code >= 200 && code < 300) return RcptState::Delivered;
  if (code >= 500) return RcptState::Failed;
  return RcptState::Deferred;
}

// Connects, reads the greeting and says EHLO (HELO when EHLO is refused). Null, with `why` set,
// when the server refuses the session: that decides nothing about the recipients. Network
// errors throw.
std::unique_ptr<SmtpConnection> openSession(const NextHop& hop, const std::string& hostname,
                                            std::uint32_t timeoutS, std::string& why) {
  auto c = std::make_unique<SmtpConnection>(hop, timeoutS);
  SmtpReply r = c->read();
  if (r.code != 220) {
    why = "greeting: " + r.text();
    c->quit();
    return nullptr;
  }
  c->send("EHLO " + hostname + "\r\n");
  r = c->read();
  if (r.code != 250) {
    c->send("HELO " + hostname + "\r\n");
    r = c->read();
    if (r.code != 250) {
      why = "HELO: " + r.text();
      c->quit();
      return nullptr;
    }
    return c;
  }
  for (const auto& line : r.lines) {
    std::string word = line.substr(0, line.find(' '));
    std::transform(word.begin(), word.end(), word.begin(), [](char ch) {
      return ch >= 'a' && ch <= 'z' ? static_cast<char>(ch - 32) : ch;
    });
    c->pipelining = c->pipelining || word == "PIPELINING";
    c->size = c->size || word == "SIZE";
  }
  return c;
}

// The cached connection to the hop if it still answers RSET, else null. RSET both ends what the
// previous transaction left (refused recipients, a refused DATA) and proves the server did not
// drop the connection while it sat idle; Postfix's connection cache does the same.
std::unique_ptr<SmtpConnection> reuse(const NextHop& hop, ConnectionCache* cache) {
  std::unique_ptr<SmtpConnection> c = cache ? cache->take(hop) : nullptr;
  if (!c) return nullptr;
  try {
    c->send("RSET\r\n");
    if (c->read().code == 250) return c;
    c->quit();
  } catch (...) {
  }
  return nullptr;
}

// The transaction is over: the connection waits in the cache for the next message to the hop,
// or says QUIT.
void release(std::unique_ptr<SmtpConnection> c, const NextHop& hop, ConnectionCache* cache) {
  if (cache && c->reusable() && c->transactions < ConnectionCache::kMaxTransactions) {
    cache->put(hop, std::move(c));
  } else {
    c->quit();
  }
}

Next deliverSmtp(const NextHop& hop, const SpoolEntry& entry, const std::string& hostname,
                 std::uint32_t timeoutS, DeliveryResult& result, ConnectionCache* cache) {
  std::vector<RcptResult*> pending;
  for (auto& r : result.recipients) {
    if (r.state == RcptState::Deferred) pending.push_back(&r);
  }
  bool dataSent = false;
  try {
    const std::string data = dotStuff(entry.message);
    // At most twice: a reused connection refusing MAIL with 4xx may be at a per-connection limit
    // of the server (Exchange has one), which a new connection does not have.
    for (;;) {
      std::unique_ptr<SmtpConnection> c = reuse(hop, cache);
      const bool reused = c != nullptr;
      if (!c) {
        std::string why;
        c = openSession(hop, hostname, timeoutS, why);
        if (!c) {
          setPending(result, RcptState::Deferred, why);
          return Next::TryNextHop;
        }
      }
      ++c->transactions;
      std::string mail = "MAIL FROM:<" + entry.envelope.sender + ">";
      if (c->size) mail += " SIZE=" + std::to_string(entry.message.size());
      mail += "\r\n";
      std::vector<std::string> rcpts;
      for (const auto* p : pending) rcpts.push_back("RCPT TO:<" + p->recipient + ">\r\n");

      SmtpReply mailReply;
      std::vector<SmtpReply> rcptReplies;
      if (c->pipelining) {
        std::string group = mail;
        for (const auto& cmd : rcpts) group += cmd;
        c->send(group);
        mailReply = c->read();
        for (std::size_t i = 0; i < rcpts.size(); ++i) rcptReplies.push_back(c->read());
      } else {
        c->send(mail);
        mailReply = c->read();
        if (mailReply.code / 100 == 2) {
          for (const auto& cmd : rcpts) {
            c->send(cmd);
            rcptReplies.push_back(c->read());
          }
        }
      }
      if (mailReply.code / 100 == 4 && reused) {
        c->quit();
        continue;
      }
      if (mailReply.code / 100 != 2) {
        const bool permanent = mailReply.code >= 500;
        setPending(result, permanent ? RcptState::Failed : RcptState::Deferred,
                   "MAIL: " + mailReply.text());
        release(std::move(c), hop, cache);
        return permanent ? Next::Done : Next::TryNextHop;
      }
      std::vector<RcptResult*> accepted;
      for (std::size_t i = 0; i < pending.size(); ++i) {
        const RcptState s = stateFor(rcptReplies[i].code);
        if (s == RcptState::Delivered) {
          accepted.push_back(pending[i]);
        } else {
          pending[i]->state = s;
          pending[i]->reply = "RCPT: " + rcptReplies[i].text();
        }
      }
      // Still Deferred but accepted; a failure below is decided for these only.
      for (auto* a : accepted) a->reply.clear();
      if (accepted.empty()) {
        release(std::move(c), hop, cache);
        return Next::Done;
      }
      c->send("DATA\r\n");
      SmtpReply r = c->read();
      if (r.code != 354) {
        for (auto* a : accepted) {
          a->state = r.code >= 500 ? RcptState::Failed : RcptState::Deferred;
          a->reply = "DATA: " + r.text();
        }
        release(std::move(c), hop, cache);
        return Next::Done;
      }
      dataSent = true;
      c->send(data);
      r = c->read();
      for (auto* a : accepted) {
        a->state = stateFor(r.code);
        a->reply = r.text();
      }
      release(std::move(c), hop, cache);
      return Next::Done;
    }
  } catch (const Poco::Exception& e) {
    setPending(result, RcptState::Deferred, hop.text() + ": " + e.displayText());
  } catch (const std::exception& e) {
    setPending(result, RcptState::Deferred, hop.text() + ": " + e.what());
  }
  // Once the message was sent, the next hop may have it even without a reply: retry later
  // rather than at once elsewhere (a duplicate stays possible, a loss never).
  return dataSent ? Next::Done : Next::TryNextHop;
}

Next deliverMaildir(const NextHop& hop, const SpoolEntry& entry, const std::string& hostname,
                    DeliveryResult& result) {
  namespace fs = std::filesystem;
  const fs::path root(hop.dir);
  std::error_code ec;
  for (const char* sub : {"tmp", "new", "cur"}) fs::create_directories(root / sub, ec);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  const std::string name = std::to_string(us / 1000000) + ".M" + std::to_string(us % 1000000) +
                           "P" + std::to_string(::getpid()) + "Q" + entry.id + "." + hostname;
  const fs::path tmp = root / "tmp" / name;
  const fs::path target = root / "new" / name;
  const auto failed = [&](const std::string& what) {
    const std::string why = hop.text() + ": " + what + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    setPending(result, RcptState::Deferred, why);
    return Next::TryNextHop;
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return failed("open");
  std::string_view rest = entry.message;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return failed("write");
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    return failed("fsync");
  }
  if (::close(fd) != 0) return failed("close");
  if (::rename(tmp.c_str(), target.c_str()) != 0) return failed("rename");
  const int dir = ::open((root / "new").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0 || ::fsync(dir) != 0) {
    if (dir >= 0) ::close(dir);
    setPending(result, RcptState::Deferred, hop.text() + ": fsync of new/ failed");
    return Next::Done;  // the file is there; retrying may duplicate, which is allowed
  }
  ::close(dir);
  setPending(result, RcptState::Delivered, "maildir " + target.string());
  return Next::Done;
}

}  // namespace

std::string SmtpReply::text() const {
  std::string t = std::to_string(code);
  if (!lines.empty()) t += " " + lines.front().substr(0, 200);
  for (auto& c : t) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) c = '?';
  }
  return t;
}

ReplyReader::Result ReplyReader::next(SmtpReply& reply, std::string& error) {
  std::size_t pos = 0;
  int code = -1;
  std::vector<std::string> lines;
  for (;;) {
    const auto lf = buffer_.find('\n', pos);
    if (lf == std::string::npos) {
      if (buffer_.size() - pos > kMaxLine) {
        error = "reply line too long";
        return Result::Bad;
      }
      return Result::NeedMore;
    }
    std::string_view line(buffer_.data() + pos, lf - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > kMaxLine) {
      error = "reply line too long";
      return Result::Bad;
    }
    if (line.size() < 3 || !allDigits(line.substr(0, 3)) || line[0] < '2' || line[0] > '5' ||
        (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      error = "malformed reply line";
      return Result::Bad;
    }
    const int c = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (code != -1 && c != code) {
      error = "reply code changes between lines";
      return Result::Bad;
    }
    code = c;
    lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view{});
    pos = lf + 1;
    if (line.size() == 3 || line[3] == ' ') {
      reply.code = code;
      reply.lines = std::move(lines);
      buffer_.erase(0, pos);
      return Result::Done;
    }
    if (lines.size() >= kMaxLines) {
      error = "too many continuation lines";
      return Result::Bad;
    }
  }
}

std::string dotStuff(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 64 + 8);
  bool lineStart = true;
  for (std::size_t i = 0; i < message.size(); ++i) {
    const char ch = message[i];
    if (ch == '\r' || ch == '\n') {
      out += "\r\n";
      if (ch == '\r' && i + 1 < message.size() && message[i + 1] == '\n') ++i;
      lineStart = true;
      continue;
    }
    if (lineStart && ch == '.') out.push_back('.');
    out.push_back(ch);
    lineStart = false;
  }
  if (!lineStart) out += "\r\n";
  out += ".\r\n";
  return out;
}

DeliveryResult deliver(const std::vector<NextHop>& hops, const SpoolEntry& entry,
                       const std::string& hostname, std::uint32_t timeoutS,
                       ConnectionCache* cache) {
  DeliveryResult result;
  for (const auto& r : entry.envelope.recipients) {
    result.recipients.push_back({r, RcptState::Deferred, "no next hop configured"});
  }
  for (const auto& hop : hops) {
    result.hop = hop.text();
    const Next next = hop.kind == NextHop::Kind::Maildir
                          ? deliverMaildir(hop, entry, hostname, result)
                          : deliverSmtp(hop, entry, hostname, timeoutS, result, cache);
    if (next == Next::Done) break;
  }
  return result;
}

}  // namespace mugai::relay
