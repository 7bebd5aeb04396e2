// The relay's settings: `relay.*` keys of the config file and the `mugai relay` flags.
//
// The relay reads the same config file as the pipeline. Lines whose key starts with "relay." are
// parsed here (same syntax: `key = value`, `#` comments, optional double quotes); the whole text
// then goes to core::Policy::fromConfig, which skips the relay lines, so one file configures both
// and an unknown key anywhere is still an error naming the file and line. Flags override the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/policy.h"
#include "smtp-relay/network.h"
#include "smtp-relay/session.h"

namespace mugai::relay {

/// One next hop: an SMTP server or a maildir.
struct NextHop {
  enum class Kind { Smtp, Maildir } kind = Kind::Smtp;
  std::string host;        ///< Smtp: host name or IP address
  std::uint16_t port = 25; ///< Smtp
  std::string dir;         ///< Maildir: the maildir root (tmp/, new/, cur/ are created)
  std::string text() const;
};

/// Where a relay started with no spool or next hop keeps its data: one folder under the working
/// folder, so a first run (README) needs no other server and leaves nothing elsewhere.
inline constexpr const char* kDefaultSpoolDir = "mugai-data/spool";
inline constexpr const char* kDefaultMaildir = "mugai-data/maildir";
/// The domains a relay started with no config file, no --accept-domain and no --next-hop accepts
/// (the README's demo). Mail for them ends in the default maildir; nothing is relayed elsewhere.
inline constexpr const char* kDemoDomains[] = {"example.lg.jp", "localhost"};

struct RelayConfig {
  std::string listenHost = "127.0.0.1";
  std::uint16_t listenPort = 2525;  ///< 0: any free port (printed at start)
  std::vector<NextHop> nextHops;    ///< tried in order (failover)
  std::string spoolDir = kDefaultSpoolDir;  ///< originals in SPOOL/originals/
  SessionConfig session;            ///< hostname, accepted domains, session limits
  /// Clients allowed to connect; others get 554 5.7.1 at connect. Never empty.
  std::vector<Network> clientNetworks = loopbackNetworks();
  std::uint32_t maxConnections = 100;
  std::uint32_t maxConnectionsPerClient = 20;
  /// Message data all sessions may hold in memory at once; a message that does not fit is
  /// answered 452 4.3.1 at its end (the client retries). At least twice (the message size
  /// limit + 4096), so that one message of the largest size always fits (messageBufferCap).
  std::uint64_t maxBufferedBytes = 512ull << 20;
  std::uint32_t commandTimeoutS = 300;  ///< RFC 5321 4.5.3.2.7: at least 5 minutes
  std::uint32_t dataTimeoutS = 600;
  std::uint32_t workers = 0;            ///< sanitizing threads; 0 = two per core
  std::uint32_t deliveryThreads = 4;
  std::uint32_t deliveryTimeoutS = 300; ///< per SMTP reply from the next hop, final dot included
  /// A delivery thread's connection to a next hop stays open this long without a message
  /// for it (Postfix: smtp_connection_cache_time_limit, also 2 s).
  std::uint32_t connectionIdleS = 2;
  std::uint32_t retryMinS = 60;         ///< first retry delay; doubles per attempt
  std::uint32_t retryMaxS = 3600;
  std::uint32_t queueLifetimeS = 5 * 86400;  ///< then held for the administrator (or a DSN)
  /// Permanent failures: a DSN to the envelope sender (true) or held for the administrator.
  bool dsn = false;
  /// STARTTLS: PEM certificate (chain) and private key files; both or neither. With them,
  /// session.tlsAvailable is set and the files are loaded at start and at each reload.
  std::string tlsCert;
  std::string tlsKey;
};

/// Throws core::ConfigError when a memory budget of `budget` bytes for all sessions (relay.
/// max_buffered_bytes) cannot always hold one message of config's largest size (twice its buffer
/// cap: see messageBufferCap). `source` names the config in the message.
void checkBufferedBytes(const RelayConfig& config, std::uint64_t budget, std::string_view source);

/// Reads "smtp://HOST:PORT", "HOST:PORT" or "maildir:DIR". Returns false for anything else.
bool parseNextHop(const std::string& text, NextHop& hop);
/// Reads "HOST:PORT" (IPv6 as "[::1]:PORT"). Returns false for anything else.
bool parseHostPort(const std::string& text, std::string& host, std::uint16_t& port);

/// Applies the file's relay.* lines to `config` and the rest to a Policy, returned in `policy`.
/// Throws core::ConfigError ("FILE:LINE: problem") like Policy::fromFile.
void loadConfigFile(const std::string& path, RelayConfig& config, core::Policy& policy);
/// The same for config text (tests). `source` names it in errors.
void loadConfigText(std::string_view text, std::string_view source, RelayConfig& config,
                    core::Policy& policy);

}  // namespace mugai::relay
