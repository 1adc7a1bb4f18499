// The driver list. Adding an operator: a folder tools/drivers/<op>/ with its driver, and one line here.
#include "tools/drivers/registry.hpp"

#include <fmt/format.h>

#include "tools/drivers/fa/fa_driver.hpp"
#include "tools/drivers/fag/fag_driver.hpp"
#include "tools/drivers/nsa/nsa_driver.hpp"
#include "tools/drivers/rau/rau_driver.hpp"
#include "tools/harness/problem_parse.hpp"

namespace cannon::tools {

const std::vector<const Driver*>& drivers() {
  static const std::vector<const Driver*> list = {
      &fa_driver(),
      &rau_driver(),
      &nsa_driver(),
      &fag_driver(),
  };
  return list;
}

const Driver* find_driver(std::string_view prefix) {
  for (const Driver* d : drivers()) {
    if (prefix == d->prefix) return d;
  }
  return nullptr;
}

std::string known_prefixes() {
  std::string known;
  for (const Driver* d : drivers()) known += std::string(known.empty() ? "" : " ") + d->prefix;
  return known;
}

std::unique_ptr<Problem> parse_problem(std::string_view text) {
  const std::string_view op = problem_op(text);
  const Driver* driver = find_driver(op);
  if (!driver) {
    problem_detail::fail(text, fmt::format("unknown operator '{}' (this release knows: {})", op, known_prefixes()));
  }
  return driver->parse(text);
}

GoldenCase load_golden(const GoldenFiles& files) { return load_golden(golden_driver(drivers(), files), files); }

GoldenCase load_golden(const std::string& dir) { return load_golden(golden_files_on_disk(dir)); }

}  // namespace cannon::tools
