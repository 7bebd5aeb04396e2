// Delivery status notifications: RFC 3463 codes read from replies, and the RFC 3464 report's
// envelope, fields and 7-bit form, also when the copied texts are hostile.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "smtp-relay/dsn.h"

using namespace mugai::relay;

namespace {

SpoolEntry failedMessage() {
  SpoolEntry e;
  e.id = "0123456789ABCDEF0123";
  e.envelope.sender = "sender@outside.test";
  e.envelope.recipients = {"a@example.jp", "b@example.jp"};
  e.receivedAt = 1700000000;
  e.message = "Subject: invoice\r\nMessage-ID: <m1@outside.test>\r\n\r\nsecret body\r\n";
  return e;
}

std::vector<std::string> linesOf(const std::string& m) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < m.size()) {
    const auto nl = m.find("\r\n", pos);
    REQUIRE(nl != std::string::npos);  // every line ends with CRLF
    out.push_back(m.substr(pos, nl - pos));
    pos = nl + 2;
  }
  return out;
}

}  // namespace

TEST_SUITE("smtp-relay dsn") {
  TEST_CASE("dsn: the status is the reply's enhanced code, else its class") {
    CHECK(dsnStatus("RCPT: 550 5.1.1 No such user") == "5.1.1");
    CHECK(dsnStatus("550 5.7.1") == "5.7.1");
    CHECK(dsnStatus("DATA: 554 5.6.0 content refused") == "5.6.0");
    CHECK(dsnStatus("RCPT: 550 no enhanced code") == "5.0.0");
    CHECK(dsnStatus("RCPT: 550 4.1.1 class mismatch") == "5.0.0");
    CHECK(dsnStatus("RCPT: 550 5.1234.1 too long") == "5.0.0");
    CHECK(dsnStatus("RCPT: 550 5.1. broken") == "5.0.0");
    CHECK(dsnStatus("450 4.2.0 mailbox busy") == "4.2.0");
    CHECK(dsnStatus("queue lifetime expired; last: RCPT: 451 4.3.0 x") == "4.3.0");
    CHECK(dsnStatus("no reply at all") == "5.0.0");
    CHECK(dsnStatus("") == "5.0.0");
    CHECK(dsnStatus("250 2.0.0 odd") == "5.0.0");  // never a success status in a failure report
  }

  TEST_CASE("dsn: null sender to the original sender, one report per failed recipient") {
    const SpoolEntry e = failedMessage();
    const SpoolEntry d = makeDsn(e, {{"b@example.jp", "5.1.1", "RCPT: 550 5.1.1 No such user"}},
                                 "mugai.example.lg.jp", "FEDCBA98765432100000", 1700000100);
    CHECK(d.id == "FEDCBA98765432100000");
    CHECK(d.envelope.sender.empty());
    CHECK(d.envelope.recipients == std::vector<std::string>{"sender@outside.test"});
    const std::string& m = d.message;
    const auto lines = linesOf(m);
    for (const auto& l : lines) {
      CAPTURE(l);
      CHECK(l.size() <= 998);
      for (const char c : l) CHECK(static_cast<unsigned char>(c) < 0x80);
    }
    CHECK(m.find("Content-Type: multipart/report; report-type=delivery-status;") !=
          std::string::npos);
    CHECK(m.find("\r\nTo: <sender@outside.test>\r\n") != std::string::npos);
    CHECK(m.find("\r\nAuto-Submitted: auto-replied\r\n") != std::string::npos);
    CHECK(m.find("\r\nReporting-MTA: dns; mugai.example.lg.jp\r\n") != std::string::npos);
    CHECK(m.find("\r\nFinal-Recipient: rfc822; b@example.jp\r\nAction: failed\r\n"
                 "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 No such user\r\n") !=
          std::string::npos);
    CHECK(m.find("a@example.jp") == std::string::npos);  // delivered recipients are not named
    CHECK(m.find("\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: invoice\r\n") !=
          std::string::npos);
    CHECK(m.find("secret body") == std::string::npos);  // the header only, never the body
    const std::string closing = "\r\n--=_mugai_dsn_FEDCBA98765432100000--\r\n";
    CHECK(m.substr(m.size() - closing.size()) == closing);
    // Round trip through the spool's file format, null sender included.
    SpoolEntry back;
    std::string error;
    REQUIRE(parseEntry(serializeEntry(d), back, error));
    CHECK(back.envelope.sender.empty());
    CHECK(back.message == d.message);
  }

  TEST_CASE("dsn: copied texts cannot add lines, boundaries or 8-bit octets") {
    SpoolEntry e = failedMessage();
    e.message = "Subject: \xE8\xAB\x8B\xE6\xB1\x82\r\n--=_mugai_dsn_FEDCBA98765432100000--\r\n"
                "X-Long: " + std::string(5000, 'x') + "\r\n\r\nbody\r\n";
    const SpoolEntry d =
        makeDsn(e, {{"b@example.jp", "5.1.1",
                     "RCPT: 550 5.1.1 a\r\n--=_mugai_dsn_FEDCBA98765432100000--\r\nInjected: 1"}},
                "mugai.example.lg.jp", "FEDCBA98765432100000", 1700000100);
    std::size_t closings = 0;
    for (const auto& l : linesOf(d.message)) {
      CAPTURE(l);
      CHECK(l.size() <= 998);
      CHECK(l.rfind("Injected:", 0) != 0);
      for (const char c : l) CHECK(static_cast<unsigned char>(c) < 0x80);
      if (l == "--=_mugai_dsn_FEDCBA98765432100000--") ++closings;
    }
    CHECK(closings == 1);
    CHECK(d.message.find("Subject: ??????\r\n") != std::string::npos);
  }
}
