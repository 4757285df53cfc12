// nalar_image_prep: runs the image stage on files, for the Pillow parity test and the benchmark.
//   nalar_image_prep [options] IN OUT.npy [IN OUT.npy ...]    one .npy per image
//   nalar_image_prep [options] --bench SECONDS --threads N IN...   prints {"images_per_s": ...}
// Options mirror pipeline.json: --color --resize --interpolation --height --width --shorter-side
// --pad --scale --mean a,b,c --std a,b,c --layout --dtype --max-pixels --max-bytes, plus
// --dct-scaling. A failing image prints "ERROR <file>: <message>" and the exit status is 1.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/npy.h"
#include "nalar/tensor.h"
#include "pipeline/image/image_prep.h"
#include "pipeline/image/prepare_options.h"

namespace {

using nalar::pipeline::ImageConfig;

bool read_file(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

std::vector<float> floats(const std::string& s) {
  std::vector<float> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) v.push_back(std::stof(item));
  return v;
}

int usage(const char* message) {
  std::fprintf(stderr, "nalar_image_prep: %s\n", message);
  return 2;
}

template <class T>
bool lookup(const std::map<std::string, T>& m, const std::string& key, T* out) {
  auto it = m.find(key);
  if (it == m.end()) return false;
  *out = it->second;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace nalar::pipeline;
  ImageConfig config;
  config.height = config.width = 224;
  PrepareOptions options;
  double bench_seconds = 0;
  int threads = 1;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      files.push_back(arg);
      continue;
    }
    if (arg == "--dct-scaling") {
      options.jpeg_dct_scaling = true;
      continue;
    }
    if (i + 1 >= argc) return usage(("missing value for " + arg).c_str());
    const std::string v = argv[++i];
    bool ok = true;
    if (arg == "--color") {
      ok = lookup<ColorMode>(
          {{"rgb", ColorMode::kRGB}, {"bgr", ColorMode::kBGR}, {"gray", ColorMode::kGray}}, v,
          &config.color);
    } else if (arg == "--resize") {
      ok = lookup<ResizeMode>({{"exact", ResizeMode::kExact},
                               {"shorter_side", ResizeMode::kShorterSide},
                               {"letterbox", ResizeMode::kLetterbox}},
                              v, &config.resize);
    } else if (arg == "--interpolation") {
      ok = lookup<Interpolation>({{"bilinear", Interpolation::kBilinear},
                                  {"area", Interpolation::kArea},
                                  {"nearest", Interpolation::kNearest}},
                                 v, &config.interpolation);
    } else if (arg == "--layout") {
      ok = lookup<Layout>({{"NCHW", Layout::kNCHW}, {"NHWC", Layout::kNHWC}}, v, &config.layout);
    } else if (arg == "--dtype") {
      ok = lookup<nalar::DataType>({{"float32", nalar::DataType::kFloat},
                                    {"float16", nalar::DataType::kFloat16},
                                    {"float64", nalar::DataType::kDouble},
                                    {"uint8", nalar::DataType::kUint8},
                                    {"int32", nalar::DataType::kInt32}},
                                   v, &config.dtype);
    } else if (arg == "--height") {
      config.height = std::atoi(v.c_str());
    } else if (arg == "--width") {
      config.width = std::atoi(v.c_str());
    } else if (arg == "--shorter-side") {
      config.shorter_side = std::atoi(v.c_str());
    } else if (arg == "--pad") {
      config.pad_value = static_cast<uint8_t>(std::atoi(v.c_str()));
    } else if (arg == "--scale") {
      config.scale = std::stof(v);
    } else if (arg == "--mean") {
      config.mean = floats(v);
    } else if (arg == "--std") {
      config.std = floats(v);
    } else if (arg == "--max-pixels") {
      config.max_pixels = std::atoll(v.c_str());
    } else if (arg == "--max-bytes") {
      config.max_bytes = std::atoll(v.c_str());
    } else if (arg == "--bench") {
      bench_seconds = std::atof(v.c_str());
    } else if (arg == "--threads") {
      threads = std::max(1, std::atoi(v.c_str()));
    } else {
      return usage(("unknown option " + arg).c_str());
    }
    if (!ok) return usage(("bad value " + v + " for " + arg).c_str());
  }

  const int64_t elements = image_example_elements(config);
  const size_t bytes =
      static_cast<size_t>(std::max<int64_t>(elements, 0)) * nalar::dtype_size(config.dtype);
  if (bench_seconds > 0) {
    std::vector<std::string> images(files.size());
    for (size_t i = 0; i < files.size(); ++i) {
      if (!read_file(files[i], &images[i])) return usage(("cannot read " + files[i]).c_str());
    }
    if (images.empty()) return usage("--bench needs images");
    std::atomic<int64_t> done{0};
    std::atomic<bool> failed{false};
    const auto start = std::chrono::steady_clock::now();
    const auto end = start + std::chrono::duration<double>(bench_seconds);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        std::vector<char> out(bytes);
        for (size_t i = t; std::chrono::steady_clock::now() < end; i += threads) {
          if (!prepare_image(images[i % images.size()], config, options, out.data()).is_ok()) {
            failed = true;
            return;
          }
          ++done;
        }
      });
    }
    for (auto& w : workers) w.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (failed) return usage("an image failed during the benchmark");
    std::printf("{\"images_per_s\": %.2f, \"images\": %lld, \"threads\": %d}\n",
                static_cast<double>(done) / seconds, static_cast<long long>(done.load()), threads);
    return 0;
  }

  if (files.empty() || files.size() % 2 != 0) return usage("expected IN OUT.npy pairs");
  const bool nchw = config.layout == Layout::kNCHW;
  const int64_t c = config.color == ColorMode::kGray ? 1 : 3;
  const nalar::Shape shape = nchw ? nalar::Shape{c, config.height, config.width}
                                  : nalar::Shape{config.height, config.width, c};
  int status = 0;
  for (size_t i = 0; i < files.size(); i += 2) {
    std::string encoded;
    if (!read_file(files[i], &encoded)) {
      std::printf("ERROR %s: cannot read the file\n", files[i].c_str());
      status = 1;
      continue;
    }
    nalar::Tensor out = nalar::Tensor::empty(config.dtype, shape);
    nalar::Status st = prepare_image(encoded, config, options, out.raw());
    if (!st.is_ok()) {
      std::printf("ERROR %s: %s\n", files[i].c_str(), st.message().c_str());
      status = 1;
      continue;
    }
    st = nalar::write_npy(files[i + 1], out);
    if (!st.is_ok()) {
      std::printf("ERROR %s: %s\n", files[i + 1].c_str(), st.message().c_str());
      status = 1;
    }
  }
  return status;
}
