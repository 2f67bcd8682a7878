#pragma once
namespace ulk {
inline constexpr const char* kVersion = "0.1.0";
}
