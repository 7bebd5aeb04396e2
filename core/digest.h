// SHA-256 over byte strings (GLib's GChecksum, already linked through GMime).
#pragma once

#include <string>
#include <string_view>

namespace mugai::core {

/// Lower-case hex SHA-256 of `data`.
std::string sha256Hex(std::string_view data);

}  // namespace mugai::core
