// Writing header fields that are 7-bit, folded, and mean exactly what the input meant.
//
// Everything Mugai writes in a header goes through here: unstructured text (Subject) as
// RFC 2047 encoded-words when it is not plain short ASCII, display names as phrases, MIME
// parameters (file names as RFC 2231 continuations, with an RFC 2047 `name` for older readers).
// Folding inserts CRLF only before white space that is already part of the value, so unfolding
// gives back the exact value. No line exceeds 78 octets unless a single indivisible token
// (a long message ID) requires it, and never 998.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mugai::core {

/// The longest encoded-word RFC 2047 allows.
inline constexpr std::size_t kMaxWordLen = 75;

/// RFC 2047 encoded-words in UTF-8 covering `utf8`: the first at most `firstWordMax` octets
/// (so it fits beside a field name), the others at most 75, never splitting a UTF-8 sequence.
/// "B" words, every one but the last carrying a multiple of 3 octets (no padding inside a run,
/// which readers that join adjacent words would stop at); a "Q" word where no such cut exists.
std::vector<std::string> encodedWords(std::string_view utf8,
                                      std::size_t firstWordMax = kMaxWordLen);

/// A folded unstructured field ("Subject: …\r\n"). Plain ASCII without "=?" and without
/// overlong words is kept as is; anything else becomes encoded-words.
std::string unstructuredField(std::string_view name, std::string_view utf8);

/// A folded field from 7-bit tokens. Tokens are joined with `separator` (" " or ", ");
/// a fold is placed at a separator when the line would pass 78 octets.
std::string foldedField(std::string_view name, const std::vector<std::string>& tokens,
                        std::string_view separator);

/// A display name as RFC 5322 phrase tokens: atoms as is, other ASCII as one quoted-string,
/// non-ASCII as encoded-words.
std::vector<std::string> phraseTokens(std::string_view utf8);

/// The parameter text for a file name on Content-Disposition: `filename="a.pdf"` for safe
/// ASCII, else RFC 2231 `filename*0*=UTF-8''…; filename*1*=…` pieces. Returned as tokens for
/// foldedField (each ends with ";" except the last).
std::vector<std::string> filenameParam(std::string_view attribute, std::string_view utf8);

/// `name="…"` for Content-Type: quoted ASCII, or one quoted run of encoded-words.
std::vector<std::string> nameParam(std::string_view utf8);

/// Decodes RFC 2047 encoded-words in a raw header value (B and Q, any charset the charset
/// module knows, adjacent words joined, invalid words left as text). Raw 8-bit text outside
/// encoded-words is decoded by detection. Always returns valid UTF-8.
std::string decodeHeaderText(std::string_view raw);

}  // namespace mugai::core
