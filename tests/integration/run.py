#!/usr/bin/python3
"""Runs the integration tests against a fresh real stack.

    tests/integration/run.py --bin build/gcc/bin [--only NAME[,NAME…]] [--keep]
                             [--shard K/N]

With --shard K/N it runs every N-th test from the K-th (1-based) on a stack
of its own (var/test-K, PostgreSQL port + K): N shards side by side run the
suite in a fraction of the time (make test-integration runs two).
"""
import argparse
import glob
import importlib.util
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--only", default=None, help="tests whose names hold one of these"
                    " comma-separated words")
    ap.add_argument("--pg-port", type=int, default=54339)
    ap.add_argument("--keep", action="store_true", help="leave the stack running")
    ap.add_argument("--shard", default="1/1", help="K/N: every N-th test from the K-th")
    args = ap.parse_args()
    k, n = (int(x) for x in args.shard.split("/"))
    if not 1 <= k <= n:
        ap.error("--shard K/N with 1 <= K <= N")
    here = os.path.dirname(os.path.abspath(__file__))
    for path in sorted(glob.glob(os.path.join(here, "test_*.py"))):
        spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    if n > 1:
        harness.TESTS[:] = harness.TESTS[k - 1::n]
        stack = harness.Stack(args.bin, name="test-%d" % k, pg_port=args.pg_port + k)
    else:
        stack = harness.Stack(args.bin, pg_port=args.pg_port)
    try:
        stack.start()
        passed, failed = harness.run_all(stack, args.only)
    finally:
        if not args.keep:
            stack.stop()
    print("integration: %d passed, %d failed" % (passed, failed))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or passed == 0 else 0)


if __name__ == "__main__":
    main()
