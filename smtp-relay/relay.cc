// See relay.h. Threads share only the spool (thread-safe), two work queues, the retry schedule
// and an immutable settings snapshot swapped under a mutex on reload.
#include "smtp-relay/relay.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Net/TCPServerParams.h>
#include <Poco/ThreadPool.h>
#include <signal.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "core/pipeline.h"
#include "smtp-relay/delivery.h"
#include "smtp-relay/dsn.h"
#include "smtp-relay/spool.h"

namespace mugai::relay {
namespace {

std::mutex gLogMutex;

// One line per event on stderr; journald adds the time.
void logLine(const std::string& line) {
  std::lock_guard<std::mutex> lock(gLogMutex);
  std::cerr << "mugai relay: " << line << "\n" << std::flush;
}

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

// A value safe for one log field: no spaces or controls, bounded.
std::string field(std::string_view v) {
  std::string out;
  for (const char c : v.substr(0, 200)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u <= 0x20 || u >= 0x7F ? '_' : c);
  }
  return out.empty() ? "-" : out;
}

// The Message-ID of a message, for logs: the first such field in the header section.
std::string messageIdOf(std::string_view message) {
  const auto end = message.substr(0, 1 << 16).find("\r\n\r\n");
  std::string_view header = message.substr(0, end == std::string_view::npos ? 1 << 16 : end);
  std::size_t pos = 0;
  while (pos < header.size()) {
    auto nl = header.find("\r\n", pos);
    if (nl == std::string_view::npos) nl = header.size();
    const std::string_view line = header.substr(pos, nl - pos);
    if (line.size() > 11) {
      std::string name(line.substr(0, 11));
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (name == "message-id:") {
        std::string_view value = line.substr(11);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
          value.remove_prefix(1);
        }
        return field(value);
      }
    }
    pos = nl + 2;
  }
  return "-";
}

// A closable blocking queue.
template <typename T>
class WorkQueue {
 public:
  void push(T item) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      items_.push_back(std::move(item));
    }
    cv_.notify_one();
  }
  /// Blocks for an item; std::nullopt once closed and empty.
  std::optional<T> pop() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }
  /// Like pop(), but waits at most `limit`; std::nullopt then too (closed() tells which).
  std::optional<T> popFor(std::chrono::seconds limit) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, limit, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }
  bool closed() {
    std::lock_guard<std::mutex> lock(mutex_);
    return closed_;
  }
  void close() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<T> items_;
  bool closed_ = false;
};

struct Settings {
  RelayConfig config;
  core::Policy policy;
  Poco::Net::Context::Ptr tls;  ///< loaded certificate and key; null without relay.tls_cert
};

// The server side of STARTTLS. Loaded at start and at every reload, so that a renewed
// certificate is taken up by SIGHUP; a file that cannot be loaded is a configuration error.
Poco::Net::Context::Ptr makeTlsContext(const RelayConfig& config) {
  if (config.tlsCert.empty()) return {};
  static std::once_flag initialized;
  std::call_once(initialized, [] { Poco::Net::initializeSSL(); });
  try {
    // VERIFY_NONE: the clients are MTAs, which present no certificate; the relay's own checks
    // (client networks, accepted domains) do not depend on one.
    Poco::Net::Context::Ptr context = new Poco::Net::Context(
        Poco::Net::Context::TLS_SERVER_USE, config.tlsKey, config.tlsCert, "",
        Poco::Net::Context::VERIFY_NONE, 9, false, "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES");
    context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    return context;
  } catch (const Poco::Exception& e) {
    throw core::ConfigError("relay.tls_cert " + config.tlsCert + " / relay.tls_key " +
                            config.tlsKey + ": cannot be loaded: " + e.displayText());
  }
}

struct ReadyItem {
  ReadyItem(Queue q, std::string i, std::shared_ptr<const SpoolEntry> s = nullptr)
      : queue(q), id(std::move(i)), sanitized(std::move(s)) {}
  Queue queue;
  std::string id;
  // Set when a worker hands a sanitized message straight to delivery instead of writing it to
  // outgoing/ (queue is then Incoming): the incoming/ file stays the durable record until
  // delivery has settled every recipient, and a crash before that re-sanitizes it at start.
  // The pipeline is deterministic, so the same bytes go out again: at least once, never lost.
  std::shared_ptr<const SpoolEntry> sanitized;
};

// At most this many sanitized messages, and this many bytes of them, wait for delivery in
// memory; beyond either, a worker writes the message to outgoing/ as before. Saves a durable
// write (file, fsync, rename, directory fsync) and an unlink per message while delivery keeps
// up, and bounds memory when it does not (a slow or failing next hop).
constexpr std::size_t kMaxHandoffMessages = 64;
constexpr std::size_t kMaxHandoffBytes = 64u << 20;

}  // namespace

// Everything the threads share. Defined here (not in the header) so the connection classes
// below can use it.
class RelayCore : public MessageSink {
 public:
  RelayCore(RelayConfig config, core::Policy policy)
      : startup_(config),
        settings_(std::make_shared<const Settings>(
            Settings{std::move(config), std::move(policy), {}})),
        spool_(startup_.spoolDir),
        dataBudget_(startup_.maxBufferedBytes) {}

  /// Message data all sessions hold in memory together (relay.max_buffered_bytes).
  DataBudget& dataBudget() { return dataBudget_; }

  std::shared_ptr<const Settings> snapshot() {
    std::lock_guard<std::mutex> lock(settingsMutex_);
    return settings_;
  }
  void replace(std::shared_ptr<const Settings> s) {
    std::lock_guard<std::mutex> lock(settingsMutex_);
    settings_ = std::move(s);
  }

  // Session side: durable first, then the worker is told.
  CommitResult commit(const Envelope& envelope, std::string_view message) override {
    CommitResult r = spool_.commit(envelope, message);
    if (r.status == Status::Queued) {
      logLine("queued id=" + r.queueId + " from=<" + field(envelope.sender) + "> rcpts=" +
              std::to_string(envelope.recipients.size()) + " size=" +
              std::to_string(message.size()) + " client=" + field(envelope.client) +
              " message-id=" + messageIdOf(message));
      toSanitize(r.queueId);
    } else {
      logLine("NOT queued (spool failure, answered " + std::to_string(replySpec(r.status).code) +
              ") from=<" + field(envelope.sender) + "> client=" + field(envelope.client));
    }
    return r;
  }

  // --- connection accounting ---
  bool admit(const std::string& client, const RelayConfig& c) {
    std::lock_guard<std::mutex> lock(connMutex_);
    if (total_ >= c.maxConnections || perClient_[client] >= c.maxConnectionsPerClient) {
      if (perClient_[client] == 0) perClient_.erase(client);
      return false;
    }
    ++total_;
    ++perClient_[client];
    return true;
  }
  void release(const std::string& client) {
    {
      std::lock_guard<std::mutex> lock(connMutex_);
      --total_;
      if (--perClient_[client] == 0) perClient_.erase(client);
    }
    connCv_.notify_all();
  }
  void waitForNoConnections() {
    std::unique_lock<std::mutex> lock(connMutex_);
    connCv_.wait(lock, [&] { return total_ == 0; });
  }
  bool stopping() const { return stopping_.load(); }

  std::uint16_t start();
  void stop();
  std::size_t flushDeferred();
  std::size_t sanitizeReleased();

 private:
  // Hands an incoming/ ID to the workers unless it is already with them: IDs are claimed from
  // the push until the worker is done, so a rescan of incoming/ (sanitizeReleased) never sends a
  // message being sanitized a second time. Returns false when it was already claimed.
  bool toSanitize(const std::string& id) {
    {
      std::lock_guard<std::mutex> lock(claimedMutex_);
      if (!claimed_.insert(id).second) return false;
    }
    incoming_.push(id);
    return true;
  }
  void workerLoop();
  // True when the sanitized message went to delivery in memory: the ID stays claimed until
  // deliverOne has settled it.
  bool sanitizeOne(const std::string& id);
  bool reserveHandoff(std::size_t bytes);
  void releaseHandoff(std::size_t bytes);
  void unclaim(const std::string& id) {
    std::lock_guard<std::mutex> lock(claimedMutex_);
    claimed_.erase(id);
  }
  void deliveryLoop();
  void deliverOne(const ReadyItem& item, ConnectionCache& connections);
  void schedulerLoop();
  void scheduleRetry(std::int64_t when, const std::string& id);
  bool hold(SpoolEntry entry, const std::string& why);
  bool bounce(SpoolEntry entry, const std::vector<DsnRecipient>& failed, const std::string& why,
              const RelayConfig& config);

  RelayConfig startup_;  // listener, spool and thread counts (not reloadable)
  std::mutex settingsMutex_;
  std::shared_ptr<const Settings> settings_;
  Spool spool_;
  DataBudget dataBudget_;
  WorkQueue<std::string> incoming_;
  WorkQueue<ReadyItem> ready_;
  std::mutex claimedMutex_;
  std::set<std::string> claimed_;  // incoming/ IDs pushed to incoming_ and not yet done
  std::mutex handoffMutex_;
  std::size_t handoffMessages_ = 0;  // sanitized messages waiting for delivery in memory
  std::size_t handoffBytes_ = 0;

  std::mutex scheduleMutex_;
  std::condition_variable scheduleCv_;
  std::multimap<std::int64_t, std::string> schedule_;
  bool scheduleStop_ = false;

  std::mutex connMutex_;
  std::condition_variable connCv_;
  std::map<std::string, std::uint32_t> perClient_;
  std::uint32_t total_ = 0;
  std::atomic<bool> stopping_{false};

  std::unique_ptr<Poco::ThreadPool> pool_;
  std::unique_ptr<Poco::Net::TCPServer> server_;
  std::vector<std::thread> workers_;
  std::vector<std::thread> deliverers_;
  std::thread scheduler_;
  bool started_ = false;
  bool stopped_ = false;
};

namespace {

// One client connection: the socket loop around a Session.
class SmtpConnection : public Poco::Net::TCPServerConnection {
 public:
  SmtpConnection(const Poco::Net::StreamSocket& socket, RelayCore& core)
      : Poco::Net::TCPServerConnection(socket), core_(core) {}

  void run() override {
    Poco::Net::StreamSocket& sock = socket();
    std::string client;
    try {
      client = sock.peerAddress().host().toString();
      sock.setNoDelay(true);
      sock.setSendTimeout(Poco::Timespan(60, 0));
    } catch (...) {
      return;
    }
    const auto settings = core_.snapshot();
    const RelayConfig& config = settings->config;
    // Before the connection limits: a refused network must not use up a client slot.
    if (!inNetworks(client, config.clientNetworks)) {
      sendAll(sock, formatReply(Status::ClientDenied));
      logLine("refused connection from " + field(client) + ": not in relay.client_networks");
      return;
    }
    if (!core_.admit(client, config)) {
      sendAll(sock, formatReply(Status::TooManyConnections));
      logLine("refused connection from " + field(client) + ": connection limit");
      return;
    }
    try {
      serve(sock, client, *settings);
    } catch (const Poco::Exception& e) {
      logLine("connection from " + field(client) + " ended: " + e.displayText());
    } catch (const std::exception& e) {
      logLine("connection from " + field(client) + " ended: " + e.what());
    }
    core_.release(client);
  }

 private:
  static bool sendAll(Poco::Net::StreamSocket& sock, std::string_view data) {
    try {
      while (!data.empty()) {
        const int n = sock.sendBytes(data.data(), static_cast<int>(data.size()));
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
      }
      return true;
    } catch (...) {
      return false;
    }
  }

  void serve(Poco::Net::StreamSocket& plain, const std::string& client,
             const Settings& settings) {
    // Becomes the TLS socket after STARTTLS; both share the one file descriptor.
    Poco::Net::StreamSocket sock = plain;
    Session session(settings.config.session, core_, client, {}, &core_.dataBudget());
    if (!sendAll(sock, session.greet())) return;
    // Poll in short slices so that a stopping relay can say 421 to idle clients; the slices
    // add up to the command or data timeout.
    const Poco::Timespan slice(0, 500000);
    std::uint64_t idleMs = 0;
    char buf[1 << 16];
    while (!session.closed()) {
      if (core_.stopping() && !session.inData()) {
        sendAll(sock, session.shutdown());
        break;
      }
      // Decrypted bytes may wait inside OpenSSL where poll() cannot see them.
      const bool buffered = session.tlsActive() && sock.available() > 0;
      if (!buffered &&
          !sock.poll(slice, Poco::Net::Socket::SELECT_READ | Poco::Net::Socket::SELECT_ERROR)) {
        idleMs += 500;
        const std::uint64_t limit =
            1000ull * (session.inData() ? settings.config.dataTimeoutS
                                        : settings.config.commandTimeoutS);
        if (idleMs >= limit) {
          sendAll(sock, session.timeout());
          break;
        }
        continue;
      }
      idleMs = 0;
      const int n = sock.receiveBytes(buf, sizeof buf);
      if (n <= 0) break;  // the client left; an unfinished message was never acknowledged
      const std::string out = session.feed(std::string_view(buf, static_cast<std::size_t>(n)));
      if (!out.empty() && !sendAll(sock, out)) break;
      if (session.tlsPending() && !startTls(sock, session, client, settings)) break;
    }
  }

  // The handshake after the 220 to STARTTLS. The plaintext the client sent behind STARTTLS was
  // dropped by the session; bytes still in the kernel are read by OpenSSL as handshake records
  // and make it fail, so they can never become commands either.
  static bool startTls(Poco::Net::StreamSocket& sock, Session& session, const std::string& client,
                       const Settings& settings) {
    if (!settings.tls) return false;  // the session offers STARTTLS only with a context
    // A client that stalls mid-handshake is held to the command timeout.
    sock.setReceiveTimeout(Poco::Timespan(static_cast<long>(settings.config.commandTimeoutS), 0));
    Poco::Net::SecureStreamSocket secure =
        Poco::Net::SecureStreamSocket::attach(sock, settings.tls);
    if (secure.completeHandshake() != 1) {
      logLine("TLS handshake with " + field(client) + " did not complete");
      return false;
    }
    sock = secure;
    session.tlsStarted();
    logLine("TLS started with " + field(client));
    return true;
  }

  RelayCore& core_;
};

class ConnectionFactory : public Poco::Net::TCPServerConnectionFactory {
 public:
  explicit ConnectionFactory(RelayCore& core) : core_(core) {}
  Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
    return new SmtpConnection(socket, core_);
  }

 private:
  RelayCore& core_;
};

}  // namespace

std::uint16_t RelayCore::start() {
  {
    auto settings = std::make_shared<Settings>(*snapshot());
    settings->tls = makeTlsContext(settings->config);
    replace(std::move(settings));
  }
  spool_.open();
  long holder = 0;
  if (!spool_.tryLock(holder)) {
    throw std::runtime_error("spool " + spool_.root().string() + " is in use by process " +
                             std::to_string(holder) + " (one relay per spool)");
  }
  const Spool::Recovery rec = spool_.recover(logLine);
  logLine("spool " + spool_.root().string() + " recovered: " + std::to_string(rec.incoming.size()) +
          " to sanitize, " + std::to_string(rec.outgoing.size()) + " to deliver, " +
          std::to_string(rec.deferred.size()) + " deferred, " + std::to_string(rec.tempRemoved) +
          " temp files removed, " + std::to_string(rec.staleIncoming) +
          " finished inputs removed, " +
          std::to_string(rec.corrupt) + " corrupt");
  for (const auto& id : rec.incoming) toSanitize(id);
  for (const auto& id : rec.outgoing) ready_.push({Queue::Outgoing, id});
  for (const auto& id : rec.deferred) {
    std::string error;
    const auto e = spool_.load(Queue::Deferred, id, error);
    scheduleRetry(e ? e->nextAttempt : now(), id);
  }

  // Two per core by default: each worker also waits on fsync (the original), so one per core
  // leaves the CPU idle during those waits (bench/README.md, Relay: +10-30 % end to end).
  const std::uint32_t workers =
      startup_.workers ? startup_.workers : 2 * std::max(1u, std::thread::hardware_concurrency());
  for (std::uint32_t i = 0; i < workers; ++i) workers_.emplace_back([this] { workerLoop(); });
  for (std::uint32_t i = 0; i < startup_.deliveryThreads; ++i) {
    deliverers_.emplace_back([this] { deliveryLoop(); });
  }
  scheduler_ = std::thread([this] { schedulerLoop(); });
  started_ = true;

  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress(startup_.listenHost, startup_.listenPort),
                                 128);
  // Spare threads beyond the limit, so that connections over it get their 421 at once.
  const int threads = static_cast<int>(startup_.maxConnections) + 8;
  pool_ = std::make_unique<Poco::ThreadPool>(2, threads, 60);
  auto* params = new Poco::Net::TCPServerParams;
  params->setMaxThreads(threads);
  params->setMaxQueued(64);
  server_ = std::make_unique<Poco::Net::TCPServer>(new ConnectionFactory(*this), *pool_, socket,
                                                   params);
  server_->start();
  return socket.address().port();
}

void RelayCore::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  stopping_ = true;
  if (server_) server_->stop();
  waitForNoConnections();
  incoming_.close();
  for (auto& t : workers_) t.join();
  {
    std::lock_guard<std::mutex> lock(scheduleMutex_);
    scheduleStop_ = true;
  }
  scheduleCv_.notify_all();
  scheduler_.join();
  ready_.close();
  for (auto& t : deliverers_) t.join();
  if (pool_) pool_->joinAll();
  logLine("stopped");
}

void RelayCore::workerLoop() {
  while (auto id = incoming_.pop()) {
    if (!sanitizeOne(*id)) unclaim(*id);
  }
}

bool RelayCore::hold(SpoolEntry entry, const std::string& why) {
  entry.note = why;
  // A message can be held twice: recipients refused permanently at one attempt, others at a
  // later one (or when the queue lifetime ends). The second must not overwrite the first.
  if (spool_.exists(Queue::Held, entry.id)) entry.id = spool_.newId();
  const Status s = spool_.store(Queue::Held, entry);
  logLine("HELD id=" + entry.id + " message-id=" + messageIdOf(entry.message) + " reason=" +
          field(why) + (s == Status::Ok ? "" : " (could not be written to held/)"));
  return s == Status::Ok;
}

// A permanent failure: a DSN to the sender when configured and allowed, else held/. The DSN
// is durable before the caller removes the failed message's file, like every other move.
// False when neither could be written: the caller must then keep the message.
bool RelayCore::bounce(SpoolEntry entry, const std::vector<DsnRecipient>& failed,
                       const std::string& why, const RelayConfig& config) {
  if (!config.dsn) return hold(std::move(entry), why);
  if (entry.envelope.sender.empty()) {
    return hold(std::move(entry), why + " (null sender: no DSN)");
  }
  const SpoolEntry dsn = makeDsn(entry, failed, config.session.hostname, spool_.newId(), now());
  if (spool_.store(Queue::Outgoing, dsn) != Status::Ok) {
    return hold(std::move(entry), why + " (the DSN could not be spooled)");
  }
  logLine("dsn id=" + dsn.id + " about id=" + entry.id + " message-id=" +
          messageIdOf(entry.message) + " to=<" + field(entry.envelope.sender) + "> rcpts=" +
          std::to_string(failed.size()) + " reason=" + field(why));
  ready_.push({Queue::Outgoing, dsn.id});
  return true;
}

bool RelayCore::reserveHandoff(std::size_t bytes) {
  std::lock_guard<std::mutex> lock(handoffMutex_);
  if (handoffMessages_ >= kMaxHandoffMessages || handoffBytes_ + bytes > kMaxHandoffBytes) {
    return false;
  }
  ++handoffMessages_;
  handoffBytes_ += bytes;
  return true;
}

void RelayCore::releaseHandoff(std::size_t bytes) {
  std::lock_guard<std::mutex> lock(handoffMutex_);
  --handoffMessages_;
  handoffBytes_ -= bytes;
}

bool RelayCore::sanitizeOne(const std::string& id) {
  const auto settings = snapshot();
  std::string error;
  auto entry = spool_.load(Queue::Incoming, id, error);
  if (!entry) {
    if (spool_.exists(Queue::Incoming, id)) {
      spool_.move(id, Queue::Incoming, Queue::Corrupt);
      logLine("CORRUPT spool file incoming/" + id + " moved to corrupt/: " + error);
    }
    return false;
  }
  core::Outcome outcome = core::sanitizeMessage(entry->message, settings->policy);
  spool_.storeReport(id, outcome.report.toJson());
  // The original is kept before anything is forwarded: the notice names its ID.
  if (spool_.storeOriginal(outcome.report.originalId, entry->message) != Status::Ok) {
    logLine("ERROR id=" + id + ": the original could not be stored; the message stays in "
            "incoming/ and is sanitized again at the next start");
    return false;
  }
  const std::string messageId = messageIdOf(entry->message);
  if (!outcome.delivered) {
    SpoolEntry held = *entry;
    const std::string& detail = outcome.report.heldDetail;
    hold(std::move(held), "pipeline held: " + outcome.report.heldReason +
                              (detail.empty() ? "" : " (" + detail + ")"));
    if (spool_.exists(Queue::Held, id)) spool_.remove(Queue::Incoming, id);
    return false;
  }
  SpoolEntry out = *entry;
  out.note.clear();
  out.message = std::move(outcome.message);
  const std::string sanitizedLine =
      "sanitized id=" + id + " message-id=" + messageId + " original=" +
      field(outcome.report.originalId) + " in=" + std::to_string(entry->message.size()) +
      " out=" + std::to_string(out.message.size()) + " parts=" +
      std::to_string(outcome.report.parts.size());
  if (reserveHandoff(out.message.size())) {
    logLine(sanitizedLine + " handoff=memory");
    ready_.push({Queue::Incoming, id, std::make_shared<const SpoolEntry>(std::move(out))});
    return true;
  }
  if (spool_.store(Queue::Outgoing, out) != Status::Ok) {
    logLine("ERROR id=" + id + ": the sanitized message could not be spooled; it stays in "
            "incoming/ and is sanitized again at the next start");
    return false;
  }
  spool_.remove(Queue::Incoming, id);
  logLine(sanitizedLine + " handoff=outgoing");
  ready_.push({Queue::Outgoing, id});
  return false;
}

void RelayCore::deliveryLoop() {
  // This thread's open connections to the next hops: kept while messages keep coming, closed
  // with QUIT after relay.connection_idle_s without one, so that the next hop is not left
  // holding idle sessions (and its own idle timeout never has to end them).
  ConnectionCache connections;
  for (;;) {
    std::optional<ReadyItem> item;
    if (connections.empty()) {
      item = ready_.pop();
    } else {
      item = ready_.popFor(std::chrono::seconds(snapshot()->config.connectionIdleS));
      if (!item && !ready_.closed()) {
        connections.closeAll();
        continue;
      }
    }
    if (!item) break;
    deliverOne(*item, connections);
  }
  connections.closeAll();
}

void RelayCore::deliverOne(const ReadyItem& item, ConnectionCache& connections) {
  const auto settings = snapshot();
  const RelayConfig& config = settings->config;
  // A message handed over in memory: its reservation and its claim on the incoming/ ID end with
  // this call, however it returns (the incoming/ file is then gone, or still there to be
  // sanitized again).
  struct HandoffDone {
    RelayCore& core;
    const ReadyItem& item;
    ~HandoffDone() {
      if (!item.sanitized) return;
      core.releaseHandoff(item.sanitized->message.size());
      core.unclaim(item.id);
    }
  } handoffDone{*this, item};
  std::string error;
  std::optional<SpoolEntry> loaded;
  const SpoolEntry* entry = item.sanitized.get();
  if (entry == nullptr) {
    loaded = spool_.load(item.queue, item.id, error);
    if (loaded) entry = &*loaded;
  }
  if (entry == nullptr) {
    if (spool_.exists(item.queue, item.id)) {
      spool_.move(item.id, item.queue, Queue::Corrupt);
      logLine("CORRUPT spool file " + std::string(queueName(item.queue)) + "/" + item.id +
              " moved to corrupt/: " + error);
    }
    return;
  }
  const DeliveryResult result = deliver(config.nextHops, *entry, config.session.hostname,
                                        config.deliveryTimeoutS, &connections);
  const std::string messageId = messageIdOf(entry->message);
  std::vector<std::string> deferred;
  std::vector<std::string> failed;
  std::vector<DsnRecipient> failedReports;
  std::string lastDeferReason;
  std::string lastFailReason;
  for (const auto& r : result.recipients) {
    const char* what = r.state == RcptState::Delivered ? "delivered"
                       : r.state == RcptState::Failed  ? "failed"
                                                       : "deferred";
    logLine("delivery id=" + entry->id + " message-id=" + messageId + " to=<" + field(r.recipient) +
            "> hop=" + field(result.hop) + " attempt=" + std::to_string(entry->attempts + 1) +
            " size=" + std::to_string(entry->message.size()) + " result=" + what + " reply=\"" +
            r.reply.substr(0, 200) + "\"");
    if (r.state == RcptState::Deferred) {
      deferred.push_back(r.recipient);
      lastDeferReason = r.reply;
    } else if (r.state == RcptState::Failed) {
      failed.push_back(r.recipient);
      failedReports.push_back({r.recipient, dsnStatus(r.reply), r.reply});
      lastFailReason = r.reply;
    }
  }
  // New state first, then the old file goes: a crash in between duplicates, never loses.
  if (!failed.empty()) {
    SpoolEntry held = *entry;
    held.envelope.recipients = failed;
    if (!bounce(std::move(held), failedReports, "permanent failure: " + lastFailReason, config)) {
      // Neither held nor reported (the spool could not be written): these recipients stay
      // queued with the deferred ones and fail again at the next attempt, rather than vanish
      // with the source file below.
      deferred.insert(deferred.end(), failed.begin(), failed.end());
      if (lastDeferReason.empty()) lastDeferReason = lastFailReason;
    }
  }
  bool rewroteSource = false;
  if (!deferred.empty()) {
    SpoolEntry next = *entry;
    next.envelope.recipients = deferred;
    next.attempts = entry->attempts + 1;
    next.note = lastDeferReason;
    bool bounced = false;
    if (now() - entry->receivedAt > static_cast<std::int64_t>(config.queueLifetimeS)) {
      std::vector<DsnRecipient> expired;
      for (const auto& r : deferred) {
        // RFC 3463 4.4.7: delivery time expired; the last reply says what kept failing.
        expired.push_back({r, "4.4.7", "queue lifetime expired; last: " + lastDeferReason});
      }
      // Not written (held/ or the DSN): deferred once more instead, as below.
      bounced = bounce(next, expired, "queue lifetime expired: " + lastDeferReason, config);
    }
    if (!bounced) {
      std::uint64_t delay = config.retryMinS;
      for (std::uint32_t i = 1; i < next.attempts && delay < config.retryMaxS; ++i) delay *= 2;
      delay = std::min<std::uint64_t>(delay, config.retryMaxS);
      next.nextAttempt = now() + static_cast<std::int64_t>(delay);
      if (spool_.store(Queue::Deferred, next) == Status::Ok) {
        rewroteSource = item.queue == Queue::Deferred;
        scheduleRetry(next.nextAttempt, next.id);
      } else {
        logLine("ERROR id=" + entry->id + ": could not write deferred/; the message stays in " +
                std::string(queueName(item.queue)) + "/ and is retried at the next start");
        return;
      }
    }
  }
  if (!rewroteSource) spool_.remove(item.queue, item.id);
}

void RelayCore::scheduleRetry(std::int64_t when, const std::string& id) {
  {
    std::lock_guard<std::mutex> lock(scheduleMutex_);
    schedule_.emplace(when, id);
  }
  scheduleCv_.notify_all();
}

void RelayCore::schedulerLoop() {
  std::unique_lock<std::mutex> lock(scheduleMutex_);
  while (!scheduleStop_) {
    if (schedule_.empty()) {
      scheduleCv_.wait(lock);
      continue;
    }
    const std::int64_t due = schedule_.begin()->first;
    if (due <= now()) {
      const std::string id = schedule_.begin()->second;
      schedule_.erase(schedule_.begin());
      ready_.push({Queue::Deferred, id});
      continue;
    }
    scheduleCv_.wait_until(
        lock, std::chrono::system_clock::from_time_t(static_cast<std::time_t>(due)));
  }
}

std::size_t RelayCore::flushDeferred() {
  // Straight to the delivery queue under the schedule's lock: a message waiting for its retry
  // is in the schedule exactly once and leaves it here, so a flush never starts a second,
  // concurrent delivery of a message already on its way. And once this returns, a SIGTERM's
  // drain delivers them too (it empties the delivery queue).
  std::lock_guard<std::mutex> lock(scheduleMutex_);
  const std::size_t n = schedule_.size();
  for (const auto& [when, id] : schedule_) ready_.push({Queue::Deferred, id});
  schedule_.clear();
  logLine("flush: " + std::to_string(n) + " deferred message(s) queued for delivery now");
  return n;
}

std::size_t RelayCore::sanitizeReleased() {
  // Files put into incoming/ by `mugai queue release` (held messages, under new IDs). Any other
  // file there is already claimed, or finished and about to be removed: the worker then finds it
  // gone, or sees it again, which the at-least-once contract allows.
  std::size_t n = 0;
  for (const auto& id : spool_.list(Queue::Incoming)) n += toSanitize(id) ? 1 : 0;
  if (n) logLine("release: " + std::to_string(n) + " message(s) in incoming/ sent to the workers");
  return n;
}

struct Relay::Impl {
  Impl(RelayConfig config, core::Policy policy) : core(std::move(config), std::move(policy)) {}
  RelayCore core;
};

Relay::Relay(RelayConfig config, core::Policy policy)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(policy))) {}

Relay::~Relay() { stop(); }

std::uint16_t Relay::start() { return impl_->core.start(); }

void Relay::reload(RelayConfig config, core::Policy policy) {
  // The sessions' memory budget keeps its size from the start: the new message size limit must
  // fit in it.
  checkBufferedBytes(config, impl_->core.dataBudget().capacity(),
                     "reload (relay.max_buffered_bytes is read at start only)");
  Poco::Net::Context::Ptr tls = makeTlsContext(config);
  impl_->core.replace(std::make_shared<const Settings>(
      Settings{std::move(config), std::move(policy), std::move(tls)}));
}

std::size_t Relay::flush() { return impl_->core.flushDeferred(); }

std::size_t Relay::sanitizeReleased() { return impl_->core.sanitizeReleased(); }

void Relay::stop() { impl_->core.stop(); }

}  // namespace mugai::relay
