// GoldenDir and the case.json/.npy reading and writing shared by every operator's golden directories.
#include "tools/common/golden_dir.hpp"

#include <fstream>
#include <stdexcept>

#include "tools/common/npy.hpp"

namespace cannon::tools {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

[[noreturn]] void fail(const std::string& where, const std::string& message) {
  throw std::runtime_error(where + ": " + message);
}

}  // namespace

std::optional<DType> GoldenDir::declared(const std::string& name) const {
  auto it = dtypes.find(name);
  return it == dtypes.end() ? std::nullopt : std::optional<DType>(it->second);
}

bool GoldenDir::has(const std::string& name) const { return fs::exists(root / (name + ".npy")); }

HostData GoldenDir::input(const std::string& name) const {
  std::string path = (root / (name + ".npy")).string();
  return from_npy(read_npy(path), declared(name), path);
}

FaValues GoldenDir::expected(const char* const (&names)[3], DType out_dtype) const {
  FaValues v;
  std::optional<std::vector<double>>* slots[] = {&v.attention_out, &v.softmax_max, &v.softmax_sum};
  for (int i = 0; i < 3; ++i) {
    fs::path path = root / "expected" / (std::string(names[i]) + ".npy");
    DType raw = i == 0 ? declared(names[i]).value_or(out_dtype) : DType::kFloat32;
    if (fs::exists(path)) *slots[i] = npy_values(read_npy(path.string()), raw, path.string());
  }
  if (!v.attention_out && !v.softmax_max && !v.softmax_sum) fail(root.string(), "no expected/*.npy outputs");
  return v;
}

GoldenDir open_golden_dir(const std::string& dir, const char* op) {
  GoldenDir d{fs::path(dir), (fs::path(dir) / "case.json").string(), {}, {}};
  std::ifstream in(d.json_path);
  if (!in) fail(d.json_path, "cannot open (a golden directory needs case.json)");
  try {
    in >> d.j;
  } catch (const json::exception& e) {
    fail(d.json_path, e.what());
  }
  if (d.j.value("op", "") != op) fail(d.json_path, std::string("\"op\" must be \"") + op + "\"");
  if (d.j.contains("dtypes")) {
    for (const auto& [name, v] : d.j["dtypes"].items()) d.dtypes[name] = parse_dtype(v.get<std::string>(), d.json_path);
  }
  return d;
}

void write_golden_dir(const std::string& dir, const char* op, const std::vector<NamedInput>& inputs,
                      const char* const (&names)[3], const std::vector<HostData>& outputs, const json& attrs,
                      const std::string& problem) {
  fs::path root(dir);
  fs::create_directories(root / "expected");
  json dtypes = json::object();
  auto put = [&](const fs::path& path, const std::string& name, const HostData& data) {
    dtypes[name] = dtype_name(data.desc.dtype);
    write_npy(path.string(), to_npy(data));
  };
  for (const NamedInput& in : inputs) put(root / (in.name + ".npy"), in.name, in.data);
  for (std::size_t i = 0; i < 3 && i < outputs.size(); ++i) {
    put(root / "expected" / (std::string(names[i]) + ".npy"), names[i], outputs[i]);
  }
  json j{{"op", op},
         {"producer", "cannon-conformance --dump"},
         {"problem", problem},
         {"attrs", attrs},
         {"dtypes", dtypes}};
  std::ofstream out((root / "case.json").string());
  out << j.dump(2) << "\n";
  if (!out) fail((root / "case.json").string(), "cannot write");
}

std::string golden_op(const std::string& dir) {
  std::string path = (fs::path(dir) / "case.json").string();
  std::ifstream in(path);
  if (!in) fail(path, "cannot open (a golden directory needs case.json)");
  try {
    json j;
    in >> j;
    return j.value("op", "");
  } catch (const json::exception& e) {
    fail(path, e.what());
  }
}

}  // namespace cannon::tools
