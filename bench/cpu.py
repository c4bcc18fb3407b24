#!/usr/bin/python3
"""Where a turn's CPU goes: one wrk run of one kind of update against the
bench's stack, and the CPU each class of process spent on it per request.

    bench/cpu.py --bin build/gcc/bin [--kind press|help|start|peer] [--secs 10]
                 [--latency-ms 80] [--sender-off] [--answers-first]

Brings up bench/run.py's stack (var/bench, the seed), warms the kind up for
8 s (peer: issue 18's C one-SELECT program, bench/peers/one_select.c),
then runs wrk -t2 -c32 for --secs while it reads, every 0.5 s, the queue
of button answers (queued, in flight, the oldest's age) in one psql
session.  CPU per process class comes from /proc/PID/stat (utime + stime)
before the run and after the queue is empty (wrk's own from its rusage),
divided by the requests.

--sender-off   hold the sender's advisory lock during the run (no answer
               leaves until wrk is done; then one sender drains them): the
               turn's cost without the answers' delivery beside it.
--answers-first  renice every thread of the answers' path (the Telegram
               stand-in, the sender, the sender's PostgreSQL backend) to -10
               for the run, at each read of the queue (needs root).
"""
import argparse
import os
import resource
import subprocess
import time
import importlib.util

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("bench_run", os.path.join(HERE, "run.py"))
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

OUTBOX_LOCK = 4246  # shared/outbox.c: held by the one sender
CLASSES = (("standin.py", "Telegram stand-in"), ("check-status --send", "sender"),
           ("one_select", "C one-SELECT peer"),
           ("tg-update", "tg-update"), ("postgres", "PostgreSQL"), ("lighttpd", "lighttpd"))
QUEUE = ("SELECT count(*) || ' ' || count(*) FILTER (WHERE claimed_until > now()) || ' ' ||"
         " round(coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0) * 1000)"
         " FROM callback_answers")


def cpu_by_pid():
    """{(class, pid): clock ticks} for every process of a known class."""
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        for needle, name in CLASSES:
            if needle in cmd:
                out[(name, pid)] = int(fields[11]) + int(fields[12])
                break
    return out


# the sender's own statements, to find its PostgreSQL backend
SENDER_BACKEND = ("SELECT coalesce(string_agg(pid::text, ' '), '') FROM pg_stat_activity"
                  " WHERE query LIKE '%claimed_until = now()%'"
                  " OR query LIKE 'DELETE FROM callback_answers%'")


def answers_first(poll):
    """Every thread of the answers' path to nice -10 (setpriority acts on
    one thread; the stand-in answers each connection on a thread of its own)."""
    pids = subprocess.run(["pgrep", "-f", "standin.py|check-status --send"],
                          capture_output=True, text=True).stdout.split()
    for pid in pids + poll.one(SENDER_BACKEND).split():
        try:
            for tid in os.listdir("/proc/%s/task" % pid):
                os.setpriority(os.PRIO_PROCESS, int(tid), -10)
        except OSError:
            pass  # gone meanwhile


def load(b, st, kind):
    """wrk's path, script and arguments for a kind of request."""
    if kind == "peer":
        return "/bench/one", "one.lua", [bench.USERS]
    return "/telegram/webhook", "telegram.lua", [kind, b.base(), st.secret, bench.USERS]


def measure(b, st, args):
    holder = None
    if args.sender_off:
        holder = bench.Psql(st.dburl)
        holder.one("SELECT pg_advisory_lock(%d)" % OUTBOX_LOCK)
    c0, t0, worst, wrk_cpu = cpu_by_pid(), time.time(), 0.0, None
    cmd = b.wrk_cmd(*load(b, st, args.kind), secs=args.secs)
    with bench.Psql(st.dburl) as poll:
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        wrk = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        while True:
            done = wrk.poll() is not None
            if args.answers_first:
                answers_first(poll)
            queued, flying, oldest = poll.one(QUEUE).split()
            worst = max(worst, float(oldest))
            if args.verbose:
                print("%5.1f s  queued %s, in flight %s, oldest %s ms" %
                      (time.time() - t0, queued, flying, oldest), flush=True)
            if done and wrk_cpu is None:  # wrk: the one child reaped
                now = resource.getrusage(resource.RUSAGE_CHILDREN)
                wrk_cpu = (now.ru_utime + now.ru_stime) - (kids.ru_utime + kids.ru_stime)
            if done and holder is not None:
                holder.close()
                holder = None
                subprocess.Popen([os.path.join(args.bin, "check-status"), "--send"],
                                 env=st.cli_env(), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            if done and queued == "0":
                break
            time.sleep(0.5)
    c1, elapsed = cpu_by_pid(), time.time() - t0
    r = bench.parse_wrk(wrk.communicate()[0])
    c1[("wrk", "0")] = int(wrk_cpu * os.sysconf("SC_CLK_TCK"))
    return r, worst, elapsed, c0, c1


def report(args, r, worst, elapsed, c0, c1):
    n, hz = max(r["requests"], 1), os.sysconf("SC_CLK_TCK")
    print("%s: %d requests, %.0f/s, p99 %.1f ms; the slowest answer waited %.0f ms in the"
          " queue; %.1f s until it was empty" % (args.kind, r["requests"], r["rps"], r["p99"],
                                                 worst, elapsed))
    per = {}
    for key, ticks in c1.items():
        per[key[0]] = per.get(key[0], 0) + ticks - c0.get(key, 0)
    for name, ticks in sorted(per.items(), key=lambda kv: -kv[1]):
        if ticks == 0:
            continue
        print("  %-18s %7.1f µs a request  (%.1f s of CPU)" %
              (name, ticks / hz / n * 1e6, ticks / hz))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--kind", default="press", choices=("press", "help", "start", "peer"))
    ap.add_argument("--secs", type=int, default=10)
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--sender-off", action="store_true")
    ap.add_argument("--answers-first", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    st = bench.stack_up(args.bin, 4)
    try:
        b = bench.Bench(st, False)
        st.ctl("/_ctl/config", {"latency_ms": args.latency_ms})
        b.wrk(*load(b, st, args.kind), secs=8)
        b.answers_drained()
        report(args, *measure(b, st, args))
    finally:
        st.stop()


if __name__ == "__main__":
    main()
