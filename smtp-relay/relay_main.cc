// `mugai relay`: flags, config file, signals. The flags override the config file's relay.* keys;
// SIGHUP re-reads the file and re-applies the same flags, so a reload never undoes a flag;
// SIGUSR1 retries every deferred message now and sanitizes what `mugai queue release` put into
// incoming/ (`mugai queue flush`, `mugai queue release`).
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "core/text_util.h"
#include "smtp-relay/relay.h"
#include "smtp-relay/relay_config.h"

namespace mugai::relay {
namespace {

constexpr const char* kUsage =
    "mugai relay [--listen HOST:PORT] [--next-hop smtp://HOST:PORT | maildir:DIR]... "
    "[--spool DIR] [--accept-domain DOMAIN]... [--client-network CIDR]... [--hostname NAME] "
    "[--config FILE]";

constexpr const char* kHelp = R"(Usage: mugai relay [options]

Runs the SMTP relay: accepts mail for the accepted domains only (550 5.7.1 for any other
recipient: never an open relay), spools each message durably (250 only after fsync), sanitizes
it, keeps the original under SPOOL/originals/ and delivers the rebuilt message to the next hops.

  --listen HOST:PORT          address to listen on (default 127.0.0.1:2525; port 0: any free one)
  --next-hop smtp://HOST:PORT an LGWAN-side SMTP server; repeat for failover, tried in order
  --next-hop maildir:DIR      deliver into a maildir (DIR/new/) instead
  --spool DIR                 the spool: queues and originals (default mugai-data/spool)
  --accept-domain DOMAIN      a recipient domain to accept; repeatable
  --client-network CIDR       a client network allowed to connect (e.g. 192.0.2.10/32, ::1);
                              repeatable; replaces the default, loopback only. Any other
                              client gets 554 5.7.1 at connect
  --hostname NAME             name in the greeting, Received and EHLO to the next hop
  --config FILE               a config file (relay.* keys: deploy/mugai.conf.example);
                              the flags override its keys
  --help                      this text

With no --config, no --accept-domain and no --next-hop, the relay runs the demo defaults:
it accepts mail for example.lg.jp and localhost only, and delivers the sanitized copies to
maildir:mugai-data/maildir (under the working folder). Given --next-hop or --config, at least
one accepted domain is required.

Prints "mugai relay: listening on HOST:PORT, ..." on stdout when ready. SIGTERM drains and
exits; SIGHUP reloads the config (the flags still apply); SIGUSR1 retries deferred mail now
and sanitizes released held mail (mugai queue flush | release).
)";

struct Flags {
  std::string config;
  std::string listen;
  std::vector<std::string> nextHops;
  std::string spool;
  std::vector<std::string> acceptDomains;
  std::vector<std::string> clientNetworks;
  std::string hostname;
};

// Demo defaults (README): only when nothing says where mail should go or for whom.
bool demoMode(const Flags& f) {
  return f.config.empty() && f.acceptDomains.empty() && f.nextHops.empty();
}

// Builds the settings: defaults, then the file, then the flags. Throws core::ConfigError.
void buildSettings(const Flags& f, RelayConfig& config, core::Policy& policy) {
  config = RelayConfig{};
  policy = core::Policy::defaults();
  if (!f.config.empty()) loadConfigFile(f.config, config, policy);
  const auto bad = [](const std::string& what) { throw core::ConfigError(what); };
  if (!f.listen.empty() && !parseHostPort(f.listen, config.listenHost, config.listenPort)) {
    bad("--listen must be HOST:PORT, not '" + f.listen + "'");
  }
  if (!f.nextHops.empty()) {
    config.nextHops.clear();
    for (const auto& h : f.nextHops) {
      NextHop hop;
      if (!parseNextHop(h, hop)) {
        bad("--next-hop must be smtp://HOST:PORT or maildir:DIR, not '" + h + "'");
      }
      config.nextHops.push_back(hop);
    }
  }
  if (!f.spool.empty()) config.spoolDir = f.spool;
  if (!f.acceptDomains.empty()) {
    config.session.acceptDomains.clear();
    for (auto d : f.acceptDomains) {
      d = core::text::lower(d);
      if (!d.empty() && d.back() == '.') d.pop_back();
      if (d.empty() || d.find_first_of(" @/[]") != std::string::npos) {
        bad("bad --accept-domain '" + d + "'");
      }
      config.session.acceptDomains.insert(d);
    }
  }
  if (!f.clientNetworks.empty()) {
    config.clientNetworks.clear();
    for (const auto& text : f.clientNetworks) {
      Network n;
      if (!parseNetwork(text, n)) {
        bad("--client-network must be ADDRESS/BITS with the host bits 0 (e.g. 192.0.2.0/24), "
            "not '" + text + "'");
      }
      config.clientNetworks.push_back(n);
    }
  }
  if (!f.hostname.empty()) config.session.hostname = f.hostname;
  if (config.session.acceptDomains.empty() && demoMode(f)) {
    for (const char* d : kDemoDomains) config.session.acceptDomains.insert(d);
  }
  if (config.session.acceptDomains.empty()) {
    bad("no accepted domain: give --accept-domain DOMAIN or relay.accept_domains "
        "(the relay never relays for other domains)");
  }
  if (config.nextHops.empty()) {
    // The default next hop needs no other server: a maildir under the working folder.
    NextHop hop;
    parseNextHop(std::string("maildir:") + kDefaultMaildir, hop);
    config.nextHops.push_back(hop);
  }
}

}  // namespace

int runRelayCommand(int argc, char** argv, int first) {
  Flags f;
  for (int i = first; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "mugai: " << arg << " needs a value (usage: " << kUsage << ")\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kHelp;
      return 0;
    }
    if (arg == "--config") f.config = value();
    else if (arg == "--listen") f.listen = value();
    else if (arg == "--next-hop") f.nextHops.push_back(value());
    else if (arg == "--spool") f.spool = value();
    else if (arg == "--accept-domain") f.acceptDomains.push_back(value());
    else if (arg == "--client-network") f.clientNetworks.push_back(value());
    else if (arg == "--hostname") f.hostname = value();
    else {
      std::cerr << "mugai: unknown relay option '" << arg << "' (usage: " << kUsage << ")\n";
      return 2;
    }
  }
  RelayConfig config;
  core::Policy policy;
  try {
    buildSettings(f, config, policy);
  } catch (const core::ConfigError& e) {
    std::cerr << "mugai: config error: " << e.what() << "\n";
    return 2;
  }

  // Signals are taken by sigwait in this thread only: block them before any thread starts so
  // every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  const std::string listenHost = config.listenHost;
  Relay relay(config, policy);
  std::uint16_t port = 0;
  try {
    port = relay.start();
  } catch (const std::exception& e) {
    std::cerr << "mugai: relay cannot start: " << e.what() << "\n";
    return 1;
  } catch (...) {
    std::cerr << "mugai: relay cannot start (listener or spool setup failed)\n";
    return 1;
  }
  std::string hops;
  for (const auto& h : config.nextHops) hops += (hops.empty() ? "" : ", ") + h.text();
  // Tests and scripts read this line to learn the port (with --listen HOST:0).
  std::cout << "mugai relay: listening on " << listenHost << ":" << port << ", next hop " << hops
            << ", spool " << config.spoolDir << std::endl;
  // Where things go, for the person who started it (stderr: stdout carries only events).
  std::string domains;
  for (const auto& d : config.session.acceptDomains) domains += (domains.empty() ? "" : ", ") + d;
  std::cerr << "mugai relay: accepting mail for " << domains
            << (demoMode(f) ? " (demo defaults)" : "") << "; any other recipient is refused\n"
            << "mugai relay: sanitized mail goes to " << hops
            << (config.nextHops.front().kind == NextHop::Kind::Maildir ? " (new/ in it)" : "")
            << "; originals are kept in " << config.spoolDir << "/originals/\n";
  if (demoMode(f)) {
    std::cerr << "mugai relay: send a test: swaks --server " << listenHost << ":" << port
              << " --to user@example.lg.jp ; look at the queue: mugai queue --spool "
              << config.spoolDir << " list\n";
  }

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    // The outcome of SIGHUP and SIGUSR1 also goes to stdout, after the work is done, so that a
    // script (and the tests) can wait for the event instead of guessing a delay.
    if (sig == SIGHUP) {
      RelayConfig next;
      core::Policy nextPolicy;
      try {
        buildSettings(f, next, nextPolicy);
        relay.reload(std::move(next), std::move(nextPolicy));
        std::cerr << "mugai relay: config reloaded\n";
        std::cout << "mugai relay: config reloaded" << std::endl;
      } catch (const core::ConfigError& e) {
        std::cerr << "mugai relay: config NOT reloaded, keeping the old one: " << e.what() << "\n";
        std::cout << "mugai relay: config NOT reloaded" << std::endl;
      }
      continue;
    }
    if (sig == SIGUSR1) {
      const std::size_t n = relay.flush();
      const std::size_t released = relay.sanitizeReleased();
      std::cout << "mugai relay: flush: " << n << " queued for delivery, " << released
                << " released for sanitizing" << std::endl;
      continue;
    }
    std::cerr << "mugai relay: signal " << sig << ": draining\n";
    relay.stop();
    return 0;
  }
}

}  // namespace mugai::relay
