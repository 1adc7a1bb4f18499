// libFuzzer target: the problem-string parsers of every registered driver ("fa:", "rau:", "nsa:") and the shape-only
// description of the case they name (describe() allocates no tensor data, only shapes and per-batch lists). Accepted
// strings must round-trip through the canonical printer: canonical(parse(canonical(p))) == canonical(p).
#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/fuzz/fuzz_check.hpp"
#include "tools/drivers/registry.hpp"
#include "tools/harness/problem_parse.hpp"

namespace {

using namespace cannon;
using namespace cannon::tools;

void check(const Driver& driver, const std::string& text) {
  std::string canonical;
  const bool parsed = fuzz::accepts([&] { canonical = driver.parse(text)->canonical(); });
  if (!parsed) return;
  fuzz::must_succeed("re-parsing the canonical form", [&] {
    fuzz::require(driver.parse(canonical)->canonical() == canonical, "canonical(parse(canonical)) != canonical");
  });
  fuzz::accepts([&] { driver.parse(text)->describe(); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string_view op = problem_op(text);
  const Driver* own = find_driver(op);
  for (const Driver* driver : drivers()) {
    if (driver == own || op.empty()) {
      check(*driver, text);
    } else if (!own) {
      // Any other prefix: every parser must reject it.
      fuzz::require(!fuzz::accepts([&] { driver->parse(text); }), "a parser accepted another prefix");
    }
  }
  return 0;
}
