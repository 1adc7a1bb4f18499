// .npy reader and writer. The header is a Python dict literal; only the three keys numpy writes
// ('descr', 'fortran_order', 'shape') are read, with a small hand parser rather than a Python-literal grammar.
// Data is copied as bytes: every supported type is little-endian and this host is little-endian too.
#include "tools/harness/npy.hpp"

#include <cstring>
#include <fstream>
#include <iterator>

#include "cannon/error.hpp"
#include "host/runtime/checked.hpp"

namespace cannon::tools {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;
constexpr std::size_t kHeaderAlign = 64;

struct NpyType {
  const char* descr;
  std::size_t size;
};
// "<i2" is accepted beside "<u2" for 16-bit raw bits: torch users often save bf16 as .view(torch.int16).
constexpr NpyType kTypes[] = {{"<f4", 4}, {"<f2", 2}, {"<f8", 8}, {"|u1", 1}, {"|b1", 1},
                              {"<i4", 4}, {"<i8", 8}, {"<u2", 2}, {"<i2", 2}};

// Every rejection is Error(kParamInvalid) naming the file: a corrupt golden is invalid input, not a failed run.
[[noreturn]] void fail(std::string_view what, const std::string& message) {
  throw Error(Status::kParamInvalid, std::string(what) + ": " + message);
}

// The text after `'key':` with leading spaces removed, or fails when the key is missing.
std::string_view value_of(std::string_view header, std::string_view key, std::string_view what) {
  std::string quoted = "'" + std::string(key) + "'";
  std::size_t at = header.find(quoted);
  if (at == std::string_view::npos) fail(what, "npy header has no " + quoted + " key");
  std::size_t colon = header.find(':', at + quoted.size());
  if (colon == std::string_view::npos) fail(what, "npy header: no ':' after " + quoted);
  std::string_view rest = header.substr(colon + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  return rest;
}

std::string parse_descr(std::string_view header, std::string_view what) {
  std::string_view v = value_of(header, "descr", what);
  if (v.empty() || (v.front() != '\'' && v.front() != '"')) fail(what, "npy 'descr' is not a plain type string");
  std::size_t end = v.find(v.front(), 1);
  if (end == std::string_view::npos) fail(what, "npy 'descr' string is not terminated");
  std::string descr(v.substr(1, end - 1));
  // '=' (native) is little-endian on every host cannon runs on; '|' is used for one-byte types.
  if (descr.size() == 3 && descr[0] == '=') descr[0] = '<';
  if (descr.size() == 3 && descr[0] == '<' && (descr[2] == '1')) descr[0] = '|';
  return descr;
}

std::vector<int64_t> parse_shape(std::string_view header, std::string_view what) {
  std::string_view v = value_of(header, "shape", what);
  if (v.empty() || v.front() != '(') fail(what, "npy 'shape' is not a tuple");
  std::size_t close = v.find(')');
  if (close == std::string_view::npos) fail(what, "npy 'shape' tuple is not closed");
  std::vector<int64_t> shape;
  std::string_view body = v.substr(1, close - 1);
  while (!body.empty()) {
    while (!body.empty() && (body.front() == ' ' || body.front() == ',')) body.remove_prefix(1);
    if (body.empty()) break;
    std::size_t digits = 0;
    int64_t dim = 0;
    while (digits < body.size() && body[digits] >= '0' && body[digits] <= '9') {
      if (__builtin_mul_overflow(dim, 10, &dim) || __builtin_add_overflow(dim, body[digits] - '0', &dim)) {
        fail(what, "npy 'shape' dimension " + std::to_string(shape.size()) + " does not fit in int64");
      }
      ++digits;
    }
    // numpy 1.x on Windows wrote "3L"; accept the suffix.
    if (digits < body.size() && body[digits] == 'L') ++digits;
    if (digits == 0) fail(what, "npy 'shape' holds a non-integer: " + std::string(body));
    shape.push_back(dim);
    body.remove_prefix(digits);
  }
  return shape;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) s += ",";
  return s + ")";
}

uint32_t read_le(const std::vector<uint8_t>& bytes, std::size_t at, std::size_t size) {
  uint32_t value = 0;
  for (std::size_t i = 0; i < size; ++i) value |= static_cast<uint32_t>(bytes[at + i]) << (8 * i);
  return value;
}

}  // namespace

int64_t NpyArray::numel() const { return checked_numel(shape, "npy array"); }

std::size_t npy_item_size(std::string_view descr, std::string_view what) {
  for (const auto& t : kTypes) {
    if (descr == t.descr) return t.size;
  }
  if (!descr.empty() && descr[0] == '>')
    fail(what, "big-endian npy type '" + std::string(descr) + "' is not supported");
  fail(what, "npy type '" + std::string(descr) + "' is not supported (use <f4 <f2 <f8 |u1 |b1 <i4 <i8 <u2)");
}

NpyArray parse_npy(const std::vector<uint8_t>& file, std::string_view what) {
  if (file.size() < kMagicSize + 4 || std::memcmp(file.data(), kMagic, kMagicSize) != 0) {
    fail(what, "not an .npy file (bad magic)");
  }
  int major = file[6];
  std::size_t len_size = major == 1 ? 2 : 4;
  if (major < 1 || major > 3) fail(what, "npy format version " + std::to_string(major) + " is not supported");
  std::size_t header_start = 8 + len_size;
  if (file.size() < header_start) fail(what, "truncated npy header");
  std::size_t header_len = read_le(file, 8, len_size);
  if (file.size() < header_start + header_len) fail(what, "truncated npy header");
  std::string_view header(reinterpret_cast<const char*>(file.data()) + header_start, header_len);

  NpyArray array;
  array.descr = parse_descr(header, what);
  std::size_t item = npy_item_size(array.descr, what);
  std::string_view order = value_of(header, "fortran_order", what);
  if (order.substr(0, 4) == "True") fail(what, "Fortran-order npy arrays are not supported (save with C order)");
  if (order.substr(0, 5) != "False") fail(what, "npy 'fortran_order' is neither True nor False");
  array.shape = parse_shape(header, what);

  // Checked: a header claiming 2^51 x 2^13 elements must not wrap to a payload size that matches the file.
  const uint64_t payload =
      checked_bytes(array.shape, item, std::string(what) + ": npy 'shape' " + shape_text(array.shape));
  std::size_t data_start = header_start + header_len;
  if (file.size() - data_start != payload) {
    fail(what, "npy payload holds " + std::to_string(file.size() - data_start) + " bytes, shape " +
                   shape_text(array.shape) + " of " + array.descr + " needs " + std::to_string(payload));
  }
  array.data.assign(file.begin() + static_cast<std::ptrdiff_t>(data_start), file.end());
  return array;
}

std::vector<uint8_t> serialize_npy(const NpyArray& array) {
  std::size_t item = npy_item_size(array.descr, "serialize_npy");
  if (array.data.size() != checked_bytes(array.shape, item, "serialize_npy")) {
    fail("serialize_npy", "data size does not match shape " + shape_text(array.shape));
  }
  std::string header =
      "{'descr': '" + array.descr + "', 'fortran_order': False, 'shape': " + shape_text(array.shape) + ", }";
  std::size_t len_size = header.size() + 1 + kHeaderAlign <= 65535 ? 2 : 4;
  std::size_t unpadded = kMagicSize + 2 + len_size + header.size() + 1;
  header.append((kHeaderAlign - unpadded % kHeaderAlign) % kHeaderAlign, ' ');
  header += '\n';

  std::vector<uint8_t> out(kMagic, kMagic + kMagicSize);
  out.push_back(len_size == 2 ? 1 : 2);
  out.push_back(0);
  for (std::size_t i = 0; i < len_size; ++i) out.push_back(static_cast<uint8_t>(header.size() >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), array.data.begin(), array.data.end());
  return out;
}

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_npy(bytes, path);
}

void write_npy(const std::string& path, const NpyArray& array) {
  std::vector<uint8_t> bytes = serialize_npy(array);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw Error(Status::kRuntimeError, path + ": cannot write");
}

std::string npy_descr(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "<f4";
    case DType::kFloat16:
      return "<f2";
    case DType::kBFloat16:
      return "<u2";
    case DType::kBool:
      return "|b1";
    case DType::kUInt8:
      return "|u1";
    case DType::kInt32:
      return "<i4";
    case DType::kInt64:
      return "<i8";
  }
  throw Error(Status::kInnerError, "npy_descr: unknown dtype");
}

}  // namespace cannon::tools
