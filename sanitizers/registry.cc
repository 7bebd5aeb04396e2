// The process-wide sanitizer registry. Filled by static initialisers before main(); read-only
// afterwards, so lookups need no lock once the first one has sorted the list.
#include <algorithm>
#include <mutex>

#include "sanitizers/sanitizer.h"

namespace mugai::sanitizers {
namespace {

struct Registry {
  std::vector<std::unique_ptr<Sanitizer>> items;
  std::once_flag sorted;
};

Registry& registry() {
  static Registry r;
  return r;
}

const std::vector<std::unique_ptr<Sanitizer>>& sortedItems() {
  Registry& r = registry();
  std::call_once(r.sorted, [&r] {
    std::sort(r.items.begin(), r.items.end(),
              [](const auto& a, const auto& b) { return a->name() < b->name(); });
  });
  return r.items;
}

}  // namespace

void registerSanitizer(std::unique_ptr<Sanitizer> sanitizer) {
  registry().items.push_back(std::move(sanitizer));
}

const Sanitizer* findSanitizer(std::string_view trueType, std::string_view declaredType) {
  for (const auto& s : sortedItems()) {
    if (s->handles(trueType, declaredType)) return s.get();
  }
  return nullptr;
}

std::vector<const Sanitizer*> allSanitizers() {
  std::vector<const Sanitizer*> out;
  for (const auto& s : sortedItems()) out.push_back(s.get());
  return out;
}

}  // namespace mugai::sanitizers
