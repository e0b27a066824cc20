#!/usr/bin/env python3
"""Groups the CPU samples of SSE api processes by what the stack is doing (docs/performance.md,
"100,000 SSE subscribers across api processes", profile).

    perf record -a -g -o perf.data -- sleep 10        # during an sse_fleet run's nudges
    perf script -i perf.data -F comm,pid,tid,ip,sym --no-inline > perf.txt
    python3 crates/bench/scripts/perf_groups.py perf.txt API_PID[,API_PID...]

The first matching rule names a sample's group (kernel stacks are complete; user stacks
are the leaf symbol only: release builds keep no frame pointers)."""
import collections
import sys

RULES = [
    # (group, any of these in the stack)
    ("kernel: loopback delivery to the reader (softirq inside the sender's send)",
     ("net_rx_action", "process_backlog")),
    ("kernel: TCP transmit (tcp_write_xmit → loopback_xmit)",
     ("__tcp_transmit_skb", "ip_queue_xmit", "dev_queue_xmit", "loopback_xmit")),
    ("kernel: tcp_sendmsg (skb, copy, socket lock)", ("tcp_sendmsg",)),
    ("kernel: send syscall entry/exit, fd lookup", ("__sys_sendto", "__x64_sys_sendto")),
    ("kernel: epoll_wait", ("ep_poll", "epoll_wait")),
    ("kernel: futex (thread park/unpark)", ("futex",)),
    ("kernel: other syscalls", ("do_syscall_64", "entry_SYSCALL")),
]
USER = [
    ("user: tokio Notify/watch wake-up lists", ("notify", "watch")),
    ("user: tokio scheduler (task wake, queue, poll)", ("scheduler", "runtime::task", "coop")),
    ("user: tokio I/O readiness", ("registration", "scheduled_io", "poll_read", "poll_write")),
    ("user: tokio timers", ("time::", "Sleep")),
    ("user: sse (cursor, lean loop, direct pass)", ("sse::",)),
    ("user: libc send wrapper", ("__send", "pthread", "__libc")),
]


def samples(path):
    head, stack = None, []
    for line in open(path, errors="replace"):
        if not line.strip():
            if head:
                yield head, stack
            head, stack = None, []
        elif not line[0].isspace():
            parts = line.split()
            head = (parts[0], next(p for p in parts if "/" in p).split("/")[0])
        else:
            text = line.strip()
            stack.append(text.split(" ", 1)[1] if " " in text else "")
    if head:
        yield head, stack


def group(stack):
    joined = " ".join(stack)
    for name, keys in RULES:
        if any(k in joined for k in keys):
            return name
    leaf = stack[0] if stack else ""
    for name, keys in USER:
        if any(k in leaf for k in keys):
            return name
    return "other"


def main():
    path, pids = sys.argv[1], set(sys.argv[2].split(","))
    counts = collections.Counter(group(s) for (_, pid), s in samples(path) if pid in pids)
    total = sum(counts.values())
    print(f"{total} samples of the api processes")
    for name, n in counts.most_common():
        print(f"{100 * n / total:5.1f} %  {n:6d}  {name}")


if __name__ == "__main__":
    main()
