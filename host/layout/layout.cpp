// Layout parsing, logical dims, axis strides, TND sequence bookkeeping and softmax-stat addressing.
#include "host/layout/layout.hpp"

#include "host/runtime/check.hpp"

namespace cannon {

Layout parse_layout(std::string_view text, std::string_view what) {
  if (text == "BSH") return Layout::kBSH;
  if (text == "SBH") return Layout::kSBH;
  if (text == "BSND") return Layout::kBSND;
  if (text == "BNSD") return Layout::kBNSD;
  if (text == "TND") return Layout::kTND;
  fail(Status::kParamInvalid, "{}: '{}' is not a layout (expected BSH, SBH, BSND, BNSD or TND)", what, text);
}

const char* layout_name(Layout layout) {
  switch (layout) {
    case Layout::kBSH:
      return "BSH";
    case Layout::kSBH:
      return "SBH";
    case Layout::kBSND:
      return "BSND";
    case Layout::kBNSD:
      return "BNSD";
    case Layout::kTND:
      return "TND";
  }
  return "?";
}

namespace {

std::size_t layout_rank(Layout layout) {
  return layout == Layout::kBSH || layout == Layout::kSBH || layout == Layout::kTND ? 3 : 4;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

LayoutDims layout_dims(Layout layout, const std::vector<int64_t>& shape, int64_t heads, std::string_view what) {
  require(shape.size() == layout_rank(layout), "{}: shape {} has rank {}, but layout {} needs rank {}", what,
          shape_text(shape), shape.size(), layout_name(layout), layout_rank(layout));
  for (int64_t d : shape) require(d >= 0, "{}: shape {} has a negative dimension", what, shape_text(shape));
  switch (layout) {
    case Layout::kBSH:
    case Layout::kSBH: {
      require(heads > 0, "{}: head count must be positive to split H, got {}", what, heads);
      require(shape[2] % heads == 0, "{}: H={} is not divisible by the head count {}", what, shape[2], heads);
      int64_t b = layout == Layout::kBSH ? shape[0] : shape[1];
      int64_t s = layout == Layout::kBSH ? shape[1] : shape[0];
      return {b, s, heads, shape[2] / heads};
    }
    case Layout::kBSND:
      return {shape[0], shape[1], shape[2], shape[3]};
    case Layout::kBNSD:
      return {shape[0], shape[2], shape[1], shape[3]};
    case Layout::kTND:
      return {1, shape[0], shape[1], shape[2]};
  }
  fail(Status::kInnerError, "unknown layout");
}

AxisStrides axis_strides(Layout layout, const std::vector<int64_t>& shape, const std::vector<int64_t>& strides,
                         int64_t heads, std::string_view what) {
  LayoutDims dims = layout_dims(layout, shape, heads, what);
  std::vector<int64_t> st = strides;
  if (st.empty()) {
    st.assign(shape.size(), 1);
    for (std::size_t i = shape.size(); i-- > 1;) st[i - 1] = st[i] * shape[i];
  }
  require(st.size() == shape.size(), "{}: {} strides given for a rank-{} shape", what, st.size(), shape.size());
  require(st.back() == 1 || shape.back() == 1, "{}: the last dimension must be contiguous (stride 1), got stride {}",
          what, st.back());
  switch (layout) {
    case Layout::kBSH:
      return {st[0], st[1], dims.dim, 1};
    case Layout::kSBH:
      return {st[1], st[0], dims.dim, 1};
    case Layout::kBSND:
      return {st[0], st[1], st[2], 1};
    case Layout::kBNSD:
      return {st[0], st[2], st[1], 1};
    case Layout::kTND:
      return {0, st[0], st[1], 1};
  }
  fail(Status::kInnerError, "unknown layout");
}

std::vector<int64_t> layout_shape(Layout layout, const LayoutDims& d) {
  switch (layout) {
    case Layout::kBSH:
      return {d.batch, d.seq, d.heads * d.dim};
    case Layout::kSBH:
      return {d.seq, d.batch, d.heads * d.dim};
    case Layout::kBSND:
      return {d.batch, d.seq, d.heads, d.dim};
    case Layout::kBNSD:
      return {d.batch, d.heads, d.seq, d.dim};
    case Layout::kTND:
      return {d.seq, d.heads, d.dim};
  }
  fail(Status::kInnerError, "unknown layout");
}

namespace {

// Cumulative ends → (start, length). Lengths that would be negative (trailing zeros) become 0.
void split_cumulative(const std::vector<int64_t>& cum, int64_t total, const char* what, std::vector<int64_t>& start,
                      std::vector<int64_t>& len) {
  std::size_t last_nonzero = cum.size();
  for (std::size_t i = 0; i < cum.size(); ++i) {
    require(cum[i] >= 0, "{}: entry {} is {}; cumulative ends must be >= 0", what, i, cum[i]);
    if (cum[i] != 0) last_nonzero = i;
  }
  int64_t prev = 0;
  for (std::size_t i = 0; i < cum.size(); ++i) {
    bool trailing = last_nonzero == cum.size() || i > last_nonzero;
    if (trailing) {
      require(cum[i] == 0, "{}: entry {} is {} after the end; only zeros may follow the last sequence", what, i,
              cum[i]);
      start.push_back(prev);
      len.push_back(0);
      continue;
    }
    require(cum[i] >= prev,
            "{}: entries must be non-decreasing cumulative ends (no leading 0), but entry {} is {} after {}", what, i,
            cum[i], prev);
    start.push_back(prev);
    len.push_back(cum[i] - prev);
    prev = cum[i];
  }
  require(prev == total, "{}: the last cumulative end is {}, but the tensor has T={} tokens", what, prev, total);
}

}  // namespace

VarlenSeqs parse_varlen(const std::vector<int64_t>& cum_q, const std::vector<int64_t>& cum_kv, int64_t t_q,
                        int64_t t_kv) {
  require(!cum_q.empty(), "actual_seq_qlen: required for layout TND (cumulative ends, e.g. [2,4,6])");
  require(!cum_kv.empty(), "actual_seq_kvlen: required for layout TND (cumulative ends, e.g. [2,4,6])");
  require(cum_q.size() == cum_kv.size(),
          "actual_seq_qlen has {} entries but actual_seq_kvlen has {}; both list B batches", cum_q.size(),
          cum_kv.size());
  VarlenSeqs seqs;
  split_cumulative(cum_q, t_q, "actual_seq_qlen", seqs.q_start, seqs.q_len);
  split_cumulative(cum_kv, t_kv, "actual_seq_kvlen", seqs.kv_start, seqs.kv_len);
  return seqs;
}

StatAddressing stat_addressing(Layout layout, bool tnd_same_as_input, int64_t batch, int64_t heads, int64_t s1,
                               int64_t q_start) {
  if (layout != Layout::kTND) return {batch * heads * s1, s1, 1};
  if (tnd_same_as_input) return {q_start * heads, 1, heads};
  return {q_start * heads, s1, 1};
}

}  // namespace cannon
