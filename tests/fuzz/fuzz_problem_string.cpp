// libFuzzer target: the problem-string parsers ("fa:", "rau:", "nsa:") and the shape-only description of the
// case they name (describe_case allocates no tensor data, only shapes and per-batch lists). Accepted strings must
// round-trip through the canonical printer: to_string(parse(to_string(p))) == to_string(p).
#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/fuzz/fuzz_check.hpp"
#include "tools/common/fa_case.hpp"
#include "tools/common/op_case.hpp"
#include "tools/common/op_problem.hpp"
#include "tools/common/problem.hpp"

namespace {

using namespace cannon;
using namespace cannon::tools;

template <class Parse, class Describe>
void check(const std::string& text, Parse parse, Describe describe) {
  std::string canonical;
  const bool parsed = fuzz::accepts([&] { canonical = to_string(parse(text)); });
  if (!parsed) return;
  fuzz::must_succeed("re-parsing the canonical form", [&] {
    fuzz::require(to_string(parse(canonical)) == canonical, "to_string(parse(canonical)) != canonical");
  });
  fuzz::accepts([&] { describe(parse(text)); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string_view op = problem_op(text);
  if (op == "fa" || op.empty()) {
    check(text, parse_fa_problem, [](const FaProblem& p) { describe_case(p); });
  }
  if (op == "rau" || op.empty()) {
    check(text, parse_rau_problem, [](const RauProblem& p) { describe_case(p); });
  }
  if (op == "nsa" || op.empty()) {
    check(text, parse_nsa_problem, [](const NsaProblem& p) { describe_case(p); });
  }
  if (op != "fa" && op != "rau" && op != "nsa" && !op.empty()) {
    // Any other prefix: every parser must reject it.
    fuzz::require(!fuzz::accepts([&] { parse_fa_problem(text); }), "parse_fa_problem accepted another prefix");
    fuzz::require(!fuzz::accepts([&] { parse_rau_problem(text); }), "parse_rau_problem accepted another prefix");
    fuzz::require(!fuzz::accepts([&] { parse_nsa_problem(text); }), "parse_nsa_problem accepted another prefix");
  }
  return 0;
}
