#!/usr/bin/env python3
"""Seeded generator of the chapter-26 fine-tuning task: a sentence about a
meeting in, one fixed JSON shape out.

    python3 scripts/lora/meeting_data.py OUT_DIR [--train 600] [--test 100] [--seed 26]

writes OUT_DIR/train.jsonl and OUT_DIR/test.jsonl in the OpenAI chat
fine-tuning format. The time must be normalised to 24-hour HH:MM, articles
dropped from room and topic, and nothing else said: a model that has not
learned the exact shape scores zero on exact match. Held-out examples are
drawn from the same vocabularies but as new sentences (no train duplicates).
Standard library only, so the data is the same on every machine.
"""

import argparse
import json
import os
import random

SYSTEM = ("Extract the meeting as JSON with keys who, day, time (24-hour HH:MM), "
          "room, topic.")

NAMES = ["Priya", "Tom", "Aisha", "Lukas", "Mei", "Carlos", "Fatima", "Jonas",
         "Sofia", "Kenji", "Amara", "Ivan", "Chloe", "Omar", "Nora", "Diego",
         "Hana", "Pieter", "Zainab", "Marco", "Elena", "Tariq", "Ingrid", "Raj",
         "Lucia", "Felix", "Yara", "Noah", "Anya", "Samuel"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
ROOMS = [("Room 101", "Room 101"), ("Room 204", "Room 204"), ("Room B", "Room B"),
         ("the Blue Room", "Blue Room"), ("the Lab", "Lab"),
         ("the Library", "Library"), ("the Atrium", "Atrium"),
         ("Room 3C", "Room 3C")]
TOPICS = [("the budget", "budget"), ("the hiring plan", "hiring plan"),
          ("the Q3 roadmap", "Q3 roadmap"), ("the launch", "launch"),
          ("the design review", "design review"), ("customer feedback", "customer feedback"),
          ("the migration", "migration"), ("the offsite", "offsite"),
          ("the security audit", "security audit"), ("onboarding", "onboarding"),
          ("the pricing page", "pricing page"), ("the quarterly report", "quarterly report"),
          ("the API changes", "API changes"), ("the test results", "test results"),
          ("the contract", "contract"), ("the new logo", "new logo")]

TEMPLATES = [
    "Let's meet with {who} on {day} at {time} in {room} to discuss {topic}.",
    "{who} wants to talk about {topic} on {day} at {time}, {room}.",
    "Can we sync with {who} about {topic}? {day} at {time} in {room} works.",
    "Reminder: {topic} with {who}, {day} {time}, {room}.",
    "On {day} at {time}, {who} will present {topic} in {room}.",
    "The meeting about {topic} with {who} moved to {day} at {time} ({room}).",
    "Please book {room} for {day} at {time}: {who} and I need to go over {topic}.",
    "{day}, {time}: {topic} with {who} in {room}.",
    "I set up a call with {who} on {day} at {time} in {room} about {topic}.",
    "{who} asked to review {topic} in {room} on {day} at {time}.",
]


def spoken_time(rng):
    """A time as people write it, and its 24-hour HH:MM form."""
    hour = rng.randint(8, 18)
    minute = rng.choice([0, 0, 30, 15, 45])
    h12 = hour % 12 or 12
    suffix = "am" if hour < 12 else "pm"
    text = f"{h12} {suffix}" if minute == 0 else f"{h12}:{minute:02d} {suffix}"
    return text, f"{hour:02d}:{minute:02d}"


def example(rng):
    who = rng.choice(NAMES)
    day = rng.choice(DAYS)
    time_text, time = spoken_time(rng)
    room_text, room = rng.choice(ROOMS)
    topic_text, topic = rng.choice(TOPICS)
    sentence = rng.choice(TEMPLATES).format(
        who=who, day=day, time=time_text, room=room_text, topic=topic_text)
    sentence = sentence[0].upper() + sentence[1:]
    answer = json.dumps({"who": who, "day": day, "time": time, "room": room,
                         "topic": topic}, separators=(",", ":"))
    return {"messages": [{"role": "system", "content": SYSTEM},
                         {"role": "user", "content": sentence},
                         {"role": "assistant", "content": answer}]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=600)
    ap.add_argument("--test", type=int, default=100)
    ap.add_argument("--seed", type=int, default=26)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    seen, rows = set(), []
    while len(rows) < args.train + args.test:
        ex = example(rng)
        key = ex["messages"][1]["content"]
        if key not in seen:
            seen.add(key)
            rows.append(ex)
    os.makedirs(args.out, exist_ok=True)
    for name, part in [("train", rows[:args.train]), ("test", rows[args.train:])]:
        with open(os.path.join(args.out, f"{name}.jsonl"), "w") as f:
            for r in part:
                f.write(json.dumps(r) + "\n")
    print(f"wrote {args.train} train and {args.test} held-out examples to {args.out}")


if __name__ == "__main__":
    main()
