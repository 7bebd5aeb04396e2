// The durable spool: queue files on disk, written so that a crash at any instant loses nothing
// that was acknowledged.
//
// Layout under the spool root:
//   tmp/        files being written (removed at start: never acknowledged)
//   incoming/   received and acknowledged, not yet sanitized
//   outgoing/   sanitized, waiting for delivery (only when more than a few dozen messages are
//               waiting: otherwise a worker hands the sanitized message to delivery in memory
//               and the incoming/ file stays the durable record until delivery settles it)
//   deferred/   delivery failed temporarily; retried later
//   held/       not deliverable without an administrator (pipeline refused, permanent failure)
//   corrupt/    files that could not be read back, moved aside with a loud log line
//   originals/  the original of every message (原本保管), named by its original ID
//   reports/    the JSON report of every sanitized message (audit; not fsynced)
// Every durable write is: temp file, write, fsync, close, rename into place, fsync the
// directory. A message keeps its queue ID from incoming to delivery, so recovery can tell that
// an incoming file whose outgoing twin exists was already sanitized.
//
// The system calls go through FileOps so that tests can make fsync, write or rename fail; the
// spool then answers 451 4.3.0 (452 4.3.1 when the disk is full), never 250.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp-relay/reply.h"
#include "smtp-relay/session.h"

namespace mugai::relay {

enum class Queue { Incoming, Outgoing, Deferred, Held, Corrupt };

/// The directory name of a queue ("incoming", …).
std::string_view queueName(Queue queue);

/// One queue file: the envelope, delivery state and the message.
struct SpoolEntry {
  std::string id;
  Envelope envelope;
  std::int64_t receivedAt = 0;   ///< Unix seconds
  std::uint32_t attempts = 0;    ///< delivery attempts made
  std::int64_t nextAttempt = 0;  ///< Unix seconds; 0 = now
  std::string note;              ///< last delivery error or why it is held (one line)
  std::string message;
};

/// Serializes an entry to its file format ("MUGAI-QUEUE 1" header lines, blank line, message).
std::string serializeEntry(const SpoolEntry& entry);
/// Parses a queue file. Returns false with `error` set for anything malformed or truncated;
/// bounded (header section at most 1 MiB) and never throws.
bool parseEntry(std::string_view data, SpoolEntry& entry, std::string& error);

/// True for a well-formed queue ID (20 upper-case hex digits).
bool isQueueId(std::string_view id);

/// The system calls a spool makes. The default implementation calls the kernel; tests override
/// single calls to inject failures. Each returns -1 with errno set on failure, like the kernel.
class FileOps {
 public:
  virtual ~FileOps() = default;
  virtual int openFile(const char* path, int flags, mode_t mode);
  virtual ssize_t writeSome(int fd, const void* data, std::size_t size);
  virtual int syncFile(int fd);
  virtual int closeFile(int fd);
  virtual int renameFile(const char* from, const char* to);
};

class Spool : public MessageSink {
 public:
  /// `ops` (optional, not owned) replaces the system calls; it must outlive the spool.
  explicit Spool(std::filesystem::path root, FileOps* ops = nullptr);
  ~Spool() override;
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  /// Creates the directories (mode 0700) if missing. Throws std::runtime_error naming the path
  /// when the spool cannot be used.
  void open();

  /// Takes the spool's lock, an exclusive flock on <root>/lock held until the Spool is
  /// destroyed (or the process dies), and writes this process' PID into that file. One relay, or
  /// one offline `mugai queue` command, works on a spool at a time: two relays on one spool would
  /// deliver every message twice. Returns false when another process holds the lock; `holder`
  /// then gets the PID it wrote (0 when unreadable). Call after open().
  bool tryLock(long& holder);

  /// Session side: stores the message in incoming/ under a new ID. Queued only after the file
  /// and its directory were fsynced; SpoolFull on ENOSPC/EDQUOT; SpoolIoError otherwise.
  /// Thread-safe.
  CommitResult commit(const Envelope& envelope, std::string_view message) override;

  /// Durably writes `entry` as queue/<entry.id>, replacing any file of that name. Returns
  /// Status::Ok or the failure status. Thread-safe.
  Status store(Queue queue, const SpoolEntry& entry);
  /// Moves a file between queues durably (rename, fsync of both directories).
  Status move(const std::string& id, Queue from, Queue to);
  /// Removes queue/<id>. No directory fsync: a file that comes back after a crash is at worst
  /// delivered twice, which the at-least-once contract allows.
  bool remove(Queue queue, const std::string& id);
  /// Reads queue/<id>; std::nullopt with `error` set when missing or malformed.
  std::optional<SpoolEntry> load(Queue queue, const std::string& id, std::string& error) const;
  /// Queue IDs present in a queue, sorted (oldest first, as IDs start with the time).
  std::vector<std::string> list(Queue queue) const;
  bool exists(Queue queue, const std::string& id) const;

  /// Durably stores an original under originals/<originalId>.eml; an existing file is kept (the
  /// ID is derived from the content's SHA-256).
  Status storeOriginal(const std::string& originalId, std::string_view message);
  /// Writes reports/<id>.json (best effort, not fsynced). Returns false on failure.
  bool storeReport(const std::string& id, std::string_view json);

  struct Recovery {
    std::vector<std::string> incoming;  ///< to sanitize again
    std::vector<std::string> outgoing;  ///< to deliver
    std::vector<std::string> deferred;  ///< to retry
    std::size_t tempRemoved = 0;
    std::size_t staleIncoming = 0;      ///< incoming files whose sanitized twin existed
    std::size_t corrupt = 0;
  };
  /// Start-up recovery: removes leftover temp files, drops incoming files already sanitized,
  /// moves unreadable files to corrupt/ (calling `log` with a line starting "CORRUPT"), and lists
  /// what must be sanitized, delivered or retried. Never throws for a bad file.
  Recovery recover(const std::function<void(const std::string&)>& log);

  /// A new queue ID: the time in microseconds and a counter, 20 hex digits. Thread-safe.
  std::string newId();

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path pathOf(Queue queue, const std::string& id) const;

 private:
  Status writeDurably(const std::filesystem::path& target, std::string_view a, std::string_view b);
  Status syncDirectory(const std::filesystem::path& dir);

  std::filesystem::path root_;
  FileOps defaultOps_;
  FileOps* ops_;
  std::atomic<std::uint64_t> counter_{0};
  int lockFd_ = -1;
};

}  // namespace mugai::relay
