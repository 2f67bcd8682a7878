#pragma once
// ulk::text::Tokenizer: HangulNormalizer -> SentencePiece (normalization off, byte fallback on)
// -> jamo fallback. Decoding is the StreamingDetokenizer run to the end.
//
// Jamo fallback: a Hangul syllable missing from the vocabulary comes out of SentencePiece as
// three byte pieces, which carry nothing a model can use. When the vocabulary holds the 67
// conjoining jamo, those bytes become the syllable's 2 or 3 jamo pieces instead (a final ㄴ or ㄹ
// carries grammar); decoding composes them back. Byte fallback stays for everything else.
//
// Three ways to make one: a .model file, the serialized model bytes (what a GGUF file embeds),
// or llama.cpp's vocabulary arrays (tokens, scores, token types), written into a model proto.
//
// The same class also holds the other family, byte-level BPE (text/byte_level_bpe.hpp: Llama 3,
// Qwen, EXAONE...), made from llama.cpp's gpt2-type arrays (tokens, token types, merges). Its text
// is normalized as the vocabulary's own tokenizer does: Qwen's NFC is applied to Hangul (conjoining
// jamo composed, which is all NFC changes in Korean text), the others take text as it is; ill-formed
// UTF-8 becomes U+FFFD in both.
#include <sentencepiece_processor.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ulk/base/error.hpp"
#include "ulk/text/byte_level_bpe.hpp"
#include "ulk/text/hangul.hpp"
#include "ulk/text/normalizer.hpp"
#include "ulk/text/piece_table.hpp"
#include "ulk/text/special_tokens.hpp"
#include "ulk/text/spm_model_proto.hpp"
#include "ulk/text/streaming_detokenizer.hpp"
#include "ulk/text/utf8.hpp"

namespace ulk::text {

struct TokenizerOptions {
    NormalizerOptions normalizer{};
    bool jamo_fallback = true;  // used only when the vocabulary has all 67 conjoining jamo
};

// Counts over everything encoded with the same stats object.
struct EncodeStats {
    std::size_t tokens = 0;
    std::size_t byte_fallback_tokens = 0;
    std::size_t jamo_fallback_tokens = 0;
    std::size_t jamo_fallback_syllables = 0;
    std::size_t unknown_tokens = 0;
    std::size_t invalid_utf8 = 0;  // sequences the normalizer replaced by U+FFFD
};

class Tokenizer {
public:
    static Tokenizer from_file(const std::string& path, TokenizerOptions options = {}) {
        auto sp = std::make_unique<sentencepiece::SentencePieceProcessor>();
        const auto status = sp->Load(path);
        require(status.ok(), {"cannot load SentencePiece model", path, "a SentencePiece .model file",
                              status.ToString(), "check the path, or train one with ulk-tokenizer-train"});
        return Tokenizer(std::move(sp), options);
    }

    // The bytes of a .model file (a serialized ModelProto), e.g. embedded in a GGUF file.
    static Tokenizer from_model_bytes(std::string_view bytes, TokenizerOptions options = {},
                                      const std::string& where = "SentencePiece model bytes") {
        auto sp = std::make_unique<sentencepiece::SentencePieceProcessor>();
        const auto status = sp->LoadFromSerializedProto(bytes);
        require(status.ok(), {"cannot load SentencePiece model", where + ", " + std::to_string(bytes.size()) +
                                                                     " bytes",
                              "a serialized SentencePiece ModelProto", status.ToString(), {}});
        return Tokenizer(std::move(sp), options);
    }

    // llama.cpp's tokenizer.ggml.tokens / .scores / .token_type (SPM-style vocabularies).
    static Tokenizer from_vocab(const std::vector<std::string>& tokens, const std::vector<float>& scores,
                                const std::vector<std::int32_t>& token_types, const SpmVocabSpec& spec = {},
                                TokenizerOptions options = {}) {
        return from_model_bytes(write_spm_model_proto(tokens, scores, token_types, spec), options,
                                "model written from vocabulary arrays");
    }

    // Special ids of a byte-level BPE vocabulary (-1: none).
    struct SpecialIds {
        std::int32_t bos = -1, eos = -1, unk = -1;
    };

    // llama.cpp's tokenizer.ggml.tokens / .token_type / .merges (gpt2-type vocabularies).
    static Tokenizer from_byte_level_bpe(const std::vector<std::string>& tokens, const std::vector<std::int32_t>& types,
                                         const std::vector<std::string>& merges, ByteLevelBpeSpec spec,
                                         SpecialIds special, bool compose_hangul) {
        auto bpe = std::make_unique<ByteLevelBpe>(tokens, types, merges, std::move(spec));
        for (const std::int32_t id : {special.bos, special.eos, special.unk})
            require(id >= -1 && id < bpe->size(), {"special token id out of range", bpe->spec().where,
                                                   "-1 .. " + std::to_string(bpe->size() - 1), std::to_string(id), {}});
        return Tokenizer(std::move(bpe), special, compose_hangul);
    }

    std::string normalize(std::string_view text, NormalizeStats* stats = nullptr) const {
        if (bpe_ && !compose_hangul_) {
            const std::size_t invalid = count_invalid_utf8(text);
            if (stats) stats->invalid_sequences += invalid;
            return invalid ? repair_utf8(text) : std::string(text);
        }
        return normalizer_.normalize(text, stats);
    }

    bool is_byte_level_bpe() const noexcept { return bpe_ != nullptr; }

    std::vector<std::int32_t> encode(std::string_view text, EncodeStats* stats = nullptr) const {
        std::vector<std::int32_t> ids;
        encode_append(text, ids, stats);
        return ids;
    }

    void encode_append(std::string_view text, std::vector<std::int32_t>& ids, EncodeStats* stats = nullptr) const {
        NormalizeStats nstats;
        const std::string normalized = normalize(text, &nstats);
        if (bpe_) {
            const std::size_t first = ids.size();
            bpe_->encode_append(normalized, ids);
            if (stats) {
                stats->tokens += ids.size() - first;
                stats->invalid_utf8 += nstats.invalid_sequences;
            }
            return;
        }
        std::vector<int> spm_ids;
        const auto status = sp_->Encode(normalized, &spm_ids);
        if (!status.ok()) [[unlikely]]
            throw Error(ErrorInfo{"SentencePiece encode failed", "text of " + std::to_string(text.size()) + " bytes",
                                  {}, status.ToString(), {}});
        const std::size_t first = ids.size();
        EncodeStats local;
        local.invalid_utf8 = nstats.invalid_sequences;
        append_with_jamo_fallback(spm_ids, ids, local);
        local.tokens = ids.size() - first;
        for (std::size_t i = first; i < ids.size(); ++i) {
            const PieceKind k = table_->entries[std::size_t(ids[i])].kind;
            local.byte_fallback_tokens += k == PieceKind::byte;
            local.unknown_tokens += k == PieceKind::unknown;
        }
        if (stats) {
            stats->tokens += local.tokens;
            stats->byte_fallback_tokens += local.byte_fallback_tokens;
            stats->jamo_fallback_tokens += local.jamo_fallback_tokens;
            stats->jamo_fallback_syllables += local.jamo_fallback_syllables;
            stats->unknown_tokens += local.unknown_tokens;
            stats->invalid_utf8 += local.invalid_utf8;
        }
    }

    std::string decode(std::span<const std::int32_t> ids) const {
        std::string out;
        StreamingDetokenizer d(*table_);
        d.push(ids, out);
        d.finish(out);
        return out;
    }

    // Valid while this tokenizer lives (moving the tokenizer is fine).
    StreamingDetokenizer streaming_detokenizer() const { return StreamingDetokenizer(*table_); }

    std::int32_t size() const noexcept { return std::int32_t(table_->entries.size()); }
    // The piece as the vocabulary spells it (byte-mapped for byte-level BPE).
    std::string_view piece(std::int32_t id) const {
        return bpe_ ? std::string_view(bpe_->token(check_id(id))) : std::string_view(sp_->IdToPiece(check_id(id)));
    }
    PieceKind kind(std::int32_t id) const { return table_->entries[std::size_t(check_id(id))].kind; }
    // -1 when the vocabulary lacks the piece.
    std::int32_t id_of(std::string_view piece) const {
        if (bpe_) return bpe_->id_of_token(piece);
        const int id = sp_->PieceToId(piece);
        return id == sp_->unk_id() && piece != sp_->IdToPiece(id) ? -1 : id;
    }
    std::int32_t chat_token_id(ChatToken t) const { return id_of(chat_token_piece(t)); }
    std::int32_t unk_id() const { return bpe_ ? special_.unk : sp_->unk_id(); }
    std::int32_t bos_id() const { return bpe_ ? special_.bos : sp_->bos_id(); }
    std::int32_t eos_id() const { return bpe_ ? special_.eos : sp_->eos_id(); }
    bool has_jamo_fallback() const noexcept { return jamo_fallback_; }
    const PieceTable& piece_table() const noexcept { return *table_; }
    const HangulNormalizer& normalizer() const noexcept { return normalizer_; }
    const sentencepiece::SentencePieceProcessor& processor() const {
        require(sp_ != nullptr, {"no SentencePiece processor", "tokenizer", "a SentencePiece vocabulary",
                                 "a byte-level BPE vocabulary", {}});
        return *sp_;
    }

private:
    Tokenizer(std::unique_ptr<sentencepiece::SentencePieceProcessor> sp, TokenizerOptions options)
        : sp_(std::move(sp)), normalizer_(options.normalizer) {
        const std::string bytes = sp_->serialized_model_proto();
        const SpmModelSummary summary = read_spm_model_summary(bytes);
        require(summary.pieces.size() == std::size_t(sp_->GetPieceSize()),
                {"SentencePiece model disagrees with itself", "model proto", std::to_string(sp_->GetPieceSize()) +
                 " pieces", std::to_string(summary.pieces.size()), {}});
        table_->strip_leading_space = summary.add_dummy_prefix || summary.remove_extra_whitespaces;
        const int n = sp_->GetPieceSize();
        table_->entries.reserve(std::size_t(n));
        for (int id = 0; id < n; ++id)
            table_->add(sp_->IdToPiece(id), PieceKind(summary.types[std::size_t(id)]), summary.unk_surface);
        jamo_fallback_ = options.jamo_fallback;
        auto jamo_id = [&](char32_t c) {
            const std::int32_t id = id_of(utf8_encode(c));
            if (id < 0 || table_->entries[std::size_t(id)].kind != PieceKind::normal) jamo_fallback_ = false;
            return id;
        };
        for (int i = 0; i < hangul::kLeadCount; ++i) lead_ids_[std::size_t(i)] = jamo_id(hangul::kLeadBase + char32_t(i));
        for (int i = 0; i < hangul::kVowelCount; ++i)
            vowel_ids_[std::size_t(i)] = jamo_id(hangul::kVowelBase + char32_t(i));
        for (int i = 1; i < hangul::kTrailCount; ++i)
            trail_ids_[std::size_t(i)] = jamo_id(hangul::kTrailBase + char32_t(i));
    }

    Tokenizer(std::unique_ptr<ByteLevelBpe> bpe, SpecialIds special, bool compose_hangul)
        : normalizer_(NormalizerOptions{InvalidUtf8::replace, /*fold_compatibility_forms=*/false}),
          special_(special),
          compose_hangul_(compose_hangul) {
        *table_ = bpe->release_piece_table();
        bpe_ = std::move(bpe);
    }

    std::int32_t check_id(std::int32_t id) const {
        if (id < 0 || id >= size()) [[unlikely]]
            throw Error(ErrorInfo{"token id out of range", "tokenizer", "0.." + std::to_string(size() - 1),
                                  std::to_string(id), {}});
        return id;
    }

    // Copies spm_ids to ids, replacing each run of byte pieces that spells a Hangul syllable by
    // the syllable's jamo pieces.
    void append_with_jamo_fallback(const std::vector<int>& spm_ids, std::vector<std::int32_t>& ids,
                                   EncodeStats& stats) const {
        ids.reserve(ids.size() + spm_ids.size());
        std::string bytes;
        for (std::size_t i = 0; i < spm_ids.size();) {
            if (!jamo_fallback_ || table_->entries[std::size_t(spm_ids[i])].kind != PieceKind::byte) {
                ids.push_back(spm_ids[i++]);
                continue;
            }
            std::size_t end = i;
            bytes.clear();
            while (end < spm_ids.size() && table_->entries[std::size_t(spm_ids[end])].kind == PieceKind::byte)
                bytes += table_->entries[std::size_t(spm_ids[end++])].surface;
            for (std::size_t pos = 0; pos < bytes.size();) {
                const Utf8Decoded d = decode_utf8(bytes, pos);
                if (d.valid && hangul::is_syllable(d.code_point)) {
                    const hangul::Jamo j = hangul::decompose(d.code_point);
                    ids.push_back(lead_ids_[std::size_t(j.lead - hangul::kLeadBase)]);
                    ids.push_back(vowel_ids_[std::size_t(j.vowel - hangul::kVowelBase)]);
                    if (j.trail) ids.push_back(trail_ids_[std::size_t(j.trail - hangul::kTrailBase)]);
                    stats.jamo_fallback_syllables += 1;
                    stats.jamo_fallback_tokens += j.trail ? 3 : 2;
                } else {
                    ids.insert(ids.end(), spm_ids.begin() + std::ptrdiff_t(i + pos),
                               spm_ids.begin() + std::ptrdiff_t(i + pos + d.length));
                }
                pos += d.length;
            }
            i = end;
        }
    }

    std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;  // SentencePiece family, or
    std::unique_ptr<const ByteLevelBpe> bpe_;                     // byte-level BPE
    HangulNormalizer normalizer_;
    SpecialIds special_;          // byte-level BPE's
    bool compose_hangul_ = false;  // byte-level BPE: Qwen's NFC
    std::unique_ptr<PieceTable> table_ = std::make_unique<PieceTable>();  // stable address: detokenizers point to it
    bool jamo_fallback_ = false;
    std::array<std::int32_t, hangul::kLeadCount> lead_ids_{};
    std::array<std::int32_t, hangul::kVowelCount> vowel_ids_{};
    std::array<std::int32_t, hangul::kTrailCount> trail_ids_{};
};

}  // namespace ulk::text
