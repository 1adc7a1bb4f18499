// Shapes and random inputs of RingAttentionUpdate cases (docs/ring_attention_update.md). Every tensor draws from its
// own stream and range, so swapped operands show.
#include "tools/drivers/rau/rau_case.hpp"

#include <algorithm>
#include <cfloat>
#include <random>

#include "host/runtime/checked.hpp"
#include "tools/harness/random.hpp"

namespace cannon::tools {
namespace {

int64_t last(const std::vector<int64_t>& v) { return v.empty() ? 0 : std::max<int64_t>(v.back(), 0); }

}  // namespace

HostData seq_tensor(DType dtype, const std::vector<int64_t>& cumulative) {
  return encode_values(dtype, {static_cast<int64_t>(cumulative.size())},
                       std::vector<double>(cumulative.begin(), cumulative.end()));
}

RauCase describe_case(const RauProblem& p) {
  RauCase c;
  copy_attrs(rau_attr_table(), p, c.attrs);
  c.invalid = p.invalid;
  c.invalid_frac = p.invalid_frac;
  const int64_t cur_d = p.cur_d.value_or(p.d);
  std::vector<int64_t> out_shape, cur_shape, stat_shape;
  if (p.tnd()) {
    c.cum_seq = p.cum_seq();
    const int64_t t = last(c.cum_seq);
    out_shape = {t, p.n, p.d};
    cur_shape = {t, p.n, cur_d};
    stat_shape = {t, p.n, p.lanes};
    if (p.seq == "tensor")
      c.inputs.actual_seq_qlen = HostData{TensorDesc{p.seq_dt, {static_cast<int64_t>(c.cum_seq.size())}}, {}};
  } else {
    out_shape = {p.s, p.b, checked_mul(p.n, p.d, "H = N·D")};
    cur_shape = {p.s, p.b, checked_mul(p.n, cur_d, "cur_attn_out: H = N·D")};
    stat_shape = {p.b, p.n, p.s, p.lanes};
  }
  c.inputs.prev_out.desc = TensorDesc{p.dtype, out_shape};
  c.inputs.cur_out.desc = TensorDesc{p.cur_dt.value_or(p.dtype), cur_shape};
  for (HostData* h : {&c.inputs.prev_max, &c.inputs.prev_sum, &c.inputs.cur_max, &c.inputs.cur_sum})
    h->desc = TensorDesc{p.stat_dt, stat_shape};
  check_descs({{"prev_attn_out", &c.inputs.prev_out.desc},
               {"cur_attn_out", &c.inputs.cur_out.desc},
               {"softmax_max", &c.inputs.prev_max.desc}});
  return c;
}

void generate_inputs(RauCase& c, uint64_t seed) {
  // Streams 1-6: the six tensors; 7: the choice of invalid rows.
  std::mt19937_64 rng[] = {seeded_stream(seed, 1), seeded_stream(seed, 2), seeded_stream(seed, 3),
                           seeded_stream(seed, 4), seeded_stream(seed, 5), seeded_stream(seed, 6)};
  std::mt19937_64 pick = seeded_stream(seed, 7);
  const TensorDesc& sd = c.inputs.prev_max.desc;
  const int64_t lanes = sd.shape.empty() ? 1 : sd.shape.back();
  const int64_t rows = lanes > 0 ? sd.numel() / lanes : 0;
  auto stats = [&](std::mt19937_64& r, double lo, double hi) {
    std::vector<double> v(static_cast<std::size_t>(std::max<int64_t>(sd.numel(), 0)));
    for (int64_t row = 0; row < rows; ++row) {
      double x = uniform_float(r, lo, hi);
      for (int64_t l = 0; l < lanes; ++l) v[static_cast<std::size_t>(row * lanes + l)] = x;
    }
    return v;
  };
  std::vector<double> out[2] = {decode_values(random_tensor(c.inputs.prev_out.desc, rng[0], -1.0, 1.0)),
                                decode_values(random_tensor(c.inputs.cur_out.desc, rng[3], -0.9, 1.0))};
  std::vector<double> mx[2] = {stats(rng[1], -4, 4), stats(rng[4], -4, 4)};
  std::vector<double> sm[2] = {stats(rng[2], 1, 64), stats(rng[5], 1, 64)};

  // Invalid rows: a row is (token, batch, head); its attn elements and its softmax lanes are located per layout.
  if (c.invalid != "none" && rows > 0) {
    const bool tnd = c.attrs.input_layout == "TND";
    const auto& os = c.inputs.prev_out.desc.shape;
    const int64_t n = tnd ? os[1] : (sd.shape.size() > 1 ? sd.shape[1] : 1);
    const int64_t d = tnd ? os[2] : (n > 0 ? os[2] / n : 0);
    const int64_t batches = tnd ? static_cast<int64_t>(c.cum_seq.size()) - 1 : os[1];
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t start = tnd ? c.cum_seq[b] : 0, len = tnd ? c.cum_seq[b + 1] - start : os[0];
      for (int64_t s = 0; s < len; ++s) {
        for (int64_t h = 0; h < n; ++h) {
          if (uniform_float(pick, 0, 1) >= c.invalid_frac) continue;
          const int64_t t = start + s;
          int64_t attn = tnd ? (t * n + h) * d : s * (batches * n * d) + (b * n + h) * d;
          int64_t stat = !tnd                                        ? ((b * n + h) * len + s) * lanes
                         : c.attrs.softmax_layout == "TND" || n == 1 ? (t * n + h) * lanes
                                                                     : (start * n + h * len + s) * lanes;
          for (int side = 0; side < 2; ++side) {
            if (c.invalid != "both" && c.invalid != (side == 0 ? "prev" : "cur")) continue;
            for (int64_t i = 0; i < d; ++i) out[side][static_cast<std::size_t>(attn + i)] = 0;
            for (int64_t l = 0; l < lanes; ++l) {
              mx[side][static_cast<std::size_t>(stat + l)] = -FLT_MAX;
              sm[side][static_cast<std::size_t>(stat + l)] = FLT_MAX;
            }
          }
        }
      }
    }
  }
  c.inputs.prev_out = encode_values(c.inputs.prev_out.desc.dtype, c.inputs.prev_out.desc.shape, out[0]);
  c.inputs.cur_out = encode_values(c.inputs.cur_out.desc.dtype, c.inputs.cur_out.desc.shape, out[1]);
  c.inputs.prev_max = encode_values(sd.dtype, sd.shape, mx[0]);
  c.inputs.prev_sum = encode_values(sd.dtype, sd.shape, sm[0]);
  c.inputs.cur_max = encode_values(sd.dtype, sd.shape, mx[1]);
  c.inputs.cur_sum = encode_values(sd.dtype, sd.shape, sm[1]);
  if (c.inputs.actual_seq_qlen) c.inputs.actual_seq_qlen = seq_tensor(c.inputs.actual_seq_qlen->desc.dtype, c.cum_seq);
}

}  // namespace cannon::tools
