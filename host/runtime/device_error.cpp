// DeviceErrors and the messages of the codes kernels report; see device_error.hpp.
#include "host/runtime/device_error.hpp"

#include "cannon/error.hpp"
#include "host/runtime/check.hpp"

namespace cannon {
namespace {

int64_t join64(int32_t lo, int32_t hi) {
  return static_cast<int64_t>((static_cast<uint64_t>(static_cast<uint32_t>(hi)) << 32) | static_cast<uint32_t>(lo));
}

}  // namespace

DeviceErrors::~DeviceErrors() {
  if (buffer_) clReleaseMemObject(buffer_);
}

void DeviceErrors::create(cl_context context) {
  int32_t zeros[ERR_WORDS] = {};
  cl_int err = CL_SUCCESS;
  buffer_ = clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof zeros, zeros, &err);
  if (err != CL_SUCCESS) throw_cl_error(err, "clCreateBuffer", __FILE__, __LINE__);
}

cl_mem DeviceErrors::record() {
  used_.store(true);
  return buffer_;
}

void DeviceErrors::raise(cl_command_queue queue) {
  if (!used_.load()) return;
  int32_t record[ERR_WORDS] = {};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    CANNON_CL(clEnqueueReadBuffer(queue, buffer_, CL_TRUE, 0, sizeof record, record, 0, nullptr, nullptr));
    if (record[ERR_CODE] == ERR_NONE) return;
    const int32_t zeros[ERR_WORDS] = {};
    CANNON_CL(clEnqueueWriteBuffer(queue, buffer_, CL_TRUE, 0, sizeof zeros, zeros, 0, nullptr, nullptr));
  }
  const bool known = record[ERR_CODE] >= ERR_SEQ_START && record[ERR_CODE] <= ERR_TOPK_RANGE;
  throw Error(known ? Status::kParamInvalid : Status::kInnerError, describe_device_error(record));
}

std::string describe_device_error(const int32_t (&r)[ERR_WORDS]) {
  const int32_t* a = r + ERR_ARG0;
  switch (r[ERR_CODE]) {
    case ERR_SEQ_START:
      return fmt::format("actual_seq_qlen: must start at 0, starts at {}", join64(a[0], a[1]));
    case ERR_SEQ_DECREASES:
      return fmt::format("actual_seq_qlen: decreases at index {} ({} after {})", a[0], join64(a[1], a[2]),
                         join64(a[3], a[4]));
    case ERR_SEQ_END:
      return fmt::format("actual_seq_qlen: ends at {}, but T = {}", join64(a[0], a[1]), join64(a[2], a[3]));
    case ERR_TOPK_RANGE: {
      const int64_t blocks = a[6] > 0 ? a[5] / a[6] : 0;
      return fmt::format(
          "topk_indices: [{}][{}][{}] = {} selects keys outside batch {} ({} keys = {} blocks of {}); indices must be "
          "in [0, {})",
          a[0], a[1], a[2], a[3], a[4], a[5], blocks, a[6], blocks);
    }
    default:
      return fmt::format("device error record: unknown code {}", r[ERR_CODE]);
  }
}

}  // namespace cannon
