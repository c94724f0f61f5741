"""Baseline entity tagger for the tagging evaluation: the method of spec 3.1, fuzzy matching with `thefuzz`.

For each item, `thefuzz.process.extractBests(text, {id: name}, scorer=fuzz.token_set_ratio, score_cutoff=70,
limit=5)`; every match is a tag with its 0-100 score. Only the tagging loop is timed (time.perf_counter).

Usage: python3 scripts/thefuzz-baseline.py IN.json OUT.json   (a python with thefuzz: bash scripts/thefuzz-venv.sh)
IN.json:  {"entities": [{"id", "type": "party"|"work"|"recording", "name"}], "items": [{"id", "text"}]}
OUT.json: {"seconds", "items", "items_per_second", "max_rss_kib", "tags": {item_id: [{"id", "score"}]}}
"""
import json
import resource
import sys
import time

from thefuzz import fuzz, process


def main() -> None:
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        data = json.load(f)
    choices = {e["id"]: e["name"] for e in data["entities"]}
    items = data["items"]
    tags = {}
    start = time.perf_counter()
    for item in items:
        found = process.extractBests(item["text"], choices, scorer=fuzz.token_set_ratio, score_cutoff=70, limit=5)
        tags[item["id"]] = [{"id": eid, "score": int(score)} for _name, score, eid in found]
    seconds = time.perf_counter() - start
    out = {"seconds": seconds, "items": len(items),
           "items_per_second": len(items) / seconds if seconds > 0 else 0.0, "tags": tags,
           "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
