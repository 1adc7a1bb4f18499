// Device keys for the tuning database (device_key.hpp).
#include "host/tune/device_key.hpp"

#include <cctype>

namespace cannon::tune {

std::string platform_key(const DeviceInfo& device) {
  if (device.pocl) return "pocl";
  if (device.platform_name == "rusticl") return "rusticl";
  if (device.platform_name == "Clover") return "clover";
  return device.platform_name;
}

namespace {

bool target_token(const std::string& t) {
  if (t.empty()) return false;
  for (char c : t) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (!(std::islower(u) || std::isdigit(u) || c == '_' || c == '.')) return false;
  }
  return true;
}

}  // namespace

std::string target_part(const DeviceInfo& device) {
  const std::string& name = device.name;
  if (device.pocl) {
    std::string target;
    std::size_t pos = 0;
    while (pos <= name.size()) {
      std::size_t dash = name.find('-', pos);
      if (dash == std::string::npos) dash = name.size();
      const std::string token = name.substr(pos, dash - pos);
      if (!target_token(token)) break;
      target += (target.empty() ? "" : "-") + token;
      pos = dash + 1;
    }
    if (!target.empty()) return target;
  }
  const std::size_t paren = name.find(" (");
  std::string t = paren == std::string::npos ? name : name.substr(0, paren);
  while (!t.empty() && t.back() == ' ') t.pop_back();
  return t;
}

std::vector<std::string> device_keys(const DeviceInfo& device) {
  const std::string platform = platform_key(device);
  std::vector<std::string> keys{platform + "/" + device.name};
  const std::string target = platform + "/" + target_part(device);
  if (target != keys.front()) keys.push_back(target);
  return keys;
}

}  // namespace cannon::tune
