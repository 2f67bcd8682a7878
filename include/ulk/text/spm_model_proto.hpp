#pragma once
// The SentencePiece ModelProto (the bytes of a .model file) in protobuf wire format, by hand:
// Debian ships SentencePiece without its .proto, so ModelProto is an incomplete type to us.
//  - write_spm_model_proto: a model from plain vocabulary arrays, such as llama.cpp's
//    tokenizer.ggml.tokens / scores / token_type;
//  - read_spm_model_summary: the pieces and the few settings decoding needs.
// Field numbers from sentencepiece_model.proto (stable since 2018):
//
//   ModelProto      1: repeated SentencePiece pieces   2: TrainerSpec   3: NormalizerSpec
//   SentencePiece   1: string piece   2: float score   3: Type (1 normal .. 6 byte)
//   TrainerSpec     3: model_type (1 unigram, 2 bpe)   4: vocab_size   35: byte_fallback
//                   40..43: unk/bos/eos/pad id   44: unk_surface   45..48: unk/bos/eos/pad piece
//   NormalizerSpec  1: name   3: add_dummy_prefix   4: remove_extra_whitespaces
//                   5: escape_whitespaces
#include <cctype>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ulk/base/error.hpp"

namespace ulk::text {

enum class SpmModelType : std::int32_t { unigram = 1, bpe = 2 };

struct SpmVocabSpec {
    // llama.cpp's SPM tokenizer merges the best-scored pair first: that is SentencePiece's BPE.
    SpmModelType model_type = SpmModelType::bpe;
    bool add_dummy_prefix = true;
    bool remove_extra_whitespaces = false;
    std::int32_t bos_id = -1;  // -1: none; llama.cpp's tokenizer.ggml.bos_token_id
    std::int32_t eos_id = -1;
    std::int32_t pad_id = -1;
};

namespace protobuf {

inline void put_varint(std::string& out, std::uint64_t v) {
    while (v >= 0x80) {
        out.push_back(char(0x80 | (v & 0x7F)));
        v >>= 7;
    }
    out.push_back(char(v));
}
inline void put_tag(std::string& out, std::uint32_t field, std::uint32_t wire_type) {
    put_varint(out, (std::uint64_t(field) << 3) | wire_type);
}
// int32 is sign-extended to 64 bits on the wire: -1 takes ten bytes.
inline void put_int(std::string& out, std::uint32_t field, std::int64_t v) {
    put_tag(out, field, 0);
    put_varint(out, std::uint64_t(v));
}
inline void put_bytes(std::string& out, std::uint32_t field, std::string_view s) {
    put_tag(out, field, 2);
    put_varint(out, s.size());
    out.append(s);
}
inline void put_float(std::string& out, std::uint32_t field, float f) {
    put_tag(out, field, 5);
    std::uint32_t bits;
    std::memcpy(&bits, &f, 4);
    for (int k = 0; k < 4; ++k) out.push_back(char((bits >> (8 * k)) & 0xFF));  // little endian
}

struct Reader {
    std::string_view data;
    std::size_t pos = 0;
    std::string where;

    [[noreturn]] void fail(const std::string& what) const {
        throw Error(ErrorInfo{"malformed SentencePiece model", where + ", byte " + std::to_string(pos),
                              "protobuf wire format", what, "the bytes are not a .model file"});
    }
    bool done() const noexcept { return pos >= data.size(); }
    std::uint64_t varint() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= data.size()) fail("a varint cut short");
            const auto b = static_cast<unsigned char>(data[pos++]);
            v |= std::uint64_t(b & 0x7F) << shift;
            if (!(b & 0x80)) return v;
        }
        fail("a varint longer than 10 bytes");
    }
    std::string_view bytes() {
        const std::uint64_t n = varint();
        if (n > data.size() - pos) fail("a length of " + std::to_string(n) + " past the end");
        const std::string_view s = data.substr(pos, std::size_t(n));
        pos += std::size_t(n);
        return s;
    }
    float fixed32_float() {
        if (data.size() - pos < 4) fail("a fixed32 cut short");
        std::uint32_t bits = 0;
        for (int k = 0; k < 4; ++k) bits |= std::uint32_t(static_cast<unsigned char>(data[pos++])) << (8 * k);
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
    }
    void skip(std::uint32_t wire_type) {
        switch (wire_type) {
            case 0: varint(); break;
            case 1: if (data.size() - pos < 8) fail("a fixed64 cut short"); pos += 8; break;
            case 2: bytes(); break;
            case 5: if (data.size() - pos < 4) fail("a fixed32 cut short"); pos += 4; break;
            default: fail("wire type " + std::to_string(wire_type));
        }
    }
};

}  // namespace protobuf

// Throws ulk::Error (naming the token index) when the arrays cannot make a SentencePiece model.
inline std::string write_spm_model_proto(const std::vector<std::string>& tokens, const std::vector<float>& scores,
                                         const std::vector<std::int32_t>& token_types,
                                         const SpmVocabSpec& spec = {}) {
    require(tokens.size() == scores.size() && tokens.size() == token_types.size(),
            {"vocabulary arrays differ in length", "tokens, scores, token_types",
             "three arrays of one length", std::to_string(tokens.size()) + ", " + std::to_string(scores.size()) +
                                                ", " + std::to_string(token_types.size()),
             "pass tokenizer.ggml.tokens, .scores and .token_type from the same file"});
    require(!tokens.empty(), {"empty vocabulary", "tokens", "at least one token", "none", {}});
    const auto n = std::int64_t(tokens.size());
    std::int32_t unk_id = -1, byte_pieces = 0;
    std::set<std::string_view> seen;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const std::string where = "token " + std::to_string(i);
        const std::int32_t t = token_types[i];
        require(t >= 1 && t <= 6, {"unknown token type", where, "1 normal, 2 unknown, 3 control, 4 user-defined, "
                                                                "5 unused or 6 byte",
                                   std::to_string(t), {}});
        require(!tokens[i].empty(), {"empty token", where, "a non-empty piece", "\"\"", {}});
        require(seen.insert(tokens[i]).second,
                {"duplicate token", where, "unique pieces", "\"" + tokens[i] + "\" again", {}});
        if (t == 2) {
            require(unk_id < 0, {"second unknown token", where, "exactly one token of type 2",
                                 "another after token " + std::to_string(unk_id), {}});
            unk_id = std::int32_t(i);
        }
        if (t == 6) {
            const std::string& p = tokens[i];
            const bool ok = p.size() == 6 && p.starts_with("<0x") && p.back() == '>' &&
                            std::isxdigit(static_cast<unsigned char>(p[3])) &&
                            std::isxdigit(static_cast<unsigned char>(p[4]));
            require(ok, {"malformed byte token", where, "<0xHH>", "\"" + p + "\"", {}});
            ++byte_pieces;
        }
    }
    require(unk_id >= 0, {"no unknown token", "token_types", "one token of type 2 (SentencePiece needs <unk>)",
                          "none", {}});
    require(byte_pieces == 0 || byte_pieces == 256,
            {"incomplete byte tokens", "token_types", "0 or 256 tokens of type 6", std::to_string(byte_pieces),
             {}});
    for (const std::int32_t id : {spec.bos_id, spec.eos_id, spec.pad_id})
        require(id >= -1 && id < n, {"special token id out of range", "SpmVocabSpec",
                                     "-1 or 0.." + std::to_string(n - 1), std::to_string(id), {}});

    std::string model;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        std::string piece;
        protobuf::put_bytes(piece, 1, tokens[i]);
        protobuf::put_float(piece, 2, scores[i]);
        protobuf::put_int(piece, 3, token_types[i]);
        protobuf::put_bytes(model, 1, piece);
    }
    std::string trainer;
    protobuf::put_int(trainer, 3, std::int32_t(spec.model_type));
    protobuf::put_int(trainer, 4, n);
    protobuf::put_int(trainer, 35, byte_pieces == 256);
    protobuf::put_int(trainer, 40, unk_id);
    protobuf::put_int(trainer, 41, spec.bos_id);
    protobuf::put_int(trainer, 42, spec.eos_id);
    protobuf::put_int(trainer, 43, spec.pad_id);
    protobuf::put_bytes(trainer, 45, tokens[std::size_t(unk_id)]);
    if (spec.bos_id >= 0) protobuf::put_bytes(trainer, 46, tokens[std::size_t(spec.bos_id)]);
    if (spec.eos_id >= 0) protobuf::put_bytes(trainer, 47, tokens[std::size_t(spec.eos_id)]);
    if (spec.pad_id >= 0) protobuf::put_bytes(trainer, 48, tokens[std::size_t(spec.pad_id)]);
    protobuf::put_bytes(model, 2, trainer);
    std::string normalizer;
    protobuf::put_bytes(normalizer, 1, "identity");
    protobuf::put_int(normalizer, 3, spec.add_dummy_prefix);
    protobuf::put_int(normalizer, 4, spec.remove_extra_whitespaces);
    protobuf::put_int(normalizer, 5, 1);
    protobuf::put_bytes(model, 3, normalizer);
    return model;
}

struct SpmModelSummary {
    std::vector<std::string> pieces;
    std::vector<float> scores;
    std::vector<std::int32_t> types;  // PieceKind numbers; 1 (normal) where the field is absent
    SpmModelType model_type = SpmModelType::unigram;
    std::string normalizer_name;
    bool add_dummy_prefix = true;
    bool remove_extra_whitespaces = true;
    std::string unk_surface = " \xE2\x81\x87 ";  // " ⁇ ", SentencePiece's default
};

inline SpmModelSummary read_spm_model_summary(std::string_view bytes, const std::string& where = "model") {
    SpmModelSummary m;
    protobuf::Reader top{bytes, 0, where};
    while (!top.done()) {
        const std::uint64_t key = top.varint();
        const auto field = std::uint32_t(key >> 3), wire = std::uint32_t(key & 7);
        if (wire != 2 || field < 1 || field > 3) {
            top.skip(wire);
            continue;
        }
        protobuf::Reader sub{top.bytes(), 0, where};
        if (field == 1) {
            m.pieces.emplace_back();
            m.scores.push_back(0.f);
            m.types.push_back(1);
        }
        while (!sub.done()) {
            const std::uint64_t k = sub.varint();
            const auto f = std::uint32_t(k >> 3), w = std::uint32_t(k & 7);
            if (field == 1 && f == 1 && w == 2) m.pieces.back() = sub.bytes();
            else if (field == 1 && f == 2 && w == 5) m.scores.back() = sub.fixed32_float();
            else if (field == 1 && f == 3 && w == 0) m.types.back() = std::int32_t(sub.varint());
            else if (field == 2 && f == 3 && w == 0) m.model_type = SpmModelType(std::int32_t(sub.varint()));
            else if (field == 2 && f == 44 && w == 2) m.unk_surface = sub.bytes();
            else if (field == 3 && f == 1 && w == 2) m.normalizer_name = sub.bytes();
            else if (field == 3 && f == 3 && w == 0) m.add_dummy_prefix = sub.varint() != 0;
            else if (field == 3 && f == 4 && w == 0) m.remove_extra_whitespaces = sub.varint() != 0;
            else sub.skip(w);
        }
    }
    return m;
}

}  // namespace ulk::text
