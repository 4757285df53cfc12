// Runs the ONNX backend node test suite (model.onnx + test_data_set_*/{input,output}_N.pb per
// case) through Nalar and compares like ONNX's own runner: rtol 1e-3, atol 1e-7, NaN equals NaN,
// dtypes and shapes exact. Cases whose graph inputs or outputs are not all tensors (sequences,
// optionals) are counted separately.
//
//   nalar_conformance --data DIR [--filter REGEX] [--expected-failures FILE] [--min-pass N]
//                     [--verbose] [--opt-level N]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "nalar/session.h"
#include "onnx/loader.h"

namespace fs = std::filesystem;
using namespace nalar;

namespace {

template <class T>
double as_double(const T& v) {
  return static_cast<double>(static_cast<float>(v));
}
double as_double(double v) { return v; }
double as_double(float v) { return v; }

template <class T>
std::string compare_typed(const Tensor& expected, const Tensor& actual) {
  const T* e = expected.data<T>();
  const T* a = actual.data<T>();
  for (int64_t i = 0; i < expected.size(); ++i) {
    if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool>) {
      if (!(e[i] == a[i])) return "element " + std::to_string(i) + " differs";
    } else if constexpr (std::is_same_v<T, std::complex<float>> ||
                         std::is_same_v<T, std::complex<double>>) {
      if (std::abs(e[i] - a[i]) > 1e-7 + 1e-3 * std::abs(e[i]))
        return "element " + std::to_string(i) + " differs";
    } else if constexpr (std::is_integral_v<T>) {
      if (e[i] != a[i])
        return "element " + std::to_string(i) + ": expected " + std::to_string(e[i]) + ", got " +
               std::to_string(a[i]);
    } else {
      double ev = as_double(e[i]), av = as_double(a[i]);
      if (std::isnan(ev) && std::isnan(av)) continue;
      if (std::isinf(ev) || std::isinf(av)) {
        if (ev != av)
          return "element " + std::to_string(i) + ": expected " + std::to_string(ev) + ", got " +
                 std::to_string(av);
        continue;
      }
      if (!(std::fabs(ev - av) <= 1e-7 + 1e-3 * std::fabs(ev)))
        return "element " + std::to_string(i) + ": expected " + std::to_string(ev) + ", got " +
               std::to_string(av);
    }
  }
  return "";
}

std::string compare(const Tensor& expected, const Tensor& actual) {
  if (expected.dtype() != actual.dtype())
    return std::string("dtype: expected ") + dtype_name(expected.dtype()) + ", got " +
           dtype_name(actual.dtype());
  if (expected.shape() != actual.shape())
    return "shape: expected " + shape_to_string(expected.shape()) + ", got " +
           shape_to_string(actual.shape());
  switch (expected.dtype()) {
    case DataType::kFloat: return compare_typed<float>(expected, actual);
    case DataType::kDouble: return compare_typed<double>(expected, actual);
    case DataType::kFloat16: return compare_typed<Float16>(expected, actual);
    case DataType::kBFloat16: return compare_typed<BFloat16>(expected, actual);
    case DataType::kInt8: return compare_typed<int8_t>(expected, actual);
    case DataType::kInt16: return compare_typed<int16_t>(expected, actual);
    case DataType::kInt32: return compare_typed<int32_t>(expected, actual);
    case DataType::kInt64: return compare_typed<int64_t>(expected, actual);
    case DataType::kUint8: return compare_typed<uint8_t>(expected, actual);
    case DataType::kUint16: return compare_typed<uint16_t>(expected, actual);
    case DataType::kUint32: return compare_typed<uint32_t>(expected, actual);
    case DataType::kUint64: return compare_typed<uint64_t>(expected, actual);
    case DataType::kBool: return compare_typed<bool>(expected, actual);
    case DataType::kString: return compare_typed<std::string>(expected, actual);
    case DataType::kComplex64: return compare_typed<std::complex<float>>(expected, actual);
    case DataType::kComplex128: return compare_typed<std::complex<double>>(expected, actual);
    default: return "cannot compare dtype";
  }
}

// ONNX 1.12's test data stores bfloat16 tensors as uint16 (its numpy helper has no bfloat16);
// where the model says bfloat16, read those bits as the bfloat16 they are.
Tensor as_bfloat16_if_stored_as_uint16(const Tensor& t, DataType declared) {
  if (declared != DataType::kBFloat16 || t.dtype() != DataType::kUint16) return t;
  Tensor b = Tensor::create(DataType::kBFloat16, t.shape());
  if (t.size()) std::memcpy(b.raw(), t.raw(), t.nbytes());
  return b;
}

bool tensor_only(const Model& m) {
  for (const auto& v : m.graph.inputs)
    if (v.dtype == DataType::kUndefined) return false;
  for (const auto& v : m.graph.outputs)
    if (v.dtype == DataType::kUndefined) return false;
  return true;
}

// Returns "" on success, else the reason.
std::string run_case(const fs::path& dir, const SessionOptions& options) {
  auto model = load_model_file((dir / "model.onnx").string());
  if (!model.is_ok()) return model.status().message();
  auto session = Session::load((dir / "model.onnx").string(), options);
  if (!session.is_ok()) return session.status().message();
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0)
      sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) return "no test_data_set_* folders";
  for (const auto& set : sets) {
    NamedTensors inputs;
    const auto& declared = (*session)->inputs();
    for (size_t i = 0;; ++i) {
      fs::path p = set / ("input_" + std::to_string(i) + ".pb");
      if (!fs::exists(p)) break;
      auto t = load_tensor_file(p.string());
      if (!t.is_ok()) return t.status().message();
      if (i >= declared.size()) return "more input files than graph inputs";
      inputs.emplace_back(declared[i].name, as_bfloat16_if_stored_as_uint16(*t, declared[i].dtype));
    }
    auto outputs = (*session)->run(inputs);
    if (!outputs.is_ok()) return outputs.status().message();
    for (size_t i = 0;; ++i) {
      fs::path p = set / ("output_" + std::to_string(i) + ".pb");
      if (!fs::exists(p)) break;
      auto expected = load_tensor_file(p.string());
      if (!expected.is_ok()) return expected.status().message();
      if (i >= outputs->size()) return "model produced fewer outputs than expected";
      const Tensor& actual = (*outputs)[i].second;
      std::string diff =
          compare(as_bfloat16_if_stored_as_uint16(*expected, actual.dtype()), actual);
      if (!diff.empty()) return "output '" + (*outputs)[i].first + "': " + diff;
    }
  }
  return "";
}

std::set<std::string> read_expected_failures(const std::string& path) {
  std::set<std::string> names;
  if (path.empty()) return names;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    std::string name;
    ss >> name;
    if (!name.empty()) names.insert(name);
  }
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data, filter = ".*", expected_path;
  int min_pass = 0;
  bool verbose = false;
  SessionOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--data") data = next();
    else if (a == "--filter") filter = next();
    else if (a == "--expected-failures") expected_path = next();
    else if (a == "--min-pass") min_pass = std::stoi(next());
    else if (a == "--verbose") verbose = true;
    else if (a == "--opt-level") options.optimization_level = std::stoi(next());
    else {
      std::cerr << "unknown flag " << a << "\n";
      return 2;
    }
  }
  if (data.empty() || !fs::is_directory(data)) {
    std::cerr << "--data DIR: the generated ONNX node tests (run scripts/gen-onnx-node-tests.sh)\n";
    return 2;
  }
  const std::set<std::string> expected = read_expected_failures(expected_path);
  const std::regex re(filter);
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(data))
    if (e.is_directory() && std::regex_search(e.path().filename().string(), re))
      cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());

  int passed = 0, failed = 0, expected_failed = 0, non_tensor = 0;
  std::vector<std::string> unexpected_fail, unexpected_pass;
  for (const auto& dir : cases) {
    const std::string name = dir.filename().string();
    auto model = load_model_file((dir / "model.onnx").string());
    if (model.is_ok() && !tensor_only(*model)) {
      ++non_tensor;
      continue;
    }
    std::string reason = run_case(dir, options);
    const bool xfail = expected.count(name) != 0;
    if (reason.empty()) {
      ++passed;
      if (xfail) unexpected_pass.push_back(name);
      if (verbose) std::cout << "PASS " << name << "\n";
    } else {
      ++failed;
      if (xfail) ++expected_failed;
      else unexpected_fail.push_back(name + ": " + reason);
      if (verbose || !xfail) std::cout << (xfail ? "XFAIL " : "FAIL ") << name << ": " << reason << "\n";
    }
  }
  for (const auto& n : unexpected_pass)
    std::cout << "note: " << n << " passes now; remove it from the expected failures\n";
  std::cout << "tensor-only cases: " << passed + failed << ", non-tensor cases skipped: " << non_tensor
            << ", expected failures: " << expected_failed << "\n";
  std::cout << "conformance: " << passed << " passed, " << failed << " failed\n";
  if (!unexpected_fail.empty()) {
    std::cout << unexpected_fail.size() << " unexpected failures\n";
    return 1;
  }
  if (passed < min_pass) {
    std::cout << "fewer than " << min_pass << " cases pass\n";
    return 1;
  }
  return 0;
}
