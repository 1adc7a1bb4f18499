// Parser and printer of "rau:" problem strings: the dimension segment and the attribute table (one row per
// attribute, with its ring_attention_update case.json name where it is an operator attribute).
#include "tools/drivers/rau/rau_problem.hpp"

#include <fmt/format.h>

#include <map>

#include "tools/harness/problem_parse.hpp"

namespace cannon::tools {
namespace {

using Row = AttrRow<RauProblem, RingAttentionUpdateAttrs>;

}  // namespace

const AttrTable<RauProblem, RingAttentionUpdateAttrs>& rau_attr_table() {
  using Attrs = RingAttentionUpdateAttrs;
  static const AttrTable<RauProblem, Attrs> table{
      {
          Row::key("layout", &RauProblem::layout).always().op("layout", &Attrs::input_layout, "input_layout").copied(),
          Row::key("dt", &RauProblem::dtype).always(),
          Row::key("seqq", &RauProblem::seqq),
          Row::key("softmax_layout", &RauProblem::softmax_layout)
              .op("softmax_layout", &Attrs::softmax_layout, "input_softmax_layout")
              .copied()
              .nullable(),
          Row::key("invalid", &RauProblem::invalid).choices({"none", "prev", "cur", "both"}),
          Row::key("invalid_frac", &RauProblem::invalid_frac).rule(problem_detail::Rule::kUnitInterval),
          Row::key("seq", &RauProblem::seq).choices({"tensor", "none"}),
          Row::key("seq_dt", &RauProblem::seq_dt),
          Row::key("cur_dt", &RauProblem::cur_dt),
          Row::key("cur_d", &RauProblem::cur_d),
          Row::key("stat_dt", &RauProblem::stat_dt),
          Row::key("lanes", &RauProblem::lanes),
          Row::key("seed", &RauProblem::seed),
      },
      {},
      {},
  };
  return table;
}

std::vector<int64_t> RauProblem::cum_seq() const { return seqq.empty() ? uniform_cumulative(b, s, true) : seqq; }

RauProblem parse_rau_problem(std::string_view text) {
  const std::vector<std::string_view> seg = problem_detail::split_problem(text, "rau");
  RauProblem p;
  auto dims = problem_detail::parse_dims(seg[0], {"b", "n", "s", "d"}, text);
  if (dims.count("b")) p.b = dims["b"];
  if (dims.count("n")) p.n = dims["n"];
  if (dims.count("s")) p.s = dims["s"];
  if (dims.count("d")) p.d = dims["d"];
  for (std::size_t i = 1; i < seg.size(); ++i) parse_attr(rau_attr_table(), seg[i], p, text);
  if (!p.seqq.empty()) {
    if (!p.tnd()) problem_detail::fail(text, "seqq needs layout=TND");
    if (dims.count("s")) problem_detail::fail(text, "s cannot be given with seqq");
    if (dims.count("b") && p.b != static_cast<int64_t>(p.seqq.size()) - 1) {
      problem_detail::fail(text, fmt::format("b={} but seqq has {} entries (with its leading 0)", p.b, p.seqq.size()));
    }
    p.b = static_cast<int64_t>(p.seqq.size()) - 1;
  }
  return p;
}

std::string to_string(const RauProblem& p) {
  std::string s = fmt::format("rau:b{}n{}", p.b, p.n);
  if (p.seqq.empty()) s += fmt::format("s={}", p.s);
  return s + fmt::format("d={}", p.d) + print_attrs(rau_attr_table(), p);
}

}  // namespace cannon::tools
