// Internal to the problem-string parser (problem.cpp): the attribute table and the value parsers it shares
// with the dimension parser. Split from problem.cpp so that each release adds its attributes here without
// growing the parser; nothing outside tools/common/problem*.cpp should include this.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tools/common/problem.hpp"

namespace cannon::tools::problem_detail {

// Throws std::invalid_argument("problem '<text>': <message>").
[[noreturn]] void fail(std::string_view text, const std::string& message);
int64_t parse_int(std::string_view value, std::string_view key, std::string_view text);
std::vector<int64_t> parse_list(std::string_view value, std::string_view key, std::string_view text);
// Any number strtod reads in full (inf and nan included, so negative cases can be written).
double parse_double(std::string_view value, std::string_view key, std::string_view text);
std::string join(const std::vector<int64_t>& list);

// Parses one "key=value" segment into `p` through the attribute table. Unknown keys are errors listing the
// known ones; reserved keys of later releases say so.
void parse_attr(FaProblem& p, std::string_view segment, std::string_view text);

// Cross-key rules checked after every segment is read (e.g. pse_dt needs a pse).
void check_attrs(const FaProblem& p, std::string_view text);

}  // namespace cannon::tools::problem_detail
