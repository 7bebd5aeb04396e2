// text/html → text/plain, with libxml2's HTML parser.
//
// The parser runs with no network, no DTD loading and no entity substitution from outside; the
// tree walk is iterative and bounded by Limits::maxHtmlDepth (deeper content is flattened into
// its ancestor's text, never lost to a crash). Readable structure survives: paragraphs, line
// breaks, headings, lists (bullets or numbers), tables (one row per line, cells separated by
// " | "), links as "text <URL>" for http(s) and mailto only, images as "[画像: alt]". Active
// content leaves no trace: script/style/head/template/noscript/object/embed/iframe/frame/
// applet elements and comments are dropped, and the URLs of active content (script src, frame
// src, form action, javascript:/vbscript:/data: links, meta refresh, <base>) never reach the text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/findings.h"
#include "core/limits.h"

namespace mugai::sanitizers::html {

struct HtmlResult {
  std::string text;        ///< UTF-8 plain text, LF line endings, neutralized (see text::neutralize)
  std::string charset;     ///< canonical charset the HTML was decoded from
  core::Findings findings; ///< e.g. html.script_removed, html.active_url_removed,
                           ///<      html.form_removed, html.meta_refresh_removed,
                           ///<      html.base_removed, limit.html_depth, limit.html_bytes
};

/// Converts the decoded bytes of an HTML part. The charset is taken from `mimeCharset` when it
/// is valid for the bytes, else from a <meta> charset declaration, else detected.
HtmlResult htmlToText(std::string_view bytes, std::string_view mimeCharset,
                      const core::Limits& limits);

}  // namespace mugai::sanitizers::html
