// See header_encode.h. Decoding uses our charset module rather than GMime's iconv wrapper,
// because Japanese subjects in ISO-2022-JP routinely carry half-width kana and vendor
// characters that a strict ISO-2022-JP decoder turns into garbage.
#include "core/header_encode.h"

#include <glib.h>

#include <algorithm>

#include "core/charset.h"
#include "core/text_util.h"

namespace mugai::core {
namespace {

constexpr std::size_t kFoldAt = 78;

using text::isAscii;

std::string base64(std::string_view raw) {
  gchar* enc = g_base64_encode(reinterpret_cast<const guchar*>(raw.data()), raw.size());
  std::string out(enc);
  g_free(enc);
  return out;
}

// Length of the UTF-8 sequence starting with lead byte c (1 for invalid leads, which the caller
// has already repaired away).
std::size_t seqLen(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) return 2;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0) return 4;
  return 1;
}

bool isAtext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

std::string percentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        c == '.' || c == '-' || c == '_') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

namespace {

// Q encoding of `bytes` for an encoded-word in any header context (RFC 2047 section 5 (3)):
// only letters, digits and "!*+-/" stay literal; space becomes "_".
std::string qEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (g_ascii_isalnum(ch) || std::string_view("!*+-/").find(ch) != std::string_view::npos) {
      out += ch;
    } else if (ch == ' ') {
      out += '_';
    } else {
      out += '=';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

constexpr std::size_t kWordOverhead = 12;  // "=?UTF-8?B?" + "?="

}  // namespace

std::vector<std::string> encodedWords(std::string_view utf8, std::size_t firstWordMax) {
  // GMime (and readers built on it) join the base64 text of adjacent B-words in one charset
  // before decoding and stop at padding, so every B-word but the last carries a multiple of 3
  // octets. Where no character boundary allows that within one word (a 4-byte character
  // followed by a long run of 3-byte ones), the word is Q-encoded instead: a Q-word after a
  // padded B-word restarts decoding cleanly in GMime.
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < utf8.size()) {
    const std::size_t maxLen =
        std::max<std::size_t>(words.empty() ? firstWordMax : kMaxWordLen, kWordOverhead + 8);
    const std::size_t maxPayload = (maxLen - kWordOverhead) / 4 * 3;
    std::size_t end = i;
    std::size_t lastMultipleOf3 = i;
    while (end < utf8.size()) {
      const std::size_t n = seqLen(static_cast<unsigned char>(utf8[end]));
      if (end + n - i > maxPayload) break;
      end += n;
      if ((end - i) % 3 == 0) lastMultipleOf3 = end;
    }
    if (end == i) end = std::min(utf8.size(), i + 1);  // unreachable with repaired input
    if (end == utf8.size() || lastMultipleOf3 > i) {
      if (end != utf8.size()) end = lastMultipleOf3;
      words.push_back("=?UTF-8?B?" + base64(utf8.substr(i, end - i)) + "?=");
      i = end;
      continue;
    }
    std::size_t qEnd = i;
    std::string q;
    while (qEnd < utf8.size()) {
      const std::size_t n = seqLen(static_cast<unsigned char>(utf8[qEnd]));
      std::string more = qEncode(utf8.substr(qEnd, n));
      if (q.size() + more.size() + kWordOverhead > maxLen && qEnd > i) break;
      q += more;
      qEnd += n;
    }
    words.push_back("=?UTF-8?Q?" + q + "?=");
    i = qEnd;
  }
  return words;
}

std::string foldedField(std::string_view name, const std::vector<std::string>& tokens,
                        std::string_view separator) {
  std::string out(name);
  out += ':';
  std::size_t lineLen = out.size();
  const bool commaSep = !separator.empty() && separator.front() == ',';
  for (std::size_t k = 0; k < tokens.size(); ++k) {
    const std::string& t = tokens[k];
    if (k == 0) {
      out += ' ';
      out += t;
      lineLen += 1 + t.size();
      continue;
    }
    const std::size_t joined = separator.size() + t.size();
    if (lineLen + joined > kFoldAt) {
      if (commaSep) out += ',';
      out += "\r\n ";
      out += t;
      lineLen = 1 + t.size();
    } else {
      out += separator;
      out += t;
      lineLen += joined;
    }
  }
  out += "\r\n";
  return out;
}

std::string unstructuredField(std::string_view name, std::string_view utf8) {
  // Split into words that carry their leading white space, so folds sit before white space.
  std::vector<std::string> pieces;
  // Control characters (CR and LF above all) are never written raw: encoded, they cannot start
  // a new header field.
  bool needsEncoding = !isAscii(utf8) || utf8.find("=?") != std::string_view::npos ||
                       std::any_of(utf8.begin(), utf8.end(), [](char c) {
                         return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
                       });
  std::size_t i = 0;
  while (i < utf8.size() && !needsEncoding) {
    std::size_t j = i;
    while (j < utf8.size() && (utf8[j] == ' ' || utf8[j] == '\t')) ++j;
    while (j < utf8.size() && utf8[j] != ' ' && utf8[j] != '\t') ++j;
    pieces.emplace_back(utf8.substr(i, j - i));
    if (pieces.back().size() > kFoldAt - name.size() - 2) needsEncoding = true;
    i = j;
  }
  if (needsEncoding) {
    const std::size_t firstLine = name.size() + 2;  // "Subject: "
    return foldedField(name, encodedWords(utf8, kFoldAt > firstLine ? kFoldAt - firstLine : 0),
                       " ");
  }
  std::string out(name);
  out += ':';
  std::size_t lineLen = out.size();
  for (std::size_t k = 0; k < pieces.size(); ++k) {
    const std::string& p = pieces[k];
    const bool startsWithSpace = !p.empty() && (p.front() == ' ' || p.front() == '\t');
    if (k == 0) {
      // The first word keeps whatever white space it had after the colon, plus the usual one.
      out += ' ';
      out += p;
      lineLen += 1 + p.size();
    } else if (startsWithSpace && lineLen + p.size() > kFoldAt) {
      out += "\r\n";
      out += p;
      lineLen = p.size();
    } else {
      out += p;
      lineLen += p.size();
    }
  }
  out += "\r\n";
  return out;
}

std::vector<std::string> phraseTokens(std::string_view utf8) {
  if (utf8.empty()) return {};
  // The first word may share its line with the longest address field name ("Reply-To: ").
  constexpr std::size_t kFirstPhraseWord = kFoldAt - 10;
  if (!isAscii(utf8) || utf8.find("=?") != std::string_view::npos) {
    return encodedWords(utf8, kFirstPhraseWord);
  }
  std::vector<std::string> atoms;
  bool allAtoms = true;
  std::size_t i = 0;
  while (i < utf8.size()) {
    const auto sp = utf8.find(' ', i);
    const auto word = utf8.substr(i, sp == std::string_view::npos ? sp : sp - i);
    if (word.empty() || !std::all_of(word.begin(), word.end(), isAtext)) allAtoms = false;
    atoms.emplace_back(word);
    if (sp == std::string_view::npos) break;
    i = sp + 1;
  }
  if (allAtoms) return atoms;
  const std::string q = quoted(utf8);
  if (q.size() > kFoldAt - 10) return encodedWords(utf8, kFirstPhraseWord);
  return {q};
}

std::vector<std::string> filenameParam(std::string_view attribute, std::string_view utf8) {
  const bool plain = isAscii(utf8) && utf8.size() <= 60 &&
                     std::all_of(utf8.begin(), utf8.end(), [](char c) {
                       return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
                     });
  if (plain) return {std::string(attribute) + "=" + quoted(utf8)};
  // RFC 2231 continuations: each piece carries at most ~60 characters of percent-encoding and
  // never splits a percent triplet or a UTF-8 sequence.
  std::vector<std::string> pieces;
  std::size_t i = 0;
  int n = 0;
  while (i < utf8.size()) {
    std::size_t end = i;
    std::size_t encodedLen = 0;
    while (end < utf8.size()) {
      const std::size_t len = seqLen(static_cast<unsigned char>(utf8[end]));
      const std::size_t add = percentEncode(utf8.substr(end, len)).size();
      if (encodedLen + add > 54 && end > i) break;
      encodedLen += add;
      end += len;
    }
    std::string piece = std::string(attribute) + "*" + std::to_string(n) + "*=";
    if (n == 0) piece += "UTF-8''";
    piece += percentEncode(utf8.substr(i, end - i));
    pieces.push_back(std::move(piece));
    i = end;
    ++n;
  }
  for (std::size_t k = 0; k + 1 < pieces.size(); ++k) pieces[k] += ';';
  return pieces;
}

std::vector<std::string> nameParam(std::string_view utf8) {
  const bool plain = isAscii(utf8) && utf8.size() <= 60 && utf8.find("=?") == std::string_view::npos &&
                     std::all_of(utf8.begin(), utf8.end(), [](char c) {
                       return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
                     });
  if (plain) return {"name=" + quoted(utf8)};
  // The first word shares its continuation line with ` name="`.
  auto words = encodedWords(utf8, kFoldAt - 7);
  words.front() = "name=\"" + words.front();
  words.back() += '"';
  return words;
}

namespace {

// Decodes the payload of one encoded-word to its raw bytes; false when it is malformed.
bool decodePayload(char enc, std::string_view text, std::string& raw) {
  if (enc == 'B' || enc == 'b') {
    std::string padded(text);
    while (padded.size() % 4 != 0) padded += '=';
    for (const char c : padded) {
      if (!(g_ascii_isalnum(c) || c == '+' || c == '/' || c == '=')) return false;
    }
    gsize len = 0;
    guchar* bytes = g_base64_decode(padded.c_str(), &len);
    raw.assign(reinterpret_cast<const char*>(bytes), len);
    g_free(bytes);
    return true;
  }
  if (enc == 'Q' || enc == 'q') {
    for (std::size_t i = 0; i < text.size(); ++i) {
      const char c = text[i];
      if (c == '_') {
        raw += ' ';
      } else if (c == '=' && i + 2 < text.size() && g_ascii_isxdigit(text[i + 1]) &&
                 g_ascii_isxdigit(text[i + 2])) {
        raw += static_cast<char>(g_ascii_xdigit_value(text[i + 1]) * 16 +
                                 g_ascii_xdigit_value(text[i + 2]));
        i += 2;
      } else {
        raw += c;
      }
    }
    return true;
  }
  return false;
}

// RFC 2047 caps an encoded-word at 75 octets; lenient readers accept longer ones, we stop at
// this many, so that looking for the end of a word is bounded and decoding stays linear.
constexpr std::size_t kMaxWordScan = 1024;

}  // namespace

std::string decodeHeaderText(std::string_view raw) {
  std::string out;
  std::string pendingSpace;  // white space between two encoded-words is dropped
  bool lastWasEncoded = false;
  std::size_t i = 0;
  std::string plain;  // undecoded run, decoded by detection when flushed
  // Adjacent encoded-words of one charset are joined as bytes before decoding: mailers split a
  // character (or an ISO-2022-JP run after its escape) across words.
  std::string wordBytes;
  std::string wordCharset;
  const auto flushWords = [&] {
    if (wordCharset.empty() && wordBytes.empty()) return;
    out += decodeToUtf8(wordBytes, wordCharset).utf8;
    wordBytes.clear();
    wordCharset.clear();
  };
  const auto flushPlain = [&] {
    if (plain.empty()) return;
    flushWords();
    // Raw 8-bit text, or raw 7-bit ISO-2022-JP (it starts with ESC), is decoded by detection.
    const bool undecoded = !isAscii(plain) || plain.find('\x1b') != std::string::npos;
    out += undecoded ? decodeToUtf8(plain, "").utf8 : plain;
    plain.clear();
  };
  while (i < raw.size()) {
    if (raw.compare(i, 2, "=?") == 0) {
      const std::string_view window = raw.substr(i, kMaxWordScan);
      const auto q1 = window.find('?', 2);
      const auto q2 = q1 == std::string_view::npos ? q1 : window.find('?', q1 + 1);
      const auto endw = q2 == std::string_view::npos ? q2 : window.find("?=", q2 + 1);
      std::string bytes;
      if (endw != std::string_view::npos && q2 == q1 + 2 &&
          decodePayload(window[q1 + 1], window.substr(q2 + 1, endw - q2 - 1), bytes)) {
        // RFC 2231 language suffix: "ISO-2022-JP*ja".
        std::string charset(window.substr(2, q1 - 2).substr(0, window.substr(2, q1 - 2).find('*')));
        for (char& c : charset) c = g_ascii_toupper(c);
        if (!lastWasEncoded) plain += pendingSpace;
        pendingSpace.clear();
        flushPlain();
        if (charset != wordCharset) flushWords();
        wordCharset = charset;
        wordBytes += bytes;
        lastWasEncoded = true;
        i += endw + 2;
        continue;
      }
    }
    const char c = raw[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (c == ' ' || c == '\t') pendingSpace += c;
      ++i;
      continue;
    }
    plain += pendingSpace;
    pendingSpace.clear();
    plain += c;
    lastWasEncoded = false;
    ++i;
  }
  if (!lastWasEncoded) plain += pendingSpace;
  flushPlain();
  flushWords();
  repairUtf8(out);
  return out;
}

}  // namespace mugai::core
