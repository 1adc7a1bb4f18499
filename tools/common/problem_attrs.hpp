// Internal to the problem-string parsers (problem.cpp for "fa:", op_problem.cpp for "rau:"/"nsa:"): the "fa:"
// attribute table and the segment, dimension and value parsers all of them share. Split from problem.cpp so that
// each release adds its attributes here without growing the parser; nothing outside tools/common should include it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tools/common/problem.hpp"

namespace cannon::tools::problem_detail {

// Throws Error(kParamInvalid, "problem '<text>': <message>").
[[noreturn]] void fail(std::string_view text, const std::string& message);
int64_t parse_int(std::string_view value, std::string_view key, std::string_view text);
std::vector<int64_t> parse_list(std::string_view value, std::string_view key, std::string_view text);
// Any number strtod reads in full (inf and nan included, so negative cases can be written).
double parse_double(std::string_view value, std::string_view key, std::string_view text);
std::string join(const std::vector<int64_t>& list);

// The ':'-separated segments of a problem string after its operator prefix.
std::vector<std::string_view> split_segments(std::string_view rest);
// The dimension segment as key -> value. Keys are letters, plus a '1'/'2' suffix when '=' follows ("s1=7");
// '=' is optional otherwise. A key not in `known`, a missing value or a repeated key is an error.
std::map<std::string, int64_t> parse_dims(std::string_view dims, const std::vector<std::string>& known,
                                          std::string_view text);

// Parses one "key=value" segment into `p` through the attribute table. Unknown keys are errors listing the
// known ones; reserved keys of later releases say so.
void parse_attr(FaProblem& p, std::string_view segment, std::string_view text);

// Cross-key rules checked after every segment is read (e.g. pse_dt needs a pse).
void check_attrs(const FaProblem& p, std::string_view text);

}  // namespace cannon::tools::problem_detail
