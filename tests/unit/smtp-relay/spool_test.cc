// The durable spool: queue file format, durable writes with injected system-call failures (and
// the session's reply to them), and start-up recovery.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "smtp-relay/session.h"
#include "smtp-relay/spool.h"

using namespace mugai::relay;
namespace fs = std::filesystem;

namespace {

// A fresh directory, removed at the end of the test.
struct TempDir {
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "mugai_spool_XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

// Fails one kind of call with a chosen errno, optionally only the n-th call of that kind.
class FailingOps : public FileOps {
 public:
  enum class Call { None, Open, Write, Sync, Close, Rename };
  Call failing = Call::None;
  int err = EIO;
  int onlyNth = 0;  // 0: every call; n: only the n-th (1-based)
  int syncCalls = 0;

  int openFile(const char* p, int f, mode_t m) override {
    return hit(Call::Open) ? fail() : FileOps::openFile(p, f, m);
  }
  ssize_t writeSome(int fd, const void* d, std::size_t n) override {
    return hit(Call::Write) ? fail() : FileOps::writeSome(fd, d, n);
  }
  int syncFile(int fd) override {
    ++syncCalls;
    return hit(Call::Sync) ? fail() : FileOps::syncFile(fd);
  }
  int closeFile(int fd) override {
    const int rc = FileOps::closeFile(fd);
    return hit(Call::Close) ? fail() : rc;
  }
  int renameFile(const char* a, const char* b) override {
    return hit(Call::Rename) ? fail() : FileOps::renameFile(a, b);
  }

 private:
  bool hit(Call c) {
    if (c != failing) return false;
    ++count_;
    return onlyNth == 0 || count_ == onlyNth;
  }
  int fail() const {
    errno = err;
    return -1;
  }
  int count_ = 0;
};

Envelope testEnvelope() {
  Envelope e;
  e.helo = "client.test";
  e.client = "192.0.2.7";
  e.sender = "a@sender.test";
  e.recipients = {"u1@example.jp", "u2@example.jp"};
  e.esmtp = true;
  return e;
}

std::size_t filesIn(const fs::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

void writeRaw(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary);
  out << data;
}

}  // namespace

TEST_SUITE("smtp-relay spool") {
  TEST_CASE("spool: an entry survives serialize and parse unchanged") {
    SpoolEntry e;
    e.id = "0123456789ABCDEF0123";
    e.envelope = testEnvelope();
    e.receivedAt = 1700000000;
    e.attempts = 3;
    e.nextAttempt = 1700000600;
    e.note = "451 4.3.0 try later";
    e.message = "Subject: x\r\n\r\nbody with\nodd\rbytes\0\r\n";
    SpoolEntry back;
    std::string error;
    REQUIRE(parseEntry(serializeEntry(e), back, error));
    CHECK(back.id == e.id);
    CHECK(back.envelope.helo == e.envelope.helo);
    CHECK(back.envelope.client == e.envelope.client);
    CHECK(back.envelope.sender == e.envelope.sender);
    CHECK(back.envelope.recipients == e.envelope.recipients);
    CHECK(back.envelope.esmtp);
    CHECK(back.receivedAt == e.receivedAt);
    CHECK(back.attempts == 3);
    CHECK(back.nextAttempt == e.nextAttempt);
    CHECK(back.note == e.note);
    CHECK(back.message == e.message);
  }

  TEST_CASE("spool: a value with a newline cannot add a header line to a queue file") {
    SpoolEntry e;
    e.id = "0123456789ABCDEF0123";
    e.envelope = testEnvelope();
    e.note = "bad\nto: evil@elsewhere.test";
    SpoolEntry back;
    std::string error;
    REQUIRE(parseEntry(serializeEntry(e), back, error));
    CHECK(back.envelope.recipients.size() == 2);
    CHECK(back.note == "bad?to: evil@elsewhere.test");
  }

  TEST_CASE("spool: malformed queue files are rejected with a reason") {
    SpoolEntry e;
    e.id = "0123456789ABCDEF0123";
    e.envelope = testEnvelope();
    e.message = "hello\r\n";
    const std::string good = serializeEntry(e);
    SpoolEntry back;
    std::string error;
    CHECK(parseEntry(good, back, error));
    CHECK_FALSE(parseEntry(good.substr(0, good.size() - 1), back, error));  // truncated
    CHECK(error.find("truncated") != std::string::npos);
    CHECK_FALSE(parseEntry(good + "x", back, error));
    CHECK_FALSE(parseEntry("", back, error));
    CHECK_FALSE(parseEntry("MUGAI-QUEUE 2\nid: x\n\n", back, error));
    CHECK_FALSE(parseEntry(std::string(2 << 20, 'a'), back, error));
    std::string noRcpt = good;
    for (std::size_t p; (p = noRcpt.find("to: ")) != std::string::npos;) {
      noRcpt.erase(p, noRcpt.find('\n', p) - p + 1);
    }
    CHECK_FALSE(parseEntry(noRcpt, back, error));
    std::string badNumber = good;
    badNumber.replace(badNumber.find("attempts: 0"), 11, "attempts: x");
    CHECK_FALSE(parseEntry(badNumber, back, error));
  }

  TEST_CASE("spool: commit writes incoming/<id>, fsyncs file and directory, leaves no temp") {
    TempDir dir;
    FailingOps ops;
    Spool spool(dir.path, &ops);
    spool.open();
    const CommitResult r = spool.commit(testEnvelope(), "Subject: x\r\n\r\nhi\r\n");
    REQUIRE(r.status == Status::Queued);
    CHECK(isQueueId(r.queueId));
    CHECK(ops.syncCalls == 2);  // the file, then the directory
    CHECK(filesIn(dir.path / "tmp") == 0);
    std::string error;
    const auto back = spool.load(Queue::Incoming, r.queueId, error);
    REQUIRE(back);
    CHECK(back->message == "Subject: x\r\n\r\nhi\r\n");
    CHECK(back->envelope.recipients == testEnvelope().recipients);
    CHECK(spool.list(Queue::Incoming) == std::vector<std::string>{r.queueId});
  }

  TEST_CASE("spool: any failing system call means no acknowledgement") {
    struct Row {
      FailingOps::Call call;
      int err;
      int nth;
      Status want;
    };
    const Row rows[] = {
        {FailingOps::Call::Sync, EIO, 1, Status::SpoolIoError},    // file fsync
        {FailingOps::Call::Sync, EIO, 2, Status::SpoolIoError},    // directory fsync
        {FailingOps::Call::Write, ENOSPC, 0, Status::SpoolFull},
        {FailingOps::Call::Write, EDQUOT, 0, Status::SpoolFull},
        {FailingOps::Call::Sync, ENOSPC, 1, Status::SpoolFull},
        {FailingOps::Call::Open, EMFILE, 0, Status::SpoolIoError},
        {FailingOps::Call::Close, EIO, 0, Status::SpoolIoError},
        {FailingOps::Call::Rename, EIO, 0, Status::SpoolIoError},
    };
    for (const Row& row : rows) {
      CAPTURE(static_cast<int>(row.call));
      CAPTURE(row.nth);
      TempDir dir;
      FailingOps ops;
      ops.failing = row.call;
      ops.err = row.err;
      ops.onlyNth = row.nth;
      Spool spool(dir.path, &ops);
      spool.open();
      const CommitResult r = spool.commit(testEnvelope(), "x\r\n");
      CHECK(r.status == row.want);
      CHECK(r.queueId.empty());
      CHECK(filesIn(dir.path / "tmp") == 0);  // no debris left behind
    }
  }

  TEST_CASE("spool: the session answers 451 4.3.0 or 452 4.3.1 to a failing spool, never 250") {
    for (const int err : {EIO, ENOSPC}) {
      CAPTURE(err);
      TempDir dir;
      FailingOps ops;
      ops.failing = FailingOps::Call::Sync;
      ops.err = err;
      Spool spool(dir.path, &ops);
      spool.open();
      SessionConfig config;
      config.acceptDomains = {"example.jp"};
      Session s(config, spool, "192.0.2.1");
      s.greet();
      std::string out = s.feed("EHLO c\r\n");
      out = s.feed("MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.jp>\r\nDATA\r\n");
      out = s.feed("Subject: x\r\n\r\nhi\r\n.\r\n");
      CHECK(out.find(err == EIO ? "451 4.3.0" : "452 4.3.1") == 0);
      CHECK(out.find("250") == std::string::npos);
      CHECK(spool.list(Queue::Incoming).empty());
      // The disk recovers: the next message is stored and acknowledged.
      ops.failing = FailingOps::Call::None;
      s.feed("MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.jp>\r\nDATA\r\n");
      CHECK(s.feed("x\r\n.\r\n").find("250 2.0.0 Ok: queued as ") == 0);
      CHECK(spool.list(Queue::Incoming).size() == 1);
    }
  }

  TEST_CASE("spool: store, move and remove keep the queue ID across queues") {
    TempDir dir;
    Spool spool(dir.path);
    spool.open();
    const CommitResult r = spool.commit(testEnvelope(), "m\r\n");
    REQUIRE(r.status == Status::Queued);
    std::string error;
    auto entry = spool.load(Queue::Incoming, r.queueId, error);
    REQUIRE(entry);
    entry->message = "sanitized\r\n";
    CHECK(spool.store(Queue::Outgoing, *entry) == Status::Ok);
    CHECK(spool.remove(Queue::Incoming, r.queueId));
    CHECK(spool.move(r.queueId, Queue::Outgoing, Queue::Deferred) == Status::Ok);
    CHECK_FALSE(spool.exists(Queue::Outgoing, r.queueId));
    const auto deferred = spool.load(Queue::Deferred, r.queueId, error);
    REQUIRE(deferred);
    CHECK(deferred->message == "sanitized\r\n");
    CHECK(spool.move("../../etc", Queue::Deferred, Queue::Held) == Status::SpoolIoError);
  }

  TEST_CASE("spool: originals are stored once under their ID, and a hostile ID is refused") {
    TempDir dir;
    Spool spool(dir.path);
    spool.open();
    CHECK(spool.storeOriginal("MG-0123456789abcdef0123", "original") == Status::Ok);
    CHECK(spool.storeOriginal("MG-0123456789abcdef0123", "other") == Status::Ok);
    std::ifstream in(dir.path / "originals" / "MG-0123456789abcdef0123.eml");
    CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == "original");
    CHECK(spool.storeOriginal("../escape", "x") == Status::SpoolIoError);
    CHECK(spool.storeOriginal("", "x") == Status::SpoolIoError);
  }

  TEST_CASE("spool: recovery removes temp files, drops finished incoming, sets corrupt aside") {
    TempDir dir;
    Spool spool(dir.path);
    spool.open();
    const std::string a = spool.commit(testEnvelope(), "a\r\n").queueId;  // to re-sanitize
    const std::string b = spool.commit(testEnvelope(), "b\r\n").queueId;  // already sanitized
    const std::string c = spool.commit(testEnvelope(), "c\r\n").queueId;  // to deliver
    std::string error;
    auto eb = spool.load(Queue::Incoming, b, error);
    REQUIRE(eb);
    REQUIRE(spool.store(Queue::Outgoing, *eb) == Status::Ok);
    REQUIRE(spool.move(c, Queue::Incoming, Queue::Deferred) == Status::Ok);
    writeRaw(dir.path / "tmp" / "leftover.1", "half a message");
    // A truncated file and a stranger.
    const std::string truncatedId = "00000000000000000001";
    writeRaw(dir.path / "outgoing" / truncatedId, serializeEntry(*eb).substr(0, 40));
    writeRaw(dir.path / "incoming" / "notes.txt", "hello");

    std::vector<std::string> logs;
    const Spool::Recovery r = spool.recover([&](const std::string& l) { logs.push_back(l); });
    CHECK(r.tempRemoved == 1);
    CHECK(r.incoming == std::vector<std::string>{a});
    CHECK(r.outgoing == std::vector<std::string>{b});
    CHECK(r.deferred == std::vector<std::string>{c});
    CHECK(r.staleIncoming == 1);
    CHECK(r.corrupt == 2);
    CHECK_FALSE(spool.exists(Queue::Incoming, b));
    CHECK(fs::exists(dir.path / "corrupt" / ("outgoing-" + truncatedId)));
    CHECK(fs::exists(dir.path / "corrupt" / "incoming-notes.txt"));
    REQUIRE(logs.size() == 2);
    for (const auto& l : logs) CHECK(l.rfind("CORRUPT spool file ", 0) == 0);
    CHECK(filesIn(dir.path / "tmp") == 0);
  }

  TEST_CASE("spool: queue IDs are unique and sort by time") {
    TempDir dir;
    Spool spool(dir.path);
    std::set<std::string> ids;
    std::string previous;
    for (int i = 0; i < 1000; ++i) {
      const std::string id = spool.newId();
      CHECK(isQueueId(id));
      CHECK(id > previous);
      previous = id;
      ids.insert(id);
    }
    CHECK(ids.size() == 1000);
    CHECK_FALSE(isQueueId("0123456789abcdef0123"));
    CHECK_FALSE(isQueueId("../0123456789ABCDEF0"));
  }

  TEST_CASE("spool: one holder of the lock at a time, released when the spool goes") {
    TempDir dir;
    auto first = std::make_unique<Spool>(dir.path);
    first->open();
    long holder = -1;
    REQUIRE(first->tryLock(holder));
    CHECK(first->tryLock(holder));  // taking it again is harmless
    Spool second(dir.path);
    // flock conflicts between two open files even within one process.
    CHECK_FALSE(second.tryLock(holder));
    CHECK(holder == static_cast<long>(::getpid()));
    first.reset();
    CHECK(second.tryLock(holder));
  }
}
