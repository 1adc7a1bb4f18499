// Problem strings of RingAttentionUpdate ("rau:..."), the sibling of FlashAttentionScore's "fa:...": one line names
// a conformance or benchmark case (DESIGN principle 9), and the printer gives the canonical form used in repro lines.
// Values outside Ascend's ranges parse, so negative cases ('!rau:...') can be written; the operator rejects them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cannon/dtype.hpp"
#include "cannon/ring_attention_update.hpp"
#include "tools/harness/attr_table.hpp"

namespace cannon::tools {

// rau:b4n32s=4096d=128:layout=SBH:dt=bf16      rau:n8d=64:layout=TND:dt=fp16:seqq=0,5,12:softmax_layout=TND
// Dimensions: b n s d ('=' optional). Attributes (the table in rau_problem.cpp, in canonical order):
//   layout=SBH|TND (any string passes through)   dt=fp32|fp16|bf16   softmax_layout=|TND
//   seqq=0,c1,...,T   TND actual_seq_qlen with its leading 0 (default: b batches of s)
//   invalid=none|prev|cur|both   plant invalid rows (max -FLT_MAX, sum +FLT_MAX, out 0) on that side
//   invalid_frac=<0..1>          fraction of rows made invalid (default 0.25)
//   seq=tensor|none              none: no actual_seq_qlen tensor (negative cases)
//   seq_dt=<dtype>               its dtype (default int64)
//   cur_dt=<dtype> cur_d=<int> stat_dt=<dtype> lanes=<int>   mismatches for negative cases: the cur_attn_out
//                                dtype and head dim, the max/sum dtype (default fp32) and lane count (default 8)
//   seed=<uint>
struct RauProblem : CanonicalEquality<RauProblem> {
  int64_t b = 1, n = 1, s = 128, d = 64;
  std::string layout = "SBH";
  DType dtype = DType::kFloat32;
  std::vector<int64_t> seqq;  // TND, with the leading 0; empty: b batches of s
  std::string softmax_layout;
  std::string invalid = "none";
  double invalid_frac = 0.25;
  std::string seq = "tensor";
  DType seq_dt = DType::kInt64;
  std::optional<DType> cur_dt;
  std::optional<int64_t> cur_d;
  DType stat_dt = DType::kFloat32;
  int64_t lanes = 8;
  std::optional<uint64_t> seed;

  bool tnd() const { return layout == "TND"; }
  // actual_seq_qlen as passed to the op (explicit, or 0, s, 2s, ..., b·s; uniform_cumulative's limits).
  std::vector<int64_t> cum_seq() const;
};

// The attribute table of "rau:" problem strings and ring_attention_update golden directories.
const AttrTable<RauProblem, RingAttentionUpdateAttrs>& rau_attr_table();

// Parses "rau:..." (prefix required). Throws Error(kParamInvalid) quoting the text and the key.
RauProblem parse_rau_problem(std::string_view text);

// Canonical form: parse_rau_problem(to_string(p)) == p.
std::string to_string(const RauProblem& problem);

}  // namespace cannon::tools
