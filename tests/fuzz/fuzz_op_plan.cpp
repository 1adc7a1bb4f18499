// libFuzzer target: each operator's validate + plan on the host (host/ops/dry_plan.hpp, no OpenCL, no kernel
// build) with fuzzed descriptions and attributes, against a fuzzed device description; plus the view extents
// (view_byte_range) that run-time checks compute from fuzzed shapes, strides and offsets. The input is decoded
// into a coherent problem (the tools' describe_case) and then perturbed, so most inputs reach deep planning rules.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "host/ops/dry_plan.hpp"
#include "host/runtime/checked.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tools/drivers/fa/fa_case.hpp"
#include "tools/drivers/nsa/nsa_case.hpp"
#include "tools/drivers/rau/rau_case.hpp"

namespace {

using namespace cannon;
using namespace cannon::tools;

// Reads the input front to back; past its end every read is 0, so short inputs decode to small valid problems.
class Bytes {
 public:
  Bytes(const uint8_t* data, std::size_t size) : p_(data), end_(data + size) {}
  uint8_t byte() { return p_ < end_ ? *p_++ : 0; }
  int64_t raw64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(byte()) << (8 * i);
    return static_cast<int64_t>(v);
  }
  // Mostly small sizes that real problems use, sometimes 0, negative or any int64.
  int64_t dim() {
    static constexpr int64_t kSmall[] = {1, 2, 3, 4, 7, 8, 16, 17, 31, 32, 64, 113, 128, 192, 256, 2048};
    const uint8_t b = byte();
    if (b < 224) return kSmall[b % 16];
    if (b < 240) return static_cast<int64_t>(b) - 232;  // -8 .. 7
    return raw64();
  }
  double real() {
    static constexpr double kValues[] = {1.0, 0.125, 0.5, 0.0, -1.0, 1e-30, 1e30, 0.9};
    const uint8_t b = byte();
    if (b < 240) return kValues[b % 8];
    if (b < 244) return std::numeric_limits<double>::quiet_NaN();
    if (b < 248) return b % 2 ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
    const int64_t bits = raw64();
    double x;
    std::memcpy(&x, &bits, sizeof x);
    return x;
  }
  std::vector<int64_t> list() {
    std::vector<int64_t> v(byte() % 6);
    for (int64_t& x : v) x = dim();
    return v;
  }
  template <std::size_t N>
  const char* pick(const char* const (&options)[N]) {
    return options[byte() % N];
  }
  DType dtype() { return static_cast<DType>(byte() % 7); }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

DeviceInfo device(Bytes& in) {
  DeviceInfo d;
  d.kind = in.byte() % 2 ? DeviceKind::kGpu : DeviceKind::kCpu;
  // PoCL's CPU device gets the CPU-shaped kernels (their tiles and limits); a loop limit (llvmpipe) its budget check.
  const uint8_t platform = in.byte();
  d.pocl = platform % 3 == 0;
  d.loop_limit = platform % 3 == 2 ? 65535 : 0;
  // The backward's parts and row chunks follow the memory cache (unknown, small, a 32 MiB L3, tiny). From the same
  // byte, so that the corpus and regression inputs decode as before.
  static constexpr std::size_t kCache[] = {0, std::size_t{1} << 20, std::size_t{32} << 20, std::size_t{1} << 12};
  d.global_mem_cache_size = kCache[(platform / 3) % 4];
  static constexpr std::size_t kAlign[] = {128, 4096, 1, 1024};
  d.base_addr_align = kAlign[in.byte() % 4];
  d.max_work_group_size = std::size_t{1} << (in.byte() % 13);
  d.compute_units = 1 + in.byte() % 64;
  // Planning's host tables mirror the device tables it checks against these limits (per-batch rows, work and tile
  // lists), so host memory is bounded by a small multiple of max_alloc_size. Devices of at most 64 MiB keep every
  // plan inside libFuzzer's caps (1 GiB per malloc, 2 GiB in all, 10 s per input, under ASan) while each limit is
  // still reached; a real 2 GiB device scales the same tables by 32.
  static constexpr std::size_t kMem[] = {std::size_t{1} << 26, std::size_t{1} << 24, std::size_t{1} << 20,
                                         std::size_t{1} << 12};
  d.max_alloc_size = kMem[in.byte() % 4];
  d.global_mem_size = d.max_alloc_size * (1 + in.byte() % 4);
  return d;
}

// Replaces one dimension of a description, or its dtype, when the input asks for it.
void perturb(Bytes& in, TensorDesc& desc) {
  const uint8_t b = in.byte();
  if (b < 200) return;
  if (b < 216) {
    desc.dtype = in.dtype();
  } else if (b < 232 && !desc.shape.empty()) {
    desc.shape[in.byte() % desc.shape.size()] = in.dim();
  } else if (b < 240) {
    desc.shape.push_back(in.dim());
  } else if (!desc.shape.empty()) {
    desc.shape.pop_back();
  }
}

void fa(Bytes& in, const DeviceInfo& dev) {
  static constexpr const char* kLayouts[] = {"BSND", "BSH", "SBH", "BNSD", "TND", "XYZ"};
  static constexpr const char* kMasks[] = {"none", "ss", "b1ss", "bnss", "11ss", "comp", "comp6"};
  static constexpr const char* kPse[] = {"none", "bnss", "1nss", "bn1s", "1n1s", "alibi", "slopes_bn", "slopes_n"};
  FaProblem p;
  p.b = in.dim(), p.n1 = in.dim(), p.n2 = in.dim(), p.s1 = in.dim(), p.s2 = in.dim(), p.dk = in.dim();
  p.dv = in.byte() % 2 ? p.dk : in.dim();
  p.layout = in.pick(kLayouts);
  p.dtype = static_cast<DType>(in.byte() % 3);
  if (p.tnd() && in.byte() % 2) p.seqq = in.list(), p.seqkv = in.list();
  p.sparse = in.byte() % 10;
  p.mask = in.pick(kMasks);
  p.mask_dt = in.dtype();
  p.pse = in.pick(kPse);
  p.drop_mask = in.byte() % 4 == 0 ? "explicit" : "gen";
  FaCase c;
  if (!fuzz::accepts([&] { c = describe_case(p); })) return;
  FlashAttentionScoreAttrs& a = c.attrs;
  a.pre_tokens = in.dim(), a.next_tokens = in.dim();
  if (in.byte() % 4 == 0) a.prefix = in.list();
  a.inner_precise = in.byte() % 4, a.pse_type = in.byte() % 5 - 1;
  a.keep_prob = in.real(), a.scale = in.real();
  if (in.byte() % 4 == 0) a.head_num = in.dim();
  if (in.byte() % 4 == 0) a.actual_seq_qlen = in.list(), a.actual_seq_kvlen = in.list();
  if (in.byte() % 8 == 0) a.q_start_idx = in.list(), a.kv_start_idx = in.list();
  if (in.byte() % 4 == 0) a.softmax_layout = in.byte() % 2 ? "TND" : "BNSD";
  a.seed = in.raw64() & 0xff, a.offset = in.dim();
  FlashAttentionScoreDescs d = c.descs();
  for (TensorDesc* t : {&d.query, &d.key, &d.value}) perturb(in, *t);
  if (std::getenv("CANNON_FUZZ_PRINT")) {  // triage: what a reproducer plans
    std::fprintf(stderr, "fa: q %s k %s v %s mask %s layout %s sparse %lld pre %lld next %lld max_alloc %zu\n",
                 d.query.to_string().c_str(), d.key.to_string().c_str(), d.value.to_string().c_str(),
                 d.atten_mask ? d.atten_mask->to_string().c_str() : "-", a.input_layout.c_str(),
                 static_cast<long long>(a.sparse_mode), static_cast<long long>(a.pre_tokens),
                 static_cast<long long>(a.next_tokens), dev.max_alloc_size);
  }
  fuzz::accepts([&] { plan_flash_attention_score(PlanTarget::host(dev), d, a); });
}

void rau(Bytes& in, const DeviceInfo& dev) {
  RauProblem p;
  p.b = in.dim(), p.n = in.dim(), p.s = in.dim(), p.d = in.dim();
  p.layout = in.byte() % 2 ? "TND" : "SBH";
  p.dtype = static_cast<DType>(in.byte() % 3);
  if (p.tnd() && in.byte() % 2) p.seqq = in.list();
  p.softmax_layout = in.byte() % 2 ? "TND" : "";
  p.seq = in.byte() % 8 != 0 ? "tensor" : "none";
  p.lanes = in.byte() % 8 == 0 ? in.dim() : 8;
  RauCase c;
  if (!fuzz::accepts([&] { c = describe_case(p); })) return;
  RingAttentionUpdateDescs d = c.descs();
  for (TensorDesc* t : {&d.prev_attn_out, &d.prev_softmax_max, &d.cur_attn_out, &d.cur_softmax_sum}) perturb(in, *t);
  fuzz::accepts([&] { plan_ring_attention_update(PlanTarget::host(dev), d, c.attrs); });
}

void nsa(Bytes& in, const DeviceInfo& dev) {
  static constexpr const char* kMasks[] = {"", "none", "comp", "ss"};
  NsaProblem p;
  p.b = 1 + in.byte() % 4, p.n1 = in.dim(), p.n2 = in.dim(), p.s1 = in.dim(), p.s2 = in.dim();
  p.dk = in.dim(), p.dv = in.dim(), p.bs = in.dim(), p.count = in.dim();
  p.dtype = static_cast<DType>(in.byte() % 3);
  p.causal = in.byte() % 2;
  p.mask = in.pick(kMasks);
  if (in.byte() % 2) p.seqq = in.list(), p.seqkv = in.list();
  NsaCase c;
  if (!fuzz::accepts([&] { c = describe_case(p); })) return;
  NsaSelectedAttentionAttrs& a = c.attrs;
  a.scale_value = in.real();
  if (in.byte() % 4 == 0) a.head_num = in.dim();
  if (in.byte() % 4 == 0) a.sparse_mode = in.dim();
  NsaSelectedAttentionDescs d = c.descs();
  for (TensorDesc* t : {&d.query, &d.key, &d.value, &d.topk_indices}) perturb(in, *t);
  fuzz::accepts([&] { plan_nsa_selected_attention(PlanTarget::host(dev), d, a); });
}

void view(Bytes& in) {
  std::vector<int64_t> shape(in.byte() % 6), strides;
  for (int64_t& s : shape) s = in.dim();
  for (std::size_t i = 0; i < shape.size(); ++i) strides.push_back(in.byte() % 4 ? in.dim() : -in.dim());
  const uint64_t offset = static_cast<uint64_t>(in.byte() % 2 ? in.dim() : in.raw64());
  const std::size_t elem = std::size_t{1} << (in.byte() % 4);
  ByteRange r;
  if (!fuzz::accepts([&] { r = view_byte_range(offset, shape, strides, elem, "view"); })) return;
  fuzz::require(r.lo <= r.hi, "view_byte_range: lo > hi");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  Bytes in(data, size);
  const uint8_t op = in.byte();
  const DeviceInfo dev = device(in);
  switch (op % 4) {
    case 0:
      fa(in, dev);
      break;
    case 1:
      rau(in, dev);
      break;
    case 2:
      nsa(in, dev);
      break;
    default:
      view(in);
  }
  return 0;
}
