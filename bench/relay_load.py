#!/usr/bin/env python3
"""Load and measuring client for bench/relay.sh (Python 3 standard library only).

Subcommands:
  count DIR N TIMEOUT -- CMD...
      Runs CMD (the load, e.g. smtp-source) and waits until DIR holds N files (smtp-sink writes
      one per transaction). Prints "end_to_end_s=.. source_s=..": seconds from the start until
      the Nth file appeared, and until CMD exited (every message accepted by the server).
  latency --port P --rate R --conns C --count N --file F
      Sends N messages at R msgs/s in total (R = 0: as fast as the server answers), spread over C connections kept open, each message
      made unique (its Message-ID carries a counter). Records per message the time from writing
      the data and the final "\\r\\n.\\r\\n" until the 250 is read. Prints p50/p99/max (ms).
  hold --port P --conns C --bytes B --pid PID [--extra E]
      Opens C sessions, each stopped in the middle of DATA after B bytes of a message; reads
      VmRSS/VmHWM of PID before and while they are held; opens E more connections to see how
      many the server refuses; then finishes every message and reads VmHWM again.
"""
import argparse
import asyncio
import os
import subprocess
import sys
import time


def count_files(path):
    with os.scandir(path) as it:
        return sum(1 for _ in it)


def cmd_count(args):
    start = time.monotonic()
    proc = subprocess.Popen(args.cmd, stdout=subprocess.DEVNULL)
    source_s = None
    deadline = start + args.timeout
    while True:
        if source_s is None and proc.poll() is not None:
            source_s = time.monotonic() - start
            if proc.returncode != 0:
                print(f"count: {args.cmd[0]} exited {proc.returncode}", file=sys.stderr)
                return 1
        n = count_files(args.dir)
        if n >= args.n:
            end = time.monotonic() - start
            break
        if time.monotonic() > deadline:
            print(f"count: only {n} of {args.n} arrived in {args.timeout} s", file=sys.stderr)
            proc.kill()
            return 1
        time.sleep(0.005)
    if source_s is None:
        proc.wait()
        source_s = time.monotonic() - start
        if proc.returncode != 0:
            print(f"count: {args.cmd[0]} exited {proc.returncode}", file=sys.stderr)
            return 1
    print(f"end_to_end_s={end:.3f} source_s={source_s:.3f}")
    return 0


async def reply(reader):
    """Reads one (possibly multi-line) SMTP reply; returns its code."""
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("connection closed")
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3])


async def command(reader, writer, text, want):
    writer.write(text.encode() + b"\r\n")
    await writer.drain()
    code = await reply(reader)
    if code != want:
        raise RuntimeError(f"{text!r} answered {code}")


async def open_session(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    code = await reply(reader)
    if code != 220:
        raise RuntimeError(f"greeting {code}")
    await command(reader, writer, "EHLO bench.test", 250)
    return reader, writer


def load_message(path):
    data = open(path, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    # Dot-stuffing, as a client must do.
    lines = data.split(b"\r\n")
    return b"\r\n".join(b"." + l if l.startswith(b".") else l for l in lines)


def unique(template, n):
    return template.replace(b"@@N@@", str(n).encode(), 1)


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


async def run_latency(args):
    template = load_message(args.file)
    latencies = []
    errors = []
    t0 = time.monotonic() + 0.2
    interval = 1.0 / args.rate if args.rate > 0 else 0.0

    async def conn(index):
        reader, writer = await open_session(args.port)
        try:
            for i in range(index, args.count, args.conns):
                delay = t0 + i * interval - time.monotonic()
                if interval and delay > 0:
                    await asyncio.sleep(delay)
                await command(reader, writer, "MAIL FROM:<bench@outside.test>", 250)
                await command(reader, writer, "RCPT TO:<staff@example.jp>", 250)
                await command(reader, writer, "DATA", 354)
                body = unique(template, i)
                start = time.monotonic()
                writer.write(body + b".\r\n")
                await writer.drain()
                code = await reply(reader)
                took = time.monotonic() - start
                if code != 250:
                    errors.append(code)
                else:
                    latencies.append(took)
            await command(reader, writer, "QUIT", 221)
        finally:
            writer.close()

    results = await asyncio.gather(*(conn(c) for c in range(args.conns)), return_exceptions=True)
    wall = time.monotonic() - t0
    failures = [r for r in results if isinstance(r, Exception)]
    lat = sorted(latencies)
    ms = lambda v: v * 1000.0
    print(f"sent={len(lat)} rate_asked={args.rate:.1f}/s rate_achieved={len(lat) / wall:.1f}/s "
          f"conns={args.conns} p50_ms={ms(percentile(lat, 50)):.2f} "
          f"p99_ms={ms(percentile(lat, 99)):.2f} max_ms={ms(lat[-1] if lat else float('nan')):.2f} "
          f"non250={len(errors)} conn_failures={len(failures)}")
    for f in failures[:3]:
        print(f"  connection failure: {f!r}", file=sys.stderr)
    return 0 if not errors and not failures and len(lat) == args.count else 1


def proc_memory(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                out[key] = value.strip()
    return out


async def run_hold(args):
    template = load_message(args.file)
    before = proc_memory(args.pid)
    sessions = []
    for c in range(args.conns):
        reader, writer = await open_session(args.port)
        await command(reader, writer, "MAIL FROM:<bench@outside.test>", 250)
        await command(reader, writer, "RCPT TO:<staff@example.jp>", 250)
        await command(reader, writer, "DATA", 354)
        # The header section, then filler lines up to B bytes; the final dot comes later.
        head = unique(template, c)
        filler = b"x" * 76 + b"\r\n"
        sent = len(head)
        writer.write(head)
        while sent < args.bytes:
            chunk = filler * 1024
            writer.write(chunk)
            sent += len(chunk)
            await writer.drain()
        await writer.drain()
        sessions.append((reader, writer))
    await asyncio.sleep(1.0)  # let the server read what is in its socket buffers
    held = proc_memory(args.pid)
    # Connections beyond the limit: the relay answers 421 at once (or 220 if under the limit).
    refused = accepted = 0
    extra = []
    for _ in range(args.extra):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
            code = await asyncio.wait_for(reply(reader), 10)
            if code == 220:
                accepted += 1
            else:
                refused += 1
            extra.append(writer)
        except (ConnectionError, asyncio.TimeoutError):
            refused += 1
    during_extra = proc_memory(args.pid)
    for w in extra:
        w.close()
    ok = 0
    for reader, writer in sessions:
        writer.write(b".\r\n")
        await writer.drain()
    for reader, writer in sessions:
        if await reply(reader) == 250:
            ok += 1
        writer.write(b"QUIT\r\n")
        await writer.drain()
        writer.close()
    await asyncio.sleep(0.5)
    after = proc_memory(args.pid)
    print(f"before: {before}")
    print(f"held {args.conns} sessions mid-DATA ({args.bytes} bytes each): {held}")
    print(f"plus {args.extra} more connections: accepted={accepted} refused={refused}: "
          f"{during_extra}")
    print(f"after the {args.conns} messages completed ({ok} got 250): {after}")
    return 0 if ok == args.conns else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    c = sub.add_parser("count")
    c.add_argument("dir")
    c.add_argument("n", type=int)
    c.add_argument("timeout", type=float)
    c.add_argument("cmd", nargs=argparse.REMAINDER)
    lat = sub.add_parser("latency")
    lat.add_argument("--port", type=int, required=True)
    lat.add_argument("--rate", type=float, required=True)
    lat.add_argument("--conns", type=int, default=10)
    lat.add_argument("--count", type=int, default=1000)
    lat.add_argument("--file", required=True)
    h = sub.add_parser("hold")
    h.add_argument("--port", type=int, required=True)
    h.add_argument("--conns", type=int, default=50)
    h.add_argument("--bytes", type=int, default=1 << 20)
    h.add_argument("--pid", type=int, required=True)
    h.add_argument("--extra", type=int, default=0)
    h.add_argument("--file", required=True)
    args = p.parse_args()
    if args.what == "count":
        if args.cmd and args.cmd[0] == "--":
            args.cmd = args.cmd[1:]
        return cmd_count(args)
    if args.what == "latency":
        return asyncio.run(run_latency(args))
    return asyncio.run(run_hold(args))


if __name__ == "__main__":
    sys.exit(main())
