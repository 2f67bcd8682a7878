// Builds a tokenizer from hand-made vocabulary arrays and round-trips NFD Korean through it:
// proof that ulk::text brings the headers and SentencePiece to a consumer.
#include <cstdio>
#include <string>
#include <vector>

#include "ulk/text.hpp"

int main() {
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "한", "국", "\xE2\x96\x81한"};
    std::vector<float> scores = {0, 0, 0, -1, -2, -3, -4};
    std::vector<std::int32_t> types = {2, 3, 3, 1, 1, 1, 1};
    const auto t = ulk::text::Tokenizer::from_vocab(tokens, scores, types);
    const std::string nfd = "\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB\xE1\x84\x80\xE1\x85\xAE\xE1\x86\xA8";  // 한국
    const auto ids = t.encode(nfd);
    const std::string back = t.decode(ids);
    if (ids.size() != 2 || back != "한국") {
        std::printf("text consumer: %zu ids, decoded '%s'\n", ids.size(), back.c_str());
        return 1;
    }
    std::printf("text consumer ok\n");
}
