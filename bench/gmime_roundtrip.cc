// The baseline for bench/sanitize.sh: GMime alone parsing every message file under a directory
// and writing each one back out (g_mime_object_write_to_stream to a null stream).
//
// This is the least any GMime-based rebuilder must do, so `mugai sanitize` throughput divided by
// this program's throughput says how much Mugai's own work (sniffing, sanitizers, reconstruction,
// reports) costs on top of MIME parsing. Single-threaded; files are read in sorted path order.
// Prints one summary line: files, bytes, seconds, msgs/s, MB/s (MB = 10^6 bytes).
#include <gmime/gmime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  if (argc != 2) {
    std::fprintf(stderr, "usage: gmime_roundtrip DIR\n");
    return 2;
  }
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(argv[1], ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file()) files.push_back(it->path());
  }
  if (ec) {
    std::fprintf(stderr, "gmime_roundtrip: %s: %s\n", argv[1], ec.message().c_str());
    return 1;
  }
  std::sort(files.begin(), files.end());

  g_mime_init();
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t bytes = 0;
  std::size_t failed = 0;
  for (const auto& path : files) {
    // Read the whole file first, as mugai does, then parse from memory.
    std::ifstream in(path, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bytes += data.size();
    GMimeStream* stream = g_mime_stream_mem_new_with_buffer(data.data(), data.size());
    GMimeParser* parser = g_mime_parser_new_with_stream(stream);
    GMimeMessage* message = g_mime_parser_construct_message(parser, nullptr);
    if (message) {
      GMimeStream* sink = g_mime_stream_null_new();
      if (g_mime_object_write_to_stream(GMIME_OBJECT(message), nullptr, sink) < 0) ++failed;
      g_object_unref(sink);
      g_object_unref(message);
    } else {
      ++failed;
    }
    g_object_unref(parser);
    g_object_unref(stream);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  g_mime_shutdown();

  std::printf("gmime_roundtrip: %zu files, %llu bytes, %.3f s, %.1f msgs/s, %.2f MB/s%s\n",
              files.size(), static_cast<unsigned long long>(bytes), seconds,
              seconds > 0 ? files.size() / seconds : 0.0,
              seconds > 0 ? bytes / seconds / 1e6 : 0.0,
              failed ? " (some files did not parse)" : "");
  return failed ? 1 : 0;
}
