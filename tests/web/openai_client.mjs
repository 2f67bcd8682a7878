// The official openai package against ulk-server: a chat completion and a streamed one.
// usage: node openai_client.mjs BASE_URL API_KEY
import assert from "node:assert/strict";
import OpenAI from "openai";

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL: baseURL + "/v1", apiKey, maxRetries: 0, timeout: 60_000 });

const models = await client.models.list();
assert.equal(models.data.length, 1);
const model = models.data[0].id;

const request = {
  model,
  messages: [
    { role: "system", content: "친절하게 답하세요." },
    { role: "user", content: "안녕하세요, 오늘 기분이 어때요?" },
  ],
  max_tokens: 24,
  seed: 11,
};
const completion = await client.chat.completions.create(request);
const text = completion.choices[0].message.content;
assert.equal(completion.object, "chat.completion");
assert.equal(completion.choices[0].message.role, "assistant");
assert.ok(text.length > 0, "a reply");
assert.ok(["stop", "length"].includes(completion.choices[0].finish_reason));
assert.equal(completion.usage.total_tokens, completion.usage.prompt_tokens + completion.usage.completion_tokens);

// Streamed with the same seed: the same text, piece by piece.
const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
let streamed = "";
let chunks = 0;
let finish = null;
let usage = null;
for await (const chunk of stream) {
  chunks++;
  if (chunk.usage) usage = chunk.usage;
  const choice = chunk.choices[0];
  if (!choice) continue;
  if (choice.delta.content) streamed += choice.delta.content;
  if (choice.finish_reason) finish = choice.finish_reason;
}
assert.equal(streamed, text);
assert.ok(chunks >= 3, "several chunks");
assert.equal(finish, completion.choices[0].finish_reason);
assert.equal(usage.completion_tokens, completion.usage.completion_tokens);

// Errors come back as the package's typed errors.
await assert.rejects(client.chat.completions.create({ model, messages: [{ role: "robot", content: "x" }] }),
  (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && /unknown role/.test(e.message));
const wrongKey = new OpenAI({ baseURL: baseURL + "/v1", apiKey: "wrong", maxRetries: 0 });
await assert.rejects(wrongKey.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);

console.log(`openai ${OpenAI.VERSION ?? ""}: completion and stream agree (${chunks} chunks): ${JSON.stringify(text)}`);
