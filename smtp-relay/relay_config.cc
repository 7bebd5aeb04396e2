// See relay_config.h. Relay keys are validated here, once, at load; numbers must be positive
// integers within a sane range so that a typo cannot, say, turn the recipient limit off.
#include "smtp-relay/relay_config.h"

#include <algorithm>
#include <charconv>

#include "core/text_util.h"

namespace mugai::relay {
namespace {

using core::text::lower;
using core::text::splitList;

template <typename T>
bool parseCount(std::string_view v, T& out, std::uint64_t max) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n == 0 || n > max) return false;
  out = static_cast<T>(n);
  return true;
}

bool isDomainName(std::string_view d) {
  return !d.empty() && d.size() <= 253 && d.front() != '.' && d.back() != '.' &&
         std::all_of(d.begin(), d.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
         });
}

}  // namespace

void checkBufferedBytes(const RelayConfig& config, std::uint64_t budget, std::string_view source) {
  const std::uint64_t cap = messageBufferCap(config.session.limits.maxMessageBytes);
  const std::uint64_t need = cap > UINT64_MAX / 2 ? UINT64_MAX : 2 * cap;
  if (budget < need) {
    throw core::ConfigError(std::string(source) + ": relay.max_buffered_bytes (" +
                            std::to_string(budget) +
                            ") must be at least twice limit.max_message_bytes plus 4096 (" +
                            std::to_string(need) + " or more)");
  }
}

std::string NextHop::text() const {
  return kind == Kind::Maildir ? "maildir:" + dir : "smtp://" + host + ":" + std::to_string(port);
}

bool parseHostPort(const std::string& text, std::string& host, std::uint16_t& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string h = text.substr(0, colon);
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') return false;
    h = h.substr(1, h.size() - 2);
  }
  const std::string p = text.substr(colon + 1);
  unsigned n = 0;
  const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || n > 65535) return false;
  if (h.find_first_of(" /\t") != std::string::npos) return false;
  host = h;
  port = static_cast<std::uint16_t>(n);
  return true;
}

bool parseNextHop(const std::string& text, NextHop& hop) {
  if (text.rfind("maildir:", 0) == 0) {
    hop = NextHop{};
    hop.kind = NextHop::Kind::Maildir;
    hop.dir = text.substr(8);
    return !hop.dir.empty();
  }
  std::string rest = text.rfind("smtp://", 0) == 0 ? text.substr(7) : text;
  NextHop h;
  if (!parseHostPort(rest, h.host, h.port) || h.port == 0) return false;
  hop = h;
  return true;
}

void loadConfigText(std::string_view text, std::string_view source, RelayConfig& config,
                    core::Policy& policy) {
  core::forEachConfigLine(text, source, [&](const core::ConfigLine& line) {
    const std::string& key = line.key;
    if (key.rfind("relay.", 0) != 0) return;  // a pipeline key: Policy::fromConfig reads it
    const auto fail = [&](const std::string& what) {
      core::configFail(source, line.number, what);
    };
    const std::string v(line.value);
    const std::string name = key.substr(6);
    SessionLimits& limits = config.session.limits;
    bool ok = true;
    if (name == "listen") {
      ok = parseHostPort(v, config.listenHost, config.listenPort);
    } else if (name == "next_hop") {
      config.nextHops.clear();
      for (const auto& item : splitList(v)) {
        NextHop hop;
        if (!parseNextHop(item, hop)) {
          fail("bad next hop '" + item + "' (smtp://HOST:PORT or maildir:DIR)");
        }
        config.nextHops.push_back(hop);
      }
      ok = !config.nextHops.empty();
    } else if (name == "spool") {
      config.spoolDir = v;
      ok = !v.empty();
    } else if (name == "accept_domains") {
      config.session.acceptDomains.clear();
      for (const auto& item : splitList(v)) {
        const std::string d = lower(item);
        if (!isDomainName(d)) fail("bad domain '" + item + "' in relay.accept_domains");
        config.session.acceptDomains.insert(d);
      }
    } else if (name == "client_networks") {
      config.clientNetworks.clear();
      for (const auto& item : splitList(v)) {
        Network n;
        if (!parseNetwork(item, n)) {
          fail("bad network '" + item + "' in relay.client_networks (ADDRESS/BITS, host bits 0)");
        }
        config.clientNetworks.push_back(n);
      }
      ok = !config.clientNetworks.empty();
    } else if (name == "hostname") {
      ok = isDomainName(lower(v));
      config.session.hostname = v;
    } else if (name == "max_connections") {
      ok = parseCount(v, config.maxConnections, 100000);
    } else if (name == "max_connections_per_client") {
      ok = parseCount(v, config.maxConnectionsPerClient, 100000);
    } else if (name == "max_buffered_bytes") {
      ok = parseCount(v, config.maxBufferedBytes, 1ull << 40);
    } else if (name == "max_recipients") {
      ok = parseCount(v, limits.maxRecipients, 100000);
    } else if (name == "max_errors") {
      ok = parseCount(v, limits.maxErrors, 1000);
    } else if (name == "max_hops") {
      ok = parseCount(v, limits.maxHops, 1000);
    } else if (name == "max_command_line") {
      ok = parseCount(v, limits.maxCommandLine, 1u << 20) && limits.maxCommandLine >= 512;
    } else if (name == "max_data_line") {
      ok = parseCount(v, limits.maxDataLine, 64u << 20) && limits.maxDataLine >= 998;
    } else if (name == "command_timeout_s") {
      ok = parseCount(v, config.commandTimeoutS, 86400);
    } else if (name == "data_timeout_s") {
      ok = parseCount(v, config.dataTimeoutS, 86400);
    } else if (name == "workers") {
      ok = parseCount(v, config.workers, 1024);
    } else if (name == "delivery_threads") {
      ok = parseCount(v, config.deliveryThreads, 1024);
    } else if (name == "delivery_timeout_s") {
      ok = parseCount(v, config.deliveryTimeoutS, 86400);
    } else if (name == "connection_idle_s") {
      ok = parseCount(v, config.connectionIdleS, 3600);
    } else if (name == "retry_min_s") {
      ok = parseCount(v, config.retryMinS, 86400);
    } else if (name == "retry_max_s") {
      ok = parseCount(v, config.retryMaxS, 7 * 86400);
    } else if (name == "queue_lifetime_s") {
      ok = parseCount(v, config.queueLifetimeS, 365u * 86400);
    } else if (name == "tls_cert") {
      config.tlsCert = v;
      ok = !v.empty();
    } else if (name == "tls_key") {
      config.tlsKey = v;
      ok = !v.empty();
    } else if (name == "dsn") {
      ok = v == "on" || v == "off";
      config.dsn = v == "on";
    } else {
      fail("unknown key '" + key + "'");
    }
    if (!ok) fail("bad value for '" + key + "'");
  });
  if (config.retryMaxS < config.retryMinS) {
    throw core::ConfigError(std::string(source) + ": relay.retry_max_s is below relay.retry_min_s");
  }
  // A certificate without its key (or the reverse) is a half-done setup: refuse it rather than
  // silently run without STARTTLS.
  if (config.tlsCert.empty() != config.tlsKey.empty()) {
    throw core::ConfigError(std::string(source) +
                            ": relay.tls_cert and relay.tls_key must be given together");
  }
  config.session.tlsAvailable = !config.tlsCert.empty();
  // The whole text: Policy skips the relay lines, and its errors keep the file's line numbers.
  policy = core::Policy::fromConfig(text, source);
  // The session enforces the pipeline's size limits at the door.
  config.session.limits.maxMessageBytes = policy.limits.maxMessageBytes;
  config.session.limits.maxHeaderBytes = static_cast<std::size_t>(policy.limits.maxHeaderBytes);
  checkBufferedBytes(config, config.maxBufferedBytes, source);
}

void loadConfigFile(const std::string& path, RelayConfig& config, core::Policy& policy) {
  loadConfigText(core::readConfigFile(path), path, config, policy);
}

}  // namespace mugai::relay
