#!/usr/bin/env python3
"""The chat-tuning sets of ../shared/data/ko as the generic conversation JSONL that
`ulk-tokenize --chat` renders with the chat template (tools/common/tokenize_corpus.hpp):

  {"system": "...", "turns": [{"role": "user", "text": "..."}, {"role": "assistant", "style": "polite", "text": "..."}]}

  python3 tools/train/prepare_chat.py --data ../shared/data/ko --out /tmp/ulk-chat

Writes OUT/NAME.train.jsonl and OUT/NAME.held_out.jsonl per set; the held-out part is the last 1%
of the lines of every source file (at least one line), the rule of tools/ko_corpus.hpp, or the last
5% of the files added after the first training runs (no checkpoint has seen those lines, and 1% of
them would be too few conversations to measure).
  chat        chat/chatbot_data.jsonl (polite) + chat/square_ko.jsonl (acceptable == 1 only, polite)
  persona     chat/xpersona_ko.jsonl (casual; the persona as the system text; without the opening
              greeting exchange, which taught every casual reply to open with "안녕! 나는 잘 지내고 있어.")
  smalltalk   chat/hgtods_music.jsonl, only the exchanges listed in chitchat_exchanges: everyday
              remarks in 반말 answered in 존댓말 (polite); the song-playing rest is left out
  service     chat/hgtods_manual.jsonl + chat/xrisawoz_ko.jsonl: multi-turn help and service
              dialogues (polite)
  summarize   summarization/sae4k.jsonl (utterance -> short intent, polite)
  translate   parallel/*.jsonl (ko -> en and en -> ko, alternating by line, polite)
"""
import argparse
import glob
import json
import lzma
import os


def lines_of(path):
    with lzma.open(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def split(lines, percent=1):
    """(train, held_out): the last percent of the lines (at least one) is held out."""
    cut = len(lines) - max(1, len(lines) * percent // 100)
    return lines[:cut], lines[cut:]


def user_reply(user, reply, style="polite", system=None):
    conv = {"turns": [{"role": "user", "text": user}, {"role": "assistant", "style": style, "text": reply}]}
    if system:
        conv["system"] = system
    return conv


def chatbot(rec, i):
    return user_reply(rec["q"], rec["a"])


def square(rec, i):
    return user_reply(rec["q"], rec["a"]) if int(rec.get("acceptable", 0)) == 1 else None


def persona(rec, i):
    turns = [{"role": t["role"], "text": t["text"], **({"style": "casual"} if t["role"] == "assistant" else {})}
             for t in rec["turns"] if t["role"] in ("user", "assistant") and t["text"].strip()]
    while turns and turns[0]["role"] != "user":
        turns.pop(0)
    turns = turns[2:]  # the opening greeting exchange (see the module text)
    if not any(t["role"] == "assistant" for t in turns):
        return None
    return {"system": " ".join(rec.get("persona", [])), "turns": turns}


def smalltalk(rec, i):
    """The small-talk exchanges of one music dialogue, each as its own conversation (a list)."""
    t = rec["turns"]
    out = []
    for e in rec.get("chitchat_exchanges", []):
        if 2 * e + 1 < len(t) and t[2 * e]["role"] == "user" and t[2 * e + 1]["role"] == "assistant":
            out.append(user_reply(t[2 * e]["text"], t[2 * e + 1]["text"]))
    return out


def service(rec, i):
    turns = [{"role": t["role"], "text": t["text"], **({"style": "polite"} if t["role"] == "assistant" else {})}
             for t in rec["turns"] if t["role"] in ("user", "assistant") and t["text"].strip()]
    while turns and turns[0]["role"] != "user":
        turns.pop(0)
    return {"turns": turns} if any(t["role"] == "assistant" for t in turns) else None


def summarize(rec, i):
    return user_reply("다음 말의 요지를 짧게 적어 주세요: " + rec["text"], rec["summary"])


def translate(rec, i):
    if not rec.get("ko", "").strip() or not rec.get("en", "").strip():
        return None
    if i % 2 == 0:
        return user_reply("다음 문장을 영어로 번역해 주세요: " + rec["ko"], rec["en"])
    return user_reply("다음 문장을 한국어로 번역해 주세요: " + rec["en"], rec["ko"])


SETS = {
    "chat": [("chat/chatbot_data.jsonl.xz", chatbot), ("chat/square_ko.jsonl.xz", square)],
    "persona": [("chat/xpersona_ko.jsonl.xz", persona)],
    "smalltalk": [("chat/hgtods_music.jsonl.xz", smalltalk, 5)],
    "service": [("chat/hgtods_manual.jsonl.xz", service, 5), ("chat/xrisawoz_ko.jsonl.xz", service, 5)],
    "summarize": [("summarization/sae4k.jsonl.xz", summarize)],
    "translate": [],  # parallel/*.jsonl.xz, listed in main()
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/ko")
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-per-file", type=int, default=0, help="keep at most this many training lines per file (smoke test)")
    ap.add_argument("--sets", default="chat,persona,smalltalk,service,summarize,translate", help="which sets to write")
    a = ap.parse_args()
    sets = dict(SETS)
    sets["translate"] = [(os.path.relpath(p, a.data), translate)
                         for p in sorted(glob.glob(os.path.join(a.data, "parallel", "*.jsonl.xz")))]
    os.makedirs(a.out, exist_ok=True)
    for name in a.sets.split(","):
        files = sets[name]
        counts = {"train": 0, "held_out": 0}
        outs = {k: open(os.path.join(a.out, f"{name}.{k}.jsonl"), "w", encoding="utf-8") for k in counts}
        for rel, convert, *percent in files:
            path = os.path.join(a.data, rel)
            if not os.path.exists(path):
                raise SystemExit(f"{path}: missing (see ../shared/data/ko/SOURCES.md)")
            train, held = split(lines_of(path), *percent)
            if a.max_per_file:
                train = train[: a.max_per_file]
            for part, lines in (("train", train), ("held_out", held)):
                for i, line in enumerate(lines):
                    if not line.strip():
                        continue
                    conv = convert(json.loads(line), i)
                    for c in conv if isinstance(conv, list) else [conv] if conv else []:
                        outs[part].write(json.dumps(c, ensure_ascii=False) + "\n")
                        counts[part] += 1
        for f in outs.values():
            f.close()
        print(f"{name}: {counts['train']} training and {counts['held_out']} held-out conversations")


if __name__ == "__main__":
    main()
