#!/usr/bin/env python3
"""Expected ids and texts for tokenizer.model files, from SentencePiece itself
(python3-sentencepiece). Usage: python3 spm_oracle.py <model> <corpus.jsonl> > spm-<name>.jsonl

Control symbols written in the text (<bos>, <eos>, <s>, ...) are cut out first and become their
ids, and each piece of text between them is encoded by SentencePiece on its own, which is how
Hugging Face's SentencePiece-based tokenizers treat special tokens (SentencePiece alone would
spell them out as ordinary text). User-defined symbols are SentencePiece's own business.
"""
import json
import sys

import sentencepiece as spm


def control_pieces(sp):
    return [sp.id_to_piece(i) for i in range(sp.get_piece_size()) if sp.is_control(i)]


def split_controls(text, controls):
    """Leftmost-longest split on control pieces; returns a list of (text, id or None)."""
    out, start, i = [], 0, 0
    while i < len(text):
        match = None
        for piece in controls:
            if text.startswith(piece, i) and (match is None or len(piece) > len(match)):
                match = piece
        if match is None:
            i += 1
            continue
        if i > start:
            out.append((text[start:i], None))
        out.append((match, True))
        i += len(match)
        start = i
    if start < len(text):
        out.append((text[start:], None))
    return out


def main():
    sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
    controls = control_pieces(sp)
    bos = sp.bos_id()
    lines = []
    for line in open(sys.argv[2], encoding="utf-8"):
        if not line.strip():
            continue
        text = json.loads(line)
        ids = []
        for part, is_control in split_controls(text, controls):
            ids.extend([sp.piece_to_id(part)] if is_control else sp.encode(part))
        with_special = ([bos] if bos >= 0 else []) + ids
        lines.append(json.dumps({"text": text, "ids": ids, "ids_with_special": with_special,
                                 "decoded": sp.decode(with_special),
                                 "spm_ids": sp.encode(text)}, ensure_ascii=True))
    # Decode-only cases: byte pieces that do not form valid UTF-8, leading spaces, unknowns.
    piece = sp.piece_to_id
    word = sp.encode(" hi there")
    sequences = [[sp.unk_id()], [sp.unk_id(), sp.unk_id()] + word, word + [sp.unk_id()],
                 [piece("\u2581")] + word, [piece("\u2581"), piece("\u2581")] + word,
                 [bos] + word, [bos, piece("\u2581")] + word]
    if sp.piece_to_id("<0x41>") != sp.unk_id():
        b = lambda hex_: piece("<0x" + hex_ + ">")
        sequences += [[b("E3"), b("81"), b("82")], [b("E3"), b("81")], [b("E3"), b("81")] + word,
                      [b("FF")], [b("C0"), b("AF")], [b("ED"), b("A0"), b("80")],
                      [b("F0"), b("9F"), b("98"), b("80"), b("F0"), b("9F")], [b("80"), b("E3"), b("81"), b("41")],
                      [b("F4"), b("90"), b("80"), b("80")], [b("20")] + word, [bos, b("20"), b("41")] + word,
                      [b("EF"), b("BF"), b("BD")]]
    for ids in sequences:
        lines.append(json.dumps({"decode_only": True, "ids": ids, "decoded": sp.decode(ids)}, ensure_ascii=True))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
