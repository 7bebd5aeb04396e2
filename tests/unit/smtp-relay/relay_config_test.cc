// The relay's config: relay.* keys next to the pipeline's keys in one file, next-hop and
// listen syntax, and errors that name the file and line.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "smtp-relay/relay_config.h"

using namespace mugai;
using namespace mugai::relay;

namespace {

std::string errorOf(const std::string& text) {
  RelayConfig c;
  core::Policy p;
  try {
    loadConfigText(text, "r.conf", c, p);
  } catch (const core::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("smtp-relay config") {
  TEST_CASE("relay config: relay keys and policy keys share one file") {
    RelayConfig c;
    core::Policy p;
    loadConfigText("subject_tag = \"[無害化] \"\n"
                   "relay.listen = 0.0.0.0:25\n"
                   "relay.next_hop = smtp://10.0.0.5:25, smtp://10.0.0.6:2525, "
                   "maildir:/var/mail/x\n"
                   "relay.accept_domains = City.Example.LG.JP, example.jp  # both\n"
                   "relay.max_recipients = 50\n"
                   "limit.max_message_bytes = 1000\n",
                   "r.conf", c, p);
    CHECK(p.subjectTag == "[無害化] ");
    CHECK(c.listenHost == "0.0.0.0");
    CHECK(c.listenPort == 25);
    REQUIRE(c.nextHops.size() == 3);
    CHECK(c.nextHops[1].port == 2525);
    CHECK(c.nextHops[2].kind == NextHop::Kind::Maildir);
    CHECK(c.nextHops[2].dir == "/var/mail/x");
    CHECK(c.session.acceptDomains == std::set<std::string>{"city.example.lg.jp", "example.jp"});
    CHECK(c.session.limits.maxRecipients == 50);
    CHECK(c.session.limits.maxMessageBytes == 1000);  // the pipeline's limit, at the door
  }

  TEST_CASE("relay config: errors name the file and the line") {
    CHECK(errorOf("\n\nrelay.bogus = 1\n") == "r.conf:3: unknown key 'relay.bogus'");
    CHECK(errorOf("relay.max_recipients = 0\n") ==
          "r.conf:1: bad value for 'relay.max_recipients'");
    CHECK(errorOf("relay.max_recipients = -1\n").find("r.conf:1:") == 0);
    CHECK(errorOf("relay.listen = nowhere\n").find("r.conf:1:") == 0);
    CHECK(errorOf("relay.next_hop = ftp://x\n").find("r.conf:1: bad next hop") == 0);
    CHECK(errorOf("relay.accept_domains = a@b\n").find("r.conf:1: bad domain") == 0);
    CHECK(errorOf("relay.max_command_line = 100\n").find("r.conf:1:") == 0);  // below RFC 512
    // Line numbers of policy errors are kept although relay lines were taken out.
    CHECK(errorOf("relay.workers = 2\nbogus = 1\n") == "r.conf:2: unknown key 'bogus'");
    CHECK(errorOf("relay.retry_min_s = 100\nrelay.retry_max_s = 10\n").find("retry_max_s") !=
          std::string::npos);
  }

  TEST_CASE("relay config: the sessions' memory budget holds twice the largest message") {
    // The largest buffer for a message of M bytes is M + 4096 (room for the Received field);
    // while it grows the old buffer is held too, so the budget must be twice that.
    RelayConfig c;
    core::Policy p;
    loadConfigText("relay.max_buffered_bytes = 10192\nlimit.max_message_bytes = 1000\n",
                   "r.conf", c, p);
    CHECK(c.maxBufferedBytes == 10192);
    CHECK(RelayConfig{}.maxBufferedBytes == 512ull << 20);
    CHECK(errorOf("relay.max_buffered_bytes = 10191\nlimit.max_message_bytes = 1000\n") ==
          "r.conf: relay.max_buffered_bytes (10191) must be at least twice "
          "limit.max_message_bytes plus 4096 (10192 or more)");
    // The default budget (512 MiB) is too small for a 300 MiB message limit: said, not ignored.
    CHECK(errorOf("limit.max_message_bytes = 314572800\n").find("relay.max_buffered_bytes") !=
          std::string::npos);
    // No wrap-around for absurd limits.
    CHECK(errorOf("limit.max_message_bytes = 18446744073709551615\n")
              .find("relay.max_buffered_bytes") != std::string::npos);
    CHECK(errorOf("relay.max_buffered_bytes = 0\n") ==
          "r.conf:1: bad value for 'relay.max_buffered_bytes'");
    // A reload is checked against the budget the relay started with.
    RelayConfig bigger;
    core::Policy bp;
    loadConfigText("limit.max_message_bytes = 100000\n", "r.conf", bigger, bp);
    CHECK_THROWS_AS(checkBufferedBytes(bigger, 200000, "reload"), core::ConfigError);
    CHECK_NOTHROW(checkBufferedBytes(bigger, 2 * (100000 + 4096), "reload"));
  }

  TEST_CASE("relay config: STARTTLS is offered only with both a certificate and a key") {
    RelayConfig c;
    core::Policy p;
    loadConfigText("relay.accept_domains = example.jp\n", "r.conf", c, p);
    CHECK_FALSE(c.session.tlsAvailable);
    loadConfigText("relay.tls_cert = /etc/mugai/cert.pem\nrelay.tls_key = /etc/mugai/key.pem\n",
                   "r.conf", c, p);
    CHECK(c.session.tlsAvailable);
    CHECK(c.tlsCert == "/etc/mugai/cert.pem");
    CHECK(c.tlsKey == "/etc/mugai/key.pem");
    CHECK(errorOf("relay.tls_cert = /etc/mugai/cert.pem\n") ==
          "r.conf: relay.tls_cert and relay.tls_key must be given together");
    CHECK(errorOf("relay.tls_key = /etc/mugai/key.pem\n").find("given together") !=
          std::string::npos);
    CHECK(errorOf("relay.tls_cert =\n") == "r.conf:1: bad value for 'relay.tls_cert'");
  }

  TEST_CASE("relay config: next hops and listen addresses") {
    NextHop h;
    CHECK(parseNextHop("smtp://127.0.0.1:25", h));
    CHECK(h.text() == "smtp://127.0.0.1:25");
    CHECK(parseNextHop("mx.example.lg.jp:2525", h));
    CHECK(h.port == 2525);
    CHECK(parseNextHop("smtp://[::1]:25", h));
    CHECK(h.host == "::1");
    CHECK_FALSE(parseNextHop("smtp://host", h));
    CHECK_FALSE(parseNextHop("smtp://host:0", h));
    CHECK_FALSE(parseNextHop("smtp://host:65536", h));
    CHECK_FALSE(parseNextHop("maildir:", h));
    std::string host;
    std::uint16_t port = 1;
    CHECK(parseHostPort("127.0.0.1:0", host, port));
    CHECK(port == 0);
    CHECK_FALSE(parseHostPort(":25", host, port));
  }

  TEST_CASE("relay config: client networks default to loopback and are read as CIDR") {
    RelayConfig c;
    CHECK(inNetworks("127.0.0.1", c.clientNetworks));
    CHECK(inNetworks("127.255.0.9", c.clientNetworks));
    CHECK(inNetworks("::1", c.clientNetworks));
    CHECK_FALSE(inNetworks("10.0.0.1", c.clientNetworks));
    CHECK_FALSE(inNetworks("::2", c.clientNetworks));
    core::Policy p;
    loadConfigText("relay.client_networks = 192.0.2.0/24, 2001:db8::/32, 198.51.100.7\n", "r.conf",
                   c, p);
    REQUIRE(c.clientNetworks.size() == 3);
    CHECK_FALSE(inNetworks("127.0.0.1", c.clientNetworks));  // the list replaces the default
    CHECK(inNetworks("192.0.2.255", c.clientNetworks));
    CHECK_FALSE(inNetworks("192.0.3.0", c.clientNetworks));
    CHECK(inNetworks("::ffff:192.0.2.1", c.clientNetworks));  // a dual-stack socket's view
    CHECK(inNetworks("2001:db8:ffff::1", c.clientNetworks));
    CHECK_FALSE(inNetworks("2001:db9::1", c.clientNetworks));
    CHECK(inNetworks("198.51.100.7", c.clientNetworks));
    CHECK_FALSE(inNetworks("198.51.100.6", c.clientNetworks));
    CHECK_FALSE(inNetworks("not an address", c.clientNetworks));
    CHECK_FALSE(inNetworks("", c.clientNetworks));
    for (const char* bad : {"10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "::1/129",
                            "example.jp", "10.0.0.0/8x", "10.0.0.0/-1"}) {
      CAPTURE(bad);
      CHECK(errorOf(std::string("relay.client_networks = ") + bad + "\n")
                .find("r.conf:1: bad network") == 0);
    }
    CHECK(errorOf("relay.client_networks = ,\n") ==
          "r.conf:1: bad value for 'relay.client_networks'");
    Network any;
    REQUIRE(parseNetwork("0.0.0.0/0", any));
    CHECK(inNetworks("203.0.113.1", {any}));
    CHECK_FALSE(inNetworks("2001:db8::1", {any}));  // IPv4 "everything" is not IPv6
    Network odd;
    REQUIRE(parseNetwork("10.128.0.0/9", odd));
    CHECK(inNetworks("10.200.1.1", {odd}));
    CHECK_FALSE(inNetworks("10.127.1.1", {odd}));
  }

  TEST_CASE("relay config: the example documents every relay key and parses uncommented") {
    // One example documents the whole file, pipeline and relay keys together.
    std::ifstream in(std::string(MUGAI_SOURCE_DIR) + "/deploy/mugai.conf.example");
    REQUIRE(in);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const char* key : {"listen", "next_hop", "spool", "accept_domains", "client_networks",
                            "hostname",
                            "max_connections", "max_connections_per_client", "max_recipients",
                            "max_errors", "max_hops", "max_command_line", "max_data_line",
                            "command_timeout_s", "data_timeout_s", "workers", "delivery_threads",
                            "delivery_timeout_s", "retry_min_s", "retry_max_s",
                            "queue_lifetime_s", "dsn", "tls_cert", "tls_key",
                            "connection_idle_s"}) {
      CAPTURE(key);
      CHECK(text.find(std::string("#relay.") + key + " = ") != std::string::npos);
      // And the loader knows it: an unknown key would be an error.
      CHECK(errorOf(std::string("relay.") + key + " = x\n").find("unknown key") ==
            std::string::npos);
    }
    // Every setting line, relay and pipeline alike, uncommented: the whole file loads.
    std::istringstream lines(text);
    std::string line;
    std::string uncommented;
    int relayKeys = 0;
    while (std::getline(lines, line)) {
      if (line.size() > 1 && line[0] == '#' && line[1] != ' ' &&
          line.find(" = ") != std::string::npos) {
        uncommented += line.substr(1) + "\n";
        if (line.rfind("#relay.", 0) == 0) ++relayKeys;
      }
    }
    CHECK(relayKeys >= 20);
    CHECK(errorOf(uncommented) == "");
    // A misspelt relay key in that file is still an error of the relay's loader.
    CHECK(errorOf(uncommented + "relay.max_recipient = 5\n").find("unknown key") !=
          std::string::npos);
  }
}
