// `mugai queue`: the administrator's view of the spool, safe beside a running relay.
//
// list and show only read. delete removes one queue file, as Postfix's postsuper -d does on a
// live queue: a message the relay is delivering at that instant may still arrive once. flush
// needs the relay's help, because a running relay keeps the retry schedule in memory and is the
// only writer of deferred/: it is sent SIGUSR1 (its PID is in the spool's lock file). With no
// relay running, flush takes the spool's lock itself and marks every deferred message due, so
// the next start delivers them at once.
//
// release sends held messages through the pipeline again, never straight to delivery: held/ has
// the original of a message the pipeline refused, and the sanitized copy of one the next hop
// refused permanently (or a DSN it refused). Each goes to incoming/ under a new queue ID (its
// old ID may still name a deferred/ file of the same message, for other recipients), and the
// relay is sent SIGUSR1, on which it also sanitizes what is new in incoming/; with no relay
// running, the next start does. A message the pipeline refused is refused again unless the
// config changed (e.g. a limit raised and reloaded); a sanitized copy comes out the same, with
// X-Mugai-Original-Id naming that copy's record in originals/ (its notice names the first).
#include <signal.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "smtp-relay/relay.h"
#include "smtp-relay/relay_config.h"
#include "smtp-relay/spool.h"

namespace mugai::relay {
namespace {

constexpr const char* kQueueUsage =
    "mugai queue [--spool DIR | --config FILE] list | show ID | flush | delete ID | "
    "release ID|all";
constexpr Queue kAllQueues[] = {Queue::Incoming, Queue::Outgoing, Queue::Deferred, Queue::Held,
                                Queue::Corrupt};

// A value for one output field: no controls or spaces, so a line stays one line per message
// whatever a client put in its envelope.
std::string printable(std::string_view v) {
  std::string out;
  for (const char c : v.substr(0, 300)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7F || u >= 0x80 ? '?' : c);
  }
  return out;
}

std::string utcTime(std::int64_t t) {
  if (t <= 0) return "now";
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int list(const Spool& spool) {
  std::size_t count = 0;
  for (const Queue q : kAllQueues) {
    for (const auto& id : spool.list(q)) {
      ++count;
      std::string error;
      const auto e = spool.load(q, id, error);
      std::cout << id << " " << queueName(q);
      if (!e) {
        std::cout << " unreadable: " << printable(error) << "\n";
        continue;
      }
      std::string to;
      for (const auto& r : e->envelope.recipients) to += (to.empty() ? "<" : ",<") + r + ">";
      std::cout << " size=" << e->message.size() << " received=" << utcTime(e->receivedAt)
                << " attempts=" << e->attempts;
      if (q == Queue::Deferred) std::cout << " next=" << utcTime(e->nextAttempt);
      std::cout << " from=<" << printable(e->envelope.sender) << "> to=" << printable(to);
      if (!e->note.empty()) std::cout << " note=\"" << printable(e->note) << "\"";
      std::cout << "\n";
    }
  }
  std::cout << count << " message(s)\n";
  return 0;
}

// Finds the queue holding `id`. False when none does.
bool find(const Spool& spool, const std::string& id, Queue& queue) {
  for (const Queue q : kAllQueues) {
    if (spool.exists(q, id)) {
      queue = q;
      return true;
    }
  }
  return false;
}

int show(const Spool& spool, const std::string& id) {
  Queue q{};
  if (!find(spool, id, q)) {
    std::cerr << "mugai: queue: no message " << id << " in " << spool.root().string() << "\n";
    return 1;
  }
  // The queue file as stored (envelope lines, blank line, message): corrupt files included,
  // which is when an administrator most needs to see the bytes.
  std::ifstream in(spool.pathOf(q, id), std::ios::binary);
  const std::string data{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (!in.good() && !in.eof()) {
    std::cerr << "mugai: queue: cannot read " << queueName(q) << "/" << id << "\n";
    return 1;
  }
  std::cout << "queue: " << queueName(q) << "\n" << data;
  return std::cout ? 0 : 1;
}

int remove(Spool& spool, const std::string& id) {
  Queue q{};
  if (!find(spool, id, q) || !spool.remove(q, id)) {
    std::cerr << "mugai: queue: no message " << id << " in " << spool.root().string() << "\n";
    return 1;
  }
  std::cout << "deleted " << id << " from " << queueName(q) << "/\n";
  return 0;
}

int flush(Spool& spool) {
  long holder = 0;
  if (!spool.tryLock(holder)) {
    if (holder <= 0 || ::kill(static_cast<pid_t>(holder), SIGUSR1) != 0) {
      std::cerr << "mugai: queue: the spool is locked but its relay (process " << holder
                << ") cannot be signalled: " << std::strerror(errno) << "\n";
      return 1;
    }
    std::cout << "asked the relay (process " << holder
              << ") to deliver every deferred message now\n";
    return 0;
  }
  std::size_t n = 0;
  for (const auto& id : spool.list(Queue::Deferred)) {
    std::string error;
    auto e = spool.load(Queue::Deferred, id, error);
    if (!e) continue;  // the relay's recovery moves it to corrupt/ at start
    e->nextAttempt = 0;
    if (spool.store(Queue::Deferred, *e) != Status::Ok) {
      std::cerr << "mugai: queue: cannot rewrite deferred/" << id << "\n";
      return 1;
    }
    ++n;
  }
  std::cout << "no relay running; " << n
            << " deferred message(s) will be delivered when the relay starts\n";
  return 0;
}

// A queue ID no file has yet. The relay makes its IDs in another process from the same clock;
// an equal ID needs the same microsecond and counter, and is checked for here.
std::string freshId(Spool& spool) {
  for (;;) {
    std::string id = spool.newId();
    Queue q{};
    if (!find(spool, id, q)) return id;
  }
}

int release(Spool& spool, const std::string& which) {
  long holder = 0;
  const bool offline = spool.tryLock(holder);
  std::vector<std::string> ids;
  if (which == "all") {
    ids = spool.list(Queue::Held);
  } else if (spool.exists(Queue::Held, which)) {
    ids.push_back(which);
  } else {
    std::cerr << "mugai: queue: no held message " << which << " in " << spool.root().string()
              << "\n";
    return 1;
  }
  std::size_t n = 0;
  int status = 0;
  for (const auto& id : ids) {
    std::string error;
    auto e = spool.load(Queue::Held, id, error);
    if (!e) {
      std::cerr << "mugai: queue: held/" << id << " unreadable, left in place: "
                << printable(error) << "\n";
      status = 1;
      continue;
    }
    e->id = freshId(spool);
    e->attempts = 0;
    e->nextAttempt = 0;
    e->note = "released from held/" + id;
    // Durable in incoming/ before the held file goes: a crash in between keeps both (the
    // message may then be delivered twice), never neither.
    if (spool.store(Queue::Incoming, *e) != Status::Ok) {
      std::cerr << "mugai: queue: cannot write incoming/" << e->id << "; held/" << id
                << " left in place\n";
      return 1;
    }
    spool.remove(Queue::Held, id);
    std::cout << "released " << id << " as " << e->id << " (incoming/: sanitized again)\n";
    ++n;
  }
  if (offline) {
    std::cout << "no relay running; " << n
              << " released message(s) will be sanitized and delivered when the relay starts\n";
    return status;
  }
  if (n > 0 && (holder <= 0 || ::kill(static_cast<pid_t>(holder), SIGUSR1) != 0)) {
    std::cerr << "mugai: queue: the spool is locked but its relay (process " << holder
              << ") cannot be signalled: " << std::strerror(errno)
              << "; the released messages are sanitized at its next start\n";
    return 1;
  }
  std::cout << "asked the relay (process " << holder << ") to sanitize " << n
            << " released message(s) now\n";
  return status;
}

}  // namespace

int runQueueCommand(int argc, char** argv, int first) {
  std::string spoolDir;
  std::string config;
  std::vector<std::string> words;
  for (int i = first; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--spool" || arg == "--config") && i + 1 < argc) {
      (arg == "--spool" ? spoolDir : config) = argv[++i];
    } else if (!arg.empty() && arg[0] == '-') {
      std::cerr << "mugai: unknown queue option '" << arg << "' (usage: " << kQueueUsage << ")\n";
      return 2;
    } else {
      words.push_back(arg);
    }
  }
  if (spoolDir.empty()) {
    RelayConfig relayConfig;
    if (!config.empty()) {
      core::Policy policy;
      try {
        loadConfigFile(config, relayConfig, policy);
      } catch (const core::ConfigError& e) {
        std::cerr << "mugai: config error: " << e.what() << "\n";
        return 2;
      }
    }
    spoolDir = relayConfig.spoolDir;
  }
  const std::string action = words.empty() ? "" : words[0];
  const bool needsId = action == "show" || action == "delete" || action == "release";
  if (!(action == "list" || action == "flush" || needsId) || words.size() != (needsId ? 2u : 1u)) {
    std::cerr << "mugai: usage: " << kQueueUsage << "\n";
    return 2;
  }
  if (needsId && !isQueueId(words[1]) && !(action == "release" && words[1] == "all")) {
    // Also keeps a path ("../x") from reaching the file system.
    std::cerr << "mugai: queue: '" << printable(words[1]) << "' is not a queue ID\n";
    return 2;
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(std::filesystem::path(spoolDir) / "deferred", ec)) {
    std::cerr << "mugai: queue: " << spoolDir << " is not a spool (no deferred/ in it)\n";
    return 1;
  }
  Spool spool(spoolDir);
  try {
    if (action == "list") return list(spool);
    if (action == "show") return show(spool, words[1]);
    if (action == "delete") return remove(spool, words[1]);
    if (action == "release") return release(spool, words[1]);
    return flush(spool);
  } catch (const std::exception& e) {
    std::cerr << "mugai: queue: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace mugai::relay
