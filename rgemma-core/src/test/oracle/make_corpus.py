#!/usr/bin/env python3
"""Writes the tokenizer test corpus (one JSON string per line) to stdout.

Hand-written cases cover each category the tokenizer issue lists; seeded random mixes of the
same characters add breadth. Deterministic: the same file comes out on every run.
Usage: python3 make_corpus.py > ../resources/tokenizer/corpus.jsonl
"""
import json
import random

PROSE = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world! How are you doing today?",
    "RecurrentGemma is a family of open language models built on Griffin, which combines linear "
    "recurrences with local attention.",
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age "
    "of foolishness, it was the epoch of belief, it was the epoch of incredulity.",
    "Don't you think it's strange? I'm sure they'll say \"no\" -- but we've seen (and heard) it all.",
    "e-mail: someone@example.com; URL: https://example.org/path?query=1&x=y#frag",
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\n}",
    "  Leading spaces and trailing spaces  ",
    "Mr. O'Neil's well-known \"state-of-the-art\" self-driving car...",
    "ALL CAPS TEXT WITH SOME lowercase and MiXeD cAsE wOrDs",
    "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); }",
    "<p>Some <b>bold</b> HTML &amp; <a href=\"x\">links</a></p>",
    "| a | b |\n|---|---|\n| 1 | 2 |",
]

WHITESPACE = [
    " ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\n\n\n\n\n", "\r\n", "\r", " \n ", "a  b",
    "a   b    c", "  x", "x  ", "a\tb\tc", "\t\tindented", "line1\nline2\n\nline4", "a \t b",
    "\u3000full-width space", "non\u00a0breaking\u00a0space", "word\u2003em\u2002en",
    " " * 40, "\t" * 35, "\n" * 40, "\u2581already\u2581escaped", "\u2581\u2581 two",
    "ends with newline\n", "\n starts with newline", " \t\n\r\u000b\u000c",
]

DIGITS = [
    "0", "7", "42", "1234567890", "3.14159265358979", "2026-11-29", "1,000,000", "-273.15",
    "0x1F600", "1e-9", "12345678901234567890123456789012345678901234567890", "v1.2.3-rc4",
    "٠١٢٣٤٥٦٧٨٩", "①②③", "１２３",
]

SCRIPTS = [
    "日本語のテキストです。東京は大きい都市です。", "中文文本测试，包括标点符号。",
    "한국어 텍스트입니다.", "Привет, мир! Как дела?", "Съешь же ещё этих мягких французских булок.",
    "مرحبا بالعالم، كيف حالك؟", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก",
    "Γειά σου κόσμε", "Ελληνικά και English μαζί", "ქართული ენა", "Հայերեն", "ሰላም ለዓለም",
    "Tiếng Việt có dấu", "Zażółć gęślą jaźń", "Ærøskøbing straße façade naïve café",
    "𠀀𠀁𠀂 rare CJK extension B", "ㄅㄆㄇㄈ", "ｶﾀｶﾅ half-width katakana",
]

EMOJI = [
    "👍", "👍🏽", "👍🏿👍🏻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵🇺🇸🇩🇪", "❤️", "😀😃😄😁",
    "🧑🏾‍💻 coding", "👩‍❤️‍💋‍👨", "🫠🫥🪿", "emoji in text 🎉 party 🥳 time",
    "#️⃣ 1️⃣ *️⃣", "☺︎ vs ☺️",
]

COMBINING = [
    "e\u0301", "a\u0308o\u0308u\u0308", "n\u0303", "Z\u0351\u0354a\u0300\u0301l\u0337g\u0322o\u0335",
    "\u0915\u093f", "e\u0301\u0301\u0301\u0301", "\u1100\u1161\u11a8", "Å vs A\u030a",
    "ﬁ ligature ﬀ", "Ⅻ ㎏ ™ ½",
]

CONTROL = [
    "\u0000", "a\u0000b", "\u0001\u0002\u0003", "\u007f", "\u0080\u0081\u009f", "\u001b[31mred\u001b[0m",
    "\u200b zero width", "a\u200db", "\u200e\u200f", "\ufeffBOM", "\u2028\u2029", "\u000b\u000c",
    "\ufffd replacement", "\ufff9\ufffa\ufffb",
]

PRIVATE_USE = [
    "\ue000", "\uf8ff", "\U000f0000", "\U0010fffd", "private \ue123 use", "\U000e0041\U000e007f",
    "\U0001d400\U0001d401 math bold", "\U0001f9ff\U0001fa70", "\U0003134a",
]

SPECIAL_STRINGS = [
    "<start_of_turn>user\nHello!<end_of_turn>\n<start_of_turn>model\n",
    "<bos>", "<eos>", "<pad>", "<unk>", "<mask>", "<s>", "</s>", "<s>text</s>", "<0x41>",
    "text with <start_of_turn> inside", "<start_of_tur", "<<bos>>", "<bos><bos>", "<unused0>",
    "<unused99>", "<table><tr><td>x</td></tr></table>", "[multimodal]", "<start_of_image>",
    "a<end_of_turn>b", " <end_of_turn> ", "<end_of_turn>\n\n\n", "<start_of_turn>",
    "<|endoftext|>", "[INST] hi [/INST]",
]

REPEATS = [
    "a" * 1000, "ab" * 500, "abc" * 300, " " * 200, "\n" * 100, "😀" * 100, "ha" * 700,
    "the " * 200, "x" * 3000, "日本" * 200, "." * 500, "-" * 300, "=" * 80, "0" * 400,
    "lorem ipsum dolor sit amet " * 20, "\t\n" * 100, "Привет" * 100,
]

EMPTY = [""]

POOL = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    + list(" \t\n.,;:!?'\"()[]{}<>/\\@#$%^&*-_=+|~`")
    + list("日本語中文한국어Приветمرحباשלוםनमस्तेสวัสดี")
    + ["👍", "🏽", "\u200d", "👩", "❤️", "🇯", "🇵", "\u0301", "\u0308", "\ue000", "\U000f0000",
       "\u0000", "\u001b", "\u00a0", "\u3000", "\u2581", "\ufffd", "é", "ß", "ﬁ"]
)
WORDS = ["<start_of_turn>", "<end_of_turn>", "<bos>", "<s>", "</s>", "\n\n", "  ", "the", "ing",
         "tion", "Hello", "world", " and ", "<0x20>", "<unk>"]


def random_cases(rng, count):
    cases = []
    for _ in range(count):
        length = rng.choice([1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144])
        parts = []
        for _ in range(length):
            parts.append(rng.choice(WORDS) if rng.random() < 0.08 else rng.choice(POOL))
        cases.append("".join(parts))
    return cases


def main():
    rng = random.Random(20261129)
    cases = (PROSE + WHITESPACE + DIGITS + SCRIPTS + EMOJI + COMBINING + CONTROL + PRIVATE_USE
             + SPECIAL_STRINGS + REPEATS + EMPTY + random_cases(rng, 300))
    seen = set()
    for case in cases:
        if case in seen:
            continue
        seen.add(case)
        print(json.dumps(case, ensure_ascii=True))


if __name__ == "__main__":
    main()
