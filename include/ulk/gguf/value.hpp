#pragma once
// A GGUF metadata value: a scalar, a string, or an array of values of one type (arrays may nest).
// Numeric arrays keep their little-endian bytes as they are in the file (one copy, no per-element
// objects), so a hostile file with a billion-element array costs its own size, not 40 times it.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ulk/base/error.hpp"

namespace ulk::gguf {

static_assert(std::endian::native == std::endian::little, "GGUF reading assumes a little-endian host");

// gguf_type: the value types of the format.
enum class ValueType : std::uint32_t {
    U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7,
    String = 8, Array = 9, U64 = 10, I64 = 11, F64 = 12,
};
inline constexpr std::uint32_t kValueTypeCount = 13;

inline constexpr std::string_view value_type_name(ValueType t) {
    constexpr std::string_view names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool",
                                          "string", "array", "u64", "i64", "f64"};
    return std::uint32_t(t) < kValueTypeCount ? names[std::uint32_t(t)] : "unknown";
}

// Bytes of one scalar of type t; 0 for string and array.
inline constexpr std::size_t scalar_size(ValueType t) {
    switch (t) {
        case ValueType::U8: case ValueType::I8: case ValueType::Bool: return 1;
        case ValueType::U16: case ValueType::I16: return 2;
        case ValueType::U32: case ValueType::I32: case ValueType::F32: return 4;
        case ValueType::U64: case ValueType::I64: case ValueType::F64: return 8;
        default: return 0;
    }
}

template <class T> struct ValueTypeOf;
template <> struct ValueTypeOf<std::uint8_t> { static constexpr ValueType value = ValueType::U8; };
template <> struct ValueTypeOf<std::int8_t> { static constexpr ValueType value = ValueType::I8; };
template <> struct ValueTypeOf<std::uint16_t> { static constexpr ValueType value = ValueType::U16; };
template <> struct ValueTypeOf<std::int16_t> { static constexpr ValueType value = ValueType::I16; };
template <> struct ValueTypeOf<std::uint32_t> { static constexpr ValueType value = ValueType::U32; };
template <> struct ValueTypeOf<std::int32_t> { static constexpr ValueType value = ValueType::I32; };
template <> struct ValueTypeOf<float> { static constexpr ValueType value = ValueType::F32; };
template <> struct ValueTypeOf<bool> { static constexpr ValueType value = ValueType::Bool; };
template <> struct ValueTypeOf<std::uint64_t> { static constexpr ValueType value = ValueType::U64; };
template <> struct ValueTypeOf<std::int64_t> { static constexpr ValueType value = ValueType::I64; };
template <> struct ValueTypeOf<double> { static constexpr ValueType value = ValueType::F64; };

template <class T>
concept GgufScalar = requires { ValueTypeOf<T>::value; };

class Value {
public:
    Value() = default;
    template <GgufScalar T>
    static Value scalar(T v) {
        Value x(ValueTypeOf<T>::value);
        x.bytes_.resize(sizeof(T));
        std::memcpy(x.bytes_.data(), &v, sizeof(T));
        return x;
    }
    static Value string(std::string s) {
        Value x(ValueType::String);
        x.string_ = std::move(s);
        return x;
    }
    // An array of scalars from raw little-endian bytes (count * scalar_size(elem) of them).
    static Value scalar_array(ValueType elem, std::string bytes) {
        Value x(ValueType::Array);
        x.elem_ = elem;
        x.count_ = scalar_size(elem) ? bytes.size() / scalar_size(elem) : 0;
        x.bytes_ = std::move(bytes);
        return x;
    }
    template <GgufScalar T>
    static Value array(const std::vector<T>& v) {
        std::string bytes(v.size() * sizeof(T), '\0');
        for (std::size_t i = 0; i < v.size(); ++i) {
            const T e = v[i];  // vector<bool> has no data()
            std::memcpy(bytes.data() + i * sizeof(T), &e, sizeof(T));
        }
        return scalar_array(ValueTypeOf<T>::value, std::move(bytes));
    }
    static Value array(std::vector<std::string> v) {
        Value x(ValueType::Array);
        x.elem_ = ValueType::String;
        x.count_ = v.size();
        x.strings_ = std::move(v);
        return x;
    }
    // An array of arrays (the format allows it; llama.cpp's files do not use it).
    static Value array(std::vector<Value> v) {
        Value x(ValueType::Array);
        x.elem_ = ValueType::Array;
        x.count_ = v.size();
        x.nested_ = std::make_shared<std::vector<Value>>(std::move(v));
        return x;
    }

    ValueType type() const noexcept { return type_; }
    bool is_array() const noexcept { return type_ == ValueType::Array; }
    ValueType element_type() const noexcept { return elem_; }  // arrays only
    std::size_t size() const noexcept { return count_; }       // arrays only

    // The scalar as T. Integers convert to any integer type that holds the value, floats to
    // float or double; anything else is an error naming the key.
    template <class T>
    T as(std::string_view key) const;
    const std::string& as_string(std::string_view key) const {
        require(type_ == ValueType::String, mismatch(key, "string"));
        return string_;
    }
    // Arrays. Numeric elements convert as in as<T>().
    template <class T>
    std::vector<T> as_vector(std::string_view key) const;
    const std::vector<std::string>& as_strings(std::string_view key) const {
        require(type_ == ValueType::Array && elem_ == ValueType::String, mismatch(key, "array of string"));
        return strings_;
    }
    const std::vector<Value>& as_arrays(std::string_view key) const {
        require(type_ == ValueType::Array && elem_ == ValueType::Array, mismatch(key, "array of array"));
        return *nested_;
    }
    // Raw little-endian bytes of a scalar or a numeric array.
    const std::string& raw_bytes() const noexcept { return bytes_; }

    std::string type_description() const {
        if (type_ != ValueType::Array) return std::string(value_type_name(type_));
        return "array of " + std::to_string(count_) + " " + std::string(value_type_name(elem_));
    }

    friend bool operator==(const Value& a, const Value& b) {
        if (a.type_ != b.type_ || a.elem_ != b.elem_ || a.count_ != b.count_ || a.bytes_ != b.bytes_ ||
            a.string_ != b.string_ || a.strings_ != b.strings_)
            return false;
        if (!a.nested_ || !b.nested_) return !a.nested_ && !b.nested_;
        return *a.nested_ == *b.nested_;
    }

private:
    explicit Value(ValueType t) : type_(t) {}

    ErrorInfo mismatch(std::string_view key, std::string_view wanted) const {
        return {"metadata value has the wrong type", "key '" + std::string(key) + "'", std::string(wanted),
                type_description(), ""};
    }
    template <class T>
    static bool convert(ValueType t, const char* p, T& out);

    ValueType type_ = ValueType::U8;
    ValueType elem_ = ValueType::U8;
    std::uint64_t count_ = 0;
    std::string bytes_;                 // scalar or numeric array, little-endian
    std::string string_;                // String
    std::vector<std::string> strings_;  // array of String
    std::shared_ptr<std::vector<Value>> nested_;  // array of Array
};

template <class T>
bool Value::convert(ValueType t, const char* p, T& out) {
    auto load = [p]<class S>(S) { S s; std::memcpy(&s, p, sizeof(S)); return s; };
    if constexpr (std::is_same_v<T, bool>) {
        if (t != ValueType::Bool) return false;
        out = load(std::uint8_t{}) != 0;
        return true;
    } else if constexpr (std::is_floating_point_v<T>) {
        if (t == ValueType::F32) { out = T(load(float{})); return true; }
        if (t == ValueType::F64) { out = T(load(double{})); return true; }
        return false;
    } else {
        static_assert(std::is_integral_v<T>);
        auto fits = [&out]<class S>(S s) {
            if (!std::in_range<T>(s)) return false;
            out = T(s);
            return true;
        };
        switch (t) {
            case ValueType::U8: return fits(load(std::uint8_t{}));
            case ValueType::I8: return fits(load(std::int8_t{}));
            case ValueType::U16: return fits(load(std::uint16_t{}));
            case ValueType::I16: return fits(load(std::int16_t{}));
            case ValueType::U32: return fits(load(std::uint32_t{}));
            case ValueType::I32: return fits(load(std::int32_t{}));
            case ValueType::U64: return fits(load(std::uint64_t{}));
            case ValueType::I64: return fits(load(std::int64_t{}));
            default: return false;
        }
    }
}

template <class T>
T Value::as(std::string_view key) const {
    T out{};
    require(type_ != ValueType::Array && type_ != ValueType::String && convert(type_, bytes_.data(), out),
            mismatch(key, "a number that fits the field"));
    return out;
}

template <class T>
std::vector<T> Value::as_vector(std::string_view key) const {
    require(type_ == ValueType::Array && scalar_size(elem_) != 0, mismatch(key, "array of numbers"));
    std::vector<T> out(count_);
    const std::size_t step = scalar_size(elem_);
    for (std::size_t i = 0; i < count_; ++i) {
        T v{};
        require(convert(elem_, bytes_.data() + i * step, v),
                mismatch(key, "array elements that fit the field (element " + std::to_string(i) + ")"));
        out[i] = v;
    }
    return out;
}

}  // namespace ulk::gguf
