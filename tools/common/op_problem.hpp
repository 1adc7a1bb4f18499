// Problem strings of RingAttentionUpdate ("rau:...") and NsaSelectedAttention ("nsa:..."), the siblings of
// FlashAttentionScore's "fa:..." (problem.hpp): one line names a conformance or benchmark case (DESIGN principle
// 9), and the printer gives the canonical form used in repro lines. Values outside Ascend's ranges parse, so
// negative cases ('!rau:...', '!nsa:...') can be written; the operators reject them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cannon/dtype.hpp"

namespace cannon::tools {

// rau:b4n32s=4096d=128:layout=SBH:dt=bf16      rau:n8d=64:layout=TND:dt=fp16:seqq=0,5,12:softmax_layout=TND
// Dimensions: b n s d ('=' optional). Attributes:
//   layout=SBH|TND (any string passes through)   dt=fp32|fp16|bf16   softmax_layout=|TND
//   seqq=0,c1,...,T   TND actual_seq_qlen with its leading 0 (default: b batches of s)
//   invalid=none|prev|cur|both   plant invalid rows (max -FLT_MAX, sum +FLT_MAX, out 0) on that side
//   invalid_frac=<0..1>          fraction of rows made invalid (default 0.25)
//   seq=tensor|none              none: no actual_seq_qlen tensor (negative cases)
//   seq_dt=<dtype>               its dtype (default int64)
//   cur_dt=<dtype> cur_d=<int> stat_dt=<dtype> lanes=<int>   mismatches for negative cases: the cur_attn_out
//                                dtype and head dim, the max/sum dtype (default fp32) and lane count (default 8)
//   seed=<uint>
struct RauProblem {
  int64_t b = 1, n = 1, s = 128, d = 64;
  std::string layout = "SBH";
  DType dtype = DType::kFloat32;
  std::vector<int64_t> seqq;  // TND, with the leading 0; empty: b batches of s
  std::string softmax_layout;
  std::string invalid = "none";
  double invalid_frac = 0.25;
  bool seq_tensor = true;
  DType seq_dt = DType::kInt64;
  std::optional<DType> cur_dt;
  std::optional<int64_t> cur_d;
  DType stat_dt = DType::kFloat32;
  int64_t lanes = 8;
  std::optional<uint64_t> seed;

  bool tnd() const { return layout == "TND"; }
  // actual_seq_qlen as passed to the op (explicit, or 0, s, 2s, ..., b·s; uniform_cumulative's limits).
  std::vector<int64_t> cum_seq() const;
  bool operator==(const RauProblem& other) const;
};

// nsa:n1=16n2=4dk=192dv=128bs=64count=16:dt=bf16:seqq=70,200:seqkv=1024,3072:causal=1:idx=repeat
// Dimensions: b, n1= (or n), n2= (or g = n1/n2), s1= s2= (or s), dk dv (or d), bs, count. Attributes:
//   dt=fp32|fp16|bf16   scale=<double> (default 1/sqrt(dk), 1 if dk < 1)   head_num=<int> (default n1)   layout=TND
//   seqq=... seqkv=...  cumulative ends without a leading 0 (default: b batches of s1 / s2)
//   causal=0|1          atten_mask present with sparse_mode 2 (left-up causal inside the selection)
//   sparse=<int>        sparse_mode override (default 2 with causal=1, else 0)
//   mask=none|comp|ss   the atten_mask tensor: none, the compressed 2048x2048 triu(1) or [maxS1,maxS2] triu(1)
//                       (default comp with causal=1, none otherwise; its contents are never read)
//   idx=random|repeat|sorted|diag|oob   topk_indices: distinct in-range blocks in random order, draws with
//                       repeats, distinct ascending, the causal diagonal block first then random ones, or one
//                       index past the batch's blocks (negative cases)
//   seed=<uint>
struct NsaProblem {
  int64_t b = 1, n1 = 4, n2 = 1, s1 = 64, s2 = 1024, dk = 192, dv = 128, bs = 64, count = 16;
  DType dtype = DType::kBFloat16;
  std::optional<double> scale;
  std::optional<int64_t> head_num;
  std::string layout = "TND";
  std::vector<int64_t> seqq, seqkv;
  bool causal = false;
  std::optional<int64_t> sparse;
  std::string mask;  // "" = the default for `causal`
  std::string idx = "random";
  std::optional<uint64_t> seed;

  double effective_scale() const;
  int64_t sparse_mode() const { return sparse.value_or(causal ? 2 : 0); }
  std::string mask_kind() const { return mask.empty() ? (causal ? "comp" : "none") : mask; }
  std::vector<int64_t> cum_seq_q() const;
  std::vector<int64_t> cum_seq_kv() const;
  bool operator==(const NsaProblem& other) const;
};

// Parse "rau:..." / "nsa:..." (prefix required). Throw Error(kParamInvalid) quoting the text and the key.
RauProblem parse_rau_problem(std::string_view text);
NsaProblem parse_nsa_problem(std::string_view text);

// Canonical forms: parse(to_string(p)) == p.
std::string to_string(const RauProblem& problem);
std::string to_string(const NsaProblem& problem);

}  // namespace cannon::tools
