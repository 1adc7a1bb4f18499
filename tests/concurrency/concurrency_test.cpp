// Several threads share one cannon::Context and run different operators (FlashAttentionScore,
// RingAttentionUpdate, NsaSelectedAttention) at the same time: the program cache, Config and the shared
// in-order queue must hold up, and every result must be bitwise equal to a serial run of the same problem. Then
// several threads run the same plans at once (a plan's kernels are shared; their arguments are set under the
// plan's lock), each on a queue of its own with its own outputs and workspace.
// scripts/sanitize.sh runs this under ThreadSanitizer (CANNON_SANITIZE=thread); plain ctest runs it too.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cannon/cannon.hpp"
#include "tools/drivers/fa/fa_case.hpp"
#include "tools/drivers/nsa/nsa_case.hpp"
#include "tools/drivers/rau/rau_case.hpp"

namespace cannon {
namespace {

using Bytes = std::vector<std::vector<uint8_t>>;  // every output of one run, in the operator's order

DeviceTensor to_device(const Context& ctx, const tools::HostData& data) {
  DeviceTensor t = allocate(ctx, data.desc);
  upload(ctx, t.view(), data.bytes.data(), data.bytes.size());
  return t;
}

std::vector<uint8_t> from_device(const Context& ctx, const DeviceTensor& t) {
  std::vector<uint8_t> bytes(t.desc().bytes());
  download(ctx, t.view(), bytes.data(), bytes.size());
  return bytes;
}

std::optional<TensorView> view_of(const std::optional<DeviceTensor>& t) {
  return t ? std::optional<TensorView>(t->view()) : std::nullopt;
}

// One problem: its host inputs, generated once, and a call that uploads them, runs the operator through its
// convenience API (plan, allocate, run, wait) on `ctx` and downloads every output.
struct Job {
  std::string problem;
  std::function<Bytes(const Context&)> run;
};

Job fa_job(const std::string& text) {
  tools::FaCase c = tools::describe_case(tools::parse_fa_problem(text));
  tools::generate_inputs(c, 1);
  return {text, [c](const Context& ctx) {
            DeviceTensor q = to_device(ctx, c.inputs.query), k = to_device(ctx, c.inputs.key),
                         v = to_device(ctx, c.inputs.value);
            std::optional<DeviceTensor> mask;
            if (c.inputs.atten_mask) mask = to_device(ctx, *c.inputs.atten_mask);
            FlashAttentionScoreResult r =
                flash_attention_score(ctx, q.view(), k.view(), v.view(), {{}, {}, view_of(mask)}, c.attrs);
            return Bytes{from_device(ctx, r.attention_out), from_device(ctx, r.softmax_max),
                         from_device(ctx, r.softmax_sum)};
          }};
}

Job rau_job(const std::string& text) {
  tools::RauCase c = tools::describe_case(tools::parse_rau_problem(text));
  tools::generate_inputs(c, 2);
  return {
      text, [c](const Context& ctx) {
        DeviceTensor po = to_device(ctx, c.inputs.prev_out), pm = to_device(ctx, c.inputs.prev_max),
                     ps = to_device(ctx, c.inputs.prev_sum), co = to_device(ctx, c.inputs.cur_out),
                     cm = to_device(ctx, c.inputs.cur_max), cs = to_device(ctx, c.inputs.cur_sum);
        std::optional<DeviceTensor> seq;
        if (c.inputs.actual_seq_qlen) seq = to_device(ctx, *c.inputs.actual_seq_qlen);
        RingAttentionUpdateResult r = ring_attention_update(ctx, po.view(), pm.view(), ps.view(), co.view(), cm.view(),
                                                            cs.view(), view_of(seq), c.attrs);
        return Bytes{from_device(ctx, r.attn_out), from_device(ctx, r.softmax_max), from_device(ctx, r.softmax_sum)};
      }};
}

Job nsa_job(const std::string& text) {
  tools::NsaCase c = tools::describe_case(tools::parse_nsa_problem(text));
  tools::generate_inputs(c, 3);
  return {text, [c](const Context& ctx) {
            DeviceTensor q = to_device(ctx, c.inputs.query), k = to_device(ctx, c.inputs.key),
                         v = to_device(ctx, c.inputs.value), idx = to_device(ctx, c.inputs.topk_indices);
            std::optional<DeviceTensor> mask;
            if (c.inputs.atten_mask) mask = to_device(ctx, *c.inputs.atten_mask);
            NsaSelectedAttentionResult r =
                nsa_selected_attention(ctx, q.view(), k.view(), v.view(), idx.view(), view_of(mask), c.attrs);
            return Bytes{from_device(ctx, r.attention_out), from_device(ctx, r.softmax_max),
                         from_device(ctx, r.softmax_sum)};
          }};
}

// Small problems, so the TSan build stays fast; together they build six distinct programs.
std::vector<Job> jobs() {
  return {fa_job("fa:b2n4g2s1=113s2=203d=64:layout=BSND:dt=bf16:sparse=3"),
          fa_job("fa:b1n2g1s1=7s2=113d=64:layout=BNSD:dt=fp32"),
          rau_job("rau:b2n3s=17d=64:layout=SBH:dt=fp16:invalid=both"),
          rau_job("rau:n3d=40:layout=TND:dt=fp32:invalid=both:seqq=0,5,12"),
          nsa_job("nsa:n1=8n2=2dk=192dv=128bs=64count=4:dt=bf16:seqq=3:seqkv=256:causal=1:idx=diag"),
          nsa_job("nsa:n1=3n2=3dk=192dv=128bs=32count=4:dt=fp32:seqq=2:seqkv=128:idx=diag")};
}

constexpr int kThreads = 4;
constexpr int kRepeats = 3;

TEST(Concurrency, SharedContextMatchesSerialRuns) {
  const std::vector<Job> all = jobs();
  // Serial results come from a context of their own, so the shared one starts with a cold program cache and
  // its threads build programs concurrently.
  std::vector<Bytes> serial;
  {
    const Context serial_ctx = Context::create();
    for (const Job& job : all) serial.push_back(job.run(serial_ctx));
  }

  const Context shared = Context::create();
  std::mutex mutex;
  std::vector<std::string> failures;
  auto worker = [&](int id) {
    // Each thread starts at a different job, so different operators run at the same time.
    for (int rep = 0; rep < kRepeats; ++rep) {
      for (std::size_t i = 0; i < all.size(); ++i) {
        const std::size_t j = (i + static_cast<std::size_t>(id) * 2) % all.size();
        std::string failure;
        try {
          if (all[j].run(shared) != serial[j]) failure = "differs from the serial run";
        } catch (const std::exception& e) {
          failure = std::string("threw: ") + e.what();
        }
        if (!failure.empty()) {
          std::lock_guard<std::mutex> lock(mutex);
          failures.push_back("thread " + std::to_string(id) + ", " + all[j].problem + ": " + failure);
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (int id = 0; id < kThreads; ++id) threads.emplace_back(worker, id);
  for (std::thread& t : threads) t.join();
  for (const std::string& f : failures) ADD_FAILURE() << f;
}

template <typename... Data>
std::vector<DeviceTensor> upload_all(const Context& ctx, const Data&... data) {
  std::vector<DeviceTensor> tensors;
  (tensors.push_back(to_device(ctx, data)), ...);
  return tensors;
}

// One plan per operator, shared by every thread; each thread brings its own outputs and workspace.
struct SharedPlan {
  std::string problem;
  std::vector<DeviceTensor> inputs;
  std::function<std::vector<TensorDesc>()> outputs;
  std::size_t workspace = 0;
  // Runs on `queue` into `out` (in the operator's output order) and returns the run's event.
  std::function<Event(const std::vector<DeviceTensor>& out, cl_mem workspace, cl_command_queue queue)> run;
};

std::vector<SharedPlan> shared_plans(const Context& ctx) {
  std::vector<SharedPlan> plans(3);
  {
    tools::FaCase c =
        tools::describe_case(tools::parse_fa_problem("fa:b2n4g2s1=113s2=203d=64:layout=BSND:dt=bf16:mask=b1ss"));
    tools::generate_inputs(c, 4);
    auto plan = std::make_shared<FlashAttentionScorePlan>(plan_flash_attention_score(ctx, c.descs(), c.attrs));
    SharedPlan& p = plans[0];
    p.problem = "fa (mask prepass)";
    p.inputs = upload_all(ctx, c.inputs.query, c.inputs.key, c.inputs.value, *c.inputs.atten_mask);
    p.outputs = [plan] { return std::vector<TensorDesc>{plan->attention_out, plan->softmax_max, plan->softmax_sum}; };
    p.workspace = plan->workspace_size;
    const std::vector<DeviceTensor>& in = p.inputs;
    p.run = [&ctx, plan, &in](const std::vector<DeviceTensor>& out, cl_mem ws, cl_command_queue queue) {
      return run_flash_attention_score(ctx, *plan,
                                       {in[0].view(),
                                        in[1].view(),
                                        in[2].view(),
                                        {},
                                        {},
                                        in[3].view(),
                                        out[0].view(),
                                        out[1].view(),
                                        out[2].view(),
                                        std::nullopt},
                                       ws, {queue, {}});
    };
  }
  {
    tools::RauCase c = tools::describe_case(tools::parse_rau_problem("rau:n3d=40:layout=TND:dt=fp32:seqq=0,5,12"));
    tools::generate_inputs(c, 5);
    auto plan = std::make_shared<RingAttentionUpdatePlan>(plan_ring_attention_update(ctx, c.descs(), c.attrs));
    SharedPlan& p = plans[1];
    p.problem = "rau (TND)";
    p.inputs = upload_all(ctx, c.inputs.prev_out, c.inputs.prev_max, c.inputs.prev_sum, c.inputs.cur_out, c.inputs.cur_max,
                          c.inputs.cur_sum, *c.inputs.actual_seq_qlen);
    p.outputs = [plan] { return std::vector<TensorDesc>{plan->attn_out, plan->softmax_max, plan->softmax_sum}; };
    p.workspace = plan->workspace_size;
    const std::vector<DeviceTensor>& in = p.inputs;
    p.run = [&ctx, plan, &in](const std::vector<DeviceTensor>& out, cl_mem ws, cl_command_queue queue) {
      return run_ring_attention_update(ctx, *plan,
                                       {in[0].view(), in[1].view(), in[2].view(), in[3].view(), in[4].view(),
                                        in[5].view(), in[6].view(), out[0].view(), out[1].view(), out[2].view()},
                                       ws, {queue, {}});
    };
  }
  {
    tools::NsaCase c = tools::describe_case(
        tools::parse_nsa_problem("nsa:n1=8n2=2dk=192dv=128bs=64count=4:dt=bf16:seqq=3:seqkv=256:causal=1:idx=diag"));
    tools::generate_inputs(c, 6);
    auto plan = std::make_shared<NsaSelectedAttentionPlan>(plan_nsa_selected_attention(ctx, c.descs(), c.attrs));
    SharedPlan& p = plans[2];
    p.problem = "nsa";
    p.inputs = upload_all(ctx, c.inputs.query, c.inputs.key, c.inputs.value, c.inputs.topk_indices, *c.inputs.atten_mask);
    p.outputs = [plan] { return std::vector<TensorDesc>{plan->attention_out, plan->softmax_max, plan->softmax_sum}; };
    p.workspace = plan->workspace_size;
    const std::vector<DeviceTensor>& in = p.inputs;
    p.run = [&ctx, plan, &in](const std::vector<DeviceTensor>& out, cl_mem ws, cl_command_queue queue) {
      return run_nsa_selected_attention(ctx, *plan,
                                        {in[0].view(), in[1].view(), in[2].view(), in[3].view(), in[4].view(),
                                         out[0].view(), out[1].view(), out[2].view()},
                                        ws, {queue, {}});
    };
  }
  return plans;
}

// Runs `plan` on a queue of its own and returns its outputs.
Bytes run_shared(const Context& ctx, const SharedPlan& plan) {
  cl_int err = CL_SUCCESS;
  cl_command_queue queue = clCreateCommandQueue(ctx.cl_context_handle(), ctx.cl_device_handle(), 0, &err);
  if (err != CL_SUCCESS) throw Error(Status::kRuntimeError, "clCreateCommandQueue failed");
  std::vector<DeviceTensor> out;
  for (const TensorDesc& d : plan.outputs()) out.push_back(allocate(ctx, d));
  DeviceTensor ws = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan.workspace)}});
  try {
    plan.run(out, ws.buffer(), queue);
    ctx.finish(queue);
  } catch (...) {
    clReleaseCommandQueue(queue);
    throw;
  }
  clReleaseCommandQueue(queue);
  Bytes bytes;
  for (const DeviceTensor& t : out) bytes.push_back(from_device(ctx, t));
  return bytes;
}

TEST(Concurrency, SharedPlansRunFromSeveralThreads) {
  const Context ctx = Context::create();
  const std::vector<SharedPlan> plans = shared_plans(ctx);
  std::vector<Bytes> serial;
  for (const SharedPlan& p : plans) serial.push_back(run_shared(ctx, p));
  std::mutex mutex;
  std::vector<std::string> failures;
  auto worker = [&](int id) {
    for (int rep = 0; rep < kRepeats; ++rep) {
      for (std::size_t i = 0; i < plans.size(); ++i) {
        const std::size_t j = (i + static_cast<std::size_t>(id)) % plans.size();
        std::string failure;
        try {
          if (run_shared(ctx, plans[j]) != serial[j]) failure = "differs from the serial run";
        } catch (const std::exception& e) {
          failure = std::string("threw: ") + e.what();
        }
        if (!failure.empty()) {
          std::lock_guard<std::mutex> lock(mutex);
          failures.push_back("thread " + std::to_string(id) + ", " + plans[j].problem + ": " + failure);
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (int id = 0; id < kThreads; ++id) threads.emplace_back(worker, id);
  for (std::thread& t : threads) t.join();
  for (const std::string& f : failures) ADD_FAILURE() << f;
}

}  // namespace
}  // namespace cannon
