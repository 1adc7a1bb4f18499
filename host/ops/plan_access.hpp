// The library's (and its tests') access to the data behind a public plan object: the plans keep it private so the
// public API exposes only descriptions and sizes.
#pragma once

#include <memory>

#include "host/runtime/check.hpp"

namespace cannon::detail {

struct PlanAccess {
  template <typename Plan>
  static bool has_data(const Plan& plan) {
    return plan.data_ != nullptr;
  }
  // The plan's data; the plan must have some (has_data).
  template <typename Plan>
  static const auto& data(const Plan& plan) {
    return *plan.data_;
  }
  // The data of a plan run() may use: throws Error(kParamInvalid) naming `plan` for an empty plan (`planner` is the
  // call that makes one) or a host-only one (dry_plan.hpp), which has no program.
  template <typename Plan>
  static const auto& runnable(const Plan& plan, const char* planner) {
    require(has_data(plan), "plan: empty; call {} first", planner);
    require(plan.data_->built(), "plan: made without a Context (host-only); it cannot be run");
    return *plan.data_;
  }
  template <typename Plan, typename Data>
  static void attach(Plan& plan, std::shared_ptr<Data> data) {
    plan.data_ = std::move(data);
  }
};

}  // namespace cannon::detail
