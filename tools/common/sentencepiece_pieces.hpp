#pragma once
// The vocabulary inside a SentencePiece model file (a serialized ModelProto), read without the
// protobuf library: llama.cpp's tokenizer.ggml.{tokens,scores,token_type} arrays come straight
// from it. Wire format used: ModelProto field 1 = repeated SentencePiece {1: string piece,
// 2: float score, 3: enum type (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte)};
// these type numbers are llama.cpp's token types too. Other fields are skipped.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "ulk/base/error.hpp"

namespace ulk::tools {

struct SentencePieceVocab {
    std::vector<std::string> pieces;
    std::vector<float> scores;
    std::vector<std::int32_t> types;
};

namespace detail {
struct ProtoReader {
    std::string_view b;
    std::size_t p = 0;
    std::string file;
    [[noreturn]] void fail(const std::string& what) const {
        throw Error({"SentencePiece model is malformed: " + what, file + ", byte " + std::to_string(p), "", "",
                     "pass the tokenizer.model that came with the checkpoint"});
    }
    std::uint64_t varint() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p >= b.size()) fail("varint runs past the end");
            const auto c = std::uint8_t(b[p++]);
            v |= std::uint64_t(c & 0x7f) << shift;
            if (!(c & 0x80)) return v;
        }
        fail("varint is too long");
    }
    std::string_view bytes(std::uint64_t n) {
        if (n > b.size() - p) fail("field runs past the end");
        auto s = b.substr(p, n);
        p += n;
        return s;
    }
    void skip(std::uint32_t wire) {
        switch (wire) {
            case 0: varint(); break;
            case 1: bytes(8); break;
            case 2: bytes(varint()); break;
            case 5: bytes(4); break;
            default: fail("unknown wire type " + std::to_string(wire));
        }
    }
};
}  // namespace detail

inline SentencePieceVocab read_sentencepiece_vocab(std::string_view model, const std::string& file) {
    SentencePieceVocab v;
    detail::ProtoReader r{model, 0, file};
    while (r.p < model.size()) {
        const std::uint64_t tag = r.varint();
        if (tag >> 3 != 1 || (tag & 7) != 2) {
            r.skip(std::uint32_t(tag & 7));
            continue;
        }
        detail::ProtoReader piece{r.bytes(r.varint()), 0, file};
        std::string text;
        float score = 0;
        std::int32_t type = 1;
        while (piece.p < piece.b.size()) {
            const std::uint64_t t = piece.varint();
            if (t == (1 << 3 | 2)) text = std::string(piece.bytes(piece.varint()));
            else if (t == (2 << 3 | 5)) std::memcpy(&score, piece.bytes(4).data(), 4);
            else if (t == (3 << 3 | 0)) type = std::int32_t(piece.varint());
            else piece.skip(std::uint32_t(t & 7));
        }
        if (type < 1 || type > 6) r.fail("piece " + std::to_string(v.pieces.size()) + " has unknown type " + std::to_string(type));
        v.pieces.push_back(std::move(text));
        v.scores.push_back(score);
        v.types.push_back(type);
    }
    if (v.pieces.empty()) r.fail("no pieces");
    return v;
}

}  // namespace ulk::tools
