// GuardedRun and the RingAttentionUpdate / NsaSelectedAttention device runs. The guard size follows
// FaDeviceRun's rule (a multiple of the device's base-address alignment, at least 256 bytes), so views and
// sub-buffers at offset `guard` stay legal.
#include "tools/common/op_device_run.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace cannon::tools {
namespace {

constexpr std::size_t kMinGuard = 256;

}  // namespace

GuardedRun::GuardedRun(const Context& ctx) : ctx_(ctx) {
  std::size_t align = std::max<std::size_t>(ctx.info().base_addr_align, 1);
  guard_ = (std::max(kMinGuard, align) + align - 1) / align * align;
}

TensorView GuardedRun::input(const std::string& name, const HostData& data) {
  inputs_.push_back(Input{name, std::make_unique<GuardedBuffer>(ctx_, data.desc, guard_), data.bytes});
  inputs_.back().buffer->write(data.bytes);
  return inputs_.back().buffer->view();
}

TensorView GuardedRun::output(const std::string& name, const TensorDesc& desc) {
  output_names_.push_back(name);
  output_descs_.push_back(desc);
  outputs_.push_back(std::make_unique<GuardedBuffer>(ctx_, desc, guard_));
  return outputs_.back()->view();
}

cl_mem GuardedRun::workspace(std::size_t bytes) {
  workspace_ = std::make_unique<GuardedBuffer>(ctx_, TensorDesc{DType::kUInt8, {static_cast<int64_t>(bytes)}}, guard_);
  return workspace_->payload_mem();
}

void GuardedRun::run(const std::function<void()>& enqueue) {
  for (auto& out : outputs_) out->poison();
  if (workspace_) workspace_->poison();
  enqueue();
  ctx_.finish();
}

double GuardedRun::timed_run(const std::function<void()>& enqueue) {
  auto start = std::chrono::steady_clock::now();
  enqueue();
  ctx_.finish();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<HostData> GuardedRun::read(std::vector<std::string>& problems) {
  for (Input& in : inputs_) {
    if (in.buffer->read(in.name, problems) != in.bytes) problems.push_back(in.name + ": input changed by the run");
  }
  if (workspace_) workspace_->read("workspace", problems);
  std::vector<HostData> outs;
  for (std::size_t i = 0; i < outputs_.size(); ++i) {
    outs.push_back(HostData{output_descs_[i], outputs_[i]->read(output_names_[i], problems)});
    int64_t first = -1;
    if (int64_t n = count_poisoned(outs.back(), &first)) {
      problems.push_back(fmt::format("{}: {} of {} elements never written (first at flat index {})", output_names_[i],
                                     n, outs.back().desc.numel(), first));
    }
  }
  return outs;
}

RauDeviceRun::RauDeviceRun(const Context& ctx, const RauCase& c)
    : ctx_(ctx), plan_(plan_ring_attention_update(ctx, c.descs(), c.attrs)), guarded_(ctx) {}

void RauDeviceRun::prepare(const RauCase& c) {
  tensors_.prev_attn_out = guarded_.input("prev_attn_out", c.prev_out);
  tensors_.prev_softmax_max = guarded_.input("prev_softmax_max", c.prev_max);
  tensors_.prev_softmax_sum = guarded_.input("prev_softmax_sum", c.prev_sum);
  tensors_.cur_attn_out = guarded_.input("cur_attn_out", c.cur_out);
  tensors_.cur_softmax_max = guarded_.input("cur_softmax_max", c.cur_max);
  tensors_.cur_softmax_sum = guarded_.input("cur_softmax_sum", c.cur_sum);
  if (c.actual_seq_qlen) tensors_.actual_seq_qlen = guarded_.input("actual_seq_qlen", *c.actual_seq_qlen);
  tensors_.attn_out = guarded_.output("attn_out", plan_.attn_out);
  tensors_.softmax_max = guarded_.output("softmax_max", plan_.softmax_max);
  tensors_.softmax_sum = guarded_.output("softmax_sum", plan_.softmax_sum);
  workspace_ = guarded_.workspace(plan_.workspace_size);
}

void RauDeviceRun::run() {
  guarded_.run([&] { run_ring_attention_update(ctx_, plan_, tensors_, workspace_); });
}

double RauDeviceRun::timed_run() {
  return guarded_.timed_run([&] { run_ring_attention_update(ctx_, plan_, tensors_, workspace_); });
}

NsaDeviceRun::NsaDeviceRun(const Context& ctx, const NsaCase& c)
    : ctx_(ctx), plan_(plan_nsa_selected_attention(ctx, c.descs(), c.attrs)), guarded_(ctx) {}

void NsaDeviceRun::prepare(const NsaCase& c) {
  tensors_.query = guarded_.input("query", c.query);
  tensors_.key = guarded_.input("key", c.key);
  tensors_.value = guarded_.input("value", c.value);
  tensors_.topk_indices = guarded_.input("topk_indices", c.topk_indices);
  if (c.atten_mask) tensors_.atten_mask = guarded_.input("atten_mask", *c.atten_mask);
  tensors_.attention_out = guarded_.output("attention_out", plan_.attention_out);
  tensors_.softmax_max = guarded_.output("softmax_max", plan_.softmax_max);
  tensors_.softmax_sum = guarded_.output("softmax_sum", plan_.softmax_sum);
  workspace_ = guarded_.workspace(plan_.workspace_size);
}

void NsaDeviceRun::run() {
  guarded_.run([&] { run_nsa_selected_attention(ctx_, plan_, tensors_, workspace_); });
}

double NsaDeviceRun::timed_run() {
  return guarded_.timed_run([&] { run_nsa_selected_attention(ctx_, plan_, tensors_, workspace_); });
}

}  // namespace cannon::tools
