#!/usr/bin/python3
"""make mutants: each planted mutation must be caught by the tests named for it.

Every tests/mutations/NAME.patch starts with a header:

    Mutant: what the change breaks, in words
    Tests: test_name[,test_name...]      (integration tests that must fail)

then a unified diff against the tree.  For each one this copies the working
tree (without build/, var/ and .git) to var/mutants/NAME, applies the patch,
builds with gcc and runs the named tests there (their own PostgreSQL,
lighttpd and stand-ins).  A mutant the tests do not catch "survives": the run
fails.  The results go to docs/TESTING.md with the date.
"""
import argparse
import datetime
import glob
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
PY = "/usr/bin/python3"


def header(path):
    meta = {}
    with open(path) as f:
        for line in f:
            if line.startswith(("--- ", "diff ")):
                break
            if ":" in line:
                k, v = line.split(":", 1)
                meta[k.strip().lower()] = v.strip()
    return meta


def copy_tree(dst):
    if os.path.exists(dst):
        shutil.rmtree(dst)
    ignore = shutil.ignore_patterns(".git", "build", "var", "bin", "__pycache__")
    shutil.copytree(ROOT, dst, ignore=ignore, symlinks=True)


def run(cmd, cwd, log, timeout=900):
    with open(log, "a") as f:
        f.write("$ %s\n" % " ".join(cmd))
        f.flush()
        try:
            return subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT,
                                  timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            f.write("timed out\n")
            return 124


def scratch(name):
    """A fresh copy of the tree in var/mutants/NAME and an empty log."""
    work = os.path.join(ROOT, "var", "mutants", name)
    log = work + ".log"
    copy_tree(work)
    if os.path.exists(log):
        os.remove(log)
    return work, log


def build(work, log):
    return run(["make", "-s", "CC=gcc", "all", "build/m/tests/test_db", "BUILD=build/m"], work,
               log) == 0


def integration(work, log, tests, pg_port):
    """The exit status of the named integration tests in the copy."""
    return run([PY, "tests/integration/run.py", "--bin", "build/m/bin", "--only", tests,
                "--pg-port", str(pg_port)], work, log)


def baseline(patches, pg_port):
    """The named tests must pass on the tree as it is, or a mutant would
    count as caught for the wrong reason."""
    tests = sorted({t for p in patches for t in header(p).get("tests", "").split(",") if t})
    work, log = scratch("baseline")
    ok = build(work, log) and integration(work, log, ",".join(tests), pg_port) == 0
    shutil.rmtree(work, ignore_errors=True)
    return ok


def one(path, pg_port):
    name = os.path.basename(path)[:-6]
    meta = header(path)
    work, log = scratch(name)
    if run(["patch", "-p1", "--forward", "-i", path], work, log) != 0:
        return name, meta, "does not apply", 0
    if not build(work, log):
        return name, meta, "does not build", 0
    t0 = time.time()
    rc = integration(work, log, meta.get("tests", "none"), pg_port)
    verdict = "killed" if rc != 0 else "SURVIVED"
    if rc != 0:     # a survivor's copy stays, to look at
        shutil.rmtree(work, ignore_errors=True)
    return name, meta, verdict, time.time() - t0


def write_doc(results, started):
    doc = os.path.join(ROOT, "docs", "TESTING.md")
    text = open(doc).read() if os.path.exists(doc) else ""
    mark = "<!-- mutants -->"
    head, _, _ = text.partition(mark)
    lines = [mark, "", "Last `make mutants`: %s UTC, %d mutants, %d killed." % (
        started.strftime("%Y-%m-%d %H:%M"), len(results),
        sum(1 for r in results if r[2] == "killed")), "",
        "| mutant | what it breaks | caught by | result |", "|---|---|---|---|"]
    for name, meta, verdict, secs in results:
        lines.append("| `%s` | %s | %s | %s |" % (
            name, meta.get("mutant", ""), meta.get("tests", ""),
            verdict + (" (%.0f s)" % secs if secs else "")))
    with open(doc, "w") as f:
        f.write(head.rstrip() + "\n\n" + "\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="one mutant by name")
    ap.add_argument("--pg-port", type=int, default=54369)
    args = ap.parse_args()
    started = datetime.datetime.utcnow()
    patches = sorted(glob.glob(os.path.join(ROOT, "tests", "mutations", "*.patch")))
    if args.only:
        patches = [p for p in patches if args.only in os.path.basename(p)]
    if not baseline(patches, args.pg_port):
        print("mutants: the named tests fail on the unmutated tree (var/mutants/baseline.log)")
        sys.exit(1)
    print("baseline: the named tests pass on the unmutated tree", flush=True)
    results = []
    for p in patches:
        r = one(p, args.pg_port)
        results.append(r)
        print("%-9s %-28s %s" % (r[2], r[0], r[1].get("mutant", "")), flush=True)
    if not args.only:
        write_doc(results, started)
    bad = [r for r in results if r[2] != "killed"]
    print("mutants: %d killed, %d survived or broken" % (len(results) - len(bad), len(bad)))
    sys.exit(1 if bad or not results else 0)


if __name__ == "__main__":
    main()
