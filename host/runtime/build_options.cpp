// BuildOptions; see build_options.hpp.
#include "host/runtime/build_options.hpp"

#include <cctype>

#include "host/runtime/check.hpp"

namespace cannon {
namespace {

bool is_identifier(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

}  // namespace

BuildOptions& BuildOptions::define(std::string_view name, long value) {
  defines_.emplace_back(std::string(name), value);
  return *this;
}

BuildOptions& BuildOptions::define(std::string_view name) {
  defines_.emplace_back(std::string(name), std::nullopt);
  return *this;
}

std::string BuildOptions::str(const Config& config) const {
  std::string out = kCommonBuildFlags;
  for (const auto& [name, value] : defines_) {
    out += value ? fmt::format(" -D{}={}", name, *value) : fmt::format(" -D{}", name);
  }
  for (const auto& [name, value] : config.kernel_defines) {
    require(is_identifier(name), "Config::kernel_defines: '{}' is not a macro name", name);
    for (const auto& own : defines_) {
      require(own.first != name, "Config::kernel_defines: {} is set by the kernel config", name);
    }
    out += fmt::format(" -D{}={}", name, value);
  }
  return out;
}

}  // namespace cannon
