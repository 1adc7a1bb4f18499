// Runs only enqueue, on the caller's Stream: each operator's run returns while the event it waits for is still
// unset, its commands do not start before that event (outputs read through a second queue stay untouched), and
// once the event is set the results equal a plain run's bit for bit. Then a ring-attention step pipelined on one
// queue (two FlashAttentionScore runs on two key chunks, RingAttentionUpdate merging them), each run waiting for
// the previous ones' events and one finish at the end, against the same steps with a finish after each.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/ops/op_test_util.hpp"

namespace cannon::optest {
namespace {

using Bytes = std::vector<uint8_t>;

DeviceTensor random_tensor(const Context& ctx, const TensorDesc& desc, uint64_t seed, float lo, float hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> values(static_cast<std::size_t>(desc.numel()));
  for (float& v : values) v = dist(rng);
  DeviceTensor t = allocate(ctx, desc);
  upload(ctx, t.view(), values.data(), values.size() * sizeof(float));
  return t;
}

template <typename T>
DeviceTensor tensor_of(const Context& ctx, DType dtype, std::vector<int64_t> shape, const std::vector<T>& values) {
  DeviceTensor t = allocate(ctx, {dtype, std::move(shape)});
  upload(ctx, t.view(), values.data(), values.size() * sizeof(T));
  return t;
}

Bytes read_through(cl_command_queue queue, const DeviceTensor& t) {
  Bytes bytes(t.desc().bytes());
  if (bytes.empty()) return bytes;  // softmax_out: reserved, [0]
  EXPECT_EQ(clEnqueueReadBuffer(queue, t.buffer(), CL_TRUE, 0, bytes.size(), bytes.data(), 0, nullptr, nullptr),
            CL_SUCCESS);
  return bytes;
}

cl_int status_of(const Event& event) {
  cl_int status = CL_COMPLETE;
  EXPECT_EQ(clGetEventInfo(event.handle(), CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, nullptr),
            CL_SUCCESS);
  return status;
}

// One planned operator run with its inputs uploaded. Not movable: run refers to the tensors.
struct Job {
  Job() = default;
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

  std::vector<DeviceTensor> keep;     // inputs and workspace
  std::vector<DeviceTensor> outputs;  // poisoned with 0xFF before each compared run
  std::function<Event(const Stream&)> run;

  void poison(const Context& ctx) {
    for (const DeviceTensor& t : outputs) {
      const Bytes poison(t.desc().bytes(), 0xFF);
      if (!poison.empty()) upload(ctx, t.view(), poison.data(), poison.size());
    }
  }
  std::vector<Bytes> read(cl_command_queue queue) const {
    std::vector<Bytes> all;
    for (const DeviceTensor& t : outputs) all.push_back(read_through(queue, t));
    return all;
  }
};

// FlashAttentionScore with a dense causal atten_mask in sparse mode 0: the mask prepass runs first.
std::unique_ptr<Job> fa_job(const Context& ctx) {
  const TensorDesc qkv{DType::kFloat32, {2, 37, 2, 64}};
  FlashAttentionScoreAttrs attrs;
  attrs.head_num = 2;
  attrs.scale = 0.125;
  std::vector<uint8_t> causal(37 * 37);
  for (int i = 0; i < 37; ++i) {
    for (int j = 0; j < 37; ++j) causal[i * 37 + j] = j > i ? 1 : 0;
  }
  auto owned = std::make_unique<Job>();
  Job& job = *owned;
  job.keep.push_back(random_tensor(ctx, qkv, 1, -1, 1));
  job.keep.push_back(random_tensor(ctx, qkv, 2, -1, 1));
  job.keep.push_back(random_tensor(ctx, qkv, 3, -1, 1));
  job.keep.push_back(tensor_of(ctx, DType::kUInt8, {37, 37}, causal));
  auto plan = std::make_shared<FlashAttentionScorePlan>(
      plan_flash_attention_score(ctx, {qkv, qkv, qkv, std::nullopt, std::nullopt, job.keep[3].desc()}, attrs));
  EXPECT_GT(plan->workspace_size, 0u) << "the mask prepass books workspace";
  job.keep.push_back(allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan->workspace_size)}}));
  for (const TensorDesc& d : {plan->attention_out, plan->softmax_max, plan->softmax_sum, plan->softmax_out}) {
    job.outputs.push_back(allocate(ctx, d));
  }
  const std::vector<DeviceTensor>& in = job.keep;
  const std::vector<DeviceTensor>& out = job.outputs;
  job.run = [&ctx, plan, &in, &out](const Stream& s) {
    return run_flash_attention_score(ctx, *plan,
                                     {in[0].view(), in[1].view(), in[2].view(), std::nullopt, std::nullopt,
                                      in[3].view(), out[0].view(), out[1].view(), out[2].view(), out[3].view()},
                                     in[4].buffer(), s);
  };
  return owned;
}

// RingAttentionUpdate in TND with per-batch softmax blocks: the actual_seq_qlen check fills the token table first.
std::unique_ptr<Job> rau_job(const Context& ctx) {
  const TensorDesc attn{DType::kFloat32, {23, 3, 64}}, stats{DType::kFloat32, {23, 3, 8}};
  auto owned = std::make_unique<Job>();
  Job& job = *owned;
  job.keep.push_back(random_tensor(ctx, attn, 4, -1, 1));
  job.keep.push_back(random_tensor(ctx, stats, 5, -4, 4));
  job.keep.push_back(random_tensor(ctx, stats, 6, 1, 50));
  job.keep.push_back(random_tensor(ctx, attn, 7, -1, 1));
  job.keep.push_back(random_tensor(ctx, stats, 8, -4, 4));
  job.keep.push_back(random_tensor(ctx, stats, 9, 1, 50));
  job.keep.push_back(tensor_of<int64_t>(ctx, DType::kInt64, {3}, {0, 9, 23}));
  auto plan = std::make_shared<RingAttentionUpdatePlan>(
      plan_ring_attention_update(ctx, {attn, stats, stats, attn, stats, stats, job.keep[6].desc()}, {"TND", ""}));
  EXPECT_GT(plan->workspace_size, 0u) << "the per-token table lives in the workspace";
  job.keep.push_back(allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan->workspace_size)}}));
  for (const TensorDesc& d : {plan->attn_out, plan->softmax_max, plan->softmax_sum})
    job.outputs.push_back(allocate(ctx, d));
  const std::vector<DeviceTensor>& in = job.keep;
  const std::vector<DeviceTensor>& out = job.outputs;
  job.run = [&ctx, plan, &in, &out](const Stream& s) {
    return run_ring_attention_update(ctx, *plan,
                                     {in[0].view(), in[1].view(), in[2].view(), in[3].view(), in[4].view(),
                                      in[5].view(), in[6].view(), out[0].view(), out[1].view(), out[2].view()},
                                     in[7].buffer(), s);
  };
  return owned;
}

// NsaSelectedAttention with two batches: the topk_indices check writes the indices the attention kernel reads.
std::unique_ptr<Job> nsa_job(const Context& ctx) {
  NsaSelectedAttentionAttrs attrs;
  attrs.head_num = 4;
  attrs.scale_value = 0.125;
  attrs.select_block_size = 16;
  attrs.select_block_count = 2;
  attrs.actual_seq_qlen = {3, 7};
  attrs.actual_seq_kvlen = {48, 80};
  std::vector<int32_t> topk;
  for (int t = 0; t < 7; ++t) {
    for (int n = 0; n < 2; ++n) topk.insert(topk.end(), {(t + n) % 2, 1});
  }
  auto owned = std::make_unique<Job>();
  Job& job = *owned;
  job.keep.push_back(random_tensor(ctx, {DType::kFloat32, {7, 4, 64}}, 10, -1, 1));
  job.keep.push_back(random_tensor(ctx, {DType::kFloat32, {80, 2, 64}}, 11, -1, 1));
  job.keep.push_back(random_tensor(ctx, {DType::kFloat32, {80, 2, 32}}, 12, -1, 1));
  job.keep.push_back(tensor_of(ctx, DType::kInt32, {7, 2, 2}, topk));
  auto plan = std::make_shared<NsaSelectedAttentionPlan>(plan_nsa_selected_attention(
      ctx, {job.keep[0].desc(), job.keep[1].desc(), job.keep[2].desc(), job.keep[3].desc(), std::nullopt}, attrs));
  job.keep.push_back(allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan->workspace_size)}}));
  for (const TensorDesc& d : {plan->attention_out, plan->softmax_max, plan->softmax_sum}) {
    job.outputs.push_back(allocate(ctx, d));
  }
  const std::vector<DeviceTensor>& in = job.keep;
  const std::vector<DeviceTensor>& out = job.outputs;
  job.run = [&ctx, plan, &in, &out](const Stream& s) {
    return run_nsa_selected_attention(ctx, *plan,
                                      {in[0].view(), in[1].view(), in[2].view(), in[3].view(), std::nullopt,
                                       out[0].view(), out[1].view(), out[2].view()},
                                      in[4].buffer(), s);
  };
  return owned;
}

// A second queue on the Context's device, to look at buffers while the first one waits.
struct SideQueue {
  cl_command_queue queue = nullptr;
  explicit SideQueue(const Context& ctx, cl_command_queue_properties props = 0) {
    cl_int err = CL_SUCCESS;
    queue = clCreateCommandQueue(ctx.cl_context_handle(), ctx.cl_device_handle(), props, &err);
    EXPECT_EQ(err, CL_SUCCESS);
  }
  SideQueue(const SideQueue&) = delete;
  SideQueue& operator=(const SideQueue&) = delete;
  ~SideQueue() {
    if (queue) clReleaseCommandQueue(queue);
  }
};

void expect_waits_for_the_stream(Job& job) {
  const Context& ctx = test_context();
  const SideQueue side(ctx);
  job.poison(ctx);
  job.run({});
  ctx.finish();
  const std::vector<Bytes> plain = job.read(side.queue);

  job.poison(ctx);
  const std::vector<Bytes> poisoned = job.read(side.queue);
  cl_int err = CL_SUCCESS;
  cl_event gate = clCreateUserEvent(ctx.cl_context_handle(), &err);
  ASSERT_EQ(err, CL_SUCCESS);
  // run must return with the gate unset; if it blocked, the gate is opened after a minute and the test fails.
  auto launched = std::async(std::launch::async, [&] { return job.run({nullptr, {gate}}); });
  const bool returned = launched.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  if (!returned) clSetUserEventStatus(gate, CL_COMPLETE);
  ASSERT_TRUE(returned) << "run blocked on an unset event in its wait list";
  const Event done = launched.get();
  ASSERT_TRUE(done.valid());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_NE(status_of(done), CL_COMPLETE);
  EXPECT_NE(status_of(done), CL_RUNNING);
  EXPECT_EQ(job.read(side.queue), poisoned) << "an output was written before the stream's event was set";

  ASSERT_EQ(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
  done.wait();
  EXPECT_EQ(status_of(done), CL_COMPLETE);
  ctx.finish();
  EXPECT_EQ(job.read(side.queue), plain) << "the gated run differs from a plain one";
  clReleaseEvent(gate);
}

TEST(FaStream, RunWaitsForTheStreamsEvents) { expect_waits_for_the_stream(*fa_job(test_context())); }
TEST(RauStream, RunWaitsForTheStreamsEvents) { expect_waits_for_the_stream(*rau_job(test_context())); }
TEST(NsaStream, RunWaitsForTheStreamsEvents) { expect_waits_for_the_stream(*nsa_job(test_context())); }

// Ring attention over two key chunks: FlashAttentionScore (SBH) on each chunk gives the partial outputs and
// softmax statistics RingAttentionUpdate merges. Pipelined: on one queue (out of order where the device allows, so
// only the events order the runs), the merge waits for both attention runs, and only the end is waited for.
TEST(RauStream, PipelinesTwoPlansOnOneQueue) {
  const Context& ctx = test_context();
  cl_command_queue_properties supported = 0;
  ASSERT_EQ(clGetDeviceInfo(ctx.cl_device_handle(), CL_DEVICE_QUEUE_PROPERTIES, sizeof supported, &supported, nullptr),
            CL_SUCCESS);
  const SideQueue stream(ctx, supported & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE);

  const TensorDesc q{DType::kFloat32, {29, 2, 3 * 32}}, kv{DType::kFloat32, {41, 2, 3 * 32}};
  FlashAttentionScoreAttrs attrs;
  attrs.head_num = 3;
  attrs.input_layout = "SBH";
  attrs.scale = 0.2;
  const FlashAttentionScorePlan fa = plan_flash_attention_score(ctx, {q, kv, kv}, attrs);
  DeviceTensor query = random_tensor(ctx, q, 20, -1, 1);
  DeviceTensor keys[] = {random_tensor(ctx, kv, 21, -1, 1), random_tensor(ctx, kv, 22, -1, 1)};
  DeviceTensor values[] = {random_tensor(ctx, kv, 23, -1, 1), random_tensor(ctx, kv, 24, -1, 1)};
  struct Partial {
    DeviceTensor out, max, sum, softmax_out;
  };
  auto partial = [&] {
    return Partial{allocate(ctx, fa.attention_out), allocate(ctx, fa.softmax_max), allocate(ctx, fa.softmax_sum),
                   allocate(ctx, fa.softmax_out)};
  };
  Partial parts[] = {partial(), partial()};
  const RingAttentionUpdatePlan rau =
      plan_ring_attention_update(ctx,
                                 {fa.attention_out, fa.softmax_max, fa.softmax_sum, fa.attention_out, fa.softmax_max,
                                  fa.softmax_sum, std::nullopt},
                                 {"SBH", ""});
  DeviceTensor merged[] = {allocate(ctx, rau.attn_out), allocate(ctx, rau.softmax_max), allocate(ctx, rau.softmax_sum)};
  DeviceTensor fa_ws = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(fa.workspace_size)}});
  DeviceTensor rau_ws = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(rau.workspace_size)}});

  auto attend = [&](int chunk, const Stream& s) {
    const Partial& p = parts[chunk];
    return run_flash_attention_score(
        ctx, fa,
        {query.view(), keys[chunk].view(), values[chunk].view(), std::nullopt, std::nullopt, std::nullopt, p.out.view(),
         p.max.view(), p.sum.view(), p.softmax_out.view()},
        fa_ws.buffer(), s);
  };
  auto merge = [&](const Stream& s) {
    return run_ring_attention_update(
        ctx, rau,
        {parts[0].out.view(), parts[0].max.view(), parts[0].sum.view(), parts[1].out.view(), parts[1].max.view(),
         parts[1].sum.view(), std::nullopt, merged[0].view(), merged[1].view(), merged[2].view()},
        rau_ws.buffer(), s);
  };
  auto results = [&] {
    std::vector<Bytes> all;
    for (const DeviceTensor& t : merged) all.push_back(read_through(stream.queue, t));
    return all;
  };
  auto poison = [&] {
    for (const DeviceTensor& t : merged) {
      const Bytes bytes(t.desc().bytes(), 0xFF);
      upload(ctx, t.view(), bytes.data(), bytes.size());
    }
  };

  poison();
  attend(0, {});
  ctx.finish();
  attend(1, {});
  ctx.finish();
  merge({});
  ctx.finish();
  const std::vector<Bytes> stepwise = results();

  poison();
  const Event first = attend(0, {stream.queue, {}});
  const Event second = attend(1, {stream.queue, {first.handle()}});
  const Event last = merge({stream.queue, {first.handle(), second.handle()}});
  ctx.finish(stream.queue);
  EXPECT_EQ(status_of(last), CL_COMPLETE);
  EXPECT_EQ(results(), stepwise) << "the pipelined ring step differs from the step-by-step one";
}

}  // namespace
}  // namespace cannon::optest
