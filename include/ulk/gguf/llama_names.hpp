#pragma once
// llama.cpp's names for a Llama model in GGUF: metadata keys, tensor names, token types and file
// types. Files that use them load in llama.cpp, and llama.cpp's files load here.
//
// Tensor shapes in ggml order (ne[0] first, the row length):
//   token_embd.weight          [dim, vocab]      output.weight (absent when tied)  [dim, vocab]
//   output_norm.weight         [dim]
//   blk.N.attn_norm.weight     [dim]             blk.N.ffn_norm.weight    [dim]
//   blk.N.attn_q.weight        [dim, heads * head_dim]
//   blk.N.attn_k.weight        [dim, kv_heads * head_dim]   blk.N.attn_v.weight (same)
//   blk.N.attn_output.weight   [heads * head_dim, dim]
//   blk.N.ffn_gate.weight      [dim, ffn]        blk.N.ffn_up.weight      [dim, ffn]
//   blk.N.ffn_down.weight      [ffn, dim]
// attn_q and attn_k rows are in ggml's RoPE order (pairs of adjacent rows rotate together); a
// Hugging Face checkpoint stores them in rotate-half order and is permuted on conversion.
#include <cstdint>
#include <string>
#include <string_view>

namespace ulk::gguf::llama {

inline constexpr std::string_view kArchitecture = "llama";

namespace key {
inline constexpr std::string_view architecture = "general.architecture";
inline constexpr std::string_view name = "general.name";
inline constexpr std::string_view file_type = "general.file_type";
inline constexpr std::string_view quantization_version = "general.quantization_version";
inline constexpr std::string_view context_length = "llama.context_length";
inline constexpr std::string_view embedding_length = "llama.embedding_length";
inline constexpr std::string_view block_count = "llama.block_count";
inline constexpr std::string_view feed_forward_length = "llama.feed_forward_length";
inline constexpr std::string_view head_count = "llama.attention.head_count";
inline constexpr std::string_view head_count_kv = "llama.attention.head_count_kv";
inline constexpr std::string_view rms_epsilon = "llama.attention.layer_norm_rms_epsilon";
inline constexpr std::string_view rope_freq_base = "llama.rope.freq_base";
inline constexpr std::string_view rope_dimension_count = "llama.rope.dimension_count";
inline constexpr std::string_view vocab_size = "llama.vocab_size";
inline constexpr std::string_view tokenizer_model = "tokenizer.ggml.model";
inline constexpr std::string_view tokens = "tokenizer.ggml.tokens";
inline constexpr std::string_view scores = "tokenizer.ggml.scores";
inline constexpr std::string_view token_type = "tokenizer.ggml.token_type";
inline constexpr std::string_view bos_id = "tokenizer.ggml.bos_token_id";
inline constexpr std::string_view eos_id = "tokenizer.ggml.eos_token_id";
inline constexpr std::string_view unk_id = "tokenizer.ggml.unknown_token_id";
inline constexpr std::string_view pad_id = "tokenizer.ggml.padding_token_id";
inline constexpr std::string_view add_bos = "tokenizer.ggml.add_bos_token";
inline constexpr std::string_view add_eos = "tokenizer.ggml.add_eos_token";
inline constexpr std::string_view merges = "tokenizer.ggml.merges";     // byte-level BPE: "left right", by rank
inline constexpr std::string_view pre = "tokenizer.ggml.pre";           // byte-level BPE: pre-tokenizer name
// Ours: the SentencePiece model itself (serialized ModelProto, as a u8 array), so that ulk's
// tokenizer reproduces the original exactly (normalization rules included).
inline constexpr std::string_view sentencepiece_model = "ulk.tokenizer.sentencepiece_model";
}  // namespace key

inline std::string block_tensor(int layer, std::string_view what) {
    return "blk." + std::to_string(layer) + "." + std::string(what) + ".weight";
}
inline constexpr std::string_view kTokenEmbedding = "token_embd.weight";
inline constexpr std::string_view kOutputNorm = "output_norm.weight";
inline constexpr std::string_view kOutput = "output.weight";

// llama_token_type
enum class TokenType : std::int32_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

// llama_ftype: general.file_type, the file's predominant type.
enum class FileType : std::uint32_t {
    AllF32 = 0, MostlyF16 = 1, MostlyQ4_0 = 2, MostlyQ8_0 = 7, MostlyQ2_K = 10, MostlyQ3_K_M = 12,
    MostlyQ4_K_M = 15, MostlyQ6_K = 18, MostlyBF16 = 32,
};

}  // namespace ulk::gguf::llama
