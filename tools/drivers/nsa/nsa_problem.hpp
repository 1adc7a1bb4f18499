// Problem strings of NsaSelectedAttention ("nsa:..."), the sibling of FlashAttentionScore's "fa:...": one line names
// a conformance or benchmark case (DESIGN principle 9), and the printer gives the canonical form used in repro lines.
// Values outside Ascend's ranges parse, so negative cases ('!nsa:...') can be written; the operator rejects them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cannon/dtype.hpp"
#include "cannon/nsa_selected_attention.hpp"
#include "tools/harness/attr_table.hpp"

namespace cannon::tools {

// nsa:n1=16n2=4dk=192dv=128bs=64count=16:dt=bf16:seqq=70,200:seqkv=1024,3072:causal=1:idx=repeat
// Dimensions: b, n1= (or n), n2= (or g = n1/n2), s1= s2= (or s), dk dv (or d), bs, count. Attributes (the table in
// nsa_problem.cpp, in canonical order):
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
struct NsaProblem : CanonicalEquality<NsaProblem> {
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

  double effective_scale() const { return default_scale(scale, dk); }
  int64_t sparse_mode() const { return sparse.value_or(causal ? 2 : 0); }
  std::string mask_kind() const { return mask.empty() ? (causal ? "comp" : "none") : mask; }
  std::vector<int64_t> cum_seq_q() const;
  std::vector<int64_t> cum_seq_kv() const;
};

// The attribute table of "nsa:" problem strings and nsa_select_attention golden directories.
const AttrTable<NsaProblem, NsaSelectedAttentionAttrs>& nsa_attr_table();

// Parses "nsa:..." (prefix required). Throws Error(kParamInvalid) quoting the text and the key.
NsaProblem parse_nsa_problem(std::string_view text);

// Canonical form: parse_nsa_problem(to_string(p)) == p.
std::string to_string(const NsaProblem& problem);

}  // namespace cannon::tools
