#pragma once
// The text layer (ulk::text): Hangul normalization, the SentencePiece tokenizer with jamo
// fallback, the byte-level BPE tokenizer of downloaded models, and streaming detokenization. Separate from ulk/ulk.hpp because it needs
// SentencePiece: link ulk::text instead of ulk::ulk.
#include "ulk/text/byte_level_bpe.hpp"
#include "ulk/text/gguf_tokenizer.hpp"
#include "ulk/text/hangul.hpp"
#include "ulk/text/ks_x_1001.hpp"
#include "ulk/text/normalizer.hpp"
#include "ulk/text/piece_table.hpp"
#include "ulk/text/pretokenizer.hpp"
#include "ulk/text/special_tokens.hpp"
#include "ulk/text/spm_model_proto.hpp"
#include "ulk/text/streaming_detokenizer.hpp"
#include "ulk/text/tokenizer.hpp"
#include "ulk/text/unicode_classes.hpp"
#include "ulk/text/utf8.hpp"
