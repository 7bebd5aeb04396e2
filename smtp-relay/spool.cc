// See spool.h. The order of operations in writeDurably is the whole point of this file: the
// rename publishes only a file whose bytes were fsynced, and the directory fsync makes the
// rename itself survive a power loss, before anyone is told "250".
#include "smtp-relay/spool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace mugai::relay {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kMagic = "MUGAI-QUEUE 1";
constexpr std::size_t kMaxHeaderSection = 1u << 20;

// A header value is one line: control octets (CR, LF, …) become '?', so that nothing a client
// or a next hop said can add a line to a queue file.
std::string oneLine(std::string_view v) {
  std::string out;
  out.reserve(std::min<std::size_t>(v.size(), 2000));
  for (const char c : v) {
    if (out.size() >= 2000) break;
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7F ? '?' : c);
  }
  return out;
}

std::string entryHeader(const SpoolEntry& e, std::size_t messageSize) {
  std::string h;
  h.reserve(256 + 64 * e.envelope.recipients.size());
  h += kMagic;
  h += "\nid: " + oneLine(e.id);
  h += "\nreceived: " + std::to_string(e.receivedAt);
  h += "\nattempts: " + std::to_string(e.attempts);
  h += "\nnext: " + std::to_string(e.nextAttempt);
  h += "\nhelo: " + oneLine(e.envelope.helo);
  h += "\nclient: " + oneLine(e.envelope.client);
  h += std::string("\nesmtp: ") + (e.envelope.esmtp ? "1" : "0");
  h += "\nfrom: " + oneLine(e.envelope.sender);
  for (const auto& r : e.envelope.recipients) h += "\nto: " + oneLine(r);
  h += "\nnote: " + oneLine(e.note);
  h += "\nsize: " + std::to_string(messageSize);
  h += "\n\n";
  return h;
}

template <typename T>
bool parseNumber(std::string_view v, T& out) {
  if (v.empty()) return false;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && end == v.data() + v.size();
}

Status statusForErrno(int err) {
  return err == ENOSPC || err == EDQUOT ? Status::SpoolFull : Status::SpoolIoError;
}

bool isOriginalId(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

}  // namespace

std::string_view queueName(Queue queue) {
  switch (queue) {
    case Queue::Incoming: return "incoming";
    case Queue::Outgoing: return "outgoing";
    case Queue::Deferred: return "deferred";
    case Queue::Held: return "held";
    case Queue::Corrupt: return "corrupt";
  }
  return "corrupt";
}

std::string serializeEntry(const SpoolEntry& entry) {
  return entryHeader(entry, entry.message.size()) + entry.message;
}

bool parseEntry(std::string_view data, SpoolEntry& entry, std::string& error) {
  const auto end = data.substr(0, kMaxHeaderSection).find("\n\n");
  if (end == std::string_view::npos) {
    error = "no end of the header section within 1 MiB";
    return false;
  }
  std::string_view header = data.substr(0, end + 1);
  const std::string_view body = data.substr(end + 2);
  entry = SpoolEntry{};
  bool first = true;
  bool haveId = false;
  bool haveSize = false;
  std::uint64_t size = 0;
  while (!header.empty()) {
    const auto nl = header.find('\n');
    const std::string_view line = header.substr(0, nl);
    header.remove_prefix(nl + 1);
    if (first) {
      if (line != kMagic) {
        error = "not a Mugai queue file (bad first line)";
        return false;
      }
      first = false;
      continue;
    }
    const auto colon = line.find(": ");
    if (colon == std::string_view::npos) {
      error = "malformed header line";
      return false;
    }
    const std::string_view key = line.substr(0, colon);
    const std::string_view value = line.substr(colon + 2);
    bool ok = true;
    if (key == "id") {
      ok = isQueueId(value);
      entry.id = value;
      haveId = true;
    } else if (key == "received") {
      ok = parseNumber(value, entry.receivedAt);
    } else if (key == "attempts") {
      ok = parseNumber(value, entry.attempts);
    } else if (key == "next") {
      ok = parseNumber(value, entry.nextAttempt);
    } else if (key == "helo") {
      entry.envelope.helo = value;
    } else if (key == "client") {
      entry.envelope.client = value;
    } else if (key == "esmtp") {
      ok = value == "0" || value == "1";
      entry.envelope.esmtp = value == "1";
    } else if (key == "from") {
      entry.envelope.sender = value;
    } else if (key == "to") {
      ok = !value.empty();
      entry.envelope.recipients.emplace_back(value);
    } else if (key == "note") {
      entry.note = value;
    } else if (key == "size") {
      ok = parseNumber(value, size);
      haveSize = true;
    } else {
      error = "unknown header '" + oneLine(key.substr(0, 40)) + "'";
      return false;
    }
    if (!ok) {
      error = "bad value for '" + std::string(key) + "'";
      return false;
    }
  }
  if (first || !haveId || !haveSize) {
    error = "missing id or size";
    return false;
  }
  if (entry.envelope.recipients.empty()) {
    error = "no recipient";
    return false;
  }
  if (body.size() != size) {
    error = "message is " + std::to_string(body.size()) + " octets, header says " +
            std::to_string(size) + " (truncated?)";
    return false;
  }
  entry.message.assign(body);
  return true;
}

bool isQueueId(std::string_view id) {
  return id.size() == 20 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
         });
}

int FileOps::openFile(const char* path, int flags, mode_t mode) {
  return ::open(path, flags, mode);
}
ssize_t FileOps::writeSome(int fd, const void* data, std::size_t size) {
  return ::write(fd, data, size);
}
int FileOps::syncFile(int fd) { return ::fsync(fd); }
int FileOps::closeFile(int fd) { return ::close(fd); }
int FileOps::renameFile(const char* from, const char* to) { return ::rename(from, to); }

Spool::Spool(fs::path root, FileOps* ops)
    : root_(std::move(root)), ops_(ops ? ops : &defaultOps_) {}

Spool::~Spool() {
  if (lockFd_ >= 0) ::close(lockFd_);  // releases the flock
}

bool Spool::tryLock(long& holder) {
  holder = 0;
  if (lockFd_ >= 0) return true;
  const fs::path path = root_ / "lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error(path.string() + ": cannot open: " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n > 0) std::from_chars(buf, buf + n, holder);
    ::close(fd);
    return false;
  }
  // The PID is only a hint for `mugai queue flush`; the flock itself is the lock, and the kernel
  // drops it when the holder dies, so a stale PID is harmless.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    ::close(fd);
    throw std::runtime_error(path.string() + ": cannot write: " + std::strerror(errno));
  }
  lockFd_ = fd;
  return true;
}

void Spool::open() {
  for (const char* dir : {"tmp", "incoming", "outgoing", "deferred", "held", "corrupt",
                          "originals", "reports"}) {
    const fs::path p = root_ / dir;
    std::error_code ec;
    fs::create_directories(p, ec);
    if (ec || !fs::is_directory(p)) {
      throw std::runtime_error(p.string() + ": cannot create spool directory: " + ec.message());
    }
    fs::permissions(p, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
}

fs::path Spool::pathOf(Queue queue, const std::string& id) const {
  return root_ / queueName(queue) / id;
}

std::string Spool::newId() {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  const std::uint64_t n = counter_.fetch_add(1) & 0xFFFFFFF;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%013llX%07llX",
                static_cast<unsigned long long>(us) & 0xFFFFFFFFFFFFFull,
                static_cast<unsigned long long>(n));
  return buf;
}

Status Spool::syncDirectory(const fs::path& dir) {
  const int fd = ops_->openFile(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) return statusForErrno(errno);
  if (ops_->syncFile(fd) != 0) {
    const int err = errno;
    ops_->closeFile(fd);
    return statusForErrno(err);
  }
  ops_->closeFile(fd);
  return Status::Ok;
}

Status Spool::writeDurably(const fs::path& target, std::string_view a, std::string_view b) {
  const fs::path tmp = root_ / "tmp" /
                       (target.filename().string() + "." + std::to_string(counter_.fetch_add(1)));
  const int fd = ops_->openFile(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return statusForErrno(errno);
  const auto fail = [&](int err, bool open) {
    if (open) ops_->closeFile(fd);
    ::unlink(tmp.c_str());
    return statusForErrno(err);
  };
  for (std::string_view part : {a, b}) {
    while (!part.empty()) {
      const ssize_t n = ops_->writeSome(fd, part.data(), part.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fail(n < 0 ? errno : EIO, true);
      part.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  if (ops_->syncFile(fd) != 0) return fail(errno, true);
  if (ops_->closeFile(fd) != 0) return fail(errno, false);
  if (ops_->renameFile(tmp.c_str(), target.c_str()) != 0) return fail(errno, false);
  // The file is in place; if the directory fsync fails, the name may not survive a crash, so
  // the caller must not acknowledge it. The file stays: delivering it is at worst a duplicate.
  return syncDirectory(target.parent_path());
}

CommitResult Spool::commit(const Envelope& envelope, std::string_view message) {
  SpoolEntry entry;
  entry.id = newId();
  entry.envelope = envelope;
  entry.receivedAt = static_cast<std::int64_t>(std::time(nullptr));
  const Status s = writeDurably(pathOf(Queue::Incoming, entry.id),
                                entryHeader(entry, message.size()), message);
  if (s != Status::Ok) return {s, {}};
  return {Status::Queued, entry.id};
}

Status Spool::store(Queue queue, const SpoolEntry& entry) {
  if (!isQueueId(entry.id)) return Status::SpoolIoError;
  return writeDurably(pathOf(queue, entry.id), entryHeader(entry, entry.message.size()),
                      entry.message);
}

Status Spool::move(const std::string& id, Queue from, Queue to) {
  if (!isQueueId(id)) return Status::SpoolIoError;
  if (ops_->renameFile(pathOf(from, id).c_str(), pathOf(to, id).c_str()) != 0) {
    return statusForErrno(errno);
  }
  const Status s = syncDirectory(root_ / queueName(to));
  if (s != Status::Ok) return s;
  return syncDirectory(root_ / queueName(from));
}

bool Spool::remove(Queue queue, const std::string& id) {
  if (!isQueueId(id)) return false;
  return ::unlink(pathOf(queue, id).c_str()) == 0;
}

bool Spool::exists(Queue queue, const std::string& id) const {
  std::error_code ec;
  return isQueueId(id) && fs::exists(pathOf(queue, id), ec);
}

std::optional<SpoolEntry> Spool::load(Queue queue, const std::string& id,
                                      std::string& error) const {
  if (!isQueueId(id)) {
    error = "not a queue ID";
    return std::nullopt;
  }
  std::ifstream in(pathOf(queue, id), std::ios::binary);
  if (!in) {
    error = "cannot open";
    return std::nullopt;
  }
  std::string data;
  std::error_code ec;
  if (const auto size = fs::file_size(pathOf(queue, id), ec); !ec) data.reserve(size);
  data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) {
    error = "read error";
    return std::nullopt;
  }
  SpoolEntry entry;
  if (!parseEntry(data, entry, error)) return std::nullopt;
  if (entry.id != id) {
    error = "file name and id header differ";
    return std::nullopt;
  }
  return entry;
}

std::vector<std::string> Spool::list(Queue queue) const {
  std::vector<std::string> ids;
  std::error_code ec;
  for (fs::directory_iterator it(root_ / queueName(queue), ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (isQueueId(name)) ids.push_back(name);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Status Spool::storeOriginal(const std::string& originalId, std::string_view message) {
  if (!isOriginalId(originalId)) return Status::SpoolIoError;
  const fs::path target = root_ / "originals" / (originalId + ".eml");
  std::error_code ec;
  if (fs::exists(target, ec)) return Status::Ok;  // same ID, same bytes
  return writeDurably(target, {}, message);
}

bool Spool::storeReport(const std::string& id, std::string_view json) {
  if (!isQueueId(id)) return false;
  std::ofstream out(root_ / "reports" / (id + ".json"), std::ios::binary | std::ios::trunc);
  out.write(json.data(), static_cast<std::streamsize>(json.size()));
  return static_cast<bool>(out);
}

Spool::Recovery Spool::recover(const std::function<void(const std::string&)>& log) {
  Recovery r;
  std::error_code ec;
  for (fs::directory_iterator it(root_ / "tmp", ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code rmEc;
    if (fs::remove(it->path(), rmEc)) ++r.tempRemoved;
  }
  const auto setAside = [&](Queue queue, const std::string& name, const std::string& why) {
    ++r.corrupt;
    fs::path dest = root_ / "corrupt" / (std::string(queueName(queue)) + "-" + name);
    for (int i = 1; fs::exists(dest, ec) && i < 1000; ++i) {
      dest = root_ / "corrupt" / (std::string(queueName(queue)) + "-" + name + "." +
                                  std::to_string(i));
    }
    const fs::path src = root_ / queueName(queue) / name;
    if (ops_->renameFile(src.c_str(), dest.c_str()) == 0) {
      syncDirectory(root_ / "corrupt");
      log("CORRUPT spool file " + src.string() + " moved to " + dest.string() + ": " + why);
    } else {
      log("CORRUPT spool file " + src.string() + " (" + why + ") could not be moved aside: " +
          std::strerror(errno));
    }
  };
  const auto scan = [&](Queue queue, std::vector<std::string>* out) {
    std::vector<std::string> names;
    for (fs::directory_iterator it(root_ / queueName(queue), ec), end; !ec && it != end;
         it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      if (!isQueueId(name)) {
        setAside(queue, name, "not a queue file name");
        continue;
      }
      if (queue == Queue::Incoming && (exists(Queue::Outgoing, name) ||
                                       exists(Queue::Deferred, name) ||
                                       exists(Queue::Held, name))) {
        // The worker finished (its result is durable) but crashed before removing the input.
        if (remove(Queue::Incoming, name)) ++r.staleIncoming;
        continue;
      }
      std::string error;
      if (!load(queue, name, error)) {
        setAside(queue, name, error);
        continue;
      }
      if (out) out->push_back(name);
    }
  };
  scan(Queue::Outgoing, &r.outgoing);
  scan(Queue::Deferred, &r.deferred);
  scan(Queue::Held, nullptr);
  scan(Queue::Incoming, &r.incoming);
  return r;
}

}  // namespace mugai::relay
