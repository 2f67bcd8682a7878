// Writes include/ulk/text/unicode_classes.hpp: the code point ranges of \p{L} (letters) and
// \p{N} (numbers), as the JavaScript engine this runs on sees them (Node's ICU; Node 20: Unicode
// 15.1), which is also the engine the byte-level BPE tests compare against (transformers.js).
//   node tools/text/gen_unicode_classes.mjs > include/ulk/text/unicode_classes.hpp
const classes = { letter: /\p{L}/u, number: /\p{N}/u };
const out = [];
out.push('#pragma once');
out.push('// Code point classes for the pre-tokenizers of byte-level BPE vocabularies (text/pretokenizer.hpp):');
out.push('// \\p{L} and \\p{N} as sorted [first, last] ranges, and White_Space. Generated from ' +
         `Node ${process.version} (Unicode ${process.versions.unicode}) by`);
out.push('//   node tools/text/gen_unicode_classes.mjs > include/ulk/text/unicode_classes.hpp');
out.push('#include <algorithm>');
out.push('#include <array>');
out.push('#include <cstdint>');
out.push('');
out.push('namespace ulk::text::unicode {');
out.push('');
out.push('struct CodeRange { char32_t first, last; };');
out.push('');
for (const [name, re] of Object.entries(classes)) {
  const ranges = [];
  let start = -1;
  for (let c = 0; c <= 0x110000; ++c) {
    const inside = c < 0x110000 && !(c >= 0xD800 && c <= 0xDFFF) && re.test(String.fromCodePoint(c));
    if (inside && start < 0) start = c;
    if (!inside && start >= 0) { ranges.push([start, c - 1]); start = -1; }
  }
  out.push(`inline constexpr std::array<CodeRange, ${ranges.length}> k${name[0].toUpperCase() + name.slice(1)}Ranges = {{`);
  for (let i = 0; i < ranges.length; i += 6)
    out.push('    ' + ranges.slice(i, i + 6).map(([a, b]) =>
      `{0x${a.toString(16).toUpperCase()}, 0x${b.toString(16).toUpperCase()}}`).join(', ') + ',');
  out.push('}};');
  out.push('');
}
out.push(`template <std::size_t N>
constexpr bool in_ranges(const std::array<CodeRange, N>& ranges, char32_t c) noexcept {
    const auto it = std::upper_bound(ranges.begin(), ranges.end(), c,
                                     [](char32_t v, const CodeRange& r) { return v < r.first; });
    return it != ranges.begin() && c <= (it - 1)->last;
}

// \\p{L}: any letter (Hangul syllables and jamo included).
constexpr bool is_letter(char32_t c) noexcept {
    if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    if (c >= 0xAC00 && c <= 0xD7A3) return true;  // Hangul syllables, the common case
    return in_ranges(kLetterRanges, c);
}

// \\p{N}: decimal digits, letter-like numbers (Ⅻ), other numbers (①, ½).
constexpr bool is_number(char32_t c) noexcept {
    if (c < 0x80) return c >= '0' && c <= '9';
    return in_ranges(kNumberRanges, c);
}

// \\s: Unicode's White_Space property (what Hugging Face tokenizers' and llama.cpp's regexes use;
// JavaScript's \\s differs in U+0085, which it lacks, and U+FEFF, which it has).
constexpr bool is_whitespace(char32_t c) noexcept {
    if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

}  // namespace ulk::text::unicode`);
console.log(out.join('\n'));
