// Delivery: the bounded reply reader against hostile next hops, dot-stuffing, and whole
// transactions against a scripted server on 127.0.0.1 (per-recipient results, failover).
#include <doctest/doctest.h>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "smtp-relay/delivery.h"

using namespace mugai::relay;

namespace {

ReplyReader::Result readOne(const std::string& bytes, SmtpReply& reply, std::string& error) {
  ReplyReader r;
  r.feed(bytes);
  return r.next(reply, error);
}

// An SMTP server on 127.0.0.1:0 taking `maxConnections` connections one after the other. It
// answers each command line through `answer` (which sees the command and returns the reply
// bytes; "" closes the connection without a reply); the message data is collected, and the
// connections are counted.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<std::string(const std::string&)> answer,
                          std::string greeting = "220 sink ESMTP\r\n", int maxConnections = 1)
      : socket_(Poco::Net::SocketAddress("127.0.0.1", 0)) {
    port = socket_.address().port();
    thread_ = std::thread([this, answer, greeting, maxConnections] {
      for (int i = 0; i < maxConnections; ++i) {
        Poco::Net::StreamSocket c = socket_.acceptConnection();
        ++connections;
        serve(c, answer, greeting);
      }
    });
  }
  ~ScriptedServer() { join(); }
  /// Waits for the conversations to end; only then are the results safe to read.
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  std::uint16_t port = 0;
  int connections = 0;
  std::vector<std::string> commands;
  std::string data;

 private:
  void serve(Poco::Net::StreamSocket& c,
             const std::function<std::string(const std::string&)>& answer,
             const std::string& greeting) {
    c.setReceiveTimeout(Poco::Timespan(30, 0));
    send(c, greeting);
    std::string buf;
    bool inData = false;
    char chunk[4096];
    for (;;) {
      const auto lf = buf.find('\n');
      if (lf == std::string::npos) {
        int n = 0;
        try {
          n = c.receiveBytes(chunk, sizeof chunk);
        } catch (...) {
          return;
        }
        if (n <= 0) return;
        buf.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      const std::string line = buf.substr(0, lf + 1);
      buf.erase(0, lf + 1);
      if (inData) {
        data += line;
        if (line == ".\r\n") {
          inData = false;
          send(c, answer("."));
        }
        continue;
      }
      const std::string cmd = line.substr(0, line.size() - 2);
      commands.push_back(cmd);
      const std::string reply = answer(cmd);
      if (reply.empty()) return;  // hang up
      send(c, reply);
      if (cmd == "DATA" && reply.rfind("354", 0) == 0) inData = true;
      if (cmd == "QUIT") return;
    }
  }
  static void send(Poco::Net::StreamSocket& c, const std::string& s) {
    try {
      c.sendBytes(s.data(), static_cast<int>(s.size()));
    } catch (...) {
    }
  }
  Poco::Net::ServerSocket socket_;
  std::thread thread_;
};

SpoolEntry entryFor(std::vector<std::string> rcpts) {
  SpoolEntry e;
  e.id = "0123456789ABCDEF0123";
  e.envelope.sender = "a@outside.test";
  e.envelope.recipients = std::move(rcpts);
  e.message = "Subject: x\r\n\r\n.starts with a dot\r\nend\r\n";
  return e;
}

NextHop hopAt(std::uint16_t port) {
  NextHop h;
  h.host = "127.0.0.1";
  h.port = port;
  return h;
}

// A free port with nothing listening: bound, read back, closed.
std::uint16_t closedPort() {
  Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
  const std::uint16_t p = s.address().port();
  s.close();
  return p;
}

}  // namespace

TEST_SUITE("smtp-relay delivery") {
  TEST_CASE("delivery: replies are read whole, multi-line and across chunk boundaries") {
    ReplyReader r;
    SmtpReply reply;
    std::string error;
    r.feed("250-mx\r\n250-PIPE");
    CHECK(r.next(reply, error) == ReplyReader::Result::NeedMore);
    r.feed("LINING\r\n250 SIZE 10\r\n354 go\r\n");
    REQUIRE(r.next(reply, error) == ReplyReader::Result::Done);
    CHECK(reply.code == 250);
    CHECK(reply.lines == std::vector<std::string>{"mx", "PIPELINING", "SIZE 10"});
    REQUIRE(r.next(reply, error) == ReplyReader::Result::Done);
    CHECK(reply.code == 354);
    CHECK(readOne("250\r\n", reply, error) == ReplyReader::Result::Done);
  }

  TEST_CASE("delivery: hostile replies are refused, never read without bound") {
    SmtpReply reply;
    std::string error;
    std::string endless;
    for (int i = 0; i < 1000; ++i) endless += "250-more\r\n";
    CHECK(readOne(endless, reply, error) == ReplyReader::Result::Bad);
    CHECK(error == "too many continuation lines");
    CHECK(readOne(std::string(5000, 'x'), reply, error) == ReplyReader::Result::Bad);
    CHECK(readOne("250 " + std::string(3000, 'x') + "\r\n", reply, error) ==
          ReplyReader::Result::Bad);
    CHECK(readOne("abc hello\r\n", reply, error) == ReplyReader::Result::Bad);
    CHECK(readOne("999 nine\r\n", reply, error) == ReplyReader::Result::Bad);
    CHECK(readOne("150 one\r\n", reply, error) == ReplyReader::Result::Bad);
    CHECK(readOne("25\r\n", reply, error) == ReplyReader::Result::Bad);
    CHECK(readOne("250x\r\n", reply, error) == ReplyReader::Result::Bad);
    CHECK(readOne("250-a\r\n550 b\r\n", reply, error) == ReplyReader::Result::Bad);
    // 100 lines is the bound: at it, fine.
    std::string hundred;
    for (int i = 0; i < 99; ++i) hundred += "250-l\r\n";
    hundred += "250 last\r\n";
    CHECK(readOne(hundred, reply, error) == ReplyReader::Result::Done);
    CHECK(reply.lines.size() == 100);
  }

  TEST_CASE("delivery: dot-stuffing doubles leading dots and makes every line end CRLF") {
    CHECK(dotStuff("a\r\n.b\r\n..c\r\n") == "a\r\n..b\r\n...c\r\n.\r\n");
    CHECK(dotStuff(".") == "..\r\n.\r\n");
    CHECK(dotStuff("") == ".\r\n");
    CHECK(dotStuff("x\n.\ny") == "x\r\n..\r\ny\r\n.\r\n");   // bare LF cannot end the data
    CHECK(dotStuff("x\r.\r\ny") == "x\r\n..\r\ny\r\n.\r\n");  // nor a bare CR
  }

  TEST_CASE("delivery: a transaction gives each recipient its own result") {
    ScriptedServer server([](const std::string& cmd) -> std::string {
      if (cmd.rfind("EHLO", 0) == 0) return "250-sink\r\n250-PIPELINING\r\n250 SIZE 1000000\r\n";
      if (cmd.rfind("MAIL", 0) == 0) return "250 2.1.0 ok\r\n";
      if (cmd == "RCPT TO:<ok@example.jp>") return "250 2.1.5 ok\r\n";
      if (cmd == "RCPT TO:<gone@example.jp>") return "550 5.1.1 no such user\r\n";
      if (cmd == "RCPT TO:<busy@example.jp>") return "450 4.2.1 try later\r\n";
      if (cmd == "DATA") return "354 go\r\n";
      if (cmd == ".") return "250 2.0.0 queued\r\n";
      if (cmd == "QUIT") return "221 bye\r\n";
      return "500 what\r\n";
    });
    const DeliveryResult r =
        deliver({hopAt(server.port)},
                entryFor({"ok@example.jp", "gone@example.jp", "busy@example.jp"}), "m.test", 30);
    REQUIRE(r.recipients.size() == 3);
    CHECK(r.recipients[0].state == RcptState::Delivered);
    CHECK(r.recipients[1].state == RcptState::Failed);
    CHECK(r.recipients[1].reply.find("550") != std::string::npos);
    CHECK(r.recipients[2].state == RcptState::Deferred);
    server.join();
    // Pipelined: MAIL and every RCPT went in one group; the data was dot-stuffed.
    CHECK(server.commands.size() == 7);
    CHECK(server.commands[1] == "MAIL FROM:<a@outside.test> SIZE=39");
    CHECK(server.data == "Subject: x\r\n\r\n..starts with a dot\r\nend\r\n.\r\n");
  }

  TEST_CASE("delivery: a 4xx or 5xx to the final dot decides every accepted recipient") {
    for (const char* final : {"451 4.3.0 later\r\n", "554 5.6.0 no\r\n"}) {
      CAPTURE(final);
      ScriptedServer server([final](const std::string& cmd) -> std::string {
        if (cmd.rfind("EHLO", 0) == 0) return "250 sink\r\n";
        if (cmd == "DATA") return "354 go\r\n";
        if (cmd == ".") return final;
        if (cmd == "QUIT") return "221 bye\r\n";
        return "250 ok\r\n";
      });
      const DeliveryResult r =
          deliver({hopAt(server.port)}, entryFor({"a@example.jp", "b@example.jp"}), "m.test", 30);
      const RcptState want = final[0] == '4' ? RcptState::Deferred : RcptState::Failed;
      for (const auto& rc : r.recipients) CHECK(rc.state == want);
      server.join();
      CHECK(server.commands[1] == "MAIL FROM:<a@outside.test>");  // no SIZE when not offered
    }
  }

  TEST_CASE("delivery: an unreachable or hostile first hop fails over to the next") {
    SUBCASE("connection refused") {
      ScriptedServer good([](const std::string& cmd) -> std::string {
        if (cmd == "DATA") return "354 go\r\n";
        if (cmd == "QUIT") return "221 bye\r\n";
        return "250 ok\r\n";
      });
      const DeliveryResult r = deliver({hopAt(closedPort()), hopAt(good.port)},
                                       entryFor({"a@example.jp"}), "m.test", 30);
      CHECK(r.recipients[0].state == RcptState::Delivered);
      CHECK(r.hop == hopAt(good.port).text());
    }
    SUBCASE("endless continuation lines in the greeting") {
      std::string endless;
      for (int i = 0; i < 500; ++i) endless += "220-spam\r\n";
      ScriptedServer hostile([](const std::string&) { return std::string("250 ok\r\n"); },
                             endless);
      const DeliveryResult r =
          deliver({hopAt(hostile.port)}, entryFor({"a@example.jp"}), "m.test", 30);
      CHECK(r.recipients[0].state == RcptState::Deferred);
      CHECK(r.recipients[0].reply.find("too many continuation lines") != std::string::npos);
    }
    SUBCASE("a 4xx greeting") {
      ScriptedServer busy([](const std::string& cmd) {
        return std::string(cmd == "QUIT" ? "221 bye\r\n" : "250 ok\r\n");
      }, "421 4.3.2 busy\r\n");
      const DeliveryResult r =
          deliver({hopAt(busy.port)}, entryFor({"a@example.jp"}), "m.test", 30);
      CHECK(r.recipients[0].state == RcptState::Deferred);
    }
  }

  TEST_CASE("delivery: every recipient refused means no DATA") {
    ScriptedServer server([](const std::string& cmd) -> std::string {
      if (cmd.rfind("RCPT", 0) == 0) return "550 5.1.1 unknown\r\n";
      if (cmd == "QUIT") return "221 bye\r\n";
      return "250 ok\r\n";
    });
    const DeliveryResult r =
        deliver({hopAt(server.port)}, entryFor({"a@example.jp"}), "m.test", 30);
    CHECK(r.recipients[0].state == RcptState::Failed);
    server.join();
    for (const auto& c : server.commands) CHECK(c != "DATA");
  }

  TEST_CASE("delivery: messages to one hop share one connection, with RSET between") {
    ScriptedServer server([](const std::string& cmd) -> std::string {
      if (cmd.rfind("EHLO", 0) == 0) return "250-sink\r\n250-PIPELINING\r\n250 SIZE 1000000\r\n";
      if (cmd == "DATA") return "354 go\r\n";
      if (cmd == "QUIT") return "221 bye\r\n";
      return "250 ok\r\n";
    });  // one connection only: a second would wait for a greeting that never comes
    ConnectionCache cache;
    for (int i = 0; i < 3; ++i) {
      CAPTURE(i);
      const DeliveryResult r =
          deliver({hopAt(server.port)}, entryFor({"a@example.jp"}), "m.test", 5, &cache);
      CHECK(r.recipients[0].state == RcptState::Delivered);
      CHECK_FALSE(cache.empty());
    }
    cache.closeAll();
    CHECK(cache.empty());
    server.join();
    CHECK(server.connections == 1);
    const std::string mail = "MAIL FROM:<a@outside.test> SIZE=39";
    const std::string rcpt = "RCPT TO:<a@example.jp>";
    CHECK(server.commands == std::vector<std::string>{"EHLO m.test", mail, rcpt, "DATA",
                                                      "RSET", mail, rcpt, "DATA",
                                                      "RSET", mail, rcpt, "DATA", "QUIT"});
  }

  TEST_CASE("delivery: a cached connection the server dropped is replaced, the message sent") {
    ScriptedServer server(
        [](const std::string& cmd) -> std::string {
          if (cmd == "RSET") return "";  // gone while idle: the RSET finds a closed connection
          if (cmd == "DATA") return "354 go\r\n";
          if (cmd == "QUIT") return "221 bye\r\n";
          return "250 ok\r\n";
        },
        "220 sink ESMTP\r\n", 2);
    ConnectionCache cache;
    for (int i = 0; i < 2; ++i) {
      const DeliveryResult r =
          deliver({hopAt(server.port)}, entryFor({"a@example.jp"}), "m.test", 5, &cache);
      CHECK(r.recipients[0].state == RcptState::Delivered);
    }
    cache.closeAll();
    server.join();
    CHECK(server.connections == 2);
    CHECK(std::count(server.commands.begin(), server.commands.end(), "DATA") == 2);
  }

  TEST_CASE("delivery: a reused connection refusing MAIL with 4xx is replaced, not deferred") {
    // A per-connection message limit (Exchange has one): the second MAIL on a connection gets
    // 421, a new connection takes it.
    int mailsOnConnection = 0;
    ScriptedServer server(
        [&mailsOnConnection](const std::string& cmd) -> std::string {
          if (cmd.rfind("EHLO", 0) == 0) mailsOnConnection = 0;
          if (cmd.rfind("MAIL", 0) == 0 && ++mailsOnConnection > 1) {
            return "421 4.7.0 too many messages on this connection\r\n";
          }
          if (cmd == "DATA") return "354 go\r\n";
          if (cmd == "QUIT") return "221 bye\r\n";
          return "250 ok\r\n";
        },
        "220 sink ESMTP\r\n", 2);
    ConnectionCache cache;
    for (int i = 0; i < 2; ++i) {
      CAPTURE(i);
      const DeliveryResult r =
          deliver({hopAt(server.port)}, entryFor({"a@example.jp"}), "m.test", 5, &cache);
      CHECK(r.recipients[0].state == RcptState::Delivered);
    }
    cache.closeAll();
    server.join();
    CHECK(server.connections == 2);
  }

  TEST_CASE("delivery: without a cache every message has its own connection and QUIT") {
    ScriptedServer server(
        [](const std::string& cmd) -> std::string {
          if (cmd == "DATA") return "354 go\r\n";
          if (cmd == "QUIT") return "221 bye\r\n";
          return "250 ok\r\n";
        },
        "220 sink ESMTP\r\n", 2);
    for (int i = 0; i < 2; ++i) {
      const DeliveryResult r =
          deliver({hopAt(server.port)}, entryFor({"a@example.jp"}), "m.test", 5);
      CHECK(r.recipients[0].state == RcptState::Delivered);
    }
    server.join();
    CHECK(server.connections == 2);
    CHECK(std::count(server.commands.begin(), server.commands.end(), "QUIT") == 2);
    CHECK(std::count(server.commands.begin(), server.commands.end(), "RSET") == 0);
  }
}
