// FlashAttentionScore as the harness runs it (its OpSpec): the inputs and outputs, the plan and run calls, the float64
// and naive references, dropout's keep_prob for the tolerance model and the dropout generator's kept-fraction check.
#include "tools/drivers/fa/fa_driver.hpp"

#include <fmt/format.h>

#include <bitset>
#include <cmath>

#include "host/reference/flash_attention_score_ref.hpp"
#include "host/runtime/philox.hpp"
#include "tools/drivers/fa/fa_case.hpp"

namespace cannon::tools {
namespace {

// The built-in dropout generator's kept fraction for a generated case with 0 < keep_prob < 1 and no explicit
// drop_mask (host Philox, the statement the reference and kernels share); none otherwise. Judged within 0.01 of
// keep_prob from 2^20 elements up (below that, sampling noise can reach it).
constexpr int64_t kKeptCheckNumel = int64_t{1} << 20;
constexpr double kKeptTolerance = 0.01;

std::optional<double> generator_kept_fraction(const FaCase& fa) {
  const FaDims& d = fa.dims;
  const int64_t numel = d.score_numel();
  if (fa.inputs.drop_mask || !(fa.attrs.keep_prob > 0 && fa.attrs.keep_prob < 1) || fa.attrs.offset < 0 || numel <= 0) {
    return std::nullopt;
  }
  philox::DropoutShape shape{d.n1, d.tnd ? d.q_lens : std::vector<int64_t>(static_cast<std::size_t>(d.b), d.s1),
                             d.tnd ? d.kv_lens : std::vector<int64_t>(static_cast<std::size_t>(d.b), d.s2)};
  philox::DropoutGenerator gen(fa.attrs.seed, fa.attrs.offset, fa.attrs.keep_prob);
  int64_t kept = 0;
  for (uint8_t byte : philox::generate_drop_mask(gen, shape))
    kept += static_cast<int64_t>(std::bitset<8>(byte).count());
  return static_cast<double>(kept) / static_cast<double>(numel);
}

ReferenceValues float64_reference(const FaCase& c) {
  auto r = reference::flash_attention_score(c.ref_inputs(), c.attrs, reference::Precision::kFloat64);
  return {{std::move(r.attention_out.values), std::move(r.softmax_max.values), std::move(r.softmax_sum.values)},
          r.stats};
}

std::optional<std::vector<double>> unrounded_p_reference(const FaCase& c) {
  return reference::flash_attention_score(c.ref_inputs(), c.attrs, reference::Precision::kUnroundedP)
      .attention_out.values;
}

std::optional<std::vector<double>> naive_reference(const FaCase& c) {
  return reference::flash_attention_score(c.ref_inputs(), c.attrs, reference::Precision::kNaiveLowPrecision)
      .attention_out.values;
}

// Without a reference run the model knows dropout's keep_prob: it widens the fp16/bf16 table by 1/keep_prob, since
// P' = P/keep_prob is rounded to the dtype before P·V (FlashAttention's rule still binds).
reference::AttentionStats dropout_stats(const FaCase& c) {
  reference::AttentionStats s;
  if (c.attrs.keep_prob > 0 && c.attrs.keep_prob < 1) s.keep_prob = c.attrs.keep_prob;
  return s;
}

void check_kept_fraction(const FaCase& c, std::vector<std::string>& problems, std::string& summary,
                         nlohmann::json& metrics) {
  const std::optional<double> kept = generator_kept_fraction(c);
  if (!kept) return;
  metrics["generator_kept_fraction"] = *kept;
  summary += fmt::format(" kept={:.4f}", *kept);
  if (c.dims.score_numel() >= kKeptCheckNumel && std::abs(*kept - c.attrs.keep_prob) > kKeptTolerance) {
    problems.push_back(fmt::format("dropout generator keeps {:.4f} of the elements, keep_prob is {} (limit {})", *kept,
                                   c.attrs.keep_prob, kKeptTolerance));
  }
}

}  // namespace

const FaSpec& spec_of(const FaCase*) {
  static const FaSpec spec{
      {"fa", "flash_attention_score", WorkUnit::kFlop, parse_fa_problem, fa_attr_table},
      qkv_and<FaSpec>(
          {spec_input("pse", &FaInputs::pse, &FlashAttentionScoreDescs::pse, &FlashAttentionScoreTensors::pse),
           spec_input("atten_mask", &FaInputs::atten_mask, &FlashAttentionScoreDescs::atten_mask,
                      &FlashAttentionScoreTensors::atten_mask),
           spec_input("drop_mask", &FaInputs::drop_mask, &FlashAttentionScoreDescs::drop_mask,
                      &FlashAttentionScoreTensors::drop_mask)}),
      attention_outputs<FaSpec>("attention_out", &FlashAttentionScorePlan::attention_out,
                                &FlashAttentionScoreTensors::attention_out),
      {{"softmax_out", &FlashAttentionScorePlan::softmax_out, &FlashAttentionScoreTensors::softmax_out}},
      {plan_flash_attention_score, run_flash_attention_score, &FlashAttentionScorePlan::flops},
      {float64_reference, naive_reference, dropout_stats, check_kept_fraction, unrounded_p_reference}};
  return spec;
}

const Driver& fa_driver() { return driver_for<FaCase>(); }

}  // namespace cannon::tools
