// See dsn.h. Every value copied into the DSN (addresses, the next hop's reply, the original
// header section) comes from outside: it is reduced to printable ASCII and bounded, so the DSN
// stays 7-bit and no copied text can start a header field or a MIME boundary of its own.
#include "smtp-relay/dsn.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace mugai::relay {
namespace {

constexpr std::size_t kMaxDiagnostic = 900;           // within the 998-octet line limit
constexpr std::size_t kMaxOriginalHeader = 64 * 1024;  // the rest of the header is cut

// Printable ASCII only; a control or 8-bit octet becomes '?'.
std::string ascii(std::string_view v, std::size_t max) {
  std::string out;
  for (const char c : v.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u >= 0x7F ? '?' : c);
  }
  return out;
}

std::string rfc5322Date(std::int64_t t) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000",
                kDays.at(static_cast<std::size_t>(tm.tm_wday) % 7), tm.tm_mday,
                kMonths.at(static_cast<std::size_t>(tm.tm_mon) % 12), tm.tm_year + 1900,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Where the three-digit reply code starts in "RCPT: 550 …", or npos.
std::size_t replyCodeAt(std::string_view reply) {
  for (std::size_t i = 0; i + 3 <= reply.size(); ++i) {
    if ((i == 0 || reply[i - 1] == ' ') && reply[i] >= '2' && reply[i] <= '5' &&
        isDigit(reply[i + 1]) && isDigit(reply[i + 2]) &&
        (i + 3 == reply.size() || reply[i + 3] == ' ' || reply[i + 3] == '-')) {
      return i;
    }
  }
  return std::string_view::npos;
}

// The header section of a message, whole lines only, 8-bit and control octets replaced.
std::string headerSection(std::string_view message) {
  auto end = message.find("\r\n\r\n");
  std::string_view header = message.substr(0, end == std::string_view::npos ? message.size()
                                                                            : end + 2);
  if (header.size() > kMaxOriginalHeader) {
    header = header.substr(0, kMaxOriginalHeader);
    header = header.substr(0, header.rfind("\r\n") + 2);
  }
  std::string out;
  std::size_t pos = 0;
  while (pos < header.size()) {
    auto nl = header.find('\n', pos);
    if (nl == std::string_view::npos) nl = header.size();
    std::string_view line = header.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    // A line starting with "--" could close the report's multipart: indent it (folding keeps
    // it part of the field above; the report part is informational only).
    out += (line.substr(0, 2) == "--" ? " " : "") + ascii(line, 998 - 3) + "\r\n";
  }
  return out;
}

}  // namespace

std::string dsnStatus(std::string_view reply) {
  const std::size_t at = replyCodeAt(reply);
  if (at == std::string_view::npos) return "5.0.0";
  const char cls = reply[at];
  // An enhanced code right after the reply code, of the same class: "550 5.1.1".
  std::string_view rest = reply.substr(at + 3);
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '-')) rest.remove_prefix(1);
  std::size_t i = 0;
  int parts = 0;
  bool ok = rest.size() > 1 && rest[0] == cls && rest[1] == '.';
  if (ok) {
    i = 2;
    parts = 1;
    while (parts < 3) {
      const std::size_t start = i;
      while (i < rest.size() && isDigit(rest[i]) && i - start < 3) ++i;
      if (i == start) {
        ok = false;
        break;
      }
      if (++parts < 3) {
        if (i >= rest.size() || rest[i] != '.') {
          ok = false;
          break;
        }
        ++i;
      }
    }
    ok = ok && (i == rest.size() || rest[i] == ' ');
  }
  // A 2xx or 3xx code in a failure is the next hop's confusion; report a generic failure.
  if (cls == '2' || cls == '3') return "5.0.0";
  return ok ? std::string(rest.substr(0, i)) : std::string(1, cls) + ".0.0";
}

SpoolEntry makeDsn(const SpoolEntry& original, const std::vector<DsnRecipient>& failed,
                   const std::string& hostname, const std::string& id, std::int64_t now) {
  const std::string host = ascii(hostname, 255);
  const std::string boundary = "=_mugai_dsn_" + id;
  const std::string sender = ascii(original.envelope.sender, 300);
  std::string m;
  m += "From: Mail Delivery System <MAILER-DAEMON@" + host + ">\r\n";
  m += "To: <" + sender + ">\r\n";
  m += "Subject: Undelivered Mail Returned to Sender\r\n";
  m += "Date: " + rfc5322Date(now) + "\r\n";
  m += "Message-ID: <" + id + ".dsn@" + host + ">\r\n";
  m += "Auto-Submitted: auto-replied\r\n";  // RFC 3834: no auto-responder answers it
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=delivery-status;\r\n";
  m += "\tboundary=\"" + boundary + "\"\r\n";
  m += "\r\n";
  m += "--" + boundary + "\r\n";
  m += "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
  m += "This is the mail system at " + host + " (Mugai).\r\n\r\n";
  m += "Your message could not be delivered to the following recipients; the receiving\r\n";
  m += "mail server refused them permanently. The header of the message follows.\r\n\r\n";
  for (const auto& f : failed) {
    m += "<" + ascii(f.recipient, 300) + ">: " + ascii(f.diagnostic, kMaxDiagnostic) + "\r\n";
  }
  m += "\r\n--" + boundary + "\r\n";
  m += "Content-Type: message/delivery-status\r\n\r\n";
  m += "Reporting-MTA: dns; " + host + "\r\n";
  m += "X-Mugai-Queue-ID: " + ascii(original.id, 40) + "\r\n";
  m += "Arrival-Date: " + rfc5322Date(original.receivedAt) + "\r\n";
  for (const auto& f : failed) {
    m += "\r\nFinal-Recipient: rfc822; " + ascii(f.recipient, 300) + "\r\n";
    m += "Action: failed\r\n";
    m += "Status: " + ascii(f.status, 11) + "\r\n";
    const std::size_t at = replyCodeAt(f.diagnostic);
    if (at != std::string::npos) {
      m += "Diagnostic-Code: smtp; " + ascii(f.diagnostic.substr(at), kMaxDiagnostic) + "\r\n";
    } else {
      m += "Diagnostic-Code: X-Mugai; " + ascii(f.diagnostic, kMaxDiagnostic) + "\r\n";
    }
  }
  m += "\r\n--" + boundary + "\r\n";
  m += "Content-Type: text/rfc822-headers\r\n\r\n";
  m += headerSection(original.message);
  m += "\r\n--" + boundary + "--\r\n";

  SpoolEntry dsn;
  dsn.id = id;
  dsn.envelope.helo = hostname;
  dsn.envelope.client = "127.0.0.1";
  dsn.envelope.sender = "";  // the null sender: never a DSN about this DSN
  dsn.envelope.recipients = {original.envelope.sender};
  dsn.envelope.esmtp = true;
  dsn.receivedAt = now;
  dsn.message = std::move(m);
  return dsn;
}

}  // namespace mugai::relay
