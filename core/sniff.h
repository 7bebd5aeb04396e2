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

#include <string>
#include <string_view>

#include "core/limits.h"

namespace mugai::core {

/// The sniffed true type of `bytes` as one of the tokens above. Zip containers are opened
/// (central directory only, bounded by `limits`) to tell OOXML, ODF, JAR/APK and encrypted zips
/// from plain zips; OLE2 files are told apart by their stream names.
std::string sniff(std::string_view bytes, const Limits& limits);

/// Coarse family of a token, used by the policy and the notice:
/// "text", "html", "document", "pdf", "image", "archive", "executable", "script", "shortcut",
/// "disk-image", "office-legacy", "encrypted", "mail", "calendar", "other".
std::string_view familyOf(std::string_view token);

/// True when a file name's extension alone marks it as something never delivered
/// (executables, scripts, shortcuts, disk images, HTML applications…), case-insensitively and
/// ignoring trailing dots and spaces ("a.exe. " counts). The list is in sniff.cc.
bool hasDangerousExtension(std::string_view name);

}  // namespace mugai::core
