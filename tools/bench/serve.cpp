// The request loop of cannon-bench --serve (serve.hpp).
#include "tools/bench/serve.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <sstream>

namespace cannon::tools {

int run_serve(const std::vector<std::string>& problems, const std::function<Sampler(const std::string&)>& prepare,
              nlohmann::json report) {
  std::vector<Sampler> samplers;
  report["cases"] = nlohmann::json::array();
  for (const std::string& p : problems) {
    try {
      samplers.push_back(prepare(p));
    } catch (const std::exception& e) {
      fmt::print("@error {}: {}\n", p, e.what());
      std::fflush(stdout);
      return 1;
    }
    report["cases"].push_back({{"problem", p}, {"flops", samplers.back().work}});
  }
  fmt::print("@ready {}\n", report.dump());
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string verb;
    in >> verb;
    if (verb == "quit") break;
    std::size_t index = 0;
    if (verb != "run" || !(in >> index) || index >= samplers.size()) {
      fmt::print("@error expected 'run I' with I below {} or 'quit', got '{}'\n", samplers.size(), line);
    } else {
      fmt::print("@ms {:.6f}\n", samplers[index].once() * 1e3);
    }
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace cannon::tools
