// The workspace ledger (oneDNN's memory_tracking): the planner books (name, bytes, alignment) entries,
// and run time resolves the same entries to offsets in one caller-provided buffer. The size query and
// the run-time offsets come from one ledger, so they cannot disagree. Pure C++, no OpenCL.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace cannon {

class WorkspaceLedger {
 public:
  // min_alignment is the device's CL_DEVICE_MEM_BASE_ADDR_ALIGN in bytes; every entry is aligned to at
  // least that, so sub-buffers created at these offsets are legal.
  explicit WorkspaceLedger(std::size_t min_alignment = 128);

  // Books an entry and returns its offset. Names are unique; alignment must be a power of two.
  std::size_t book(const std::string& name, std::size_t bytes, std::size_t alignment = 0);
  std::size_t offset(const std::string& name) const;
  std::size_t bytes(const std::string& name) const;
  // Total size including alignment padding (0 when nothing is booked).
  std::size_t total() const { return total_; }
  std::size_t alignment() const { return min_alignment_; }

  struct Entry {
    std::string name;
    std::size_t offset, bytes, alignment;
  };
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  const Entry& find(const std::string& name) const;
  std::size_t min_alignment_;
  std::size_t total_ = 0;
  std::vector<Entry> entries_;
};

}  // namespace cannon
