// The declared pipeline of a model, as plain data: what <model dir>/pipeline.json says (schema
// and examples in src/pipeline/README.md). One input stage (image, tabular or text) prepares the
// model's inputs; the output stage turns the model's outputs into answers.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nalar/dtype.h"

namespace nalar::pipeline {

enum class InputKind { kTensor, kImage, kTabular, kText };

// ---- images ------------------------------------------------------------------------------

enum class ColorMode { kRGB, kBGR, kGray };
enum class Interpolation { kBilinear, kArea, kNearest };
// kExact: resize to (height, width) ignoring aspect ratio.
// kShorterSide: scale so the shorter side is `shorter_side`, then centre-crop to (height, width).
// kLetterbox: scale to fit inside (height, width) keeping aspect ratio, pad with `pad_value`.
enum class ResizeMode { kExact, kShorterSide, kLetterbox };
enum class Layout { kNCHW, kNHWC };

struct ImageConfig {
  std::string input;  // the model input it fills (default: the model's only input)
  ColorMode color = ColorMode::kRGB;
  ResizeMode resize = ResizeMode::kExact;
  Interpolation interpolation = Interpolation::kBilinear;
  int height = 0, width = 0;  // the model's spatial size (0: taken from the model's input shape)
  int shorter_side = 0;       // kShorterSide only (0: same as min(height, width))
  uint8_t pad_value = 0;      // kLetterbox only
  // value = (pixel * scale - mean[c]) / std[c], per channel in the output's channel order.
  float scale = 1.0f / 255.0f;
  std::vector<float> mean;  // empty: 0
  std::vector<float> std;   // empty: 1
  Layout layout = Layout::kNCHW;
  DataType dtype = DataType::kFloat;  // float32, float16, uint8 (no normalisation), ...
  // Size policy: encoded images larger than these are refused before decoding.
  int64_t max_pixels = 50'000'000;
  int64_t max_bytes = 64 << 20;
};

// ---- tabular records -----------------------------------------------------------------------

enum class ColumnType { kNumber, kCategory, kBool };
enum class CategoryEncoding { kIndex, kOneHot };

struct ColumnConfig {
  std::string name;
  ColumnType type = ColumnType::kNumber;
  // Missing (absent, null or empty CSV cell): fill `missing_default`, or error when unset.
  std::optional<double> missing_default;
  // kCategory: the vocabulary, in the order the model was trained with.
  std::vector<std::string> vocabulary;
  CategoryEncoding encoding = CategoryEncoding::kIndex;  // kOneHot: vocabulary.size() features
  // A category outside the vocabulary: error when unset, otherwise this index (-1: all-zero one-hot).
  std::optional<int64_t> unknown_index;
};

struct TabularConfig {
  std::string input;                  // the model input it fills (default: the only input)
  std::vector<ColumnConfig> columns;  // feature order = column order (one-hot expands in place)
  DataType dtype = DataType::kFloat;
};

// ---- text ------------------------------------------------------------------------------------

enum class TokenizerKind { kWordPiece, kSentencePiece };
enum class Padding { kMaxLength, kLongest, kNone };

struct TextConfig {
  TokenizerKind tokenizer = TokenizerKind::kWordPiece;
  std::string vocab_file;  // wordpiece: vocab.txt; sentencepiece: the .model file (model-relative)
  bool lowercase = true;   // wordpiece (BERT uncased); also strips accents
  int64_t max_length = 128;
  Padding padding = Padding::kMaxLength;
  bool truncation = true;  // false: a text longer than max_length is an error
  bool add_special_tokens = true;  // [CLS] ... [SEP] (wordpiece) / BOS..EOS (sentencepiece)
  // Model inputs to fill; an empty name means the model does not take that one.
  std::string input_ids = "input_ids";
  std::string attention_mask = "attention_mask";
  std::string token_type_ids = "token_type_ids";
  DataType dtype = DataType::kInt64;
};

// ---- outputs -------------------------------------------------------------------------------

enum class Activation { kNone, kSoftmax, kSigmoid };

struct OutputConfig {
  // "task": "classification" (default: probabilities, top-k, labels) or "regression" (values).
  bool regression = false;
  std::string output;  // the model output holding scores (default: the first output)
  // For ai.onnx.ml classifiers: the output holding labels (first output of the classifier),
  // probabilities are then `output` (default: second output).
  std::string label_output;
  Activation activation = Activation::kNone;
  int top_k = 1;
  std::string labels_file = "labels.txt";  // model-relative; absent file: labels are indices
  // Binary decision: positive when the score of `positive_index` >= threshold.
  std::optional<float> threshold;
  int64_t positive_index = 1;  // for a single-score (sigmoid) output this is 0
};

struct PipelineConfig {
  InputKind kind = InputKind::kTensor;
  ImageConfig image;
  TabularConfig tabular;
  TextConfig text;
  std::optional<OutputConfig> output;  // absent: raw output tensors only
};

}  // namespace nalar::pipeline
