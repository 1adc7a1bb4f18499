// Guarded buffers and runs. Guard bands hold a position-dependent byte pattern (not
// the poison byte), so an out-of-bounds write of any value, NaN included, is caught; the guard size is a
// multiple of the device's base-address alignment so that views and sub-buffers at offset `guard` stay legal.
#include "tools/harness/guarded.hpp"

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

GuardedRun::GuardedRun(const Context& ctx) : ctx_(ctx) {
  std::size_t align = std::max<std::size_t>(ctx.info().base_addr_align, 1);
  guard_ = (std::max(kMinGuard, align) + align - 1) / align * align;
}

TensorView GuardedRun::input(const std::string& name, const HostData& data) {
  inputs_.push_back(Named{name, std::make_unique<GuardedBuffer>(ctx_, data.desc, guard_), data.bytes});
  inputs_.back().buffer->write(data.bytes);
  return inputs_.back().buffer->view();
}

TensorView GuardedRun::output(const std::string& name, const TensorDesc& desc) {
  output_names_.push_back(name);
  output_descs_.push_back(desc);
  outputs_.push_back(std::make_unique<GuardedBuffer>(ctx_, desc, guard_));
  return outputs_.back()->view();
}

TensorView GuardedRun::scratch(const std::string& name, const TensorDesc& desc) {
  scratch_.push_back(Named{name, std::make_unique<GuardedBuffer>(ctx_, desc, guard_), {}});
  return scratch_.back().buffer->view();
}

cl_mem GuardedRun::workspace(std::size_t bytes) {
  workspace_ = std::make_unique<GuardedBuffer>(ctx_, TensorDesc{DType::kUInt8, {static_cast<int64_t>(bytes)}}, guard_);
  return workspace_->payload_mem();
}

void GuardedRun::enqueue_and_wait(const std::function<void()>& enqueue) {
  enqueue();
  ctx_.finish();
}

void GuardedRun::run(const std::function<void()>& enqueue) {
  for (auto& out : outputs_) out->poison();
  for (Named& s : scratch_) s.buffer->poison();
  if (workspace_) workspace_->poison();
  enqueue_and_wait(enqueue);
}

double GuardedRun::timed_run(const std::function<void()>& enqueue) {
  auto start = std::chrono::steady_clock::now();
  enqueue_and_wait(enqueue);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<HostData> GuardedRun::read(std::vector<std::string>& problems) {
  for (Named& in : inputs_) {
    if (in.buffer->read(in.name, problems) != in.bytes) problems.push_back(in.name + ": input changed by the run");
  }
  for (Named& s : scratch_) s.buffer->read(s.name, problems);
  if (workspace_) workspace_->read("workspace", problems);
  std::vector<HostData> outs;
  for (std::size_t i = 0; i < outputs_.size(); ++i) {
    outs.push_back(HostData{output_descs_[i], outputs_[i]->read(output_names_[i], problems)});
  }
  for (std::size_t i = 0; i < outs.size(); ++i) {
    int64_t first = -1;
    if (int64_t n = count_poisoned(outs[i], &first)) {
      problems.push_back(fmt::format("{}: {} of {} elements never written (first at flat index {})", output_names_[i],
                                     n, outs[i].desc.numel(), first));
    }
  }
  return outs;
}

}  // namespace cannon::tools
