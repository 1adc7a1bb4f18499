// cannon-info: the OpenCL platforms and devices this machine has, which one CANNON_DEVICE (or --device)
// selects and why, and the properties of that device that matter to cannon. The first thing to run when a
// device is missing or the wrong one is picked.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cannon/config.hpp"
#include "cannon/context.hpp"
#include "cannon/error.hpp"
#include "host/ops/kernel_config.hpp"
#include "host/runtime/device_select.hpp"
#include "host/tune/database.hpp"
#include "host/tune/device_key.hpp"

namespace {

std::string device_string(cl_device_id id, cl_device_info param) {
  std::size_t size = 0;
  if (clGetDeviceInfo(id, param, 0, nullptr, &size) != CL_SUCCESS || size == 0) return "?";
  std::string value(size, '\0');
  if (clGetDeviceInfo(id, param, size, value.data(), nullptr) != CL_SUCCESS) return "?";
  while (!value.empty() && value.back() == '\0') value.pop_back();
  return value;
}

const char* kind_name(const cannon::DeviceEntry& e) { return e.is_cpu ? "cpu" : e.is_gpu ? "gpu" : "other"; }

// The tuning database's keys for the device and which databases hold entries under them (docs/tuning.md).
void print_tuning(const cannon::Context& ctx) {
  namespace tune = cannon::tune;
  const cannon::Config& config = ctx.config();
  const std::vector<std::string> keys = tune::device_keys(ctx.info());
  std::string joined;
  for (const std::string& k : keys) joined += (joined.empty() ? "" : ", ") + k;
  fmt::print("  tuning keys        {}\n", joined);
  if (!config.tune_shipped_db && config.tune_db.empty()) {
    fmt::print("  tuning databases   none (CANNON_TUNE_DB=none): heuristics only\n");
    return;
  }
  std::vector<std::shared_ptr<const tune::Database>> user;
  std::vector<const tune::Database*> dbs;
  try {
    for (const std::string& path : config.tune_db) {
      user.push_back(tune::load_database(path));
      dbs.push_back(user.back().get());
    }
  } catch (const std::exception& e) {
    fmt::print("  tuning databases   error: {}\n", e.what());
    return;
  }
  if (config.tune_shipped_db) {
    for (const tune::Database& db : tune::shipped_databases()) dbs.push_back(&db);
  }
  bool any = false;
  for (const tune::Database* db : dbs) {
    for (const std::string& key : keys) {
      auto d = db->devices.find(key);
      if (d == db->devices.end()) continue;
      std::string counts;
      for (const auto& [kernel, classes] : d->second) {
        counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", kernel, classes.size());
      }
      fmt::print("  tuning database    {} [{}]: {} classes{}\n", db->origin, key, counts,
                 any ? "" : " (searched first)");
      any = true;
    }
  }
  if (!any) fmt::print("  tuning databases   no entry for this device: heuristics (docs/tuning.md)\n");
}

void print_details(const cannon::Context& ctx) {
  const cannon::DeviceInfo& info = ctx.info();
  cl_device_id id = ctx.cl_device_handle();
  std::string extensions = device_string(id, CL_DEVICE_EXTENSIONS);
  fmt::print("\nselected device:\n");
  fmt::print("  name               {}\n", info.name);
  fmt::print("  platform           {}\n", info.platform_name);
  fmt::print("  OpenCL             {}; {}\n", device_string(id, CL_DEVICE_VERSION),
             device_string(id, CL_DEVICE_OPENCL_C_VERSION));
  fmt::print("  driver             {}\n", device_string(id, CL_DRIVER_VERSION));
  fmt::print("  compute units      {}\n", info.compute_units);
  fmt::print("  global memory      {:.1f} GiB (max allocation {:.1f} GiB)\n", info.global_mem_size / 1073741824.0,
             info.max_alloc_size / 1073741824.0);
  fmt::print("  memory cache       {:.1f} MiB (the backward's key entries per head follow it)\n",
             info.global_mem_cache_size / 1048576.0);
  fmt::print("  max work-group     {}\n", info.max_work_group_size);
  fmt::print("  base addr align    {} bytes\n", info.base_addr_align);
  fmt::print("  cl_khr_fp16        {}\n", extensions.find("cl_khr_fp16") != std::string::npos
                                              ? "yes"
                                              : "no (fp16 is read and written with vload_half/vstore_half)");
  fmt::print("  kernel shapes      {}\n", info.pocl && info.kind == cannon::DeviceKind::kCpu
                                              ? "CPU-shaped (PoCL's CPU device)"
                                              : "generic (docs/devices.md)");
  if (cannon::use_cpu_kernels(info)) {
    const cannon::CpuVectorUnit unit = cannon::cpu_vector_unit(info);
    fmt::print("  vector unit        {} float lanes (VW), {} registers (docs/devices.md)\n", unit.width,
               unit.registers);
  }
  if (info.loop_limit != 0) {
    fmt::print("  loop limit         {} loop iterations per kernel invocation (llvmpipe; docs/devices.md)\n",
               info.loop_limit);
  }
  fmt::print("  why                {}\n", ctx.selection_reason());
  print_tuning(ctx);
}

int run_main(int argc, char** argv) {
  CLI::App app{"cannon-info: lists OpenCL platforms and devices and shows which one cannon selects"};
  std::string spec;
  app.add_option("--device", spec, "device spec to try instead of CANNON_DEVICE (index, P:D, cpu, gpu, name)");
  CLI11_PARSE(app, argc, argv);

  std::string env;
  try {
    env = cannon::Config::global().device;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cannon-info: bad CANNON_* environment: %s\n", e.what());
    return 1;
  }
  std::string effective = spec.empty() ? env : spec;

  std::vector<cannon::DeviceEntry> entries = cannon::enumerate_devices();
  if (entries.empty()) {
    fmt::print("no OpenCL platform or device found (is an ICD such as pocl-opencl-icd installed?)\n");
    return 1;
  }
  std::size_t selected = entries.size();
  std::string error;
  try {
    selected = cannon::select_device(entries, effective, spec.empty() ? "CANNON_DEVICE" : "--device").index;
  } catch (const std::exception& e) {
    error = e.what();
  }

  fmt::print("OpenCL devices:\n");
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const cannon::DeviceEntry& e = entries[i];
    fmt::print("  {} {}: [{}:{}] {} ({}) {}\n", i == selected ? "*" : " ", i, e.platform, e.device, e.name,
               e.platform_name, kind_name(e));
  }
  fmt::print("\nCANNON_DEVICE      {}\n", env.empty() ? "(unset)" : "'" + env + "'");
  if (!spec.empty()) fmt::print("--device           '{}' (overrides CANNON_DEVICE)\n", spec);
  if (!error.empty()) {
    fmt::print("\nno device selected: {}\n", error);
    return 1;
  }
  try {
    print_details(cannon::Context::create(effective));
  } catch (const std::exception& e) {
    fmt::print("\nthe selected device could not be opened: {}\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run_main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cannon-info: %s\n", e.what());
    return 1;
  }
}
