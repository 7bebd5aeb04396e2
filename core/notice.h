// The notice at the top of the text body: what Mugai changed, why, and where the original is.
//
// Built from the report alone, so the notice and the report can never disagree. Japanese first,
// then English. File names and other untrusted details are escaped (escapeForDisplay) so a
// bidi override in a file name is shown, not obeyed. Identical lines are merged with a count;
// the list is capped so a message with a thousand removed parts still gets a readable notice.
#pragma once

#include <string>

#include "core/policy.h"
#include "core/report.h"

namespace mugai::core {

/// True when the report holds anything the recipient must be told about.
bool needsNotice(const Report& report);

/// The notice text (UTF-8, LF line endings, ends with a blank line), or "" when not needed.
std::string buildNotice(const Report& report, const Policy& policy);

}  // namespace mugai::core
