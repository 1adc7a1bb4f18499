// Parser and printer of "fag:" problem strings: the forward's (fa_problem.cpp, fa_attr_rows.hpp) with the prefix
// "fag" and the backward's own keys.
#include "tools/drivers/fag/fag_problem.hpp"

#include "tools/drivers/fa/fa_attr_rows.hpp"
#include "tools/harness/problem_parse.hpp"

namespace cannon::tools {

const AttrTable<FagProblem, FlashAttentionScoreAttrs>& fag_attr_table() {
  using Row = AttrRow<FagProblem, FlashAttentionScoreAttrs>;
  static const AttrTable<FagProblem, FlashAttentionScoreAttrs> table = [] {
    auto t = fa_attr_table_for<FagProblem>({
        Row::key("dy_dt", &FagProblem::dy_dt),
        Row::key("ain_dt", &FagProblem::ain_dt),
        Row::key("stats_dt", &FagProblem::stats_dt),
        Row::key("stats_lanes", &FagProblem::stats_lanes).rule(problem_detail::Rule::kNonNegative),
        Row::key("dy_d", &FagProblem::dy_d).rule(problem_detail::Rule::kNonNegative),
    });
    t.ignored.push_back("numels");
    return t;
  }();
  return table;
}

FagProblem parse_fag_problem(std::string_view text) {
  FagProblem p;
  parse_fa_like(text, "fag", p, [&](std::string_view segment) { parse_attr(fag_attr_table(), segment, p, text); });
  return p;
}

std::string to_string(const FagProblem& p) { return fa_dims_string(p, "fag") + print_attrs(fag_attr_table(), p); }

}  // namespace cannon::tools
