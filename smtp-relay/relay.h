// The relay process: listener, sanitizing workers, delivery threads and the retry schedule,
// around one durable spool.
//
//   listener (POCO TCPServer, one thread per connection running a Session)
//     --commit--> spool/incoming --worker: core::sanitizeMessage--> originals/ + outgoing/
//     (or held/) --delivery thread--> next hop --4xx--> deferred/ --retry schedule--> …
//
// Why POCO's TCPServer rather than a poll loop: a session blocks in fsync before its 250, and a
// thread per connection lets those fsyncs of concurrent sessions proceed in parallel with no
// callback plumbing; the connection limits bound the threads (and so the memory).
//
// Stopping (SIGTERM) drains: no new connections, idle sessions get 421, sessions in DATA finish,
// workers sanitize everything already accepted, delivery threads try every message ready for
// delivery once; deferred messages stay in the spool for the next start.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/policy.h"
#include "smtp-relay/relay_config.h"

namespace mugai::relay {

class Relay {
 public:
  Relay(RelayConfig config, core::Policy policy);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  /// Opens and recovers the spool, binds the listener, starts every thread. Returns the port
  /// actually bound (useful with port 0). Throws std::runtime_error on a setup failure.
  std::uint16_t start();
  /// Replaces the policy and session settings for new sessions and messages (SIGHUP). Listener
  /// address, spool, thread counts and relay.max_buffered_bytes need a restart. Throws
  /// core::ConfigError (and changes nothing) when the new message size limit does not fit the
  /// running memory budget.
  void reload(RelayConfig config, core::Policy policy);
  /// Queues every deferred message for delivery now, whatever its retry time (SIGUSR1, sent by
  /// `mugai queue flush`). Returns how many.
  std::size_t flush();
  /// Sanitizes every message in incoming/ that the workers do not have yet: those `mugai queue
  /// release` moved there from held/ (also on SIGUSR1). Returns how many.
  std::size_t sanitizeReleased();
  /// Drains as described above and returns when every thread has stopped.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// `mugai relay …`: parses flags and config, runs until SIGTERM/SIGINT (drain) with SIGHUP
/// reloading the config. Returns the process exit status.
int runRelayCommand(int argc, char** argv, int first);

/// `mugai queue [--spool DIR | --config FILE] list|show ID|flush|delete ID|release ID|all`: the
/// spool for the administrator (smtp-relay/queue_main.cc). Returns the process exit status.
int runQueueCommand(int argc, char** argv, int first);

}  // namespace mugai::relay
