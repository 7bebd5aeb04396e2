// deploy/mugai.conf.example is the documentation of the config file: it must name every limit
// and every line in it must be accepted when uncommented, so the docs cannot drift from the code.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "core/policy.h"

using namespace mugai::core;

TEST_SUITE("config_example") {
  TEST_CASE("config example: names every limit and every commented setting parses") {
    std::ifstream in(std::string(MUGAI_SOURCE_DIR) + "/deploy/mugai.conf.example");
    REQUIRE(in);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const auto& [name, value] : Limits{}.list()) {
      const auto& nameShown = name;  // clang 14 cannot capture a structured binding
      CAPTURE(nameShown);
      CHECK(text.find("#limit." + name + " = " + std::to_string(value)) != std::string::npos);
    }
    // Uncomment every "#key = value" line (not prose comments) and parse the result.
    std::istringstream lines(text);
    std::string line;
    std::string uncommented;
    int settings = 0;
    while (std::getline(lines, line)) {
      if (line.size() > 1 && line[0] == '#' && line[1] != ' ' && line.find(" = ") != std::string::npos) {
        uncommented += line.substr(1) + "\n";
        ++settings;
      }
    }
    CHECK(settings >= 30);
    const Policy p = Policy::fromConfig(uncommented, "example");
    CHECK(p.subjectTag == "[無害化] ");
    CHECK(p.removeTypes.count("pdf") == 1);
    CHECK(p.extraBlockedExtensions.count("abc") == 1);
    CHECK(p.limits.maxParts == Limits{}.maxParts);
  }
}
