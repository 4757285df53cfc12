#include "pipeline/text/tokenizer.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "pipeline/text/sentencepiece_tokenizer.h"
#include "pipeline/text/wordpiece_tokenizer.h"

namespace nalar::pipeline {

Result<std::unique_ptr<Tokenizer>> Tokenizer::load(const TextConfig& config,
                                                   const std::string& model_dir) {
  const bool wordpiece = config.tokenizer == TokenizerKind::kWordPiece;
  const char* what = wordpiece ? "WordPiece vocabulary (vocab.txt)" : "SentencePiece model";
  if (config.vocab_file.empty()) {
    return invalid_argument(std::string("text pipeline names no ") + what + " (\"vocab\")");
  }
  const std::filesystem::path path = std::filesystem::path(model_dir) / config.vocab_file;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return not_found(std::string(what) + " '" + path.string() + "' does not exist");
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  if (!in) return not_found(std::string("cannot read ") + what + " '" + path.string() + "'");
  const std::string bytes = content.str();
  if (wordpiece) {
    auto t = WordPieceTokenizer::from_vocab(bytes, config, path.string());
    if (!t.is_ok()) return t.status();
    return std::unique_ptr<Tokenizer>(std::move(t).value());
  }
  auto t = SentencePieceTokenizer::from_bytes(bytes, config, path.string());
  if (!t.is_ok()) return t.status();
  return std::unique_ptr<Tokenizer>(std::move(t).value());
}

}  // namespace nalar::pipeline
