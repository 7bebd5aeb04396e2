// The unit test runner: doctest's main with GMime initialised once for every suite.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <gmime/gmime.h>

int main(int argc, char** argv) {
  g_mime_init();
  doctest::Context context(argc, argv);
  const int rc = context.run();
  g_mime_shutdown();
  return rc;
}
