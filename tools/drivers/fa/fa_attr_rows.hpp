// FlashAttentionScore's attribute table for any problem type that extends FaProblem: "fa:" problems themselves and
// FlashAttentionScoreGrad's "fag:" problems, which take the forward's attributes unchanged and add their own rows.
// One statement of the rows, so the two prefixes cannot drift apart.
#pragma once

#include <utility>
#include <vector>

#include "tools/drivers/fa/fa_problem.hpp"

namespace cannon::tools {

// sparse= is printed with any mask, so that a mask is read against its mode's natural one.
template <class P>
bool fa_sparse_shown(const P& p) {
  return p.sparse != 0 || p.mask != "none";
}
// The parser's default mask is the mode's natural one when sparse= is printed, none otherwise.
template <class P>
bool fa_mask_shown(const P& p) {
  return p.mask != (fa_sparse_shown(p) ? natural_mask(p.sparse) : "none");
}
template <class P>
bool fa_seqkv_shown(const P& p) {
  return !p.seqq.empty();
}

// The table of P (FaProblem or a type derived from it): the forward's rows, then `extra`, then seed=.
template <class P>
AttrTable<P, FlashAttentionScoreAttrs> fa_attr_table_for(std::vector<AttrRow<P, FlashAttentionScoreAttrs>> extra) {
  using Attrs = FlashAttentionScoreAttrs;
  using Row = AttrRow<P, Attrs>;
  using problem_detail::Rule;
  // Values outside Ascend's ranges (sparse=9, pse_type=4, keep_prob=0) parse, so negative cases can be written.
  std::vector<Row> rows{
      Row::key("layout", &FaProblem::layout).always().op("input_layout", &Attrs::input_layout).copied().required(),
      Row::key("dt", &FaProblem::dtype).always(),
      Row::key("scale", &FaProblem::scale).op("scale", &Attrs::scale, "scale_value"),
      Row::key("seqq", &FaProblem::seqq).op("actual_seq_qlen", &Attrs::actual_seq_qlen),
      Row::key("seqkv", &FaProblem::seqkv).shown_if(fa_seqkv_shown<P>).op("actual_seq_kvlen", &Attrs::actual_seq_kvlen),
      Row::key("softmax_layout", &FaProblem::softmax_layout)
          .op("softmax_layout", &Attrs::softmax_layout)
          .copied()
          .nullable(),
      Row::key("head_num", &FaProblem::head_num).op("head_num", &Attrs::head_num).required(),
      // Masking.
      Row::key("sparse", &FaProblem::sparse)
          .shown_if(fa_sparse_shown<P>)
          .op("sparse_mode", &Attrs::sparse_mode)
          .copied(),
      Row::key("pre", &FaProblem::pre).op("pre_tokens", &Attrs::pre_tokens, "pre_tockens").copied(),
      Row::key("next", &FaProblem::next).op("next_tokens", &Attrs::next_tokens, "next_tockens").copied(),
      Row::key("prefix", &FaProblem::prefix).op("prefix", &Attrs::prefix).copied(),
      Row::key("inner_precise", &FaProblem::inner_precise).op("inner_precise", &Attrs::inner_precise).copied(),
      // The atten_mask kinds: a tensor shape ([B,N1,S1,S2] ... [S1,S2]; TND's [maxS1,maxS2] is "ss") or a
      // compressed mask (2048x2048, or 3072x2048 for mode 6).
      Row::key("mask", &FaProblem::mask)
          .shown_if(fa_mask_shown<P>)
          .choices({"none", "bnss", "b1ss", "11ss", "ss", "comp", "comp6"}),
      Row::key("mask_dt", &FaProblem::mask_dt),
      Row::key("mask_density", &FaProblem::mask_density).rule(Rule::kUnitInterval),
      Row::key("mask_rows", &FaProblem::mask_rows).rule(Rule::kNonNegative),
      Row::key("mask_causal", &FaProblem::mask_causal),
      // Position encoding (docs/conformance.md, "Position encoding and dropout").
      Row::key("pse_type", &FaProblem::pse_type).op("pse_type", &Attrs::pse_type).copied(),
      Row::key("pse", &FaProblem::pse)
          .choices({"none", "bnss", "1nss", "bn1s", "1n1s", "alibi", "alibi1", "slopes_bn", "slopes_n"}),
      Row::key("pse_dt", &FaProblem::pse_dt),
      Row::key("slopes", &FaProblem::slopes).choices({"alibi", "normal"}),
      Row::key("q_start", &FaProblem::q_start).op("q_start_idx", &Attrs::q_start_idx).copied(),
      Row::key("kv_start", &FaProblem::kv_start).op("kv_start_idx", &Attrs::kv_start_idx).copied(),
      // Dropout.
      Row::key("keep_prob", &FaProblem::keep_prob).op("keep_prob", &Attrs::keep_prob).copied(),
      Row::key("drop_mask", &FaProblem::drop_mask).choices({"gen", "explicit"}),
      Row::key("drop_dt", &FaProblem::drop_dt),
      Row::key("drop_bytes", &FaProblem::drop_bytes).rule(Rule::kNonNegative),
      Row::key("drop_seed", &FaProblem::drop_seed).op("seed", &Attrs::seed).copied(),
      Row::key("drop_offset", &FaProblem::drop_offset).op("offset", &Attrs::offset).copied(),
  };
  for (Row& row : extra) rows.push_back(std::move(row));
  rows.push_back(Row::key("seed", &FaProblem::seed));
  return {std::move(rows),
          // Attributes of Ascend's operator that the problem string will carry once cannon implements them.
          {"sink", "padding_mask"},
          // torch_npu's scheduling-only flags.
          {"gen_mask_parallel", "sync"}};
}

}  // namespace cannon::tools
