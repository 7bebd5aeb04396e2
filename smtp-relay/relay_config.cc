// See relay_config.h. Relay keys are validated here, once, at load; numbers must be positive
// integers within a sane range so that a typo cannot, say, turn the recipient limit off.
#include "smtp-relay/relay_config.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace mugai::relay {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  });
  return out;
}

std::vector<std::string> splitList(std::string_view v) {
  std::vector<std::string> out;
  while (!v.empty()) {
    const auto comma = v.find(',');
    const auto item = trim(v.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

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
  std::string_view remaining = text;
  if (remaining.substr(0, 3) == "\xEF\xBB\xBF") remaining.remove_prefix(3);
  std::size_t lineNo = 0;
  while (!remaining.empty()) {
    const auto nl = remaining.find('\n');
    const std::string_view raw = remaining.substr(0, nl);
    remaining = nl == std::string_view::npos ? std::string_view{} : remaining.substr(nl + 1);
    ++lineNo;
    std::string_view line = trim(raw);
    const auto eq = line.find('=');
    const std::string key =
        line.empty() || line.front() == '#' || eq == std::string_view::npos
            ? std::string()
            : lower(trim(line.substr(0, eq)));
    if (key.rfind("relay.", 0) != 0) continue;  // a pipeline key: Policy::fromConfig reads it
    const auto fail = [&](const std::string& what) {
      throw core::ConfigError(std::string(source) + ":" + std::to_string(lineNo) + ": " + what);
    };
    std::string_view value = trim(line.substr(eq + 1));
    if (!value.empty() && value.front() == '"') {
      const auto close = value.find('"', 1);
      if (close == std::string_view::npos) fail("unterminated quoted value");
      const auto after = trim(value.substr(close + 1));
      if (!after.empty() && after.front() != '#') fail("unexpected text after quoted value");
      value = value.substr(1, close - 1);
    } else if (const auto hash = value.find('#'); hash != std::string_view::npos) {
      value = trim(value.substr(0, hash));
    }
    const std::string v(value);
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
  }
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
}

void loadConfigFile(const std::string& path, RelayConfig& config, core::Policy& policy) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw core::ConfigError(path + ": is a directory, not a config file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw core::ConfigError(path + ": cannot read config file");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw core::ConfigError(path + ": error while reading config file");
  loadConfigText(text, path, config, policy);
}

}  // namespace mugai::relay
