// GoldenDir and the case.json/.npy reading and writing shared by every operator's golden directories.
#include "tools/harness/golden_dir.hpp"

#include <cmath>
#include <fstream>
#include <iterator>

#include "cannon/error.hpp"
#include "tools/harness/npy.hpp"

namespace cannon::tools {
void golden_fail(const std::string& where, const std::string& message) {
  throw Error(Status::kParamInvalid, where + ": " + message);
}

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + ")";
}

const char* json_type(const json& v) {
  return v.is_boolean()  ? "a boolean"
         : v.is_string() ? "a string"
         : v.is_null()   ? "null"
         : v.is_array()  ? "a list"
         : v.is_object() ? "an object"
                         : "a number";
}

json parse_case_json(const GoldenFiles& files, std::string& json_path) {
  json_path = files.path("case.json");
  std::optional<std::vector<uint8_t>> bytes = files.read("case.json");
  if (!bytes) golden_fail(json_path, "cannot open (a golden directory needs case.json)");
  json j;
  try {
    j = json::parse(bytes->begin(), bytes->end());
  } catch (const json::exception& e) {
    golden_fail(json_path, e.what());
  }
  if (!j.is_object()) golden_fail(json_path, std::string("must hold a JSON object, not ") + json_type(j));
  return j;
}

}  // namespace

std::string GoldenFiles::path(const std::string& name) const { return (fs::path(root) / name).string(); }

GoldenFiles golden_files_on_disk(const std::string& dir) {
  return GoldenFiles{dir, [dir](const std::string& name) -> std::optional<std::vector<uint8_t>> {
                       std::ifstream in(fs::path(dir) / name, std::ios::binary);
                       if (!in) return std::nullopt;
                       return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                                                   std::istreambuf_iterator<char>());
                     }};
}

GoldenFiles golden_files_in_memory(const std::map<std::string, std::vector<uint8_t>>& files, const std::string& root) {
  return GoldenFiles{root, [&files](const std::string& name) -> std::optional<std::vector<uint8_t>> {
                       auto it = files.find(name);
                       if (it == files.end()) return std::nullopt;
                       return it->second;
                     }};
}

int64_t attr_int(const json& v, const std::string& key, const std::string& where) {
  if (v.is_number_integer() && !v.is_number_unsigned()) return v.get<int64_t>();
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(u);
    golden_fail(where, "attribute \"" + key + "\": " + std::to_string(u) + " is out of the int64 range");
  }
  if (v.is_number_float()) {
    // 2.0 is an integer written by a float printer; 2.7 and 1e30 are not integers of any attribute.
    const double x = v.get<double>();
    if (std::isfinite(x) && std::trunc(x) == x && x >= -0x1p63 && x < 0x1p63) return static_cast<int64_t>(x);
    golden_fail(where, "attribute \"" + key + "\": " + v.dump() + " is not an integer in the int64 range");
  }
  golden_fail(where, "attribute \"" + key + "\" must be an integer, not " + json_type(v));
}

double attr_float(const json& v, const std::string& key, const std::string& where) {
  if (!v.is_number()) golden_fail(where, "attribute \"" + key + "\" must be a number, not " + json_type(v));
  const double x = v.get<double>();
  if (!std::isfinite(x)) golden_fail(where, "attribute \"" + key + "\": " + v.dump() + " is not a finite number");
  return x;
}

std::string attr_string(const json& v, const std::string& key, const std::string& where, bool null_ok) {
  if (null_ok && v.is_null()) return "";
  if (!v.is_string()) golden_fail(where, "attribute \"" + key + "\" must be a string, not " + json_type(v));
  return v.get<std::string>();
}

std::vector<int64_t> attr_ints(const json& v, const std::string& key, const std::string& where) {
  if (v.is_null()) return {};
  if (!v.is_array()) golden_fail(where, "attribute \"" + key + "\" must be a list of integers, not " + json_type(v));
  std::vector<int64_t> out;
  for (std::size_t i = 0; i < v.size(); ++i) out.push_back(attr_int(v[i], key + "[" + std::to_string(i) + "]", where));
  return out;
}

std::optional<DType> GoldenDir::declared(const std::string& name) const {
  auto it = dtypes.find(name);
  return it == dtypes.end() ? std::nullopt : std::optional<DType>(it->second);
}

bool GoldenDir::has(const std::string& name) const { return files.read(name + ".npy").has_value(); }

HostData GoldenDir::input(const std::string& name) const {
  const std::string path = files.path(name + ".npy");
  std::optional<std::vector<uint8_t>> bytes = files.read(name + ".npy");
  if (!bytes) golden_fail(path, "cannot open (the operator's input \"" + name + "\")");
  return from_npy(parse_npy(*bytes, path), declared(name), path);
}

OutputValues GoldenDir::expected(const std::vector<OutputSpec>& outputs, DType out_dtype,
                                 std::vector<ExpectedArray>& arrays) const {
  OutputValues values(outputs.size());
  bool any = false;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const std::string name = "expected/" + std::string(outputs[i].name) + ".npy";
    std::optional<std::vector<uint8_t>> bytes = files.read(name);
    if (!bytes) continue;
    const std::string path = files.path(name);
    NpyArray array = parse_npy(*bytes, path);
    const DType raw =
        in_output_dtype(outputs[i].quantity) ? declared(outputs[i].name).value_or(out_dtype) : DType::kFloat32;
    values[i] = npy_values(array, raw, path);
    arrays.push_back(ExpectedArray{outputs[i].name, path, array.descr, array.shape, raw});
    any = true;
  }
  if (!any) golden_fail(files.root, "no expected/*.npy outputs");
  return values;
}

const json& GoldenDir::attrs() const {
  static const json kEmpty = json::object();
  auto it = j.find("attrs");
  if (it == j.end()) return kEmpty;
  if (!it->is_object()) golden_fail(json_path, std::string("\"attrs\" must be an object, not ") + json_type(*it));
  return *it;
}

GoldenDir open_golden_dir(const GoldenFiles& files, const char* op) {
  GoldenDir d{files, "", {}, {}};
  d.j = parse_case_json(files, d.json_path);
  auto it = d.j.find("op");
  if (it == d.j.end() || !it->is_string() || it->get<std::string>() != op) {
    golden_fail(d.json_path, std::string("\"op\" must be \"") + op + "\"");
  }
  if (auto dt = d.j.find("dtypes"); dt != d.j.end()) {
    if (!dt->is_object()) golden_fail(d.json_path, std::string("\"dtypes\" must be an object, not ") + json_type(*dt));
    for (const auto& [name, v] : dt->items()) {
      if (!v.is_string()) golden_fail(d.json_path, "\"dtypes\": \"" + name + "\" must be a dtype name string");
      d.dtypes[name] = parse_dtype(v.get<std::string>(), d.json_path + ": \"dtypes\": \"" + name + "\"");
    }
  }
  return d;
}

void write_golden_dir(const std::string& dir, const char* op, const std::vector<NamedTensor>& inputs,
                      const std::vector<NamedTensor>& outputs, const json& attrs, const std::string& problem) {
  fs::path root(dir);
  fs::create_directories(root / "expected");
  json dtypes = json::object();
  auto put = [&](const fs::path& path, const std::string& name, const HostData& data) {
    dtypes[name] = dtype_name(data.desc.dtype);
    write_npy(path.string(), to_npy(data));
  };
  for (const NamedTensor& in : inputs) put(root / (in.name + ".npy"), in.name, in.data);
  for (const NamedTensor& out : outputs) put(root / "expected" / (out.name + ".npy"), out.name, out.data);
  json j{{"op", op},
         {"producer", "cannon-conformance --dump"},
         {"problem", problem},
         {"attrs", attrs},
         {"dtypes", dtypes}};
  std::ofstream out((root / "case.json").string());
  out << j.dump(2) << "\n";
  if (!out) throw Error(Status::kRuntimeError, (root / "case.json").string() + ": cannot write");
}

std::string golden_op(const GoldenFiles& files) {
  std::string json_path;
  json j = parse_case_json(files, json_path);
  auto it = j.find("op");
  if (it == j.end() || !it->is_string()) golden_fail(json_path, "\"op\" must name the operator (a string)");
  return it->get<std::string>();
}

std::string golden_op(const std::string& dir) { return golden_op(golden_files_on_disk(dir)); }

void check_expected(const std::vector<ExpectedArray>& arrays, const std::vector<OutputSpec>& outputs,
                    const std::vector<TensorDesc>& produced) {
  for (const ExpectedArray& a : arrays) {
    std::size_t k = 0;
    while (k < outputs.size() && a.name != outputs[k].name) ++k;
    if (k == outputs.size() || k >= produced.size()) golden_fail(a.path, "is not an output of this operator");
    const TensorDesc& out = produced[k];
    if (a.shape != out.shape) {
      golden_fail(a.path, "shape " + shape_text(a.shape) + " but the operator produces " + out.to_string() +
                              " for this case (an expected array must have its output's shape)");
    }
    const bool half = out.dtype == DType::kFloat16 || out.dtype == DType::kBFloat16;
    const bool holds = a.descr == "<f8" || (a.descr == "<f4" && is_floating(out.dtype)) ||
                       (a.descr == "<f2" && out.dtype == DType::kFloat16) ||
                       ((a.descr == "<u2" || a.descr == "<i2") && half && a.raw16 == out.dtype);
    if (!holds) {
      std::string raw = a.raw16 && (a.descr == "<u2" || a.descr == "<i2")
                            ? std::string(" (raw bits read as ") + dtype_name(*a.raw16) + ")"
                            : "";
      golden_fail(
          a.path,
          "npy type " + a.descr + raw + " cannot hold the operator's " + dtype_name(out.dtype) +
              " output (use <f4 or <f8" +
              (half ? std::string(", or ") + dtype_name(out.dtype) + " raw bits <u2 declared in \"dtypes\"" : "") +
              ")");
    }
  }
}

}  // namespace cannon::tools
