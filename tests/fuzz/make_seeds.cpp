// Writes the fuzzer's seed corpus: valid files from the writer (a model-shaped file, a file with
// every metadata type and nested arrays, a file with every tensor type).
#include <fstream>
#include <string>

#include "../gguf_samples.hpp"
#include "ulk/gguf/writer.hpp"

int main(int argc, char** argv) {
    using namespace ulk::gguf;
    const std::string dir = argc > 1 ? argv[1] : ".";
    auto save = [&](const std::string& name, const std::vector<std::byte>& b) {
        std::ofstream(dir + "/" + name, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
    };
    save("model.gguf", ulk::test::SampleFile().bytes());
    GgufWriter meta(64);
    meta.set("u8", std::uint8_t(1));
    meta.set("i64", std::int64_t(-5));
    meta.set("f64", 0.5);
    meta.set("s", "한국어");
    meta.set("b", Value::array(std::vector<bool>{true, false}));
    meta.set("n", Value::array(std::vector<Value>{Value::array(std::vector<std::string>{"a", "b"}),
                                                  Value::array(std::vector<std::int16_t>{1, 2})}));
    save("meta.gguf", meta.to_bytes());
    GgufWriter types;
    for (const TensorType& t : kTensorTypes)
        types.add_tensor(std::string(t.name), t.id, {t.block_weights},
                         ulk::test::random_bytes(t.block_bytes, t.id));
    save("types.gguf", types.to_bytes());
    return 0;
}
