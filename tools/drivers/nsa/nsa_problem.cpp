// Parser and printer of "nsa:" problem strings: the dimension segment and the attribute table (one row per
// attribute, with its nsa_select_attention case.json name where it is an operator attribute).
#include "tools/drivers/nsa/nsa_problem.hpp"

#include <fmt/format.h>

#include <map>

#include "tools/harness/problem_parse.hpp"

namespace cannon::tools {
namespace {

using problem_detail::fail;
using Attrs = NsaSelectedAttentionAttrs;
using Row = AttrRow<NsaProblem, Attrs>;

bool seqkv_shown(const NsaProblem& p) { return !p.seqq.empty(); }

}  // namespace

const AttrTable<NsaProblem, Attrs>& nsa_attr_table() {
  static const AttrTable<NsaProblem, Attrs> table{
      {
          Row::key("dt", &NsaProblem::dtype).always(),
          Row::key("layout", &NsaProblem::layout).op("input_layout", &Attrs::input_layout, "layout").copied(),
          Row::key("scale", &NsaProblem::scale).op("scale_value", &Attrs::scale_value, "scale"),
          Row::key("head_num", &NsaProblem::head_num).op("head_num", &Attrs::head_num).required(),
          Row::key("seqq", &NsaProblem::seqq).op("actual_seq_qlen", &Attrs::actual_seq_qlen),
          Row::key("seqkv", &NsaProblem::seqkv).shown_if(seqkv_shown).op("actual_seq_kvlen", &Attrs::actual_seq_kvlen),
          Row::key("causal", &NsaProblem::causal),
          Row::key("sparse", &NsaProblem::sparse).op("sparse_mode", &Attrs::sparse_mode),
          Row::key("mask", &NsaProblem::mask).choices({"none", "comp", "ss"}),
          Row::key("idx", &NsaProblem::idx).choices({"random", "repeat", "sorted", "diag", "oob"}),
          Row::key("seed", &NsaProblem::seed),
          // The block size and count come from the dimension segment (bs, count).
          Row::op_only("select_block_size", &Attrs::select_block_size),
          Row::op_only("select_block_count", &Attrs::select_block_count),
      },
      {},
      {},
  };
  return table;
}

std::vector<int64_t> NsaProblem::cum_seq_q() const { return seqq.empty() ? uniform_cumulative(b, s1, false) : seqq; }
std::vector<int64_t> NsaProblem::cum_seq_kv() const { return seqkv.empty() ? uniform_cumulative(b, s2, false) : seqkv; }

NsaProblem parse_nsa_problem(std::string_view text) {
  const std::vector<std::string_view> seg = problem_detail::split_problem(text, "nsa");
  NsaProblem p;
  auto v = problem_detail::parse_dims(
      seg[0], {"b", "n", "n1", "n2", "g", "s", "s1", "s2", "d", "dk", "dv", "bs", "count"}, text);
  auto has = [&](const char* k) { return v.count(k) != 0; };
  for (auto [a, b] : {std::pair{"n", "n1"}, {"g", "n2"}, {"s", "s1"}, {"s", "s2"}, {"d", "dk"}, {"d", "dv"}}) {
    if (has(a) && has(b)) fail(text, fmt::format("'{}' and '{}' cannot both be given", a, b));
  }
  if (has("b")) p.b = v["b"];
  if (has("n")) p.n1 = v["n"];
  if (has("n1")) p.n1 = v["n1"];
  p.n2 = has("n2") ? v["n2"] : has("g") && v["g"] > 0 ? p.n1 / v["g"] : has("n1") || has("n") ? p.n1 : p.n2;
  if (has("s")) p.s1 = p.s2 = v["s"];
  if (has("s1")) p.s1 = v["s1"];
  if (has("s2")) p.s2 = v["s2"];
  if (has("d")) p.dk = p.dv = v["d"];
  if (has("dk")) p.dk = v["dk"];
  if (has("dv")) p.dv = v["dv"];
  if (has("bs")) p.bs = v["bs"];
  if (has("count")) p.count = v["count"];
  for (std::size_t i = 1; i < seg.size(); ++i) parse_attr(nsa_attr_table(), seg[i], p, text);
  // A mask or mode equal to the default for `causal` is the default: one canonical form per case.
  if (p.mask == p.mask_kind() && p.mask == (p.causal ? "comp" : "none")) p.mask.clear();
  if (p.sparse && *p.sparse == (p.causal ? 2 : 0)) p.sparse.reset();
  if (!p.seqq.empty() || !p.seqkv.empty()) {
    if (has("s") || has("s1") || has("s2")) fail(text, "s/s1/s2 cannot be given with seqq/seqkv");
    if (p.seqq.empty() || p.seqkv.empty()) fail(text, "seqq and seqkv go together");
    if (has("b") && p.b != static_cast<int64_t>(p.seqq.size())) {
      fail(text, fmt::format("b={} but seqq has {} entries", p.b, p.seqq.size()));
    }
    p.b = static_cast<int64_t>(p.seqq.size());
  }
  return p;
}

std::string to_string(const NsaProblem& p) {
  std::string s = fmt::format("nsa:b{}n1={}n2={}", p.b, p.n1, p.n2);
  if (p.seqq.empty()) s += fmt::format("s1={}s2={}", p.s1, p.s2);
  s += fmt::format("dk={}dv={}bs={}count={}", p.dk, p.dv, p.bs, p.count);
  return s + print_attrs(nsa_attr_table(), p);
}

}  // namespace cannon::tools
