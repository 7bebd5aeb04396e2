// See session.h. Input is kept in one buffer; each feed() consumes every complete command line
// (or data line) in it and leaves at most one partial line, whose size the limits bound. Replies
// to a pipelined group are returned together, which is what RFC 2920 asks of a server.
#include "smtp-relay/session.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>

namespace mugai::relay {
namespace {

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; }
char lowerChar(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

std::string upperString(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), upper);
  return out;
}

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (upper(s[i]) != upper(prefix[i])) return false;
  }
  return true;
}

std::string_view trimSpaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool isPrintable(char c) { return c > 0x20 && c < 0x7F; }

bool isAtext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool isDotAtom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s[i + 1] == '.') return false;  // i + 1 < size: s does not end with '.'
    } else if (!isAtext(s[i])) {
      return false;
    }
  }
  return true;
}

// A domain (letters, digits, hyphens; dot-separated labels of at most 63 octets) or an address
// literal in brackets.
bool isDomain(std::string_view d) {
  if (d.empty() || d.size() > 255) return false;
  if (d.front() == '[') {
    if (d.size() < 3 || d.back() != ']') return false;
    return std::all_of(d.begin() + 1, d.end() - 1,
                       [](char c) { return isPrintable(c) && c != '[' && c != ']' && c != '\\'; });
  }
  if (d.back() == '.') d.remove_suffix(1);
  std::size_t label = 0;
  for (const char c : d) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-') {
      if (++label > 63) return false;
    } else {
      return false;
    }
  }
  return label > 0;
}

// Reads "<path> [params]". On success `address` is the mailbox (source route dropped, domain
// lower-cased, trailing dot removed; "" for the null path) and `params` the rest.
bool parsePath(std::string_view s, std::size_t maxAddress, bool allowNull, std::string& address,
               std::string_view& params) {
  s = trimSpaces(s);
  if (s.empty() || s.front() != '<') return false;
  std::size_t close = std::string_view::npos;
  bool quoted = false;
  for (std::size_t i = 1; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted && c == '\\') {
      ++i;  // a quoted pair
    } else if (c == '"') {
      quoted = !quoted;
    } else if (!quoted && c == '>') {
      close = i;
      break;
    }
  }
  if (close == std::string_view::npos) return false;
  std::string_view inner = s.substr(1, close - 1);
  params = s.substr(close + 1);
  if (!params.empty() && params.front() != ' ') return false;
  params = trimSpaces(params);
  if (inner.size() > maxAddress) return false;
  if (!inner.empty() && inner.front() == '@') {  // a source route: ignored (RFC 5321 C)
    const auto colon = inner.find(':');
    if (colon == std::string_view::npos) return false;
    inner.remove_prefix(colon + 1);
  }
  if (inner.empty()) {
    address.clear();
    return allowNull;
  }
  // RFC 5321 4.5.1: <Postmaster> without a domain is a valid recipient.
  if (inner.size() == 10 && startsWithNoCase(inner, "postmaster")) {
    address = "postmaster";
    return true;
  }
  std::size_t at;
  if (inner.front() == '"') {
    std::size_t q = 1;
    for (; q < inner.size(); ++q) {
      const char c = inner[q];
      if (c == '\\') {
        if (q + 1 >= inner.size() || (inner[q + 1] < 0x20 || inner[q + 1] > 0x7E)) return false;
        ++q;
      } else if (c == '"') {
        break;
      } else if (c < 0x20 || c > 0x7E) {
        return false;
      }
    }
    if (q >= inner.size()) return false;
    at = q + 1;
    if (at >= inner.size() || inner[at] != '@') return false;
  } else {
    at = inner.find('@');
    if (at == std::string_view::npos || !isDotAtom(inner.substr(0, at))) return false;
  }
  std::string_view domain = inner.substr(at + 1);
  if (!isDomain(domain)) return false;
  if (domain.back() == '.') domain.remove_suffix(1);
  address.assign(inner.substr(0, at + 1));
  for (const char c : domain) address.push_back(lowerChar(c));
  return true;
}

std::string rfc5322Now() {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000",
                kDays.at(static_cast<std::size_t>(tm.tm_wday) % 7),
                tm.tm_mday, kMonths.at(static_cast<std::size_t>(tm.tm_mon) % 12),
                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

}  // namespace

bool DataBudget::take(std::uint64_t n) {
  std::uint64_t used = used_.load(std::memory_order_relaxed);
  do {
    if (n > capacity_ || used > capacity_ - n) return false;
  } while (!used_.compare_exchange_weak(used, used + n, std::memory_order_relaxed));
  return true;
}

Session::Session(const SessionConfig& config, MessageSink& sink, std::string client,
                 std::function<std::string()> clock, DataBudget* budget)
    : config_(config), sink_(sink), clock_(std::move(clock)), budget_(budget) {
  envelope_.client = std::move(client);
  if (!clock_) clock_ = rfc5322Now;
}

Session::~Session() { releaseMessage(); }

// Makes room in message_ for `more` bytes, growing its buffer geometrically and accounting the
// whole buffer (not just the bytes used) against the shared budget, the old buffer too while
// both exist. False when the budget has no room: the caller drops the message and refuses it at
// its end.
bool Session::reserveMessage(std::size_t more) {
  const std::size_t need = message_.size() + more;
  if (need <= message_.capacity()) return true;
  const std::size_t grown = std::max<std::size_t>({need, message_.capacity() * 2, 16384});
  const auto capped = static_cast<std::size_t>(
      std::min<std::uint64_t>(grown, messageBufferCap(config_.limits.maxMessageBytes)));
  const std::size_t capacity = std::max(capped, need);
  if (budget_ != nullptr && !budget_->take(capacity)) return false;
  // A fresh string reserves exactly `capacity` (growing one in place may round up further).
  std::string bigger;
  try {
    bigger.reserve(capacity);
  } catch (...) {
    if (budget_ != nullptr) budget_->give(capacity);  // never held: given back at once
    throw;
  }
  bigger.append(message_);
  message_.swap(bigger);
  if (budget_ != nullptr) {
    budget_->give(reserved_);
    reserved_ = capacity;
  }
  return true;
}

void Session::releaseMessage() {
  message_.clear();
  message_.shrink_to_fit();
  if (budget_ != nullptr && reserved_ > 0) budget_->give(reserved_);
  reserved_ = 0;
}

std::string Session::greet() {
  if (state_ != State::Connected) return {};
  state_ = State::Greeted;
  return formatReply(Status::Greeting, config_.hostname + " ESMTP Mugai");
}

std::string Session::timeout() {
  std::string out;
  if (state_ != State::Closed) reply(out, Status::Timeout);
  return out;
}

std::string Session::shutdown() {
  std::string out;
  if (state_ != State::Closed) reply(out, Status::ShuttingDown);
  return out;
}

void Session::reply(std::string& out, Status status, std::string_view detail) {
  out += formatReply(status, detail);
  if (replySpec(status).closes) {
    state_ = State::Closed;
    in_.clear();
    return;
  }
  // Permanent errors are what a probing or confused client produces; 4xx replies (too many
  // recipients, a full disk) are the relay's own state and not held against the client.
  if (replySpec(status).code >= 500 && ++errors_ >= config_.limits.maxErrors) {
    out += formatReply(Status::TooManyErrors);
    state_ = State::Closed;
    in_.clear();
  }
}

std::string Session::feed(std::string_view bytes) {
  std::string out;
  if (state_ == State::Closed) return out;
  if (state_ == State::Connected) {
    reply(out, Status::EarlyTalker);
    return out;
  }
  // Plaintext that arrives between the 220 to STARTTLS and the handshake: dropped unread.
  if (state_ == State::TlsHandshake) return out;
  in_.append(bytes);
  const SessionLimits& limits = config_.limits;
  std::size_t pos = 0;
  while (pos < in_.size() && state_ != State::Closed && state_ != State::TlsHandshake) {
    if (state_ == State::Data) {
      pos = consumeData(pos, out);
      if (state_ == State::Data) break;  // the rest is a partial line
      // The reply to the final dot was just written. Without PIPELINING the client must wait
      // for it before sending anything else.
      if (!pipelining_ && pos < in_.size() && state_ != State::Closed) {
        reply(out, Status::BadPipelining);
      }
      continue;
    }
    const auto lf = in_.find('\n', pos);
    if (lf == std::string::npos) {
      if (in_.size() - pos >= limits.maxCommandLine) {
        if (!discardLine_) reply(out, Status::LineTooLong);
        discardLine_ = true;
        pos = in_.size();
      }
      break;
    }
    std::string_view line(in_.data() + pos, lf - pos);
    pos = lf + 1;
    if (discardLine_) {
      discardLine_ = false;
      continue;
    }
    if (line.size() + 1 > limits.maxCommandLine) {
      reply(out, Status::LineTooLong);
      continue;
    }
    if (line.empty() || line.back() != '\r') {
      reply(out, Status::BareLineFeed);
      continue;
    }
    line.remove_suffix(1);
    onLine(line, pos < in_.size(), out);
  }
  if (state_ == State::Closed || state_ == State::TlsHandshake) {
    in_.clear();  // after STARTTLS: what the client pipelined behind it is never executed
  } else {
    in_.erase(0, pos);
  }
  return out;
}

void Session::tlsStarted() {
  if (state_ != State::TlsHandshake) return;
  in_.clear();
  discardLine_ = false;
  resetTransaction();
  // RFC 3207 4.2: forget everything learnt from the client before TLS, its EHLO included.
  envelope_.helo.clear();
  envelope_.esmtp = false;
  pipelining_ = false;
  tlsActive_ = true;
  state_ = State::Greeted;
}

void Session::onLine(std::string_view line, bool more, std::string& out) {
  const auto space = line.find(' ');
  const std::string verb = upperString(line.substr(0, std::min<std::size_t>(space, 16)));
  const std::string_view arg =
      space == std::string_view::npos ? std::string_view{} : trimSpaces(line.substr(space + 1));

  // RFC 2920 3.1: EHLO, HELO, DATA and STARTTLS end a group; a client that never saw PIPELINING
  // must wait for every reply. QUIT may be followed by anything: the rest is discarded when the
  // session closes. So is what follows an accepted STARTTLS (the injection is answered by never
  // executing it, as the issue and Postfix do, rather than by closing).
  const bool startTls = verb == "STARTTLS" && config_.tlsAvailable && !tlsActive_ &&
                        state_ == State::Ready && envelope_.esmtp;
  if (more && verb != "QUIT" && !startTls &&
      (!pipelining_ || verb == "EHLO" || verb == "HELO" || verb == "DATA" ||
       verb == "STARTTLS")) {
    reply(out, Status::BadPipelining);
    return;
  }
  if (std::any_of(line.begin(), line.end(),
                  [](char c) { return c == '\0' || static_cast<unsigned char>(c) >= 0x80; })) {
    reply(out, Status::SyntaxError, "NUL or 8-bit octet in command line");
    return;
  }

  if (verb == "EHLO" || verb == "HELO") {
    cmdHelo(arg, verb == "EHLO", out);
  } else if (verb == "MAIL") {
    cmdMail(arg, out);
  } else if (verb == "RCPT") {
    cmdRcpt(arg, out);
  } else if (verb == "DATA") {
    cmdData(arg, out);
  } else if (verb == "STARTTLS" && config_.tlsAvailable) {
    cmdStartTls(arg, out);
  } else if (verb == "RSET") {
    if (!arg.empty()) return reply(out, Status::SyntaxError, "Syntax: RSET");
    resetTransaction();
    reply(out, Status::Ok);
  } else if (verb == "NOOP") {
    reply(out, Status::Ok);
  } else if (verb == "QUIT") {
    reply(out, Status::Closing);
  } else if (verb == "VRFY") {
    if (arg.empty()) return reply(out, Status::SyntaxError, "Syntax: VRFY address");
    reply(out, Status::CannotVerify);
  } else if (verb == "HELP") {
    reply(out, Status::HelpText);
  } else if (verb == "EXPN" || verb == "TURN" || verb == "ETRN" || verb == "AUTH" ||
             verb == "BDAT" || verb == "STARTTLS" || verb == "ATRN" || verb == "XCLIENT" ||
             verb == "XFORWARD") {
    reply(out, Status::NotImplemented);
  } else {
    reply(out, Status::Unrecognized);
  }
}

void Session::cmdHelo(std::string_view arg, bool extended, std::string& out) {
  if (arg.empty() || arg.size() > 255 || !std::all_of(arg.begin(), arg.end(), isPrintable)) {
    return reply(out, Status::SyntaxError,
                 extended ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
  }
  resetTransaction();
  state_ = State::Ready;
  envelope_.helo.assign(arg);
  envelope_.esmtp = extended;
  pipelining_ = extended;
  if (!extended) return reply(out, Status::HeloOk, config_.hostname);
  std::vector<std::string> lines = {config_.hostname, "PIPELINING",
                                    "SIZE " + std::to_string(config_.limits.maxMessageBytes),
                                    "8BITMIME", "ENHANCEDSTATUSCODES"};
  // RFC 3207 4.2: not offered again once TLS is running.
  if (config_.tlsAvailable && !tlsActive_) lines.insert(lines.end() - 1, "STARTTLS");
  out += formatMultiline(Status::HeloOk, lines);
}

void Session::cmdStartTls(std::string_view arg, std::string& out) {
  if (tlsActive_) return reply(out, Status::BadSequence, "TLS already active");
  if (!arg.empty()) return reply(out, Status::SyntaxError, "Syntax: STARTTLS");
  // STARTTLS is advertised in the EHLO reply only; inside a transaction the envelope would be
  // carried across the handshake, which is exactly what must not happen.
  if (state_ == State::Greeted || !envelope_.esmtp) {
    return reply(out, Status::BadSequence, "Send EHLO first");
  }
  if (state_ == State::Mail) {
    return reply(out, Status::BadSequence, "STARTTLS not allowed in a mail transaction");
  }
  reply(out, Status::ReadyForTls);
  state_ = State::TlsHandshake;
}

void Session::cmdMail(std::string_view arg, std::string& out) {
  if (state_ == State::Greeted) return reply(out, Status::BadSequence, "Send HELO/EHLO first");
  if (state_ == State::Mail) return reply(out, Status::BadSequence, "Nested MAIL command");
  if (!startsWithNoCase(arg, "FROM:")) {
    return reply(out, Status::SyntaxError, "Syntax: MAIL FROM:<address>");
  }
  std::string address;
  std::string_view params;
  if (!parsePath(arg.substr(5), config_.limits.maxAddress, true, address, params)) {
    return reply(out, Status::BadSenderSyntax);
  }
  if (!params.empty() && !envelope_.esmtp) return reply(out, Status::ParamNotRecognized);
  while (!params.empty()) {
    const auto sp = params.find(' ');
    const std::string_view param = params.substr(0, sp);
    params = sp == std::string_view::npos ? std::string_view{} : trimSpaces(params.substr(sp));
    const auto eq = param.find('=');
    const std::string key = upperString(param.substr(0, std::min<std::size_t>(eq, 32)));
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
    if (key == "SIZE") {
      if (value.empty() || value.size() > 20 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return reply(out, Status::SyntaxError, "Bad SIZE parameter");
      }
      // More than 19 digits exceeds any limit; compare as numbers otherwise.
      if (value.size() > 19 || std::stoull(std::string(value)) > config_.limits.maxMessageBytes) {
        return reply(out, Status::MessageTooBig);
      }
    } else if (key == "BODY") {
      const std::string body = upperString(value);
      if (body != "7BIT" && body != "8BITMIME") {
        return reply(out, Status::SyntaxError, "BODY must be 7BIT or 8BITMIME");
      }
    } else {
      return reply(out, Status::ParamNotRecognized);
    }
  }
  envelope_.sender = std::move(address);
  envelope_.recipients.clear();
  state_ = State::Mail;
  reply(out, Status::SenderOk);
}

void Session::cmdRcpt(std::string_view arg, std::string& out) {
  if (state_ != State::Mail) return reply(out, Status::BadSequence, "Need MAIL command");
  if (!startsWithNoCase(arg, "TO:")) {
    return reply(out, Status::SyntaxError, "Syntax: RCPT TO:<address>");
  }
  std::string address;
  std::string_view params;
  if (!parsePath(arg.substr(3), config_.limits.maxAddress, false, address, params)) {
    return reply(out, Status::BadRecipientSyntax);
  }
  if (!params.empty()) return reply(out, Status::ParamNotRecognized);
  const auto at = address.rfind('@');
  if (at == std::string::npos) return reply(out, Status::RelayDenied);
  // Routing characters in the local part ("user%elsewhere@accepted", "host!user@accepted") would
  // let the next hop forward the message outside the accepted domains.
  const std::string_view local(address.data(), at);
  if (local.find_first_of("%!@") != std::string_view::npos) {
    return reply(out, Status::RelayDenied);
  }
  if (config_.acceptDomains.count(address.substr(at + 1)) == 0) {
    return reply(out, Status::RelayDenied);
  }
  if (std::find(envelope_.recipients.begin(), envelope_.recipients.end(), address) !=
      envelope_.recipients.end()) {
    return reply(out, Status::RecipientOk);  // a duplicate gets one copy
  }
  if (envelope_.recipients.size() >= config_.limits.maxRecipients) {
    return reply(out, Status::TooManyRecipients);
  }
  envelope_.recipients.push_back(std::move(address));
  reply(out, Status::RecipientOk);
}

void Session::cmdData(std::string_view arg, std::string& out) {
  if (!arg.empty()) return reply(out, Status::SyntaxError, "Syntax: DATA");
  if (state_ != State::Mail) return reply(out, Status::BadSequence, "Need MAIL command");
  if (envelope_.recipients.empty()) return reply(out, Status::NoValidRecipients);
  releaseMessage();
  // The Received field goes first, stamped when the data starts (as Postfix stamps the time the
  // message arrives): the message is then handed to the sink without another copy.
  const std::string received = receivedField();
  overBudget_ = !reserveMessage(received.size());
  if (!overBudget_) message_ = received;
  dataBytes_ = 0;
  headerBytes_ = 0;
  hops_ = 0;
  inHeader_ = true;
  lineStart_ = true;
  bare_ = tooBig_ = headerTooBig_ = lineTooLong_ = false;
  partialLine_ = 0;
  state_ = State::Data;
  reply(out, Status::StartData);
}

std::size_t Session::consumeData(std::size_t pos, std::string& out) {
  const SessionLimits& limits = config_.limits;
  while (state_ == State::Data) {
    const auto lf = in_.find('\n', pos);
    if (lf == std::string::npos) {
      const std::size_t pending = in_.size() - pos;
      if (partialLine_ + pending > limits.maxDataLine + 1) {
        // An overlong line: consume all but its last octet (which may be the CR of a CRLF). A CR
        // among the consumed octets is bare, as no LF follows it.
        const std::size_t take = pending - 1;
        const std::string_view part(in_.data() + pos, take);
        if (part.find('\r') != std::string_view::npos) bare_ = true;
        lineTooLong_ = true;
        releaseMessage();
        partialLine_ += take;
        dataBytes_ += take;
        if (dataBytes_ > limits.maxMessageBytes) tooBig_ = true;
        pos += take;
      }
      return pos;
    }
    std::string_view line(in_.data() + pos, lf - pos);
    pos = lf + 1;
    const bool crlf = !line.empty() && line.back() == '\r';
    if (crlf) line.remove_suffix(1);
    onDataLine(line, crlf, out);
  }
  return pos;
}

void Session::onDataLine(std::string_view content, bool crlf, std::string& out) {
  const SessionLimits& limits = config_.limits;
  const bool startsLine = lineStart_ && partialLine_ == 0;
  const std::size_t length = partialLine_ + content.size();
  partialLine_ = 0;
  // The only end of the data: "." alone on a line that both starts after a CRLF and ends with
  // one. "\n.\r\n", "\r\n.\n", "\n.\n" and "\r.\r" are data (and make the message refused).
  if (crlf && startsLine && content == ".") {
    finishData(out);
    return;
  }
  if (!crlf || content.find('\r') != std::string_view::npos) bare_ = true;
  lineStart_ = crlf;
  if (length > limits.maxDataLine) lineTooLong_ = true;
  if (startsLine && !content.empty() && content.front() == '.') content.remove_prefix(1);
  dataBytes_ += content.size() + 2;
  if (dataBytes_ > limits.maxMessageBytes) tooBig_ = true;
  if (inHeader_) {
    if (content.empty()) {
      inHeader_ = false;
    } else {
      headerBytes_ += content.size() + 2;
      if (headerBytes_ > limits.maxHeaderBytes) headerTooBig_ = true;
      if (startsWithNoCase(content, "Received:")) ++hops_;
    }
  }
  bool refused = bare_ || tooBig_ || headerTooBig_ || lineTooLong_ || overBudget_;
  if (!refused && !reserveMessage(content.size() + 2)) refused = overBudget_ = true;
  if (refused) {
    releaseMessage();  // refused at the end: keep nothing
    return;
  }
  message_.append(content);
  message_ += "\r\n";
}

void Session::finishData(std::string& out) {
  state_ = State::Ready;
  Status refusal = Status::Queued;
  if (bare_) refusal = Status::BareLineEnding;
  else if (tooBig_) refusal = Status::MessageTooBig;
  else if (headerTooBig_) refusal = Status::HeaderTooBig;
  else if (lineTooLong_) refusal = Status::DataLineTooLong;
  else if (hops_ > config_.limits.maxHops) refusal = Status::HopCountExceeded;
  else if (overBudget_) refusal = Status::SpoolFull;  // 452 4.3.1: memory, this time
  if (refusal != Status::Queued) {
    resetTransaction();
    return reply(out, refusal);
  }
  CommitResult result;
  try {
    result = sink_.commit(envelope_, message_);
  } catch (...) {
    result = CommitResult{Status::SpoolIoError, {}};  // never a 250 for what was not stored
  }
  resetTransaction();
  if (result.status == Status::Queued) {
    ++queued_;
    return reply(out, Status::Queued, "Ok: queued as " + result.queueId);
  }
  reply(out, isError(result.status) ? result.status : Status::SpoolIoError);
}

void Session::resetTransaction() {
  envelope_.sender.clear();
  envelope_.recipients.clear();
  releaseMessage();
  overBudget_ = false;
  if (state_ == State::Mail || state_ == State::Data) state_ = State::Ready;
}

std::string Session::receivedField() const {
  std::string f = "Received: from " + envelope_.helo + " ([" + envelope_.client + "])\r\n\tby " +
                  config_.hostname + " (Mugai) with " + (envelope_.esmtp ? "ESMTP" : "SMTP") +
                  (tlsActive_ ? "S" : "") +  // RFC 3848: ESMTPS, SMTPS
                  ";\r\n\t" + clock_() + "\r\n";
  return f;
}

}  // namespace mugai::relay
