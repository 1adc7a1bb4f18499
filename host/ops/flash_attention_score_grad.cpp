// FlashAttentionScoreGrad on the host: validation (the forward's rules plus the backward's own), plan (kernel
// config, work lists, tables, workspace) and the allocating convenience call. run() is in
// flash_attention_score_grad_run.cpp.
#include "cannon/flash_attention_score_grad.hpp"

#include <algorithm>

#include <fmt/ranges.h>

#include "host/ops/convenience.hpp"
#include "host/ops/dry_plan.hpp"
#include "host/ops/flash_attention_score_grad_problem.hpp"
#include "host/ops/plan_access.hpp"
#include "host/runtime/check.hpp"
#include "host/runtime/checked.hpp"
#include "host/runtime/launch_check.hpp"
#include "host/tune/params.hpp"
#include "host/tune/problem_class.hpp"
#include "host/tune/resolve.hpp"

namespace cannon {
namespace {

using Data = detail::FlashAttentionScoreGradPlanData;

// attention_out's and the statistics' descriptions for this problem, as the forward's plan reports them.
TensorDesc out_desc(const FaProblem& p) {
  const bool tnd = p.layout == Layout::kTND;
  return {p.dtype, layout_shape(p.layout, {tnd ? 1 : p.batch, p.s1, p.n1, p.dv})};
}
TensorDesc stats_desc(const FaProblem& p) {
  const bool tnd = p.layout == Layout::kTND;
  return {DType::kFloat32, tnd ? std::vector<int64_t>{p.s1, p.n1, 8} : std::vector<int64_t>{p.batch, p.n1, p.s1, 8}};
}

void require_desc(const TensorDesc& got, const TensorDesc& want, const char* what, const char* rule) {
  require(got.dtype == want.dtype, "{}: dtype {} must be {} ({})", what, dtype_name(got.dtype), dtype_name(want.dtype),
          rule);
  require(got.shape == want.shape, "{}: shape [{}] must be [{}] ({})", what, fmt::join(got.shape, ", "),
          fmt::join(want.shape, ", "), rule);
}

// Floats of one row block's workspace record (REC_FLOATS in kernels/flash_attention_score_grad.cl before its padding
// to 16): Qᵀ, dYᵀ, Q rows and dY rows (head dims padded to 16) and three statistics per lane.
uint64_t grad_record_floats(int64_t dk, int64_t dv, int64_t lanes) {
  const uint64_t dk_pad = static_cast<uint64_t>((dk + 15) / 16 * 16),
                 dv_pad = static_cast<uint64_t>((dv + 15) / 16 * 16);
  return (static_cast<uint64_t>(dk + dv) + dk_pad + dv_pad + 3) * static_cast<uint64_t>(lanes);
}

// Key entries per kv head where the tuning leaves PARTS at 0; each entry owns every parts-th key block of its head and
// a dQ copy of its own. Enough entries for two per compute unit. More where the row records of the heads that run at
// once (`head_record_bytes` each) would fill over a quarter of the device's global memory cache: every key block
// sweeps its head's records, and threads on one head share that sweep in the cache where threads on different heads
// each stream their own. Doubled up to one part per compute unit, and at most 4, where the dQ copies (a quarter of a
// record each at Dk = Dv) together still take no more workspace than the records. Measured on the 2-core EPYC VM, AVX2
// code, fp32 B1 N8 S4096 D128 BSND (16 MiB of records for two heads against a 32 MiB cache): parts 2 against 1,
// paired with PyTorch's backward run for run (tools/bench/compare_torch.py --paired), in docs/performance.md.
int64_t automatic_parts(int64_t heads, unsigned compute_units, double head_record_bytes, std::size_t cache_bytes) {
  const int64_t cu = std::max<int64_t>(1, compute_units);
  int64_t parts = (2 * cu + heads - 1) / heads;
  const auto records_at_once = [&](int64_t n) {
    return static_cast<double>(std::min(heads, (cu + n - 1) / n)) * head_record_bytes;
  };
  while (parts < std::min<int64_t>(cu, 4) && cache_bytes > 0 &&
         records_at_once(parts) > static_cast<double>(cache_bytes) / 4) {
    parts = std::min<int64_t>({cu, 4, parts * 2});
  }
  return parts;
}

// Row blocks per chunk where the tuning leaves ROW_CHUNK at 0. Every key block sweeps the records of its rows, so a
// sweep over all `blocks` of a head reads them all (`block_bytes` each, over the kv group) from wherever they live.
// Past a sixth of the device's global memory cache they leave the cache between sweeps; then the rows go in the
// fewest equal chunks under that, and each chunk is swept by every key block before the next. Measured on the 2-core
// EPYC VM, AVX2 code, fp32 B1 N8 D128 BSND (8.1 MiB of records per head at S=4096): one thread and two took 4.32
// times as long at S=4096 as at S=2048 (4.5 MiB), where the FLOPs give 4 (docs/performance.md, twelfth session).
int64_t automatic_chunk_blocks(int64_t blocks, double block_bytes, std::size_t cache_bytes) {
  const double budget = static_cast<double>(cache_bytes) / 6;
  if (cache_bytes == 0 || static_cast<double>(blocks) * block_bytes <= budget) return blocks;
  const int64_t fit = std::max<int64_t>(1, static_cast<int64_t>(budget / block_bytes));
  const int64_t chunks = (blocks + fit - 1) / fit;
  return (blocks + chunks - 1) / chunks;
}

// Work lists: every block of BLOCK_M query rows of every head (pre-pass, dQ, post), the per-batch bases of the
// per-row and per-block workspace, and the key entries: the generic variant's blocks of BLOCK_M keys of every kv
// head, or the CPU variant's `parts` entries per kv head, entry p owning key blocks p, p + parts, ...
void list_work(const FaProblem& p, int block_m, int parts, Data& d) {
  d.rows.clear();
  d.keys.clear();
  d.grad_table.clear();
  int64_t row_base = 0, tile_base = 0;
  for (int64_t b = 0; b < p.batch; ++b) {
    const int64_t s1 = p.seqs.q_len[b], s2 = p.seqs.kv_len[b];
    d.grad_table.insert(d.grad_table.end(), {row_base, tile_base});
    for (int64_t n = 0; n < p.n1; ++n) {
      for (int64_t i = 0; i < s1; i += block_m) {
        d.rows.insert(d.rows.end(), {static_cast<int32_t>(b), static_cast<int32_t>(n), static_cast<int32_t>(i)});
      }
    }
    for (int64_t n = 0; n < p.n2; ++n) {
      if (parts > 0) {
        for (int32_t part = 0; part < parts; ++part) {
          d.keys.insert(d.keys.end(), {static_cast<int32_t>(b), static_cast<int32_t>(n), part, parts, part});
        }
        continue;
      }
      for (int64_t j = 0; j < s2; j += block_m) {
        d.keys.insert(d.keys.end(), {static_cast<int32_t>(b), static_cast<int32_t>(n), static_cast<int32_t>(j), 0, 0});
      }
    }
    row_base += p.n1 * s1;
    tile_base += p.n1 * ((s1 + block_m - 1) / block_m);
  }
  d.total_rows = row_base;
  d.row_tiles = tile_base;
  static_assert(GR_STRIDE == 3 && GK_STRIDE == 5 && GB_STRIDE == 2, "the work lists above");
}

// The CPU variant's outer tiles (cube/outer_tile_cpu.clh): CV column vectors (a divisor of the padded head dim's
// vectors, at most 4) × OA_KEYS keys, as many accumulators as fit the register file beside CV operands and a broadcast,
// preferring the tile with the fewest loads per FMA.
struct OuterTile {
  int keys = 1, cv = 1;
};
OuterTile outer_tile(int dim, int vw, int registers) {
  const int vectors = (dim + 15) / 16 * 16 / vw;
  OuterTile best;
  double best_cost = 1e9;
  for (int cv = 1; cv <= 4; ++cv) {
    if (vectors % cv != 0) continue;
    const int keys = std::min(8, (registers - cv - 2) / cv);
    if (keys < 1) continue;
    const double cost = static_cast<double>(cv + keys) / (cv * keys);
    if (cost < best_cost) {
      best_cost = cost;
      best = {keys, cv};
    }
  }
  return best;
}

// Scores the backward computes (every visible element of every head) times the FLOPs of its five matmuls.
double grad_flops(const FaProblem& p) {
  double scores = 0;
  for (int64_t b = 0; b < p.batch; ++b) {
    const schedule::BandRule& r = p.masks.rules[b];
    const int64_t s1 = p.seqs.q_len[b], s2 = p.seqs.kv_len[b];
    for (int64_t i = 0; i < s1; ++i) {
      // The prefix keys [0, prefix), then the band [i - pre, i + next] past them (the kernels' own walk).
      const int64_t prefix = std::clamp<int64_t>(r.prefix, 0, s2);
      const int64_t lo = std::max<int64_t>(prefix, i - std::min<int64_t>(r.pre, s2 + s1));
      const int64_t hi = std::min<int64_t>(s2 - 1, i + std::min<int64_t>(r.next, s2 + s1));
      scores += static_cast<double>(prefix + std::max<int64_t>(0, hi - lo + 1));
    }
  }
  return scores * static_cast<double>(p.n1) * 2.0 * static_cast<double>(3 * p.dk + 2 * p.dv);
}

}  // namespace

bool fag_has_dpse(const FaProblem& p) { return p.pse.mode == PseMode::kAdd || p.pse.mode == PseMode::kAddScale; }

FlashAttentionScoreDescs forward_descs(const FlashAttentionScoreGradDescs& d) {
  return {d.query, d.key, d.value, d.pse, d.drop_mask, d.atten_mask};
}

FaProblem validate_flash_attention_score_grad(const FlashAttentionScoreGradDescs& d, const FlashAttentionScoreAttrs& a,
                                              bool strict, const DeviceLimits* limits) {
  FaProblem p = validate_flash_attention_score(forward_descs(d), a, strict, limits);
  const TensorDesc out = out_desc(p), stats = stats_desc(p);
  require_desc(d.dy, out, "dy", "attention_out's shape and the query's dtype");
  require_desc(d.attention_in, out, "attention_in", "the forward's attention_out");
  require_desc(d.softmax_max, stats, "softmax_max", "the forward's softmax_max");
  require_desc(d.softmax_sum, stats, "softmax_sum", "the forward's softmax_sum");
  if (limits) {
    check_buffers_fit(*limits, {buffer_of("dy", d.dy), buffer_of("attention_in", d.attention_in),
                                buffer_of("dq", d.query), buffer_of("dk", d.key), buffer_of("dv", d.value)});
  }
  return p;
}

uint64_t fag_generic_loop_steps(const KernelConfig& c, int64_t max_rows, int64_t max_keys, int64_t group,
                                bool dropout) {
  const uint64_t dk = static_cast<uint64_t>(c.dk / 16 + c.dk % 16), dv = static_cast<uint64_t>(c.dv / 16 + c.dv % 16);
  const uint64_t rows = checked_mul_u64(static_cast<uint64_t>(max_rows), static_cast<uint64_t>(group), "rows");
  // Per score: the loop itself, the two dot products and the two axpys; generated dropout runs Philox's round loops
  // (about 30 steps, as fa_generic_loop_steps counts them).
  const uint64_t per_element = 2 * dk + 2 * dv + 1 + (dropout ? 32 : 0);
  const uint64_t fixed = 4 * (dk + dv) + static_cast<uint64_t>(c.dk + c.dv);  // loads, zeroing, stores
  return fixed + checked_mul_u64(std::max(rows, static_cast<uint64_t>(max_keys)), per_element, "loop steps");
}

uint64_t fag_dpse_loop_steps(const KernelConfig& c, const FaProblem& p) {
  if (!fag_has_dpse(p) || p.pse.batches.empty()) return 0;
  const int64_t max_rows = *std::max_element(p.seqs.q_len.begin(), p.seqs.q_len.end());
  // Scores one pse element collects per batch: one in a full form, a row per 1024 and one more in the compressed
  // form, every row in a row-broadcast form (a key's rows) and in TND's compressed form (a diagonal); times B when
  // the batches share the pse.
  const PseBatch& first = p.pse.batches.front();
  const bool full = p.pse.map == PseMap::kDirect && first.row != 0;
  const int64_t rows = full ? 1 : p.pse.map == PseMap::kCompressed ? max_rows / 1024 + 1 : max_rows;
  const bool shared = p.batch > 1 && p.pse.batches.back().base == first.base;
  const uint64_t scores =
      checked_mul_u64(static_cast<uint64_t>(rows), static_cast<uint64_t>(shared ? p.batch : 1), "dpse scores");
  // Per score: the loop itself, the q and dy rows' loads (16-lane partial loads loop per element) and the three dot
  // products; generated dropout runs Philox's round loops. Fixed: the batch search.
  const uint64_t dk = static_cast<uint64_t>(c.dk / 16 + c.dk % 16), dv = static_cast<uint64_t>(c.dv / 16 + c.dv % 16);
  const uint64_t per_score = 1 + 2 * dk + 3 * dv + 32 + (p.dropout.mode == DropoutMode::kNone ? 0 : 32);
  return 64 + static_cast<uint64_t>(p.batch) + checked_mul_u64(scores, per_score, "dpse loop steps");
}

FlashAttentionScoreGradPlan plan_flash_attention_score_grad(const PlanTarget& target,
                                                            const FlashAttentionScoreGradDescs& descs,
                                                            const FlashAttentionScoreAttrs& attrs) {
  const DeviceLimits limits = DeviceLimits::of(target.device);
  auto data = detail::validated_plan_data<Data>(
      descs, [&] { return validate_flash_attention_score_grad(descs, attrs, target.config.strict, &limits); });
  const FaProblem& p = data->problem;

  KernelConfig& kc = data->kernel;
  const int64_t max_rows = p.seqs.q_len.empty() ? 0 : *std::max_element(p.seqs.q_len.begin(), p.seqs.q_len.end());
  const int64_t max_keys = p.seqs.kv_len.empty() ? 0 : *std::max_element(p.seqs.kv_len.begin(), p.seqs.kv_len.end());
  // The forward's kernel choice (and its CANNON_TUNE fa.* values) picks the register tiles and the default variant;
  // fag.* (heuristics, then the tuning database, then CANNON_TUNE: docs/tuning.md) the variant, the rows and keys per
  // block and the key entries.
  kc = choose_kernel_config(target.device, p.dtype, static_cast<int>(p.dk), static_cast<int>(p.dv), target.config,
                            tune::MaskClass::kDense, max_rows);
  const int regs = cpu_vector_registers(target.device, kc.vw);
  const OuterTile ok = outer_tile(kc.dk, kc.vw, regs), ov = outer_tile(kc.dv, kc.vw, regs);
  const int oa_keys = std::min(ok.keys, ov.keys);
  // bf16 on a CPU with avx512_bf16: the five matmuls as vdpbf16ps pair dot products (kernels/cube/bf16_pair_cpu.clh),
  // each doing two fp32 FMAs' work on operands that are bf16 values already.
  const bool pairs_possible = p.dtype == DType::kBFloat16 && kc.vw == 16 && cpu_has_bf16_pairs(target.device);
  const tune::ConstraintInput tile_limits{
      target.device.name, kc.dk,   kc.dv,         target.device.loop_limit, 0, kc.vw, kc.block_m,
      kc.qk_keys,         oa_keys, pairs_possible};
  // Rows per block: the forward's, but 48 (three 16-lane row vectors) where head dims pass 64 on a 32-register
  // target: each key block then revisits smaller row records, and a causal diagonal wastes fewer rows. Measured
  // against the forward's 96 (fp32 B1 N8 D128, AVX-512 code, alternating runs, medians): S=1024 dense 61.3 -> 55.3 ms,
  // causal 37.2 -> 35.6 ms; S=4096 dense 922 -> 854 ms. On AVX2 code (16 registers, 8 lanes) 48 was slower than 96.
  const int block_m = regs >= 32 && std::max(kc.dk, kc.dv) > 64 && kc.block_m > 48 && kc.vw == 16 ? 48 : kc.block_m;
  // 64 keys per block (128 was slower at D = 64, 32 slower at D = 128), fewer where the private tiles (dK and dV
  // accumulators, two score tiles) would pass the PoCL thread stack's budget.
  long block_n = 64;
  while (block_n > 8 && tune::fag_cpu_private_bytes(block_m, block_n, kc.vw, kc.dk, kc.dv, kc.qk_keys, oa_keys,
                                                    pairs_possible) > tune::kMaxCpuPrivateBytes) {
    block_n /= 2;
  }
  const tune::Resolved tuned = tune::resolve(
      "fag", target.device,
      tune::make_class(p.dtype, static_cast<int>(std::max(p.dk, p.dv)), tune::MaskClass::kDense, max_rows),
      {{"VARIANT", kc.variant == KernelVariant::kCpu ? 0 : 1},
       {"BLOCK_M", block_m},
       {"BLOCK_N", block_n},
       {"PARTS", 0},
       {"ROW_CHUNK", 0},
       {"BF16_DOT", pairs_possible ? 1 : 0}},
      target.config, tile_limits);
  kc.variant = tuned.values.at("VARIANT") == 0 ? KernelVariant::kCpu : KernelVariant::kGeneric;
  const bool cpu = kc.variant == KernelVariant::kCpu;
  int parts = 0;
  BuildOptions options;
  if (cpu) {
    kc.block_m = static_cast<int>(tuned.values.at("BLOCK_M"));
    kc.block_n = static_cast<int>(tuned.values.at("BLOCK_N"));
    const int64_t heads = std::max<int64_t>(1, p.batch * p.n2);
    const int64_t blocks = std::max<int64_t>(1, (max_keys + kc.block_n - 1) / kc.block_n);
    const int64_t block_lanes = (kc.block_m + kc.vw - 1) / kc.vw * kc.vw;
    const int64_t head_blocks = (max_rows + block_lanes - 1) / block_lanes;
    const double block_records = static_cast<double>(p.group()) *
                                 static_cast<double>(grad_record_floats(p.dk, p.dv, block_lanes) * sizeof(float));
    const double head_records = static_cast<double>(head_blocks) * block_records;
    const int64_t automatic =
        automatic_parts(heads, target.device.compute_units, head_records, target.device.global_mem_cache_size);
    const int64_t wanted = tuned.values.at("PARTS") > 0 ? tuned.values.at("PARTS") : automatic;
    parts = static_cast<int>(std::clamp<int64_t>(wanted, 1, std::min<int64_t>(blocks, 64)));
    // Query rows per chunk; with more than one chunk each key entry carries the fp32 dK and dV of its key blocks
    // (PAD_TO(BLOCK_N, OA_KEYS) rows of DK_PAD + DV_PAD, as the kernel's private accumulators) in the workspace.
    const int64_t chunk_blocks =
        tuned.values.at("ROW_CHUNK") > 0
            ? tuned.values.at("ROW_CHUNK")
            : automatic_chunk_blocks(head_blocks, block_records, target.device.global_mem_cache_size);
    if (chunk_blocks < head_blocks) {
      data->chunk_rows = chunk_blocks * block_lanes;
      const uint64_t keys_pad = static_cast<uint64_t>((kc.block_n + oa_keys - 1) / oa_keys * oa_keys),
                     width = static_cast<uint64_t>((p.dk + 15) / 16 * 16 + (p.dv + 15) / 16 * 16);
      data->dkv_entry_floats = static_cast<int64_t>(
          checked_mul_u64(static_cast<uint64_t>((blocks + parts - 1) / parts), keys_pad * width, "workspace dkv"));
    }
    options = kc.build_options();
    options.define("OA_KEYS", oa_keys).define("OA_CV_K", ok.cv).define("OA_CV_V", ov.cv);
    data->bf16_pairs = pairs_possible && tuned.values.at("BF16_DOT") == 1;
    if (data->bf16_pairs) options.define("BF16_DOT", 1);
  } else {
    kc.block_m = generic_block_m(target.device);
    options = kc.build_options();
    check_loop_budget(
        target.device, fag_generic_loop_steps(kc, max_rows, max_keys, p.group(), p.dropout.mode != DropoutMode::kNone),
        "fag_dkdv_generic",
        fmt::format("G·S1 = {}, S2 = {} at DK = {}, DV = {}", p.group() * max_rows, max_keys, p.dk, p.dv));
  }
  const int64_t lanes = cpu ? (kc.block_m + kc.vw - 1) / kc.vw * kc.vw : kc.block_m;

  // Work lists are sized by the blocks of rows and keys: checked against int32 and the device before they exist.
  uint64_t row_blocks = 0, key_entries = 0;
  for (int64_t b = 0; b < p.batch; ++b) {
    row_blocks += static_cast<uint64_t>((p.seqs.q_len[b] + lanes - 1) / lanes);
    key_entries += cpu ? static_cast<uint64_t>(parts) : static_cast<uint64_t>((p.seqs.kv_len[b] + lanes - 1) / lanes);
  }
  row_blocks = checked_mul_u64(row_blocks, static_cast<uint64_t>(p.n1), "plan row_list");
  key_entries = checked_mul_u64(key_entries, static_cast<uint64_t>(p.n2), "plan key_list");
  check_index_limit("plan row_list: entries", row_blocks, INT32_MAX, "the launch's work-group count");
  check_index_limit("plan key_list: entries", key_entries, INT32_MAX, "the launch's work-group count");
  // Workspace: the generic variant's D per row; the CPU variant's record per row block (REC_FLOATS in
  // kernels/flash_attention_score_grad.cl) and `parts` dQ copies of DK_PAD × lanes per row block, then per key entry
  // its packed K/V block and, with row chunks, its carried dK/dV.
  const uint64_t dk_pad = static_cast<uint64_t>((p.dk + 15) / 16 * 16),
                 dv_pad = static_cast<uint64_t>((p.dv + 15) / 16 * 16);
  const uint64_t rec_floats = grad_record_floats(p.dk, p.dv, lanes);
  const uint64_t total_rows = checked_mul_u64(
      static_cast<uint64_t>(p.s1), static_cast<uint64_t>(p.n1) * (p.layout == Layout::kTND ? 1 : p.batch), "rows");
  const uint64_t ws_floats =
      cpu ? checked_add_u64(
                checked_mul_u64(row_blocks, (rec_floats + 15) / 16 * 16 + static_cast<uint64_t>(parts) * dk_pad * lanes,
                                "workspace grad_tiles"),
                checked_add_u64(
                    checked_mul_u64(key_entries, static_cast<uint64_t>(kc.block_n) * (dk_pad + dv_pad), "workspace kv"),
                    checked_mul_u64(key_entries, static_cast<uint64_t>(data->dkv_entry_floats), "workspace dkv"),
                    "workspace kv"),
                "workspace grad")
          : total_rows;
  check_buffers_fit(limits,
                    {{"plan row_list", checked_mul_u64(row_blocks, GR_STRIDE * sizeof(int32_t), "plan row_list")},
                     {"plan key_list", checked_mul_u64(key_entries, GK_STRIDE * sizeof(int32_t), "plan key_list")},
                     {"workspace grad", checked_mul_u64(ws_floats, sizeof(float), "workspace grad")}});
  list_work(p, static_cast<int>(lanes), parts, *data);
  data->parts = parts;
  data->batch_table = fa_batch_table(p);
  // dpse takes no workspace (fag_dpse recomputes dS); its loop budget is checked by run, which alone knows whether a
  // dpse view is given.
  data->dpse_loop_steps = fag_dpse_loop_steps(kc, p);
  data->dpse_local = static_cast<std::size_t>(generic_block_m(target.device));

  data->ledger = WorkspaceLedger(target.device.base_addr_align);
  data->ledger.book("grad", std::max<std::size_t>(static_cast<std::size_t>(ws_floats), 1) * sizeof(float),
                    sizeof(float) * 16);

  FlashAttentionScoreGradPlan plan;
  plan.dq = descs.query;
  plan.dk = descs.key;
  plan.dv = descs.value;
  plan.dpse = fag_has_dpse(p) ? *descs.pse : TensorDesc{p.dtype, {0}};
  plan.workspace_size = data->ledger.total();
  plan.flops = grad_flops(p);
  if (const Context* ctx = target.ctx) {
    const std::size_t local = cpu ? 1 : static_cast<std::size_t>(kc.block_m);
    data->build(*ctx, "flash_attention_score_grad", options,
                cpu ? std::vector<detail::PlanBase::KernelUse>{{"fag_pre_cpu", 1},
                                                               {"fag_main_cpu", 1},
                                                               {"fag_post_cpu", 1},
                                                               {"fag_dpse", data->dpse_local}}
                    : std::vector<detail::PlanBase::KernelUse>{{"fag_pre_generic", local},
                                                               {"fag_dq_generic", local},
                                                               {"fag_dkdv_generic", local},
                                                               {"fag_dpse", data->dpse_local}});
    data->batch_mem = data->add_table(*ctx, data->batch_table);
    data->grad_mem = data->add_table(*ctx, data->grad_table);
    data->rows_mem = data->add_table(*ctx, data->rows);
    data->keys_mem = data->add_table(*ctx, data->keys);
  }
  detail::PlanAccess::attach(plan, std::move(data));
  return plan;
}

FlashAttentionScoreGradPlan plan_flash_attention_score_grad(const Context& ctx,
                                                            const FlashAttentionScoreGradDescs& descs,
                                                            const FlashAttentionScoreAttrs& attrs) {
  return plan_flash_attention_score_grad(PlanTarget::on(ctx), descs, attrs);
}

FlashAttentionScoreGradResult flash_attention_score_grad(const Context& ctx, const TensorView& query,
                                                         const TensorView& key, const TensorView& value,
                                                         const TensorView& dy, const TensorView& softmax_max,
                                                         const TensorView& softmax_sum, const TensorView& attention_in,
                                                         const FlashAttentionScoreGradOptionalInputs& optional,
                                                         const FlashAttentionScoreAttrs& attrs) {
  const FlashAttentionScoreGradPlan plan = plan_flash_attention_score_grad(
      ctx,
      {query.desc, key.desc, value.desc, dy.desc, desc_of(optional.pse), desc_of(optional.drop_mask),
       desc_of(optional.atten_mask), softmax_max.desc, softmax_sum.desc, attention_in.desc},
      attrs);
  const bool dpse = fag_has_dpse(detail::PlanAccess::data(plan).problem);
  auto run = [&](FlashAttentionScoreGradResult& r, cl_mem workspace) {
    run_flash_attention_score_grad(
        ctx, plan,
        {query, key, value, dy, optional.pse, optional.drop_mask, optional.atten_mask, softmax_max, softmax_sum,
         attention_in, r.dq.view(), r.dk.view(), r.dv.view(), dpse ? std::optional(r.dpse.view()) : std::nullopt},
        workspace);
  };
  return allocate_and_run<FlashAttentionScoreGradResult>(ctx, plan, run, plan.dq, plan.dk, plan.dv, plan.dpse);
}

}  // namespace cannon
