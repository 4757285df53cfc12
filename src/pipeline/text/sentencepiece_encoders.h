// SentencePiece's segmentation algorithms over normalised text: each returns the pieces
// (views into `normalized`) with their ids, unknown text carrying the unknown id.
#pragma once

#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/text/sentencepiece_vocab.h"

namespace nalar::pipeline {

using SentencePieces = std::vector<std::pair<std::string_view, int>>;

// Unigram: the Viterbi path maximising the sum of piece scores; a character no piece covers
// becomes an unknown piece scored min_score - 10.
SentencePieces encode_unigram(const SentencePieceVocab& vocab, std::string_view normalized);

// BPE: start from characters (user-defined symbols whole and frozen), repeatedly merge the
// adjacent pair whose merged piece has the highest score (leftmost on ties).
SentencePieces encode_bpe(const SentencePieceVocab& vocab, std::string_view normalized);

// WORD: whole words split before each U+2581 (after, when whitespace is a suffix).
SentencePieces encode_word(const SentencePieceVocab& vocab, std::string_view normalized,
                           bool whitespace_as_suffix);

// CHAR: one piece per character (user-defined symbols whole).
SentencePieces encode_char(const SentencePieceVocab& vocab, std::string_view normalized);

}  // namespace nalar::pipeline
