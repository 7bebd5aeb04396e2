// True-type sniffing: what a part really is, decided from its bytes alone.
//
// The declared Content-Type and the file names are hints an attacker controls; policy is applied
// to the sniffed type (and, separately, to every candidate name). Sniffing never allocates in
// proportion to hostile input beyond what the limits allow, never follows anything outside the
// buffer, and never throws: unreadable input is "unknown".
//
// Tokens (stable; they appear in reports and in config keys `type.<token>`):
//   empty, text, html, xml, svg, rtf, calendar, vcard, eml (an RFC 5322 message),
//   pdf, png, jpeg, gif, bmp, webp, tiff, ico,
//   zip, zip-encrypted, docx, docm, dotx, dotm, xlsx, xlsm, xltx, xltm, pptx, pptm, potx, potm,
//   ppsx, ppsm, ooxml (an OOXML package of another kind), odf, jar, apk,
//   cfb (an OLE2 compound file of another kind), doc, xls, ppt, msg, ooxml-encrypted,
//   pe, elf, macho, java-class, script (#! line), lnk, iso9660, udf, dmg, vhd,
//   rar, 7z, gzip, bzip2, xz, zstd, lzh, cab, tar, tnef, onenote, chm, wasm, pkcs7, pgp,
//   unknown (binary we cannot name)
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"

namespace mugai::core {

/// The sniffed true type of `bytes` as one of the tokens above. Zip containers are opened
/// (central directory only, bounded by `limits`) to tell OOXML, ODF, JAR/APK and encrypted zips
/// from plain zips; OLE2 files are told apart by their stream names.
std::string sniff(std::string_view bytes, const Limits& limits);

/// As sniff(), for the content of an inline text body (rendered as text/plain, never opened
/// by a viewer): "%PDF-" counts only at offset 0, so a message that quotes "%PDF-1.4" in its
/// first lines stays a text body. Attachments always use sniff().
std::string sniffBody(std::string_view bytes, const Limits& limits);

/// Every token sniff() can return, in the order listed above (for config validation and tests).
/// The storage is static; the span stays valid for the life of the program.
std::span<const std::string_view> sniffTokens();

/// Coarse family of a token, used by the policy and the notice:
/// "text", "html", "document", "pdf", "image", "archive", "executable", "script", "shortcut",
/// "disk-image", "office-legacy", "encrypted", "mail", "calendar", "other".
/// Choices worth knowing: svg is "html" (it runs script in a browser); xml is "other" (XML that
/// embeds XHTML or SVG is already sniffed as html/svg); chm is "executable" (compiled help runs
/// script with local rights); tnef (winmail.dat) is "mail"; rtf and onenote are
/// "office-legacy". An unknown token is "other".
std::string_view familyOf(std::string_view token);

/// True when a file name's extension alone marks it as something never delivered
/// (executables, scripts, shortcuts, disk images, HTML applications…), case-insensitively and
/// ignoring trailing dots, spaces and invisible Unicode marks ("a.exe. " counts). Only the last
/// path component and its last extension count ("report.pdf.exe" is dangerous); a name with a
/// colon is judged both whole and up to the colon ("a.exe::$DATA", "a.exe:stream"). Archives
/// are not on the list: their content is sniffed and sanitized. The list is in sniff.cc.
bool hasDangerousExtension(std::string_view name);

/// The ways a file name is read when its extension is judged: the last path component with
/// trailing dots, spaces and invisible marks dropped, plus, when it has a colon, the same for
/// the text before the colon (the NTFS stream reading). Views into `name`.
std::vector<std::string_view> nameReadings(std::string_view name);

}  // namespace mugai::core
