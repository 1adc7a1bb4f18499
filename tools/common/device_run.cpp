// Guarded buffers and the device run of a FaCase. Guard bands hold a position-dependent byte pattern (not
// the poison byte), so an out-of-bounds write of any value, NaN included, is caught; the guard size is a
// multiple of the device's base-address alignment so that views and sub-buffers at offset `guard` stay legal.
#include "tools/common/device_run.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "cannon/error.hpp"

namespace cannon::tools {
namespace {

constexpr std::size_t kMinGuard = 256;
constexpr uint8_t kPoison = 0xFF;

uint8_t guard_byte(std::size_t i) { return static_cast<uint8_t>(0x5A + 0x3B * i); }

}  // namespace

GuardedBuffer::GuardedBuffer(const Context& ctx, TensorDesc desc, std::size_t guard)
    : ctx_(&ctx), desc_(std::move(desc)), guard_(guard), payload_(desc_.bytes()) {
  buffer_ = allocate(ctx, TensorDesc{DType::kUInt8, {static_cast<int64_t>(payload_ + 2 * guard_)}});
}

GuardedBuffer::~GuardedBuffer() {
  if (sub_) clReleaseMemObject(sub_);
}

TensorView GuardedBuffer::view() const { return TensorView{buffer_.buffer(), guard_, desc_, {}}; }

cl_mem GuardedBuffer::payload_mem() {
  if (payload_ == 0) return nullptr;
  if (!sub_) {
    cl_buffer_region region{guard_, payload_};
    cl_int err = CL_SUCCESS;
    sub_ = clCreateSubBuffer(buffer_.buffer(), CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
    if (err != CL_SUCCESS) throw Error(Status::kRuntimeError, fmt::format("clCreateSubBuffer failed ({})", err));
  }
  return sub_;
}

void GuardedBuffer::write(const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> all(payload_ + 2 * guard_);
  for (std::size_t i = 0; i < guard_; ++i) all[i] = all[guard_ + payload_ + i] = guard_byte(i);
  std::copy_n(payload.begin(), std::min(payload.size(), payload_), all.begin() + static_cast<std::ptrdiff_t>(guard_));
  upload(*ctx_, buffer_.view(), all.data(), all.size());
}

void GuardedBuffer::poison() { write(std::vector<uint8_t>(payload_, kPoison)); }

std::vector<uint8_t> GuardedBuffer::read(std::string_view name, std::vector<std::string>& problems) {
  std::vector<uint8_t> all(payload_ + 2 * guard_);
  download(*ctx_, buffer_.view(), all.data(), all.size());
  for (int side = 0; side < 2; ++side) {
    std::size_t base = side == 0 ? 0 : guard_ + payload_;
    std::size_t damaged = 0, first = 0;
    for (std::size_t i = 0; i < guard_; ++i) {
      if (all[base + i] != guard_byte(i) && damaged++ == 0) first = i;
    }
    if (damaged) {
      problems.push_back(fmt::format("{}: {} guard bytes {} the tensor overwritten (first at {} bytes {})", name,
                                     damaged, side == 0 ? "before" : "after", side == 0 ? guard_ - first : first + 1,
                                     side == 0 ? "before" : "past the end"));
    }
  }
  return std::vector<uint8_t>(all.begin() + static_cast<std::ptrdiff_t>(guard_),
                              all.begin() + static_cast<std::ptrdiff_t>(guard_ + payload_));
}

int64_t count_poisoned(const HostData& data, int64_t* first) {
  std::size_t item = dtype_size(data.desc.dtype);
  int64_t count = 0;
  for (std::size_t i = 0; i + item <= data.bytes.size(); i += item) {
    bool all_ones =
        std::all_of(data.bytes.begin() + static_cast<std::ptrdiff_t>(i),
                    data.bytes.begin() + static_cast<std::ptrdiff_t>(i + item), [](uint8_t b) { return b == kPoison; });
    if (all_ones && count++ == 0 && first) *first = static_cast<int64_t>(i / item);
  }
  return count;
}

FaDeviceRun::FaDeviceRun(const Context& ctx, const FaCase& c)
    : ctx_(ctx), plan_(plan_flash_attention_score(ctx, c.descs(), c.attrs)) {
  std::size_t align = std::max<std::size_t>(ctx.info().base_addr_align, 1);
  guard_ = (std::max(kMinGuard, align) + align - 1) / align * align;
}

std::unique_ptr<GuardedBuffer> FaDeviceRun::make(const TensorDesc& desc) {
  return std::make_unique<GuardedBuffer>(ctx_, desc, guard_);
}

void FaDeviceRun::prepare(const FaCase& c) {
  auto add = [&](const char* name, const HostData& data) {
    inputs_.push_back(Input{name, make(data.desc), data.bytes});
    inputs_.back().buffer->write(data.bytes);
    return inputs_.back().buffer->view();
  };
  tensors_.query = add("query", c.inputs.query);
  tensors_.key = add("key", c.inputs.key);
  tensors_.value = add("value", c.inputs.value);
  if (c.inputs.pse) tensors_.pse = add("pse", *c.inputs.pse);
  if (c.inputs.drop_mask) tensors_.drop_mask = add("drop_mask", *c.inputs.drop_mask);
  if (c.inputs.atten_mask) tensors_.atten_mask = add("atten_mask", *c.inputs.atten_mask);
  out_ = make(plan_.attention_out);
  max_ = make(plan_.softmax_max);
  sum_ = make(plan_.softmax_sum);
  softmax_out_ = make(plan_.softmax_out);
  workspace_ = make(TensorDesc{DType::kUInt8, {static_cast<int64_t>(plan_.workspace_size)}});
  tensors_.attention_out = out_->view();
  tensors_.softmax_max = max_->view();
  tensors_.softmax_sum = sum_->view();
  tensors_.softmax_out = softmax_out_->view();
}

void FaDeviceRun::enqueue() { run_flash_attention_score(ctx_, plan_, tensors_, workspace_->payload_mem()); }

void FaDeviceRun::run() {
  for (GuardedBuffer* b : {out_.get(), max_.get(), sum_.get(), softmax_out_.get(), workspace_.get()}) b->poison();
  enqueue();
  ctx_.finish();
}

double FaDeviceRun::timed_run() {
  auto start = std::chrono::steady_clock::now();
  enqueue();
  ctx_.finish();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

FaDeviceOutputs FaDeviceRun::read(std::vector<std::string>& problems) {
  for (Input& in : inputs_) {
    if (in.buffer->read(in.name, problems) != in.bytes) problems.push_back(in.name + ": input changed by the run");
  }
  softmax_out_->read("softmax_out", problems);
  workspace_->read("workspace", problems);
  FaDeviceOutputs outs{HostData{plan_.attention_out, out_->read("attention_out", problems)},
                       HostData{plan_.softmax_max, max_->read("softmax_max", problems)},
                       HostData{plan_.softmax_sum, sum_->read("softmax_sum", problems)}};
  const std::pair<const char*, const HostData*> named[] = {
      {"attention_out", &outs.attention_out}, {"softmax_max", &outs.softmax_max}, {"softmax_sum", &outs.softmax_sum}};
  for (const auto& [name, data] : named) {
    int64_t first = -1;
    if (int64_t n = count_poisoned(*data, &first)) {
      problems.push_back(fmt::format("{}: {} of {} elements never written (first at flat index {})", name, n,
                                     data->desc.numel(), first));
    }
  }
  return outs;
}

}  // namespace cannon::tools
