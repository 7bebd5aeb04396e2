// Attachment rebuild throughput: Mugai's rebuilders against a naive rewrite of the same files,
// interleaved in one run on one thread (see bench/README.md and bench/attachments.sh).
//
//   attachment_bench REPS FILE...
//
// For each file, REPS rounds of: core::sanitizeFile (sniff, policy, rebuilder, archive members
// dispatched) and the naive rewrite. The naive rewrite of a zip container (docx/xlsx/pptx/zip) is
// "recompress every entry at level 6": libzip reads every entry and writes a new archive in
// memory with deflate level 6. For a PDF it is qpdf reading the file and writing it again with
// default settings (parse everything, write everything). Per kind, prints files/s of both by
// CPU time of this thread and their ratio (mugai / naive; > 1 means Mugai is faster).
//
// For Office files it also times libxml2 alone parsing every XML part of the file into a tree
// (the parts extracted beforehand, untimed; the rebuilder's parser options) and prints that
// as "parse f/s" and "ceiling" = parse / naive: no rebuild that parses each part into a tree
// can be faster than its parse, so `ceiling` bounds the ratio such a rebuild can reach.
// qpdf 11: use std::shared_ptr, not its deprecated PointerHolder (as sanitizers/pdf does).
#define POINTERHOLDER_TRANSITION 4
#include <qpdf/Buffer.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFWriter.hh>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <zip.h>

#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/pipeline.h"
#include "core/policy.h"
#include "sanitizers/ooxml/xml_serialize.h"

namespace {

double cpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string readFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string kindOf(const std::string& path) {
  const auto dot = path.rfind('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  if (ext == "docm" || ext == "dotx") return "docx";
  if (ext == "xlsm" || ext == "xltx") return "xlsx";
  if (ext == "pptm" || ext == "potx" || ext == "ppsx") return "pptx";
  return ext;
}

// Every entry read and written again at deflate level 6; returns the new archive's size.
std::size_t naiveZip(const std::string& bytes) {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &err);
  zip_t* in = src ? zip_open_from_source(src, ZIP_RDONLY, &err) : nullptr;
  if (!in) {
    if (src) zip_source_free(src);
    zip_error_fini(&err);
    return 0;
  }
  zip_source_t* outSrc = zip_source_buffer_create(nullptr, 0, 0, &err);
  zip_source_keep(outSrc);
  zip_t* out = zip_open_from_source(outSrc, ZIP_TRUNCATE, &err);
  std::vector<std::unique_ptr<std::string>> keep;
  const zip_int64_t n = zip_get_num_entries(in, 0);
  for (zip_int64_t i = 0; i < n && out; ++i) {
    zip_stat_t st;
    if (zip_stat_index(in, static_cast<zip_uint64_t>(i), 0, &st) != 0) continue;
    zip_file_t* f = zip_fopen_index(in, static_cast<zip_uint64_t>(i), 0);
    if (!f) continue;
    auto data = std::make_unique<std::string>(st.size, '\0');
    const zip_int64_t got = zip_fread(f, data->data(), st.size);
    zip_fclose(f);
    if (got < 0) continue;
    data->resize(static_cast<std::size_t>(got));
    zip_source_t* s = zip_source_buffer(out, data->data(), data->size(), 0);
    const zip_int64_t idx = zip_file_add(out, st.name, s, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
      zip_source_free(s);
      continue;
    }
    zip_set_file_compression(out, static_cast<zip_uint64_t>(idx), ZIP_CM_DEFLATE, 6);
    keep.push_back(std::move(data));
  }
  std::size_t size = 0;
  if (out && zip_close(out) == 0) {
    zip_stat_t st;
    if (zip_source_stat(outSrc, &st) == 0) size = st.size;
  } else if (out) {
    zip_discard(out);
  }
  zip_source_free(outSrc);
  zip_discard(in);
  zip_error_fini(&err);
  return size;
}

// The XML parts (.xml, .rels, .vml) of a zip container, read with libzip.
std::vector<std::string> xmlParts(const std::string& bytes) {
  std::vector<std::string> parts;
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &err);
  zip_t* in = src ? zip_open_from_source(src, ZIP_RDONLY, &err) : nullptr;
  zip_error_fini(&err);
  if (!in) {
    if (src) zip_source_free(src);
    return parts;
  }
  const zip_int64_t n = zip_get_num_entries(in, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    if (zip_stat_index(in, static_cast<zip_uint64_t>(i), 0, &st) != 0) continue;
    const std::string name = st.name;
    if (!name.ends_with(".xml") && !name.ends_with(".rels") && !name.ends_with(".vml")) continue;
    zip_file_t* f = zip_fopen_index(in, static_cast<zip_uint64_t>(i), 0);
    if (!f) continue;
    std::string data(st.size, '\0');
    const zip_int64_t got = zip_fread(f, data.data(), st.size);
    zip_fclose(f);
    if (got == static_cast<zip_int64_t>(st.size)) parts.push_back(std::move(data));
  }
  zip_discard(in);
  return parts;
}

// Parses every part into a tree and frees it, with the OOXML rebuilder's parser options.
std::size_t parseOnly(const std::vector<std::string>& parts) {
  std::size_t nodes = 0;
  for (const std::string& p : parts) {
    xmlDoc* d = xmlReadMemory(p.data(), static_cast<int>(p.size()), nullptr, nullptr,
                              mugai::sanitizers::ooxml::kXmlParseOptions);
    if (d) {
      nodes += xmlDocGetRootElement(d) != nullptr;
      xmlFreeDoc(d);
    }
  }
  return nodes;
}

std::size_t naivePdf(const std::string& bytes) {
  try {
    QPDF q;
    q.setSuppressWarnings(true);
    q.processMemoryFile("in.pdf", bytes.data(), bytes.size());
    QPDFWriter w(q);
    w.setOutputMemory();
    w.write();
    std::unique_ptr<Buffer> b(w.getBuffer());
    return b ? b->getSize() : 0;
  } catch (...) {
    return 0;
  }
}

struct Totals {
  std::size_t files = 0;
  std::size_t rebuilt = 0;
  double mugai = 0;
  double naive = 0;
  double parse = 0;  // Office files: libxml2 parsing the XML parts alone
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: attachment_bench REPS FILE...\n");
    return 2;
  }
  const int reps = std::atoi(argv[1]);
  // ATTACHMENT_BENCH_ONLY=mugai or =naive runs one side only (for perf record; no ratio then).
  const char* only = std::getenv("ATTACHMENT_BENCH_ONLY");
  const bool runMugai = !only || std::string(only) != "naive";
  const bool runNaive = !only || std::string(only) != "mugai";
  const mugai::core::Policy policy = mugai::core::Policy::defaults();
  std::map<std::string, Totals> byKind;
  for (int a = 2; a < argc; ++a) {
    const std::string path = argv[a];
    const std::string bytes = readFile(argv[a]);
    const std::string kind = kindOf(path);
    const bool pdf = kind == "pdf";
    Totals& t = byKind[kind];
    ++t.files;
    // Warm-up, and whether Mugai rebuilds the file at all (a removed file costs little).
    const auto first = mugai::core::sanitizeFile(bytes, path, policy);
    if (first.disposition == mugai::core::Disposition::Rebuilt) ++t.rebuilt;
    (void)(pdf ? naivePdf(bytes) : naiveZip(bytes));
    const bool office = kind == "docx" || kind == "xlsx" || kind == "pptx";
    const std::vector<std::string> parts = office ? xmlParts(bytes) : std::vector<std::string>{};
    for (int r = 0; r < reps; ++r) {
      double t0 = cpuSeconds();
      const auto out = runMugai ? mugai::core::sanitizeFile(bytes, path, policy) : first;
      t.mugai += cpuSeconds() - t0;
      t0 = cpuSeconds();
      const std::size_t size = !runNaive ? 1 : pdf ? naivePdf(bytes) : naiveZip(bytes);
      t.naive += cpuSeconds() - t0;
      if (office && runMugai && runNaive) {
        t0 = cpuSeconds();
        (void)parseOnly(parts);
        t.parse += cpuSeconds() - t0;
      }
      if (size == 0 && out.bytes.empty() && r == 0) {
        std::fprintf(stderr, "note: %s: neither rewrite produced output\n", path.c_str());
      }
    }
  }
  std::printf("%-6s %6s %8s %12s %12s %8s %12s %8s\n", "kind", "files", "rebuilt",
              "mugai f/s", "naive f/s", "ratio", "parse f/s", "ceiling");
  for (const auto& [kind, t] : byKind) {
    const double n = static_cast<double>(t.files) * reps;
    const double m = t.mugai > 0 ? n / t.mugai : 0;
    const double v = t.naive > 0 ? n / t.naive : 0;
    std::printf("%-6s %6zu %8zu %12.1f %12.1f %8.2f", kind.c_str(), t.files, t.rebuilt, m, v,
                v > 0 ? m / v : 0);
    if (t.parse > 0) {
      const double p = n / t.parse;
      std::printf(" %12.1f %8.2f", p, v > 0 ? p / v : 0);
    }
    std::printf("\n");
  }
  return 0;
}
