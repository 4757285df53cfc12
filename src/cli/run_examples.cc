#include "cli/run_examples.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include "nalar/session.h"
#include "pipeline/pipeline.h"
#include "pipeline/tabular_stage.h"

namespace nalar::cli {

namespace {

using pipeline::Example;
using pipeline::InputKind;
using pipeline::Prediction;

int fail(const std::string& message) {
  std::cerr << "nalar run: " << message << "\n";
  return 1;
}

const char* kind_flag(InputKind k) {
  switch (k) {
    case InputKind::kImage:
      return "--image";
    case InputKind::kTabular:
      return "--record";
    case InputKind::kText:
      return "--text";
    case InputKind::kTensor:
      break;
  }
  return "--input";
}

// prepare() names the example by its position; here each example runs alone, so the position
// says nothing and the flag's value names it instead.
std::string strip_example_prefix(const std::string& m) {
  const std::string p = "example 0: ";
  return m.rfind(p, 0) == 0 ? m.substr(p.size()) : m;
}

void print_prediction(const Prediction& p) {
  for (const auto& c : p.top) std::printf("%s  %.4f\n", c.label.c_str(), c.score);
  if (p.decision) std::printf("decision: %s\n", *p.decision ? "true" : "false");
  if (!p.values.empty()) {
    std::printf("values:");
    for (float v : p.values) std::printf(" %.6g", v);
    std::printf("\n");
  }
}

}  // namespace

int run_examples(const RunExamplesOptions& o) {
  SessionOptions so;
  so.num_threads = o.threads;
  so.precision = o.precision;
  auto session = Session::load(o.model_file, so);
  if (!session.is_ok()) return fail(session.status().message());
  auto pipe = pipeline::Pipeline::load(o.model_dir, **session);
  if (!pipe.is_ok()) return fail(pipe.status().message());
  const pipeline::Pipeline& p = **pipe;
  const InputKind kind = p.input_kind();
  if (kind == InputKind::kTensor)
    return fail("model folder '" + o.model_dir +
                "' has no pipeline input stage (pipeline.json \"input\"); run it with --input "
                "NAME=FILE.npy");

  // The examples, each with the text that names it in messages.
  struct Source {
    std::string name;
    std::string bytes;
    pipeline::Record record;
  };
  std::vector<Source> sources;
  auto wrong = [&](const char* flag) {
    return fail(std::string("this model's pipeline takes ") + kind_flag(kind) + " examples, not " +
                flag);
  };
  if (!o.images.empty() && kind != InputKind::kImage) return wrong("--image");
  if (!o.records.empty() && kind != InputKind::kTabular) return wrong("--record");
  if (!o.texts.empty() && kind != InputKind::kText) return wrong("--text");
  for (const std::string& path : o.images) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail("--image '" + path + "': cannot open the file");
    Source s;
    s.name = "--image '" + path + "'";
    s.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) return fail("--image '" + path + "': read error");
    sources.push_back(std::move(s));
  }
  for (size_t i = 0; i < o.records.size(); ++i) {
    Source s;
    s.name = "--record " + std::to_string(i + 1);
    auto r = pipeline::record_from_json_text(o.records[i]);
    if (!r.is_ok()) return fail(s.name + ": " + r.status().message());
    s.record = std::move(r).value();
    sources.push_back(std::move(s));
  }
  for (size_t i = 0; i < o.texts.size(); ++i) {
    Source s;
    s.name = "--text " + std::to_string(i + 1);
    s.bytes = o.texts[i];
    sources.push_back(std::move(s));
  }

  // One example per forward pass: models exported with a fixed batch of 1 work too.
  std::vector<Prediction> predictions;
  for (const Source& s : sources) {
    Example e;
    e.bytes = s.bytes;
    e.record = kind == InputKind::kTabular ? &s.record : nullptr;
    auto inputs = p.prepare(std::span<const Example>(&e, 1));
    if (!inputs.is_ok())
      return fail(s.name + ": " + strip_example_prefix(inputs.status().message()));
    auto outputs = (*session)->run(*inputs);
    if (!outputs.is_ok()) return fail(s.name + ": " + outputs.status().message());
    auto preds = p.interpret(*outputs, 1, o.top_k);
    if (!preds.is_ok()) return fail(s.name + ": " + preds.status().message());
    predictions.push_back(std::move((*preds)[0]));
  }

  if (o.json) {
    std::printf("%s\n", pipeline::predictions_to_json(predictions).c_str());
    return 0;
  }
  for (size_t i = 0; i < predictions.size(); ++i) {
    if (sources.size() > 1) std::printf("%s%s:\n", i ? "\n" : "", sources[i].name.c_str());
    print_prediction(predictions[i]);
  }
  return 0;
}

}  // namespace nalar::cli
