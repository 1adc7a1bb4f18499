// WorkspaceLedger bookkeeping; see workspace.hpp.
#include "host/runtime/workspace.hpp"

#include <algorithm>

#include "host/runtime/check.hpp"
#include "host/runtime/checked.hpp"

namespace cannon {
namespace {
bool is_pow2(std::size_t v) { return v != 0 && (v & (v - 1)) == 0; }
}  // namespace

WorkspaceLedger::WorkspaceLedger(std::size_t min_alignment) : min_alignment_(min_alignment) {
  if (!is_pow2(min_alignment)) fail(Status::kInnerError, "workspace alignment {} is not a power of two", min_alignment);
}

std::size_t WorkspaceLedger::book(const std::string& name, std::size_t bytes, std::size_t alignment) {
  if (alignment != 0 && !is_pow2(alignment)) {
    fail(Status::kInnerError, "workspace entry '{}': alignment {} is not a power of two", name, alignment);
  }
  const std::size_t align = std::max(alignment, min_alignment_);
  for (const Entry& e : entries_) {
    if (e.name == name) fail(Status::kInnerError, "workspace entry '{}' booked twice", name);
  }
  // Entry sizes come from problem sizes: pad and add with checks, so a huge entry fails instead of wrapping.
  const std::size_t offset = checked_add_u64(total_, align - 1, name) & ~(align - 1);
  entries_.push_back(Entry{name, offset, bytes, align});
  total_ = checked_add_u64(offset, bytes, name);
  return offset;
}

const WorkspaceLedger::Entry& WorkspaceLedger::find(const std::string& name) const {
  for (const Entry& e : entries_) {
    if (e.name == name) return e;
  }
  fail(Status::kInnerError, "workspace entry '{}' was never booked", name);
}

std::size_t WorkspaceLedger::offset(const std::string& name) const { return find(name).offset; }
std::size_t WorkspaceLedger::bytes(const std::string& name) const { return find(name).bytes; }

}  // namespace cannon
