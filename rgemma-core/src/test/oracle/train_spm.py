#!/usr/bin/env python3
"""Trains the two small SentencePiece BPE models the tokenizer.model tests use, with Debian's
sentencepiece (python3-sentencepiece). The training text (~400 KB) is generated here, seeded, from
a word list and the test corpus's multilingual lines; it is not committed.

  gemma-like.model : Gemma's options: byte_fallback, split_digits, no dummy prefix, no whitespace
                     folding, identity normalization, <pad>/<eos>/<bos>/<unk> = 0/1/2/3,
                     user-defined <start_of_turn>/<end_of_turn>, vocab 2000
  defaults.model   : SentencePiece's defaults (nmt_nfkc normalization with a precompiled charsmap,
                     dummy prefix, whitespace folding, no byte fallback), model_type=bpe, vocab 1000

Usage: python3 train_spm.py ../resources/tokenizer
"""
import io
import json
import os
import random
import sys

import sentencepiece as spm

import make_corpus

WORDS = """the of and to in is was that for it with as his on be at by had are but from or have an
they which one you were her all she there would their we him been has when who will more no if out so
said what up its about into than them can only other new some could time these two may then do first
any my now such like our over man me even most made after also did many before must through back years
where much your way well down should because each just those people how too little state good very make
world still own see men work long get here between both life being under never day same another know
while last might us great old year off come since against go came right used take three model language
recurrent attention token sequence memory layer weight matrix vector gradient training inference
prompt answer question window local linear gate state hidden engine kernel float tensor java python
""".split()


def sentence(rng):
    words = [rng.choice(WORDS) for _ in range(rng.randint(4, 18))]
    words[0] = words[0].capitalize()
    if rng.random() < 0.2:
        words.insert(rng.randrange(len(words)), str(rng.randint(0, 100000)))
    if rng.random() < 0.1:
        words.insert(rng.randrange(len(words)), "'" + rng.choice(WORDS) + "'")
    return " ".join(words) + rng.choice([".", ".", ".", "?", "!", ";", ":"])


def training_text():
    rng = random.Random(7)
    lines = []
    corpus_lines = make_corpus.PROSE + make_corpus.SCRIPTS + make_corpus.EMOJI + make_corpus.DIGITS
    while sum(len(l) for l in lines) < 400_000:
        r = rng.random()
        if r < 0.8:
            lines.append(" ".join(sentence(rng) for _ in range(rng.randint(1, 4))))
        elif r < 0.9:
            lines.append(rng.choice(corpus_lines).replace("\n", " "))
        else:
            lines.append("    " + rng.choice(["def f(x):", "return x + 1", "for i in range(10):", "if a == b:",
                                               "\tint y = x * 2;", "} else {"]))
    return "\n".join(lines) + "\n"


def main():
    out = sys.argv[1]
    text = training_text()
    common = dict(model_type="bpe", num_threads=1, minloglevel=2)
    spm.SentencePieceTrainer.train(
        sentence_iterator=io.StringIO(text), model_prefix=os.path.join(out, "gemma-like"),
        vocab_size=2000, byte_fallback=True, split_digits=True, add_dummy_prefix=False,
        remove_extra_whitespaces=False, normalization_rule_name="identity",
        allow_whitespace_only_pieces=True, character_coverage=0.9995,
        pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>",
        bos_piece="<bos>", unk_piece="<unk>", user_defined_symbols=["<start_of_turn>", "<end_of_turn>"],
        **common)
    spm.SentencePieceTrainer.train(
        sentence_iterator=io.StringIO(text), model_prefix=os.path.join(out, "defaults"),
        vocab_size=1000, **common)
    for name in ("gemma-like", "defaults"):
        os.remove(os.path.join(out, name + ".vocab"))


if __name__ == "__main__":
    main()
