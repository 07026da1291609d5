#!/usr/bin/python3
"""Picks the fuzzer's finds worth committing to a seed corpus.

    fuzz/keep.py BUILD NAME [MAX]

Runs BUILD/fuzz/bin/NAME (built by `make fuzz`) in libFuzzer's merge mode
over fuzz/corpus/NAME and BUILD/corpus-new/NAME to learn which code edges
each input reaches, then copies into fuzz/corpus/NAME, as found-<sha1>,
the inputs that reach edges the corpus does not, greedily (most new edges
first, then the smallest), at most MAX (default 30) and none over 4 KiB.
The committed corpus stays small and readable: hand-written seeds plus a
few inputs that each open code the seeds miss.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

MAX_INPUT = 4096


def coverage(binary, dirs):
    """Maps each input path to its set of covered edges."""
    with tempfile.TemporaryDirectory() as tmp:
        control = os.path.join(tmp, "control")
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        subprocess.run([binary, "-merge=1", "-merge_control_file=" + control,
                        out] + dirs, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        with open(control, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    nfiles = int(lines[0])
    paths = lines[2:2 + nfiles]
    cov = {}
    for line in lines[2 + nfiles:]:
        parts = line.split()
        if parts and parts[0] == "COV":
            cov[paths[int(parts[1])]] = set(parts[2:])
    return cov


def main():
    build, name = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    seeds = os.path.join("fuzz", "corpus", name)
    found = os.path.join(build, "corpus-new", name)
    cov = coverage(os.path.join(build, "fuzz", "bin", name), [seeds, found])
    have = set()
    for path, edges in cov.items():
        if path.startswith(seeds + "/"):
            have |= edges
    candidates = {p: e for p, e in cov.items()
                  if p.startswith(found + "/") and
                  os.path.getsize(p) <= MAX_INPUT}
    kept = 0
    while kept < limit and candidates:
        best = max(candidates, key=lambda p: (len(candidates[p] - have),
                                              -os.path.getsize(p)))
        gain = len(candidates[best] - have)
        if gain == 0:
            break
        with open(best, "rb") as f:
            digest = hashlib.sha1(f.read()).hexdigest()
        shutil.copyfile(best, os.path.join(seeds, "found-" + digest))
        have |= candidates.pop(best)
        kept += 1
        print(f"{name}: kept found-{digest} (+{gain} edges)")
    print(f"{name}: {kept} inputs added, {len(have)} edges covered")


if __name__ == "__main__":
    main()
