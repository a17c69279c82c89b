#!/usr/bin/env node
// Writes the endpoint test image's model: a tiny llama-architecture GGUF (2 layers, 64-wide, a few
// hundred tokens) whose weights come from a fixed-seed generator, so every build is byte-identical
// and every greedy generation is the same. The weights are not trained; they are shaped so that the
// model reads like one: each story word's output row is the embedding of the word before it, so
// from any prompt the model walks the story below word by word and ends it with </s>. Byte and
// letter tokens (needed only to tokenize arbitrary prompts) are never generated.
//
// Usage: node make-gguf.mjs <out.gguf>
import { writeFileSync } from "node:fs";

/** Every word once, so the walk is unambiguous; punctuation attaches to the word before it. */
export const STORY =
  "Meridian serves tokens from the edge of its network . Each replica streams answers through one " +
  "tunnel toward a nearest region , where callers read every chunk as soon it arrives ; providers " +
  "open no port and gateways count usage by second !";

/** A story word as a SentencePiece piece: words start with "▁", punctuation does not. */
function piece(word) {
  return /^[.,;!]$/.test(word) ? word : `▁${word}`;
}

const N_EMBD = 64;
const N_LAYER = 2;
const N_HEAD = 4;
const N_FF = 128;
const CONTEXT = 2048;
/** Every token embedding carries this constant in dimension 0: the suppressed rows read it negatively. */
const ANCHOR = 3;

/** mulberry32: a small, fixed, well-mixed generator (the weights must not depend on the platform). */
function generator(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample (Box–Muller) from the generator. */
function normal(next) {
  const u = Math.max(next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
}

/** The vocabulary: SentencePiece-style pieces ("▁" marks a word start), with their types. */
export function vocabulary() {
  const tokens = [];
  const types = [];
  const add = (piece, type) => {
    tokens.push(piece);
    types.push(type);
  };
  add("<unk>", 2);
  add("<s>", 3);
  add("</s>", 3);
  for (let byte = 0; byte < 256; byte++) add(`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`, 6);
  const words = STORY.split(" ");
  if (new Set(words).size !== words.length) throw new Error("a story word appears twice");
  for (const word of words) add(piece(word), 1);
  // Enough pieces to tokenize prompts without falling back to bytes for plain English.
  for (const word of ["user", "assistant", "system", "hello", "say", "what", "is", "it", "you", "me"]) {
    if (!words.includes(word)) add(`▁${word}`, 1);
  }
  add("▁", 1);
  for (const char of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;!?'\"-()/\n") {
    if (!tokens.includes(char)) add(char, 1);
  }
  return { tokens, types, words };
}

function buildModel() {
  const next = generator(0x4d524431); // "MRD1"
  const { tokens, types, words } = vocabulary();
  const nVocab = tokens.length;
  const index = new Map(tokens.map((piece, i) => [piece, i]));
  const embedding = new Float32Array(N_EMBD * nVocab);
  for (let t = 0; t < nVocab; t++) {
    embedding[t * N_EMBD] = ANCHOR;
    for (let d = 1; d < N_EMBD; d++) embedding[t * N_EMBD + d] = normal(next);
  }
  // Output row of token j = embedding of the token j follows in the story: the argmax after reading
  // story word k is word k+1; the story starts after a newline (where a prompt hands over to the
  // assistant) and </s> follows its last word. Every other row is suppressed.
  const story = STORY.split(" ").map((word) => index.get(piece(word)));
  const predecessor = new Map();
  for (let i = 1; i < story.length; i++) predecessor.set(story[i], story[i - 1]);
  predecessor.set(story[0], index.get("\n"));
  predecessor.set(2, story[story.length - 1]);
  const output = new Float32Array(N_EMBD * nVocab);
  for (let t = 0; t < nVocab; t++) {
    const from = predecessor.get(t);
    if (from === undefined) {
      output[t * N_EMBD] = -20;
      continue;
    }
    output.set(embedding.subarray(from * N_EMBD, (from + 1) * N_EMBD), t * N_EMBD);
  }
  const small = (count, scale) => {
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = normal(next) * scale;
    return values;
  };
  const ones = () => new Float32Array(N_EMBD).fill(1);
  const tensors = [{ name: "token_embd.weight", dims: [N_EMBD, nVocab], data: embedding }];
  for (let layer = 0; layer < N_LAYER; layer++) {
    const p = `blk.${layer}`;
    tensors.push(
      { name: `${p}.attn_norm.weight`, dims: [N_EMBD], data: ones() },
      { name: `${p}.attn_q.weight`, dims: [N_EMBD, N_EMBD], data: small(N_EMBD * N_EMBD, 0.05) },
      { name: `${p}.attn_k.weight`, dims: [N_EMBD, N_EMBD], data: small(N_EMBD * N_EMBD, 0.05) },
      { name: `${p}.attn_v.weight`, dims: [N_EMBD, N_EMBD], data: small(N_EMBD * N_EMBD, 0.02) },
      { name: `${p}.attn_output.weight`, dims: [N_EMBD, N_EMBD], data: small(N_EMBD * N_EMBD, 0.02) },
      { name: `${p}.ffn_norm.weight`, dims: [N_EMBD], data: ones() },
      { name: `${p}.ffn_gate.weight`, dims: [N_EMBD, N_FF], data: small(N_EMBD * N_FF, 0.02) },
      { name: `${p}.ffn_up.weight`, dims: [N_EMBD, N_FF], data: small(N_EMBD * N_FF, 0.02) },
      { name: `${p}.ffn_down.weight`, dims: [N_FF, N_EMBD], data: small(N_FF * N_EMBD, 0.02) },
    );
  }
  tensors.push(
    { name: "output_norm.weight", dims: [N_EMBD], data: ones() },
    { name: "output.weight", dims: [N_EMBD, nVocab], data: output },
  );
  // Scores rank SentencePiece merges: longer pieces first, so whole words win over letters.
  const scores = tokens.map((piece, i) => (types[i] === 1 ? -1000 + piece.length * 10 - i * 0.001 : 0));
  const metadata = [
    ["general.architecture", "string", "llama"],
    ["general.name", "string", "meridian-tiny"],
    ["general.file_type", "u32", 0],
    ["general.alignment", "u32", 32],
    ["llama.context_length", "u32", CONTEXT],
    ["llama.embedding_length", "u32", N_EMBD],
    ["llama.block_count", "u32", N_LAYER],
    ["llama.feed_forward_length", "u32", N_FF],
    ["llama.attention.head_count", "u32", N_HEAD],
    ["llama.attention.head_count_kv", "u32", N_HEAD],
    ["llama.rope.dimension_count", "u32", N_EMBD / N_HEAD],
    ["llama.attention.layer_norm_rms_epsilon", "f32", 1e-5],
    ["llama.vocab_size", "u32", nVocab],
    ["tokenizer.ggml.model", "string", "llama"],
    ["tokenizer.ggml.tokens", "string[]", tokens],
    ["tokenizer.ggml.scores", "f32[]", scores],
    ["tokenizer.ggml.token_type", "i32[]", types],
    ["tokenizer.ggml.bos_token_id", "u32", 1],
    ["tokenizer.ggml.eos_token_id", "u32", 2],
    ["tokenizer.ggml.unknown_token_id", "u32", 0],
    ["tokenizer.ggml.add_bos_token", "bool", true],
    ["tokenizer.ggml.add_eos_token", "bool", false],
  ];
  return { metadata, tensors, words };
}

/** Little-endian byte building, the only encoding GGUF uses. */
class Bytes {
  chunks = [];
  length = 0;
  push(buffer) {
    this.chunks.push(buffer);
    this.length += buffer.length;
  }
  u32(value) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value);
    this.push(b);
  }
  i32(value) {
    const b = Buffer.alloc(4);
    b.writeInt32LE(value);
    this.push(b);
  }
  u64(value) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(value));
    this.push(b);
  }
  f32(value) {
    const b = Buffer.alloc(4);
    b.writeFloatLE(value);
    this.push(b);
  }
  string(text) {
    const b = Buffer.from(text, "utf8");
    this.u64(b.length);
    this.push(b);
  }
  pad(alignment) {
    const extra = (alignment - (this.length % alignment)) % alignment;
    if (extra > 0) this.push(Buffer.alloc(extra));
  }
  toBuffer() {
    return Buffer.concat(this.chunks);
  }
}

const TYPE = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9 };

function writeValue(out, kind, value) {
  if (kind.endsWith("[]")) {
    const element = kind.slice(0, -2);
    out.u32(TYPE.array);
    out.u32(TYPE[element]);
    out.u64(value.length);
    for (const item of value) writeScalar(out, element, item);
    return;
  }
  out.u32(TYPE[kind]);
  writeScalar(out, kind, value);
}

function writeScalar(out, kind, value) {
  if (kind === "u32") out.u32(value);
  else if (kind === "i32") out.i32(value);
  else if (kind === "f32") out.f32(value);
  else if (kind === "bool") out.push(Buffer.from([value ? 1 : 0]));
  else if (kind === "string") out.string(value);
  else throw new Error(`no GGUF encoding for ${kind}`);
}

export function encodeGguf({ metadata, tensors }) {
  const alignment = 32;
  const out = new Bytes();
  out.push(Buffer.from("GGUF", "ascii"));
  out.u32(3);
  out.u64(tensors.length);
  out.u64(metadata.length);
  for (const [key, kind, value] of metadata) {
    out.string(key);
    writeValue(out, kind, value);
  }
  let offset = 0;
  for (const tensor of tensors) {
    out.string(tensor.name);
    out.u32(tensor.dims.length);
    for (const dim of tensor.dims) out.u64(dim);
    out.u32(0); // GGML_TYPE_F32
    out.u64(offset);
    offset += Math.ceil(tensor.data.byteLength / alignment) * alignment;
  }
  out.pad(alignment);
  for (const tensor of tensors) {
    out.push(Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
    out.pad(alignment);
  }
  return out.toBuffer();
}

const target = process.argv[2];
if (target !== undefined) {
  const bytes = encodeGguf(buildModel());
  writeFileSync(target, bytes);
  console.log(`wrote ${target} (${bytes.length} bytes)`);
}
