// The operators cannon's tools know: one line per driver in registry.cpp. cannon-conformance, cannon-bench and the
// fuzz targets find a driver here by problem-string prefix or golden op name, never by an if-chain of their own.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tools/harness/driver.hpp"
#include "tools/harness/golden.hpp"

namespace cannon::tools {

// Every driver, in the order tools list them.
const std::vector<const Driver*>& drivers();

// The driver of a problem-string prefix ("fa"), or null.
const Driver* find_driver(std::string_view prefix);

// The known prefixes, space-separated ("fa rau nsa").
std::string known_prefixes();

// Parses a problem string of any known operator. Error(kParamInvalid) for an unknown prefix or a bad string.
std::unique_ptr<Problem> parse_problem(std::string_view text);

// Reads a golden directory of any known operator (by case.json's "op").
GoldenCase load_golden(const GoldenFiles& files);
GoldenCase load_golden(const std::string& dir);

}  // namespace cannon::tools
