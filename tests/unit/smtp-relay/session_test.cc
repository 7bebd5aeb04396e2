// The ESMTP session state machine, fed scripted dialogs byte for byte: reply classes for every
// command and limit, the SMTP smuggling variants, dot-unstuffing, and pipelining rules.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "smtp-relay/reply.h"
#include "smtp-relay/session.h"

using namespace mugai::relay;

namespace {

// Records what was committed; answers with a chosen status.
class FakeSink : public MessageSink {
 public:
  CommitResult commit(const Envelope& envelope, std::string_view message) override {
    envelopes.push_back(envelope);
    messages.emplace_back(message);
    if (answer != Status::Queued) return {answer, {}};
    return {Status::Queued, "Q" + std::to_string(messages.size())};
  }
  Status answer = Status::Queued;
  std::vector<Envelope> envelopes;
  std::vector<std::string> messages;
};

SessionConfig testConfig() {
  SessionConfig c;
  c.hostname = "mx.test";
  c.acceptDomains = {"city.example.lg.jp", "example.jp"};
  c.limits.maxErrors = 100;  // the tables of bad commands below stay under it
  return c;
}

std::string fixedClock() { return "Mon, 01 Jan 2024 00:00:00 +0000"; }

// The reply codes in a block of reply lines, one per final line ("250-x" continuation lines are
// skipped).
std::vector<int> codes(const std::string& replies) {
  std::vector<int> out;
  std::size_t start = 0;
  while (start < replies.size()) {
    const auto end = replies.find("\r\n", start);
    REQUIRE(end != std::string::npos);
    const std::string line = replies.substr(start, end - start);
    REQUIRE(line.size() >= 4);
    if (line[3] == ' ') out.push_back(std::stoi(line.substr(0, 3)));
    start = end + 2;
  }
  return out;
}

int lastCode(const std::string& replies) {
  const auto c = codes(replies);
  REQUIRE(!c.empty());
  return c.back();
}

// Takes a fresh session past the greeting, EHLO, MAIL and RCPT into DATA, one command at a time.
void intoData(Session& s, bool greet = true) {
  if (greet) REQUIRE(lastCode(s.greet()) == 220);
  for (const char* line : {"EHLO c", "MAIL FROM:<a@b.test>", "RCPT TO:<u@example.jp>", "DATA"}) {
    CAPTURE(line);
    REQUIRE(lastCode(s.feed(std::string(line) + "\r\n")) < 400);
  }
}

// Tag: construct a Dialog already in DATA.
struct InData {};

// A greeted session over a FakeSink; toData() (or the InData tag) takes it past EHLO, MAIL and
// one RCPT, ready for the message.
struct Dialog {
  explicit Dialog(SessionConfig c = testConfig())
      : config(std::move(c)), s(config, sink, "192.0.2.1", fixedClock) {
    REQUIRE(lastCode(s.greet()) == 220);
  }
  Dialog(SessionConfig c, InData) : Dialog(std::move(c)) { toData(); }
  // Sends one line (CRLF appended) and returns the code of the last reply.
  int cmd(const std::string& line) { return lastCode(s.feed(line + "\r\n")); }
  // Sends each command in turn and checks its reply code; a failure names the command.
  void expect(const std::vector<std::pair<std::string, int>>& dialog) {
    for (const auto& [line, code] : dialog) {
      CAPTURE(line);
      CHECK(cmd(line) == code);
    }
  }
  void toData() {
    REQUIRE(cmd("EHLO client.test") == 250);
    REQUIRE(cmd("MAIL FROM:<a@sender.test>") == 250);
    REQUIRE(cmd("RCPT TO:<user@city.example.lg.jp>") == 250);
    REQUIRE(cmd("DATA") == 354);
  }
  SessionConfig config;
  FakeSink sink;
  Session s;
};

}  // namespace

TEST_SUITE("smtp-relay session") {
  TEST_CASE("session: a complete dialog queues the message with a Received field on top") {
    Dialog d;
    d.toData();
    const std::string out = d.s.feed("Subject: hi\r\n\r\nbody\r\n.\r\n");
    CHECK(lastCode(out) == 250);
    CHECK(out.find("2.0.0 Ok: queued as Q1") != std::string::npos);
    REQUIRE(d.sink.messages.size() == 1);
    CHECK(d.sink.messages[0] ==
          "Received: from client.test ([192.0.2.1])\r\n\tby mx.test (Mugai) with ESMTP;\r\n\t"
          "Mon, 01 Jan 2024 00:00:00 +0000\r\nSubject: hi\r\n\r\nbody\r\n");
    CHECK(d.sink.envelopes[0].sender == "a@sender.test");
    CHECK(d.sink.envelopes[0].recipients == std::vector<std::string>{"user@city.example.lg.jp"});
    CHECK(d.cmd("QUIT") == 221);
    CHECK(d.s.closed());
    CHECK(d.s.queued() == 1);
  }

  TEST_CASE("session: EHLO advertises exactly the offered extensions, HELO none") {
    Dialog d;
    const std::string out = d.s.feed("EHLO c\r\n");
    CHECK(out == "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 67108864\r\n250-8BITMIME\r\n"
                 "250 ENHANCEDSTATUSCODES\r\n");
    CHECK(d.s.feed("HELO c\r\n") == "250 mx.test\r\n");
  }

  TEST_CASE("session: simple commands and their replies") {
    Dialog d;
    d.expect({{"NOOP", 250},
              {"HELP", 214},
              {"VRFY someone", 252},
              {"VRFY", 501},
              {"EXPN list", 502},
              {"STARTTLS", 502},
              {"BDAT 10 LAST", 502},
              {"FROB", 500},
              {"", 500},
              {"RSET", 250},
              {"RSET now", 501},
              {"ehlo lower.case", 250},
              {"EHLO", 501},
              {"EHLO bad\x01name", 501}});
  }

  TEST_CASE("session: commands out of order get 503, DATA without recipients 554") {
    Dialog d;
    CHECK(d.cmd("MAIL FROM:<a@b.test>") == 503);  // before EHLO
    CHECK(d.cmd("EHLO c") == 250);
    CHECK(d.cmd("RCPT TO:<u@example.jp>") == 503);
    CHECK(d.cmd("DATA") == 503);
    CHECK(d.cmd("MAIL FROM:<a@b.test>") == 250);
    CHECK(d.cmd("MAIL FROM:<a@b.test>") == 503);  // nested
    CHECK(d.cmd("DATA") == 554);
    CHECK(d.cmd("RSET") == 250);
    CHECK(d.cmd("RCPT TO:<u@example.jp>") == 503);  // RSET ended the transaction
  }

  TEST_CASE("session: only recipients in accepted domains are taken (never an open relay)") {
    Dialog d;
    CHECK(d.cmd("EHLO c") == 250);
    CHECK(d.cmd("MAIL FROM:<>") == 250);
    CHECK(d.cmd("RCPT TO:<u@example.jp>") == 250);
    CHECK(d.cmd("RCPT TO:<u@EXAMPLE.JP.>") == 250);  // case and trailing dot
    CHECK(d.cmd("RCPT TO:<u@elsewhere.test>") == 550);
    CHECK(d.s.feed("RCPT TO:<u@elsewhere.test>\r\n").find("550 5.7.1") == 0);
    CHECK(d.cmd("RCPT TO:<u@sub.example.jp>") == 550);
    CHECK(d.cmd("RCPT TO:<u@example.jp.evil.test>") == 550);
    CHECK(d.cmd("RCPT TO:<u%evil.test@example.jp>") == 550);
    CHECK(d.cmd("RCPT TO:<evil.test!u@example.jp>") == 550);
    CHECK(d.cmd("RCPT TO:<\"u@evil.test\"@example.jp>") == 550);
    CHECK(d.cmd("RCPT TO:<@relay.test:u@evil.test>") == 550);  // source route ignored
    CHECK(d.cmd("RCPT TO:<u@[192.0.2.9]>") == 550);
    CHECK(d.cmd("RCPT TO:<postmaster>") == 550);
  }

  TEST_CASE("session: malformed addresses and parameters are refused with their codes") {
    Dialog d;
    d.expect({{"EHLO c", 250},
              {"MAIL FROM:a@b.test", 501},   // no brackets
              {"MAIL FROM:<a@b.test", 501},  // unclosed
              {"MAIL FROM:<a@@b.test>", 501},
              {"MAIL FROM:<a..b@b.test>", 501},
              {"MAIL FROM:<a@b_test>", 501},
              {"MAIL FROM:<" + std::string(300, 'a') + "@b.test>", 501},
              {"MAIL TO:<a@b.test>", 501},
              {"MAIL FROM:<a@b.test> FOO=BAR", 555},
              {"MAIL FROM:<a@b.test> BODY=BINARYMIME", 501},
              {"MAIL FROM:<a@b.test> SIZE=abc", 501},
              {"MAIL FROM:<a\xff@b.test>", 501},
              {"MAIL FROM: <\"quoted local\"@b.test> BODY=8BITMIME SIZE=100", 250},
              {"RCPT TO:<u@example.jp> NOTIFY=NEVER", 555},
              {"RCPT TO:<>", 501}});
  }

  TEST_CASE("session: HELO clients may not use ESMTP parameters") {
    Dialog d;
    CHECK(d.cmd("HELO c") == 250);
    CHECK(d.cmd("MAIL FROM:<a@b.test> SIZE=10") == 555);
    CHECK(d.cmd("MAIL FROM:<a@b.test>") == 250);
  }

  TEST_CASE("session: SIZE at the limit is taken, one more is refused with 552 5.3.4") {
    SessionConfig c = testConfig();
    c.limits.maxMessageBytes = 1000;
    Dialog d(c);
    CHECK(d.cmd("EHLO c") == 250);
    CHECK(d.cmd("MAIL FROM:<a@b.test> SIZE=1000") == 250);
    CHECK(d.cmd("RSET") == 250);
    CHECK(d.s.feed("MAIL FROM:<a@b.test> SIZE=1001\r\n").find("552 5.3.4") == 0);
    CHECK(d.cmd("MAIL FROM:<a@b.test> SIZE=99999999999999999999") == 552);
  }

  TEST_CASE("session: data beyond the size limit is refused at the end with 552 5.3.4") {
    SessionConfig c = testConfig();
    c.limits.maxMessageBytes = 100;
    SUBCASE("at the limit") {
      Dialog d(c, InData{});
      // 98 octets + CRLF = 100.
      CHECK(lastCode(d.s.feed(std::string(98, 'x') + "\r\n.\r\n")) == 250);
    }
    SUBCASE("one more") {
      Dialog d(c, InData{});
      const std::string out = d.s.feed(std::string(99, 'x') + "\r\n.\r\n");
      CHECK(out.find("552 5.3.4") == 0);
      CHECK(d.sink.messages.empty());
      CHECK(d.cmd("NOOP") == 250);  // the session goes on
    }
  }

  TEST_CASE("session: messages beyond the shared memory budget get 452 4.3.1 at their end") {
    SessionConfig c = testConfig();
    c.limits.maxMessageBytes = 100000;
    DataBudget budget(200000);
    FakeSink sink;
    Session a(c, sink, "192.0.2.1", fixedClock, &budget);
    Session b(c, sink, "192.0.2.2", fixedClock, &budget);
    intoData(a);
    intoData(b);
    const std::string line = std::string(998, 'x') + "\r\n";
    std::string big;
    for (int i = 0; i < 90; ++i) big += line;  // 90 000 octets
    // A holds 90 000 octets mid-DATA; its buffer (grown by doubling) takes most of the budget.
    CHECK(a.feed(big).empty());
    CHECK(budget.used() >= 90000);
    CHECK(budget.used() <= 200000);
    // B's message does not fit beside it: read to the end, refused with a temporary error.
    const std::string refused = b.feed(big + ".\r\n");
    CHECK(refused.find("452 4.3.1") == 0);
    CHECK(sink.messages.empty());
    // A's message is taken whole, and its memory given back.
    CHECK(lastCode(a.feed(".\r\n")) == 250);
    REQUIRE(sink.messages.size() == 1);
    CHECK(sink.messages[0].size() > 90000);
    CHECK(budget.used() == 0);
    // B tries again and now fits.
    REQUIRE(lastCode(b.feed("RSET\r\n")) == 250);
    intoData(b, false);
    CHECK(lastCode(b.feed(big + ".\r\n")) == 250);
    CHECK(sink.messages.size() == 2);
    CHECK(budget.used() == 0);
  }

  TEST_CASE("session: the budget is given back on refusal, RSET, shutdown and destruction") {
    SessionConfig c = testConfig();
    c.limits.maxMessageBytes = 1000;
    DataBudget budget(1u << 20);
    {
      FakeSink sink;
      Session s(c, sink, "192.0.2.3", fixedClock, &budget);
      intoData(s);
      CHECK(s.feed("Subject: x\r\n\r\nbody\r\n").empty());
      CHECK(budget.used() > 0);
      // Too big: refused at the end, nothing held.
      CHECK(s.feed(std::string(2000, 'y') + "\r\n.\r\n").find("552") == 0);
      CHECK(budget.used() == 0);
      REQUIRE(lastCode(s.feed("RSET\r\n")) == 250);
      intoData(s, false);
      CHECK(s.feed("a line\r\n").empty());
      CHECK(budget.used() > 0);
      REQUIRE(lastCode(s.feed(".\r\nRSET\r\n")) == 250);
      CHECK(budget.used() == 0);
      intoData(s, false);
      CHECK(s.feed("partial line\r\n").empty());
      CHECK(budget.used() > 0);
      CHECK(lastCode(s.shutdown()) == 421);
    }
    CHECK(budget.used() == 0);  // the session ended mid-DATA: its buffer is given back
    // A budget smaller than one line refuses at the first line, and takes nothing.
    DataBudget tiny(10);
    FakeSink sink;
    Session s(c, sink, "192.0.2.4", fixedClock, &tiny);
    intoData(s);
    CHECK(s.feed("Subject: x\r\n\r\n.\r\n").find("452 4.3.1") == 0);
    CHECK(tiny.used() == 0);
    CHECK(sink.messages.empty());
  }

  TEST_CASE("budget: takes up to its capacity, never more, from many threads") {
    DataBudget b(1000);
    CHECK(b.take(600));
    CHECK_FALSE(b.take(401));
    CHECK(b.take(400));
    CHECK_FALSE(b.take(1));
    b.give(1000);
    CHECK(b.used() == 0);
    CHECK_FALSE(b.take(UINT64_MAX));
    DataBudget shared(100000);
    std::vector<std::thread> threads;
    std::atomic<int> taken{0};
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 50000; ++i) {
          if (shared.take(7)) taken.fetch_add(1);
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(taken.load() == 100000 / 7);
    CHECK(shared.used() == static_cast<std::uint64_t>(taken.load()) * 7);
  }

  TEST_CASE("session: a RCPT beyond the recipient limit gets 452 4.5.3, the others are kept") {
    SessionConfig c = testConfig();
    c.limits.maxRecipients = 3;
    Dialog d(c);
    CHECK(d.cmd("EHLO c") == 250);
    CHECK(d.cmd("MAIL FROM:<a@b.test>") == 250);
    for (int i = 0; i < 3; ++i) {
      CHECK(d.cmd("RCPT TO:<u" + std::to_string(i) + "@example.jp>") == 250);
    }
    CHECK(d.s.feed("RCPT TO:<u9@example.jp>\r\n").find("452 4.5.3") == 0);
    CHECK(d.cmd("RCPT TO:<u0@example.jp>") == 250);  // a duplicate adds nothing
    CHECK(d.cmd("DATA") == 354);
    CHECK(lastCode(d.s.feed("\r\n.\r\n")) == 250);
    REQUIRE(d.sink.envelopes.size() == 1);
    CHECK(d.sink.envelopes[0].recipients.size() == 3);
  }

  TEST_CASE("session: Received fields up to the hop limit pass, one more is 554 5.4.6") {
    SessionConfig c = testConfig();
    c.limits.maxHops = 3;
    std::string header;
    for (int i = 0; i < 3; ++i) header += "Received: from x" + std::to_string(i) + "\r\n";
    SUBCASE("at the limit") {
      Dialog d(c, InData{});
      CHECK(lastCode(d.s.feed(header + "\r\nbody\r\n.\r\n")) == 250);
    }
    SUBCASE("one more") {
      Dialog d(c, InData{});
      CHECK(d.s.feed(header + "received: from y\r\n\r\n.\r\n").find("554 5.4.6") == 0);
    }
    SUBCASE("Received lines in the body do not count") {
      Dialog d(c, InData{});
      CHECK(lastCode(d.s.feed("\r\n" + header + header + ".\r\n")) == 250);
    }
  }

  TEST_CASE("session: a header section beyond its limit is refused with 552 5.3.4") {
    SessionConfig c = testConfig();
    c.limits.maxHeaderBytes = 20;
    SUBCASE("at the limit") {
      Dialog d(c, InData{});
      CHECK(lastCode(d.s.feed("Subject: 123456789\r\n\r\n.\r\n")) == 250);  // 20 octets
    }
    SUBCASE("one more") {
      Dialog d(c, InData{});
      CHECK(d.s.feed("Subject: 1234567890\r\n\r\n.\r\n").find("552 5.3.4") == 0);
    }
  }

  TEST_CASE("session: dot-unstuffing removes exactly one leading dot") {
    Dialog d;
    d.toData();
    CHECK(lastCode(d.s.feed("\r\n..\r\n...x\r\n.y\r\nz.\r\n.\r\n")) == 250);
    REQUIRE(d.sink.messages.size() == 1);
    const std::string& m = d.sink.messages[0];
    CHECK(m.substr(m.find("\r\n\r\n") + 4) == ".\r\n..x\r\ny\r\nz.\r\n");
  }

  TEST_CASE("session: an empty message and a message fed one byte at a time") {
    SUBCASE("empty") {
      Dialog d;
      d.toData();
      CHECK(lastCode(d.s.feed(".\r\n")) == 250);
    }
    SUBCASE("byte by byte gives the same message as one block") {
      const std::string data = "Subject: x\r\n\r\n..a\r\nb\r\n.\r\n";
      Dialog whole;
      whole.toData();
      CHECK(lastCode(whole.s.feed(data)) == 250);
      Dialog bytes;
      bytes.toData();
      std::string out;
      for (const char c : data) out += bytes.s.feed(std::string(1, c));
      CHECK(lastCode(out) == 250);
      REQUIRE(bytes.sink.messages.size() == 1);
      CHECK(bytes.sink.messages == whole.sink.messages);
    }
  }

  TEST_CASE("session: SMTP smuggling variants never end the data and refuse the message") {
    // Each sequence would end the data for some server; here only <CRLF>.<CRLF> does, and the
    // smuggled "MAIL FROM" is message data, refused with 550 5.5.2 at the real end.
    const char* variants[] = {"\n.\r\n", "\n.\n", "\r\n.\n", "\r.\r", "\r.\r\n", "\n.\r"};
    for (const char* v : variants) {
      CAPTURE(std::string(v));
      Dialog d;
      d.toData();
      std::string out = d.s.feed(std::string("Subject: a\r\n\r\nbody") + v +
                                 "MAIL FROM:<evil@x.test>\r\nRCPT TO:<u@example.jp>\r\nDATA\r\n");
      CHECK(out.empty());  // still reading data
      CHECK(d.s.inData());
      out = d.s.feed("smuggled\r\n.\r\n");
      CHECK(out.find("550 5.5.2") == 0);
      CHECK(d.sink.messages.empty());
      CHECK(!d.s.inData());
    }
  }

  TEST_CASE("session: a bare LF or bare CR anywhere in the data refuses the message") {
    for (const char* body : {"a\nb\r\n", "a\rb\r\n", "Subject: x\n\r\n", "x\r\r\n"}) {
      CAPTURE(std::string(body));
      Dialog d;
      d.toData();
      CHECK(d.s.feed(std::string(body) + ".\r\n").find("550 5.5.2") == 0);
      CHECK(d.sink.messages.empty());
    }
  }

  TEST_CASE("session: a data line at the line limit passes, one longer is refused at the end") {
    SessionConfig c = testConfig();
    c.limits.maxDataLine = 50;
    SUBCASE("at the limit") {
      Dialog d(c, InData{});
      CHECK(lastCode(d.s.feed("\r\n" + std::string(50, 'x') + "\r\n.\r\n")) == 250);
    }
    SUBCASE("one more, in one block") {
      Dialog d(c, InData{});
      CHECK(d.s.feed("\r\n" + std::string(51, 'x') + "\r\n.\r\n").find("550 5.6.0") == 0);
    }
    SUBCASE("far longer, in small pieces: the buffer stays bounded and the end is still found") {
      Dialog d(c, InData{});
      std::string out;
      for (int i = 0; i < 1000; ++i) out += d.s.feed(std::string(30, 'y'));
      CHECK(out.empty());
      out += d.s.feed("\r\n.\r\n");
      CHECK(out.find("550 5.6.0") == 0);
      CHECK(d.cmd("NOOP") == 250);
    }
    SUBCASE("a long line hiding a bare CR") {
      Dialog d(c, InData{});
      std::string out = d.s.feed(std::string(60, 'y') + "\r" + std::string(60, 'y'));
      out += d.s.feed("\r\n.\r\n");
      CHECK(out.find("550 5.5.2") == 0);
    }
  }

  TEST_CASE("session: a command line at the limit is read, a longer one gets 500 once") {
    SessionConfig c = testConfig();
    c.limits.maxCommandLine = 40;
    Dialog d(c);
    const std::string noop = "NOOP " + std::string(40 - 7, 'x');  // 40 octets with CRLF
    CHECK(d.cmd(noop) == 250);
    CHECK(d.cmd(noop + "x") == 500);
    // Arriving in pieces without a LF: one 500, the rest of the line is skipped.
    std::string out;
    for (int i = 0; i < 10; ++i) out += d.s.feed(std::string(30, 'z'));
    out += d.s.feed("zzz\r\nNOOP\r\n");
    CHECK(codes(out) == std::vector<int>{500, 250});
  }

  TEST_CASE("session: a command ended by a bare LF is refused") {
    Dialog d;
    CHECK(d.s.feed("NOOP\n").find("500 5.5.2") == 0);
    CHECK(d.cmd("NOOP") == 250);
  }

  TEST_CASE("session: errors up to the limit are answered, then 421 and the session closes") {
    SessionConfig c = testConfig();
    c.limits.maxErrors = 3;
    Dialog d(c);
    CHECK(d.cmd("FROB") == 500);
    CHECK(d.cmd("FROB") == 500);
    CHECK(!d.s.closed());
    const std::string out = d.s.feed("FROB\r\n");
    CHECK(codes(out) == std::vector<int>{500, 421});
    CHECK(d.s.closed());
    CHECK(d.s.feed("NOOP\r\n").empty());
  }

  TEST_CASE("session: a client talking before the greeting is refused and closed") {
    SessionConfig c = testConfig();
    FakeSink sink;
    Session s(c, sink, "192.0.2.1", fixedClock);
    CHECK(s.feed("EHLO early\r\n").find("554 5.5.0") == 0);
    CHECK(s.closed());
    CHECK(s.greet().empty());
  }

  TEST_CASE("session: pipelining without PIPELINING, or past EHLO or DATA, is refused") {
    SUBCASE("before EHLO") {
      Dialog d;
      const std::string out = d.s.feed("HELO c\r\nMAIL FROM:<a@b.test>\r\n");
      CHECK(out.find("554 5.5.0") == 0);
      CHECK(d.s.closed());
    }
    SUBCASE("after HELO") {
      Dialog d;
      CHECK(d.cmd("HELO c") == 250);
      CHECK(d.s.feed("MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.jp>\r\n").find("554") == 0);
      CHECK(d.s.closed());
    }
    SUBCASE("commands after EHLO in the same group") {
      Dialog d;
      CHECK(lastCode(d.s.feed("EHLO c\r\nMAIL FROM:<a@b.test>\r\n")) == 554);
      CHECK(d.s.closed());
    }
    SUBCASE("message data sent with DATA, before the 354") {
      Dialog d;
      CHECK(d.cmd("EHLO c") == 250);
      const std::string out =
          d.s.feed("MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.jp>\r\nDATA\r\nSubject: x\r\n");
      CHECK(codes(out) == std::vector<int>{250, 250, 554});
      CHECK(d.s.closed());
      CHECK(d.sink.messages.empty());
    }
    SUBCASE("after HELO, a command right after the final dot") {
      Dialog d;
      CHECK(d.cmd("HELO c") == 250);
      CHECK(d.cmd("MAIL FROM:<a@b.test>") == 250);
      CHECK(d.cmd("RCPT TO:<u@example.jp>") == 250);
      CHECK(d.cmd("DATA") == 354);
      CHECK(codes(d.s.feed("x\r\n.\r\nQUIT\r\n")) == std::vector<int>{250, 554});
    }
  }

  TEST_CASE("session: with PIPELINING a whole transaction group is answered in order") {
    Dialog d;
    CHECK(d.cmd("EHLO c") == 250);
    const std::string out = d.s.feed(
        "MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.jp>\r\nRCPT TO:<u@evil.test>\r\nDATA\r\n");
    CHECK(codes(out) == std::vector<int>{250, 250, 550, 354});
    CHECK(codes(d.s.feed("x\r\n.\r\nMAIL FROM:<>\r\nQUIT\r\n")) ==
          std::vector<int>{250, 250, 221});
    CHECK(d.sink.messages.size() == 1);
  }

  TEST_CASE("session: a spool failure answers its 4xx, never 250") {
    for (const Status failure : {Status::SpoolIoError, Status::SpoolFull}) {
      Dialog d;
      d.sink.answer = failure;
      d.toData();
      const std::string out = d.s.feed("x\r\n.\r\n");
      CAPTURE(out);
      CHECK(out.find(failure == Status::SpoolIoError ? "451 4.3.0" : "452 4.3.1") == 0);
      CHECK(d.s.queued() == 0);
      CHECK(d.cmd("NOOP") == 250);
    }
  }

  TEST_CASE("session: a sink answering a positive status without queueing still gets a 4xx") {
    Dialog d;
    d.sink.answer = Status::Ok;
    d.toData();
    CHECK(d.s.feed("x\r\n.\r\n").find("451 4.3.0") == 0);
  }

  TEST_CASE("session: timeout and shutdown close with 421") {
    Dialog d;
    CHECK(d.s.timeout().find("421 4.4.2") == 0);
    CHECK(d.s.closed());
    Dialog e;
    CHECK(e.s.shutdown().find("421 4.3.2") == 0);
    CHECK(e.s.closed());
  }

  TEST_CASE("session: NUL and 8-bit octets in a command line are syntax errors") {
    Dialog d;
    CHECK(d.cmd(std::string("NOOP a\0b", 8)) == 501);
    CHECK(d.cmd("EHLO h\xc3\xa9llo") == 501);
  }
}

TEST_SUITE("smtp-relay session STARTTLS") {
  SessionConfig tlsConfig() {
    SessionConfig c = testConfig();
    c.tlsAvailable = true;
    return c;
  }

  TEST_CASE("starttls: advertised only with a certificate, and no longer once TLS runs") {
    Dialog plain;
    CHECK(plain.s.feed("EHLO c\r\n").find("STARTTLS") == std::string::npos);
    CHECK(plain.cmd("STARTTLS") == 502);
    CHECK_FALSE(plain.s.tlsPending());

    Dialog d(tlsConfig());
    CHECK(d.s.feed("EHLO c\r\n") ==
          "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 67108864\r\n250-8BITMIME\r\n"
          "250-STARTTLS\r\n250 ENHANCEDSTATUSCODES\r\n");
    CHECK(d.s.feed("STARTTLS\r\n") == "220 2.0.0 Ready to start TLS\r\n");
    CHECK(d.s.tlsPending());
    d.s.tlsStarted();
    CHECK_FALSE(d.s.tlsPending());
    CHECK(d.s.tlsActive());
    CHECK(d.s.feed("EHLO c\r\n").find("STARTTLS") == std::string::npos);
    CHECK(d.cmd("STARTTLS") == 503);  // already active
  }

  TEST_CASE("starttls: the session starts over after the handshake (EHLO needed again)") {
    Dialog d(tlsConfig());
    REQUIRE(d.cmd("EHLO before.tls") == 250);
    REQUIRE(d.cmd("STARTTLS") == 220);
    d.s.tlsStarted();
    CHECK(d.cmd("MAIL FROM:<a@sender.test>") == 503);  // the plaintext EHLO is forgotten
    d.toData();
    CHECK(lastCode(d.s.feed("Subject: tls\r\n\r\nx\r\n.\r\n")) == 250);
    REQUIRE(d.sink.messages.size() == 1);
    // RFC 3848: the Received field says the message came over TLS.
    CHECK(d.sink.messages[0].find("by mx.test (Mugai) with ESMTPS;") != std::string::npos);
    CHECK(d.sink.messages[0].find("from client.test ") != std::string::npos);
  }

  TEST_CASE("starttls: commands pipelined behind STARTTLS are never executed") {
    Dialog d(tlsConfig());
    REQUIRE(d.cmd("EHLO c") == 250);
    // The classic injection: the plaintext tail would run inside the TLS session.
    const std::string out = d.s.feed(
        "STARTTLS\r\nMAIL FROM:<evil@outside.test>\r\nRCPT TO:<user@example.jp>\r\n"
        "DATA\r\nSubject: injected\r\n\r\n.\r\n");
    CHECK(out == "220 2.0.0 Ready to start TLS\r\n");  // no reply to anything behind it
    REQUIRE(d.s.tlsPending());
    // More plaintext before the handshake completes: dropped too.
    CHECK(d.s.feed("RSET\r\nQUIT\r\n") == "");
    CHECK_FALSE(d.s.closed());
    d.s.tlsStarted();
    // Had the MAIL been executed, a RCPT would now be taken; had EHLO survived, MAIL would be.
    CHECK(d.cmd("RCPT TO:<user@example.jp>") == 503);
    CHECK(d.cmd("MAIL FROM:<a@sender.test>") == 503);
    CHECK(d.sink.messages.empty());
  }

  TEST_CASE("starttls: refused with arguments, before EHLO, after HELO and inside a transaction") {
    Dialog d(tlsConfig());
    CHECK(d.cmd("STARTTLS") == 503);  // before EHLO
    REQUIRE(d.cmd("HELO c") == 250);
    CHECK(d.cmd("STARTTLS") == 503);  // HELO clients never saw it offered
    REQUIRE(d.cmd("EHLO c") == 250);
    CHECK(d.cmd("STARTTLS now") == 501);
    REQUIRE(d.cmd("MAIL FROM:<a@sender.test>") == 250);
    CHECK(d.cmd("STARTTLS") == 503);
    CHECK_FALSE(d.s.tlsPending());
    // A refused STARTTLS pipelined by a client that never saw PIPELINING is still abuse.
    Dialog h(tlsConfig());
    REQUIRE(h.cmd("HELO c") == 250);
    CHECK(h.s.feed("STARTTLS\r\nNOOP\r\n").find("554 5.5.0") != std::string::npos);
    CHECK(h.s.closed());
  }
}

TEST_SUITE("smtp-relay reply") {
  TEST_CASE("reply: every status has a valid code, and enhanced codes match their class") {
    for (int i = 0; i <= static_cast<int>(Status::BadPipelining); ++i) {
      const ReplySpec& spec = replySpec(static_cast<Status>(i));
      CAPTURE(i);
      CHECK(spec.code >= 200);
      CHECK(spec.code < 600);
      if (!spec.enhanced.empty()) CHECK(spec.enhanced.front() - '0' == spec.code / 100);
      CHECK(!spec.text.empty());
    }
  }

  TEST_CASE("reply: a detail cannot inject a second reply line") {
    CHECK(formatReply(Status::Ok, "a\r\n250 forged") == "250 2.0.0 a??250 forged\r\n");
    CHECK(formatReply(Status::Ok, std::string(1000, 'x')).size() < 420);
  }

  TEST_CASE("reply: multi-line replies use '-' on all but the last line") {
    CHECK(formatMultiline(Status::HelpText, {"a", "b"}) == "214-2.0.0 a\r\n214 2.0.0 b\r\n");
  }
}
