"""Turns `locallm eval-tools --json` into chapter 25's figure files.

usage: tool_table.py RUNS.json SUITE.jsonl LOCALLM_BINARY FIGURES_DIR

tool-eval.json   the runs as measured, plus per-mode and per-category sums
tool-eval.md     one row per decoding mode
tool-eval-misses.md  every forced call that is not the expected one
"""

import json
import platform
import subprocess
import sys


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def call_of(answer):
    """The JSON between <tool_call> and </tool_call>, or None."""
    start = answer.find("<tool_call>")
    end = answer.find("</tool_call>")
    if start < 0 or end < 0:
        return None
    try:
        return json.loads(answer[start + len("<tool_call>") : end])
    except json.JSONDecodeError:
        return None


def main():
    runs_file, suite_file, binary, figures = sys.argv[1:]
    runs = json.load(open(runs_file))
    cases = {}
    for line in open(suite_file):
        if line.strip() and not line.startswith("#"):
            case = json.loads(line)
            cases[case["id"]] = case
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()

    summary = {}
    for run in runs:
        run.pop("seconds", None)  # wall-clock under whatever load: not a result
        by_category = {}
        right_tool = 0
        for item in run["items"]:
            category = item["id"].rsplit("-", 1)[0]
            c = by_category.setdefault(category, {"items": 0, "correct": 0})
            c["items"] += 1
            c["correct"] += int(item["correct"])
            want = cases[item["id"]]["expected"]
            got = call_of(item["answer"])
            if want and got and got.get("name") == want["name"]:
                right_tool += 1
        n = run["expect_call"] + run["expect_none"]
        summary[run["mode"]] = {
            "items": n,
            "calls_made": run["attempted"],
            "valid": run["valid"],
            "correct_calls": run["correct_call"],
            "expect_call": run["expect_call"],
            "correct_no_call": run["correct_none"],
            "expect_none": run["expect_none"],
            "correct_overall": run["correct_call"] + run["correct_none"],
            "right_tool": right_tool,
            "by_category": by_category,
        }

    doc = {
        "tool": f"{version} eval-tools --suite evals/tool_use.jsonl (scripts/eval/ch25_tools.sh)",
        "locallm": commit,
        "cpu": cpu_model(),
        "decoding": "greedy, at most 96 tokens per turn",
        "summary": summary,
        "runs": runs,
    }
    with open(f"{figures}/tool-eval.json", "w") as f:
        f.write(json.dumps(doc, indent=2) + "\n")

    names = {
        "free": "free",
        "constrained": "constrained, the model decides",
        "forced": "constrained, call forced",
    }
    rows = [
        "| decoding | calls made | of those, parse and validate | correct calls "
        "| no call where none fits | correct overall |",
        "|---|---|---|---|---|---|",
    ]
    for mode, s in summary.items():
        rows.append(
            f"| {names[mode]} | {s['calls_made']} | {s['valid']} / {s['calls_made']} "
            f"| {s['correct_calls']} / {s['expect_call']} "
            f"| {s['correct_no_call']} / {s['expect_none']} "
            f"| {s['correct_overall']} / {s['items']} |"
        )
    with open(f"{figures}/tool-eval.md", "w") as f:
        f.write("\n".join(rows) + "\n")

    forced = next((r for r in runs if r["mode"] == "forced"), None)
    misses = ["| prompt | the call made | the call expected |", "|---|---|---|"]
    for item in forced["items"] if forced else []:
        if item["correct"]:
            continue
        case = cases[item["id"]]
        got = call_of(item["answer"])
        shown = json.dumps(got, ensure_ascii=False) if got else item["answer"].strip()
        want = json.dumps(case["expected"], ensure_ascii=False) if case["expected"] else "no call"
        cell = lambda s: s.replace("|", "\\|")
        misses.append(f"| {cell(case['prompt'])} | `{cell(shown)}` | `{cell(want)}` |")
    with open(f"{figures}/tool-eval-misses.md", "w") as f:
        f.write("\n".join(misses) + "\n")


if __name__ == "__main__":
    main()
