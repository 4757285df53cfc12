// The text input stage's tokenisers: WordPiece (BERT vocab.txt) and SentencePiece (.model).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nalar/status.h"
#include "pipeline/pipeline_config.h"

namespace nalar::pipeline {

// One tokenised text, unpadded: ids with special tokens as configured, a mask of ones, and type
// ids (0 for the first segment, 1 for the pair's).
struct Encoding {
  std::vector<int64_t> ids;
  std::vector<int64_t> attention_mask;
  std::vector<int64_t> type_ids;
};

class Tokenizer {
 public:
  // config.vocab_file is relative to model_dir.
  static Result<std::unique_ptr<Tokenizer>> load(const TextConfig& config,
                                                 const std::string& model_dir);
  virtual ~Tokenizer() = default;

  // Honors max_length, truncation (error naming the length when off and too long) and
  // add_special_tokens; never pads. Invalid UTF-8 is an error.
  virtual Result<Encoding> encode(std::string_view text, std::string_view pair = {}) const = 0;
  virtual int64_t pad_id() const = 0;
};

}  // namespace nalar::pipeline
