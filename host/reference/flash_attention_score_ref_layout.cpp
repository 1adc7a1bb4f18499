// Shape derivation and layout indexing for the FlashAttentionScore reference, from the table in
// docs/flash_attention_score.md and the TND rules of reference/ascend-semantics.md §1.7.
// Written without host/layout on purpose: the two are compared in tests.
#include "host/reference/flash_attention_score_ref_layout.hpp"

#include <algorithm>
#include <string>

#include "cannon/error.hpp"

namespace cannon::reference::detail {
namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw Error(Status::kParamInvalid, "flash_attention_score reference: " + what);
}

void require_rank(const HostTensor& t, size_t rank, const char* name, const std::string& layout) {
  require(t.shape.size() == rank,
          std::string(name) + " must have rank " + std::to_string(rank) + " in layout " + layout);
  require(static_cast<int64_t>(t.values.size()) == t.numel(),
          std::string(name) + " holds " + std::to_string(t.values.size()) + " values for its shape");
}

// Lengths from cumulative ends without a leading 0. A trailing 0 after the last batch gives a negative
// difference; Ascend clamps any length <= 0 to 0, which makes it an empty batch.
std::vector<int64_t> lengths_from_ends(const std::vector<int64_t>& ends) {
  std::vector<int64_t> lengths(ends.size());
  int64_t previous = 0;
  for (size_t b = 0; b < ends.size(); ++b) {
    lengths[b] = std::max<int64_t>(ends[b] - previous, 0);
    previous = ends[b];
  }
  return lengths;
}

// `starts` is only read for TND (row offsets of each batch); dense layouts index by b.
RowMap make_row_map(const std::string& layout, int64_t batch, int64_t seq, int64_t heads, int64_t dim,
                    const std::vector<int64_t>& starts) {
  RowMap map;
  map.batch_base.resize(batch);
  // BSH is BSND with N and D merged, and TND is BSND with B and S merged, so they share strides.
  int64_t batch_stride = seq * heads * dim;
  map.seq_stride = heads * dim;
  map.head_stride = dim;
  if (layout == "SBH") {
    batch_stride = heads * dim;
    map.seq_stride = batch * heads * dim;
  } else if (layout == "BNSD") {
    map.seq_stride = dim;
    map.head_stride = seq * dim;
  }
  for (int64_t b = 0; b < batch; ++b) {
    map.batch_base[b] = layout == "TND" ? starts[b] * heads * dim : b * batch_stride;
  }
  return map;
}

std::vector<int64_t> prefix_sums(const std::vector<int64_t>& lengths) {
  std::vector<int64_t> starts(lengths.size());
  int64_t acc = 0;
  for (size_t b = 0; b < lengths.size(); ++b) {
    starts[b] = acc;
    acc += lengths[b];
  }
  return starts;
}

void describe_tnd(const FlashAttentionScoreRefInputs& in, const FlashAttentionScoreAttrs& attrs, FaRefProblem& p) {
  const auto &q = in.query.shape, &k = in.key.shape, &v = in.value.shape;
  p.tnd = true;
  p.n1 = q[1];
  p.dk = q[2];
  p.n2 = k[1];
  p.dv = v[2];
  require(k[2] == p.dk, "key head dim must equal the query's (Dk)");
  require(k[0] == v[0] && k[1] == v[1], "key and value must agree on T2 and N2");
  require(attrs.actual_seq_qlen.size() == attrs.actual_seq_kvlen.size() && !attrs.actual_seq_qlen.empty(),
          "actual_seq_qlen and actual_seq_kvlen must have the same, non-zero number of batches");
  // torch_npu spells the [T, N1, 8] order "TND"; aclnn's softmaxOutLayout spells it "same_as_input".
  const bool same_as_input = attrs.softmax_layout == "TND" || attrs.softmax_layout == "same_as_input";
  require(attrs.softmax_layout.empty() || same_as_input, "softmax_layout must be \"\", \"TND\" or \"same_as_input\"");
  p.softmax_tnd_order = same_as_input;
  p.batch = static_cast<int64_t>(attrs.actual_seq_qlen.size());
  p.s1 = lengths_from_ends(attrs.actual_seq_qlen);
  p.s2 = lengths_from_ends(attrs.actual_seq_kvlen);
  p.q_rows_before = prefix_sums(p.s1);
  const std::vector<int64_t> kv_starts = prefix_sums(p.s2);
  require(p.q_rows_before.back() + p.s1.back() <= q[0], "actual_seq_qlen runs past T1");
  require(kv_starts.back() + p.s2.back() <= k[0], "actual_seq_kvlen runs past T2");
  p.q = make_row_map("TND", p.batch, 0, p.n1, p.dk, p.q_rows_before);
  p.out = make_row_map("TND", p.batch, 0, p.n1, p.dv, p.q_rows_before);
  p.k = make_row_map("TND", p.batch, 0, p.n2, p.dk, kv_starts);
  p.v = make_row_map("TND", p.batch, 0, p.n2, p.dv, kv_starts);
  p.out_shape = {q[0], p.n1, p.dv};
  p.softmax_shape = {q[0], p.n1, 8};
}

void describe_dense(const FlashAttentionScoreRefInputs& in, const FlashAttentionScoreAttrs& attrs, FaRefProblem& p) {
  const std::string& layout = attrs.input_layout;
  const auto &q = in.query.shape, &k = in.key.shape, &v = in.value.shape;
  int64_t s2 = 0;
  if (layout == "BSH" || layout == "SBH") {
    // Only the hidden size is stored; head_num splits the query's, and Dk splits the key's and value's.
    const bool bsh = layout == "BSH";
    p.batch = bsh ? q[0] : q[1];
    p.s1_dense = bsh ? q[1] : q[0];
    s2 = bsh ? k[1] : k[0];
    require(attrs.head_num > 0 && q[2] % attrs.head_num == 0, "head_num must divide the query's hidden size");
    p.n1 = attrs.head_num;
    p.dk = q[2] / attrs.head_num;
    require(p.dk > 0 && k[2] > 0 && k[2] % p.dk == 0, "Dk must divide the key's hidden size");
    p.n2 = k[2] / p.dk;
    require(v[2] % p.n2 == 0, "N2 must divide the value's hidden size");
    p.dv = v[2] / p.n2;
    require(k[0] == v[0] && k[1] == v[1], "key and value must agree on B and S2");
  } else {
    const bool bsnd = layout == "BSND";
    p.batch = q[0];
    p.s1_dense = bsnd ? q[1] : q[2];
    p.n1 = bsnd ? q[2] : q[1];
    p.dk = q[3];
    s2 = bsnd ? k[1] : k[2];
    p.n2 = bsnd ? k[2] : k[1];
    p.dv = v[3];
    require(k[3] == p.dk, "key head dim must equal the query's (Dk)");
    require(k[0] == v[0] && k[1] == v[1] && k[2] == v[2], "key and value must agree on B, S2 and N2");
  }
  require((layout == "SBH" ? k[1] : k[0]) == p.batch, "key must have the query's batch size");
  p.s1.assign(p.batch, p.s1_dense);
  p.s2.assign(p.batch, s2);
  p.q = make_row_map(layout, p.batch, p.s1_dense, p.n1, p.dk, {});
  p.out = make_row_map(layout, p.batch, p.s1_dense, p.n1, p.dv, {});
  p.k = make_row_map(layout, p.batch, s2, p.n2, p.dk, {});
  p.v = make_row_map(layout, p.batch, s2, p.n2, p.dv, {});
  p.out_shape = q;
  p.out_shape.back() = (layout == "BSH" || layout == "SBH") ? p.n1 * p.dv : p.dv;
  p.softmax_shape = {p.batch, p.n1, p.s1_dense, 8};
}

}  // namespace

int64_t FaRefProblem::softmax_offset(int64_t b, int64_t head, int64_t i) const {
  if (!tnd) return ((b * n1 + head) * s1_dense + i) * 8;
  if (softmax_tnd_order) return ((q_rows_before[b] + i) * n1 + head) * 8;
  return (q_rows_before[b] * n1 + head * s1[b] + i) * 8;  // per-batch [N1, S1_b, 8] blocks
}

FaRefProblem describe_problem(const FlashAttentionScoreRefInputs& inputs, const FlashAttentionScoreAttrs& attrs) {
  const std::string& layout = attrs.input_layout;
  const bool known = layout == "BSH" || layout == "SBH" || layout == "BSND" || layout == "BNSD" || layout == "TND";
  require(known, "unknown input_layout \"" + layout + "\"");
  const size_t rank = (layout == "BSND" || layout == "BNSD") ? 4 : 3;
  require_rank(inputs.query, rank, "query", layout);
  require_rank(inputs.key, rank, "key", layout);
  require_rank(inputs.value, rank, "value", layout);
  FaRefProblem p;
  if (layout == "TND") {
    describe_tnd(inputs, attrs, p);
  } else {
    describe_dense(inputs, attrs, p);
  }
  require(p.n1 > 0 && p.n2 > 0 && p.n1 % p.n2 == 0, "N1 must be a positive multiple of N2");
  require(p.dk > 0 && p.dv > 0, "head dims must be positive");
  return p;
}

}  // namespace cannon::reference::detail
