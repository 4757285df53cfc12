#include "pipeline/text/sentencepiece_tokenizer.h"

#include <cstdio>

#include "pipeline/text/sentencepiece_encoders.h"
#include "pipeline/text/sentencepiece_model.pb.h"
#include "pipeline/text/utf8.h"

namespace nalar::pipeline {

SentencePieceTokenizer::SentencePieceTokenizer(SentencePieceVocab vocab,
                                               SentencePieceNormalizerOptions options,
                                               PrecompiledCharsmap charsmap)
    : vocab_(std::make_unique<SentencePieceVocab>(std::move(vocab))),
      normalizer_(std::move(charsmap), options, vocab_.get()) {}

Result<std::unique_ptr<SentencePieceTokenizer>> SentencePieceTokenizer::from_bytes(
    std::string_view bytes, const TextConfig& config, const std::string& name) {
  const auto bad = [&](const std::string& why) {
    return invalid_argument("SentencePiece model '" + name + "': " + why);
  };
  spm::ModelProto proto;
  if (bytes.empty() || !proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return bad("not a serialized SentencePiece ModelProto (protobuf parse failed)");
  }
  // Every model spm_train writes has both specs; a file cut short loses them.
  if (!proto.has_trainer_spec() || !proto.has_normalizer_spec()) {
    return bad("the ModelProto has no trainer_spec or normalizer_spec (truncated file?)");
  }
  const spm::TrainerSpec& trainer = proto.trainer_spec();
  const spm::NormalizerSpec& norm = proto.normalizer_spec();

  std::vector<Piece> pieces;
  pieces.reserve(proto.pieces_size());
  for (const auto& p : proto.pieces()) {
    pieces.push_back({p.piece(), p.score(), static_cast<PieceType>(p.type())});
  }
  auto vocab = SentencePieceVocab::build(std::move(pieces), trainer.byte_fallback());
  if (!vocab.is_ok()) return bad(vocab.status().message());
  auto charsmap = PrecompiledCharsmap::parse(norm.precompiled_charsmap());
  if (!charsmap.is_ok()) return bad(charsmap.status().message());

  SentencePieceNormalizerOptions options;
  options.add_dummy_prefix = norm.add_dummy_prefix();
  options.remove_extra_whitespaces = norm.remove_extra_whitespaces();
  options.escape_whitespaces = norm.escape_whitespaces();
  options.treat_whitespace_as_suffix = trainer.treat_whitespace_as_suffix();

  std::unique_ptr<SentencePieceTokenizer> t(
      new SentencePieceTokenizer(std::move(vocab).value(), options, std::move(charsmap).value()));
  t->type_ = static_cast<ModelType>(trainer.model_type());
  t->byte_fallback_ = trainer.byte_fallback();
  t->whitespace_as_suffix_ = trainer.treat_whitespace_as_suffix();
  if (t->byte_fallback_) {
    for (int b = 0; b < 256; ++b) {
      char piece[8];
      std::snprintf(piece, sizeof(piece), "<0x%02X>", b);
      t->byte_ids_[b] = t->vocab_->piece_to_id(piece);
    }
  }
  // As SentencePiece: a special token exists when its piece is a control symbol.
  const auto control_id = [&](const std::string& piece) -> int64_t {
    const int id = t->vocab_->piece_to_id(piece);
    return t->vocab_->piece(id).type == PieceType::kControl ? id : -1;
  };
  const int64_t bos = control_id(trainer.bos_piece());
  const int64_t eos = control_id(trainer.eos_piece());
  const int64_t pad = control_id(trainer.pad_piece());
  t->pad_id_ = pad >= 0 ? pad : 0;
  if (config.add_special_tokens) {
    if (bos >= 0) t->layout_.begin = {bos};
    if (eos >= 0) t->layout_.after_first = t->layout_.after_second = {eos};
  }
  if (config.max_length <= 0) {
    return bad("max_length must be positive, got " + std::to_string(config.max_length));
  }
  t->policy_ = {config.max_length, config.truncation};
  return t;
}

Result<std::vector<int64_t>> SentencePieceTokenizer::encode_ids(std::string_view text) const {
  NALAR_RETURN_IF_ERROR(validate_utf8(text));
  const std::string normalized = normalizer_.normalize(text);
  SentencePieces pieces;
  switch (type_) {
    case ModelType::kBpe:
      pieces = encode_bpe(*vocab_, normalized);
      break;
    case ModelType::kWord:
      pieces = encode_word(*vocab_, normalized, whitespace_as_suffix_);
      break;
    case ModelType::kChar:
      pieces = encode_char(*vocab_, normalized);
      break;
    default:
      pieces = encode_unigram(*vocab_, normalized);
      break;
  }
  std::vector<int64_t> ids;
  ids.reserve(pieces.size());
  bool prev_unknown = false;
  for (const auto& [piece, id] : pieces) {
    const bool unknown = id == vocab_->unk_id();
    if (unknown && byte_fallback_) {
      for (char c : piece) ids.push_back(byte_ids_[static_cast<unsigned char>(c)]);
    } else if (!(unknown && prev_unknown)) {  // a run of unknown pieces is one <unk>
      ids.push_back(id);
    }
    prev_unknown = unknown;
  }
  return ids;
}

Result<Encoding> SentencePieceTokenizer::encode(std::string_view text,
                                                std::string_view pair) const {
  NALAR_ASSIGN_OR_RETURN(std::vector<int64_t> first, encode_ids(text));
  std::optional<std::vector<int64_t>> second;
  if (!pair.empty()) {
    NALAR_ASSIGN_OR_RETURN(second, encode_ids(pair));
  }
  return assemble_encoding(std::move(first), std::move(second), layout_, policy_);
}

}  // namespace nalar::pipeline
