// Reading batch files. Problem strings never contain '#', so everything after a '#' is a comment; include
// paths are resolved against the including file's directory so batch files can be run from any directory.
#include "tools/harness/batch.hpp"

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace cannon::tools {
namespace {

constexpr int kMaxIncludeDepth = 16;

std::string trim(const std::string& s) {
  const char* space = " \t\r\n";
  std::size_t begin = s.find_first_not_of(space);
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(space) - begin + 1);
}

void read_file(const std::filesystem::path& path, std::vector<CaseSpec>& out, int depth) {
  if (depth > kMaxIncludeDepth) {
    throw std::runtime_error(path.string() + ": include nesting deeper than 16 (an include cycle?)");
  }
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path.string() + ": cannot open batch file");
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string origin = path.string() + ":" + std::to_string(number);
    std::size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    line = trim(line);
    if (line.empty()) continue;
    if (line.rfind("include", 0) == 0 && line.size() > 7 && (line[7] == ' ' || line[7] == '\t')) {
      std::filesystem::path target(trim(line.substr(8)));
      if (target.is_relative()) target = path.parent_path() / target;
      try {
        read_file(target, out, depth + 1);
      } catch (const std::runtime_error& e) {
        throw std::runtime_error(origin + ": " + e.what());
      }
      continue;
    }
    out.push_back(make_spec(line, origin));
  }
}

}  // namespace

CaseSpec make_spec(const std::string& text, const std::string& origin) {
  CaseSpec spec{trim(text), false, origin};
  if (!spec.text.empty() && spec.text[0] == '!') {
    spec.expect_invalid = true;
    spec.text = trim(spec.text.substr(1));
  }
  return spec;
}

void read_batch(const std::string& path, std::vector<CaseSpec>& out) { read_file(path, out, 0); }

}  // namespace cannon::tools
