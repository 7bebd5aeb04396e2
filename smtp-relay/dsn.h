// Delivery status notifications (RFC 3464): the bounce a sender gets when the next hop refuses a
// recipient for good, instead of the message waiting in held/ for the administrator.
//
// A DSN is sent with the null sender (RFC 5321 4.5.5), so that a DSN which cannot be delivered
// is never answered by another: the relay sends none about a message whose sender is null. It
// is built by the relay itself, 7-bit with CRLF lines within 998 octets, and goes to the next
// hop without passing the pipeline. It carries only the header section of the failed message
// (text/rfc822-headers), never its body: the body was already sanitized for the LGWAN side and
// need not travel back.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "smtp-relay/spool.h"

namespace mugai::relay {

/// One recipient a DSN reports as failed.
struct DsnRecipient {
  std::string recipient;
  std::string status;      ///< RFC 3463 code, e.g. "5.1.1"
  std::string diagnostic;  ///< the next hop's reply ("550 5.1.1 …") or Mugai's own reason
};

/// The RFC 3463 code in a reply such as "RCPT: 550 5.1.1 No such user": the enhanced code when
/// the reply has one, else the reply's class with ".0.0" ("5.0.0"); "5.0.0" for anything else.
std::string dsnStatus(std::string_view reply);

/// Builds the DSN about `original` (whose envelope sender must not be empty) for `failed`:
/// a spool entry with the null sender, addressed to the original sender, under `id`. `hostname`
/// is the Reporting-MTA and the mailer-daemon's domain; `now` the Unix time for its Date field.
SpoolEntry makeDsn(const SpoolEntry& original, const std::vector<DsnRecipient>& failed,
                   const std::string& hostname, const std::string& id, std::int64_t now);

}  // namespace mugai::relay
