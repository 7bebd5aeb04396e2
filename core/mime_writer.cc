// See mime_writer.h. The choice of transfer encoding: 7bit for ASCII text with reasonable
// lines (readable on the wire, what Japanese ISO-2022-JP mail traditionally uses),
// quoted-printable for mostly-ASCII text, base64 for the rest and for every non-text leaf.
// Because QP and base64 never produce "=_", a boundary starting with "=_" cannot collide with
// encoded content; 7bit text is checked explicitly.
#include "core/mime_writer.h"

#include <glib.h>

#include <algorithm>

#include "core/digest.h"
#include "core/header_encode.h"

namespace mugai::core {
namespace {

bool endsWithCrlf(std::string_view s) { return s.size() >= 2 && s.substr(s.size() - 2) == "\r\n"; }

std::string toCrlf(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 32);
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  return out;
}

struct TextShape {
  bool ascii = true;
  std::size_t nonAscii = 0;
  std::size_t maxLine = 0;
  bool hasNul = false;
};

TextShape shapeOf(std::string_view crlf) {
  TextShape s;
  std::size_t line = 0;
  for (std::size_t i = 0; i < crlf.size(); ++i) {
    const auto c = static_cast<unsigned char>(crlf[i]);
    if (c == '\r' && i + 1 < crlf.size() && crlf[i + 1] == '\n') {
      s.maxLine = std::max(s.maxLine, line);
      line = 0;
      ++i;
      continue;
    }
    if (c >= 0x80) {
      s.ascii = false;
      ++s.nonAscii;
    }
    if (c == 0 || c == '\r' || c == '\n') s.hasNul = true;  // bare CR/LF or NUL: not 7bit-safe
    ++line;
  }
  s.maxLine = std::max(s.maxLine, line);
  return s;
}

class Writer {
 public:
  Writer(std::string_view seed, std::size_t maxLine) : seed_(seed), maxLine_(maxLine) {}

  void message(const OutMessage& m, const std::string& path, std::string& out) {
    for (const auto& f : m.fields) out += f;
    out += "MIME-Version: 1.0\r\n";
    entity(m.body, path, out);
  }

 private:
  std::string boundaryFor(const std::string& path) const {
    return "=_mugai_" + sha256Hex(std::string(seed_) + "/" + path).substr(0, 32);
  }

  void dispositionFields(const OutEntity& e, std::string& out) {
    if (e.filename.empty() && !e.attachment) return;
    std::vector<std::string> tokens{std::string(e.attachment ? "attachment" : "inline") +
                                    (e.filename.empty() ? "" : ";")};
    if (!e.filename.empty()) {
      for (auto& t : filenameParam("filename", e.filename)) tokens.push_back(std::move(t));
    }
    out += foldedField("Content-Disposition", tokens, " ");
  }

  // Content-Type with its parameters; a parameter may span several tokens (a quoted run of
  // encoded-words), and ';' goes after the last token of every parameter but the final one.
  void typeField(const OutEntity& e, const std::vector<std::string>& extra, std::string& out) {
    std::vector<std::vector<std::string>> params{{e.type}};
    if (!e.charset.empty()) params.push_back({"charset=" + e.charset});
    for (const auto& x : extra) params.push_back({x});
    if (!e.filename.empty()) params.push_back(nameParam(e.filename));
    std::vector<std::string> tokens;
    for (std::size_t p = 0; p < params.size(); ++p) {
      for (auto& t : params[p]) tokens.push_back(std::move(t));
      if (p + 1 < params.size()) tokens.back() += ';';
    }
    out += foldedField("Content-Type", tokens, " ");
  }

  void entity(const OutEntity& e, const std::string& path, std::string& out) {
    if (e.type.rfind("multipart/", 0) == 0) {
      std::string inner;
      std::vector<std::string> parts;
      for (std::size_t i = 0; i < e.children.size(); ++i) {
        std::string child;
        entity(e.children[i], path + "." + std::to_string(i + 1), child);
        parts.push_back(std::move(child));
      }
      std::string boundary = boundaryFor(path);
      for (int bump = 1; std::any_of(parts.begin(), parts.end(), [&](const std::string& p) {
             return p.find(boundary) != std::string::npos;
           });
           ++bump) {
        boundary = boundaryFor(path + "#" + std::to_string(bump));
      }
      typeField(e, {"boundary=\"" + boundary + "\""}, out);
      out += "\r\n";
      for (const auto& p : parts) {
        out += "--" + boundary + "\r\n";
        out += p;
        out += "\r\n";
      }
      out += "--" + boundary + "--\r\n";
      return;
    }
    if (e.type == "message/rfc822" && e.message) {
      typeField(e, {}, out);
      dispositionFields(e, out);
      out += "Content-Transfer-Encoding: 7bit\r\n\r\n";
      message(*e.message, path + ".m", out);
      return;
    }
    typeField(e, {}, out);
    dispositionFields(e, out);
    const bool text = e.type.rfind("text/", 0) == 0;
    if (!text) {
      out += "Content-Transfer-Encoding: base64\r\n\r\n";
      out += base64Lines(e.body);
      return;
    }
    const std::string crlf = toCrlf(e.body);
    const TextShape shape = shapeOf(crlf);
    if (shape.ascii && !shape.hasNul && shape.maxLine <= maxLine_ &&
        crlf.find("--=_mugai_") == std::string::npos) {
      out += "Content-Transfer-Encoding: 7bit\r\n\r\n";
      out += crlf;
      if (!crlf.empty() && !endsWithCrlf(crlf)) out += "\r\n";
    } else if (!shape.hasNul && shape.nonAscii * 5 < crlf.size()) {
      out += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
      out += quotedPrintable(crlf);
    } else {
      out += "Content-Transfer-Encoding: base64\r\n\r\n";
      out += base64Lines(crlf);
    }
  }

  std::string_view seed_;
  std::size_t maxLine_;
};

}  // namespace

std::string base64Lines(std::string_view data) {
  std::string out;
  gchar* enc = g_base64_encode(reinterpret_cast<const guchar*>(data.data()), data.size());
  const std::string_view all(enc);
  out.reserve(all.size() + all.size() / 38 + 2);
  for (std::size_t i = 0; i < all.size(); i += 76) {
    out.append(all.substr(i, 76));
    out += "\r\n";
  }
  g_free(enc);
  return out;
}

std::string quotedPrintable(std::string_view crlfText) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(crlfText.size() * 11 / 10 + 8);
  std::size_t lineLen = 0;
  const auto emit = [&](std::string_view piece) {
    if (lineLen + piece.size() > 75) {  // leave room for the soft break '='
      out += "=\r\n";
      lineLen = 0;
    }
    out.append(piece);
    lineLen += piece.size();
  };
  for (std::size_t i = 0; i < crlfText.size(); ++i) {
    const auto c = static_cast<unsigned char>(crlfText[i]);
    if (c == '\r' && i + 1 < crlfText.size() && crlfText[i + 1] == '\n') {
      out += "\r\n";
      lineLen = 0;
      ++i;
      continue;
    }
    const bool atLineEnd = i + 1 == crlfText.size() ||
                           crlfText[i + 1] == '\r';
    // A literal character that does not fit on this line starts the next one, after the soft
    // break: it is at a line start then too.
    const bool atLineStart = lineLen == 0 || lineLen + 1 > 75;
    const bool lineStartHazard =
        atLineStart && (c == '.' || (c == 'F' && crlfText.substr(i, 5) == "From "));
    const bool encode = c == '=' || c >= 0x7f || (c < 0x20 && c != '\t') ||
                        ((c == ' ' || c == '\t') && atLineEnd) || lineStartHazard;
    if (encode) {
      const char buf[3] = {'=', kHex[c >> 4], kHex[c & 15]};
      emit(std::string_view(buf, 3));
    } else {
      const char ch = static_cast<char>(c);
      emit(std::string_view(&ch, 1));
    }
  }
  if (!out.empty() && !endsWithCrlf(out)) out += "\r\n";
  return out;
}

std::string writeMessage(const OutMessage& msg, std::string_view seed, std::size_t maxLine) {
  std::string out;
  Writer(seed, std::min<std::size_t>(maxLine, 998)).message(msg, "1", out);
  return out;
}

}  // namespace mugai::core
