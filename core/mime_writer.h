// The output MIME tree and its serializer.
//
// Reconstruction builds an OutMessage from nothing but sanitized content; this module turns it
// into bytes: CRLF line endings, 7-bit only, lines ≤ 998 octets (≤ 76 in encoded bodies),
// no preamble or epilogue, boundaries derived deterministically from a seed (the input's
// SHA-256) and the part's position, transfer encodings chosen here and nowhere else.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mugai::core {

struct OutMessage;

struct OutEntity {
  std::string type = "text/plain";  ///< lower-case type/subtype
  std::string charset;              ///< for text/* (e.g. "utf-8"); empty otherwise
  std::string filename;             ///< UTF-8 file name; non-empty makes it an attachment
  bool attachment = false;          ///< Content-Disposition: attachment (inline otherwise)
  std::string body;                 ///< leaf content (text: in `charset`, LF or CRLF endings)
  std::vector<OutEntity> children;  ///< for multipart/*
  std::shared_ptr<OutMessage> message;  ///< for message/rfc822
};

struct OutMessage {
  std::vector<std::string> fields;  ///< complete, folded, 7-bit header fields ending in CRLF
  OutEntity body;
};

/// Serializes `msg`. `seed` feeds the boundary derivation (same seed, same bytes). Text with a
/// line longer than `maxLine` octets (at least 78) is written quoted-printable, never as 7bit.
std::string writeMessage(const OutMessage& msg, std::string_view seed,
                         std::size_t maxLine = 998);

/// Base64 with 76-character lines and CRLF endings.
std::string base64Lines(std::string_view data);

/// Quoted-printable (RFC 2045) of text whose line breaks are CRLF; lines ≤ 76 octets.
std::string quotedPrintable(std::string_view crlfText);

}  // namespace mugai::core
