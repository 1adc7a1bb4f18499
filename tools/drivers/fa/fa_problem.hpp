// The FlashAttentionScore problem string: one compact line that names a test or benchmark case, e.g.
// `fa:b2n8g2s1=113s2=203d=64:layout=BSND:dt=bf16`. The conformance tool and the benchmark both read it
// (DESIGN principle 9), and the printer gives the canonical form used in repro lines and batch listings.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cannon/dtype.hpp"
#include "cannon/flash_attention_score.hpp"
#include "tools/harness/attr_table.hpp"

namespace cannon::tools {

// Dimension keys (in the first segment, a key and an integer, '=' optional for b n g s d dk dv and
// required for s1 s2 n1 n2, so "s113" is S=113 and "s1=113" is S1=113):
//   b  batch              n, n1  query heads N1     g  N1/N2 (GQA ratio)      n2  kv heads N2 directly
//   s  S1 = S2            s1, s2 query / kv length  d  Dk = Dv                dk, dv  head dims
// Attributes (later segments, key=value; the table in fa_problem.cpp, in canonical order):
//   layout=BSH|SBH|BSND|BNSD|TND   dt=fp32|fp16|bf16   scale=<double> (default 1/sqrt(Dk), 1 if Dk < 1)
//   seqq=2,5,9 seqkv=3,3,10        TND cumulative ends (default: b batches of s1 / s2; seqkv defaults
//                                  to seqq when only seqq is given)
//   softmax_layout=TND|            head_num=<int> (overrides N1 in the attrs, for negative tests)
//   seed=<uint>                    input generator seed (default: the tool's --seed)
// Masking (docs/conformance.md, "Masks"):
//   sparse=<int> (0..8)  pre=<int> next=<int> (default 2147483647)  prefix=a,b,...  inner_precise=<int>
//   mask=none|bnss|b1ss|11ss|ss|comp|comp6   the atten_mask tensor; default none without sparse=, else the
//                                  mode's natural mask (natural_mask())
//   mask_dt=bool|uint8|...         its dtype (any dtype, so negative tests can pass fp32); default uint8
//   mask_density=<0..1>            fraction of 1s in random masks (default 0.3)
//   mask_rows=<int>                that many random rows of the mask tensor set to all 1 (fully masked)
//   mask_causal=0|1                also mask j > i: the dense causal mask users pass with sparse_mode 0
// Position encoding and dropout (docs/conformance.md, "Position encoding and dropout"):
//   pse_type=<int> (0..3, default 1)   q_start=a,... kv_start=a,...   (q_start_idx / kv_start_idx)
//   pse=none|bnss|1nss|bn1s|1n1s|alibi|alibi1|slopes_bn|slopes_n   the pse tensor's form (default none)
//   pse_dt=<dtype>                 its dtype (default: the query's, fp32 for slopes; any, for negative tests)
//   slopes=alibi|normal            the slopes of slopes_bn/slopes_n/alibi/alibi1: ALiBi's 2^(-8(n+1)/N1)/(b+1)
//                                  (default), or drawn from N(0, 1) (large slopes, |scores| in the hundreds)
//   keep_prob=<double>             default 1 (any number parses; the op accepts (0, 1])
//   drop_mask=gen|explicit         gen: no drop_mask tensor (the op's generator); explicit: random bits at
//                                  keep_prob (0.5 when keep_prob is 1: the op must ignore it), bit-packed uint8
//   drop_dt=<dtype> drop_bytes=<int>   the explicit mask's dtype and byte count (negative tests)
//   drop_seed=<int> drop_offset=<int>  the generator's seed and offset attributes (default 0)
struct FaProblem : CanonicalEquality<FaProblem> {
  int64_t b = 1, n1 = 1, n2 = 1, s1 = 128, s2 = 128, dk = 64, dv = 64;
  std::string layout = "BSND";
  DType dtype = DType::kFloat32;
  std::optional<double> scale;
  std::vector<int64_t> seqq, seqkv;  // TND cumulative ends; empty: b batches of s1 / s2
  std::string softmax_layout;
  std::optional<int64_t> head_num;
  std::optional<uint64_t> seed;
  int64_t sparse = 0;
  int64_t pre = kTokensDefault, next = kTokensDefault;
  std::vector<int64_t> prefix;
  int64_t inner_precise = 0;
  std::string mask = "none";
  DType mask_dt = DType::kUInt8;
  double mask_density = 0.3;
  int64_t mask_rows = 0;
  bool mask_causal = false;
  int64_t pse_type = 1;
  std::string pse = "none";
  std::optional<DType> pse_dt;
  std::string slopes = "alibi";
  std::vector<int64_t> q_start, kv_start;
  double keep_prob = 1.0;
  std::string drop_mask = "gen";
  std::optional<DType> drop_dt;
  std::optional<int64_t> drop_bytes;
  int64_t drop_seed = 0, drop_offset = 0;

  static constexpr int64_t kTokensDefault = 2147483647;

  double effective_scale() const { return default_scale(scale, dk); }
  bool tnd() const { return layout == "TND"; }
  // TND cumulative ends as passed to the op (explicit, or b batches of s1 / s2). Generated lists hold at most
  // kMaxGeneratedBatches entries and ends that fit in int64, else Error(kParamInvalid).
  std::vector<int64_t> cum_seq_q() const;
  std::vector<int64_t> cum_seq_kv() const;
};

// The attribute table of "fa:" problem strings and flash_attention_score golden directories.
const AttrTable<FaProblem, FlashAttentionScoreAttrs>& fa_attr_table();

// The mask a sparse mode is meant to be given: the compressed 2048x2048 triu(1) ("comp") for modes 2, 3, 4,
// 7 and 8, the compressed 3072x2048 ("comp6") for mode 6, [B,1,S1,S2] ("b1ss", so the prefix pattern can
// differ per batch) for mode 5, and [S1,S2] ("ss") for modes 0, 1 and anything else.
std::string natural_mask(int64_t sparse);

// Parses "fa:..." (the operator prefix is required). Throws Error(kParamInvalid) with a message that
// quotes the text and names the offending key. Reserved attributes of later releases (sink) are rejected
// as not supported yet.
FaProblem parse_fa_problem(std::string_view text);

// Canonical form: parse_fa_problem(to_string(p)) == p.
std::string to_string(const FaProblem& problem);

// What "fa:" and "fag:" strings share: parses `text` (which must start "<prefix>:") into `p`, each attribute segment
// through `parse_segment` (parse_attr with the prefix's table), then the defaults and cross-key rules of the
// forward's keys. And the canonical dimension segment, "<prefix>:b..n..", the attributes not included.
void parse_fa_like(std::string_view text, std::string_view prefix, FaProblem& p,
                   const std::function<void(std::string_view)>& parse_segment);
std::string fa_dims_string(const FaProblem& p, std::string_view prefix);

}  // namespace cannon::tools
