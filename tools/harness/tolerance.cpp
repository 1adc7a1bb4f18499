// The tolerance table and the reasoning behind each row. Inputs are exact in every dtype (the reference
// reads the stored values), and all device arithmetic is fp32, so the rows model fp32 rounding and, for
// fp16/bf16 outputs, the final rounding of the result plus P's rounding to the input dtype.
#include "tools/harness/tolerance.hpp"

#include "cannon/error.hpp"

namespace cannon::tools {
namespace {

struct Row {
  Quantity quantity;
  DType dtype;
  double atol_factor, rtol_factor;
};

// Factors multiply dtype_epsilon(dtype).
constexpr Row kTable[] = {
    // fp32 out: a score's error is ~sqrt(Dk)/4 eps (fp32 dot product of exact inputs), exp() adds a few ulp,
    // and the online rescaling over S2 tiles plus the S2-term sums add a few eps more. Measured on PoCL over
    // test_fa_full: at most 3.2 eps (Dk = 192, S2 = 2048).
    {Quantity::kAttentionOut, DType::kFloat32, 16, 16},
    // fp16/bf16 out: the fp32 result is rounded once (<= 1/2 ulp <= eps/2 relative against float64, 1 ulp
    // when the reference rounds too and a tie-near value flips). P's rounding to the input dtype can flip
    // a few p by 1 ulp relative to the float64 reference; each moves O by <= eps*p*|v|/l, far below atol.
    // Measured: at most 0.33 of this bound.
    {Quantity::kAttentionOut, DType::kFloat16, 0.5, 1},
    {Quantity::kAttentionOut, DType::kBFloat16, 0.5, 1},
    // softmax_max = scale * max_j q.k: one fp32 dot product of exact inputs and one multiply. Measured: 4.5 eps.
    {Quantity::kSoftmaxMax, DType::kFloat32, 16, 16},
    // softmax_sum = sum of S2 terms exp(s - m) in (0, 1]: exp's ulp error, the fp32 sum and the
    // exp(m_old - m_new) rescaling of earlier tiles. Measured: 11 eps (S2 = 2048).
    {Quantity::kSoftmaxSum, DType::kFloat32, 0, 64},
    // FlashAttention's cute tests add a floor of 2*|ref + 0.3 - 0.3 - ref| in the low-precision dtype, about
    // eps/4 for |ref| <= 0.3; it only matters where the naive error is ~0 (S2 = 1: both are exact).
    {Quantity::kFaRuleFloor, DType::kFloat16, 0.25, 0},
    {Quantity::kFaRuleFloor, DType::kBFloat16, 0.25, 0},
    // Gradients have no scale of their own the table could know (dS cancels, sums run over S1 or S2), so their
    // absolute bound is the model's alone (gradient_bound); the table holds only what any element pays: fp32
    // rounding of the last few operations, and fp16/bf16's final rounding (eps/2) doubled for a flip at a midpoint.
    {Quantity::kGradient, DType::kFloat32, 0, 16},
    {Quantity::kGradient, DType::kFloat16, 0, 1},
    {Quantity::kGradient, DType::kBFloat16, 0, 1},
};

}  // namespace

const char* quantity_name(Quantity quantity) {
  switch (quantity) {
    case Quantity::kAttentionOut:
      return "attention_out";
    case Quantity::kSoftmaxMax:
      return "softmax_max";
    case Quantity::kSoftmaxSum:
      return "softmax_sum";
    case Quantity::kFaRuleFloor:
      return "fa_rule_floor";
    case Quantity::kGradient:
      return "gradient";
  }
  return "?";
}

double dtype_epsilon(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return 0x1.0p-23;
    case DType::kFloat16:
      return 0x1.0p-10;
    case DType::kBFloat16:
      return 0x1.0p-7;
    default:
      return 0;
  }
}

Tolerance tolerance(Quantity quantity, DType dtype) {
  if (quantity == Quantity::kSoftmaxMax || quantity == Quantity::kSoftmaxSum) dtype = DType::kFloat32;
  for (const Row& row : kTable) {
    if (row.quantity == quantity && row.dtype == dtype) {
      double eps = dtype_epsilon(dtype);
      return Tolerance{row.atol_factor * eps, row.rtol_factor * eps};
    }
  }
  throw Error(Status::kInnerError,
              std::string("tolerance table has no row for ") + quantity_name(quantity) + " in " + dtype_name(dtype));
}

}  // namespace cannon::tools
