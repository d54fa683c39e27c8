#!/usr/bin/env python3
"""User-space network impairment for impaired.pcap (the kernel here has no netem).

Runs in the bridge namespace and forwards Ethernet frames between two veths with AF_PACKET
sockets. For IPv4/TCP frames a seeded PRNG drops ~3%, delays ~5% by 5-40 ms (so they arrive
after later frames: reordering) and duplicates ~2%; TCP on both ends then retransmits for
real. Other frames (ARP) pass untouched. Veth checksum offload leaves TCP checksums partial
in frames read from a packet socket, and frames written to one are checked by the receiver,
so the TCP checksum is recomputed before forwarding.

For vlan.pcap (this kernel has no 802.1Q module, so no VLAN sub-interface can be made) it
also acts as a switch's SPAN port on a trunk: with --mirror IF --mirror-vlan ID every frame it
forwards is also written to IF with an 802.1Q tag inserted, and tcpdump listens on IF's peer.
Use --no-impair there so the traffic itself is clean.

Usage: impair.py IF_A IF_B --seed N --max-seconds S --stop-file F --stats-file F
                 [--no-impair] [--mirror IF --mirror-vlan ID]
Stops by itself after S seconds or when the stop file appears.
"""
import argparse
import array
import heapq
import json
import os
import random
import select
import socket
import struct
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
DROP, DELAY, DUPLICATE = 0.03, 0.05, 0.02


def ones_complement_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(array.array("H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def fix_tcp_checksum(frame: bytearray) -> None:
    """Recompute the IPv4 TCP checksum in place (byte-order independent sum, RFC 1071)."""
    ihl = (frame[14] & 0x0F) * 4
    total_len = struct.unpack_from("!H", frame, 16)[0]
    tcp_start = 14 + ihl
    tcp_len = total_len - ihl
    if tcp_len < 20 or tcp_start + tcp_len > len(frame):
        return
    frame[tcp_start + 16:tcp_start + 18] = b"\0\0"
    pseudo = bytes(frame[26:34]) + struct.pack("!BBH", 0, 6, tcp_len)
    s = ones_complement_sum(pseudo + bytes(frame[tcp_start:tcp_start + tcp_len]))
    struct.pack_into("=H", frame, tcp_start + 16, ~s & 0xFFFF)


def is_ipv4_tcp(frame: bytes) -> bool:
    return len(frame) >= 34 and frame[12:14] == b"\x08\x00" and frame[23] == 6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("if_a")
    ap.add_argument("if_b")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-seconds", type=float, default=120)
    ap.add_argument("--stop-file", required=True)
    ap.add_argument("--stats-file", required=True)
    ap.add_argument("--no-impair", action="store_true")
    ap.add_argument("--mirror")
    ap.add_argument("--mirror-vlan", type=int, default=100)
    args = ap.parse_args()
    drop, delay, duplicate = (0.0, 0.0, 0.0) if args.no_impair else (DROP, DELAY, DUPLICATE)
    mirror = None
    if args.mirror:
        mirror = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        mirror.bind((args.mirror, 0))
    vlan_tag = b"\x81\x00" + struct.pack("!H", args.mirror_vlan & 0x0FFF)

    def send(out, frame) -> None:
        out.send(frame)
        if mirror is not None:
            mirror.send(bytes(frame[:12]) + vlan_tag + bytes(frame[12:]))

    rng = random.Random(args.seed)
    socks = {}
    for name in (args.if_a, args.if_b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        s.setblocking(False)
        socks[name] = s
    other = {args.if_a: socks[args.if_b], args.if_b: socks[args.if_a]}
    by_fd = {s.fileno(): name for name, s in socks.items()}
    stats = {"forwarded": 0, "dropped": 0, "delayed": 0, "duplicated": 0, "tooBig": 0}
    delayed = []  # heap of (release time, seq, socket, frame); bounded below
    seq = 0
    deadline = time.monotonic() + args.max_seconds

    while time.monotonic() < deadline and not os.path.exists(args.stop_file):
        timeout = 0.05
        if delayed:
            timeout = max(0.0, min(timeout, delayed[0][0] - time.monotonic()))
        ready, _, _ = select.select(list(socks.values()), [], [], timeout)
        for s in ready:
            name = by_fd[s.fileno()]
            for _ in range(64):
                try:
                    frame, addr = s.recvfrom(65535)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue  # our own transmissions on this interface
                out = other[name]
                if len(frame) > 1514:
                    stats["tooBig"] += 1  # a GSO super-frame cannot be written to the wire
                    continue
                if not is_ipv4_tcp(frame):
                    send(out, frame)
                    continue
                buf = bytearray(frame)
                fix_tcp_checksum(buf)
                r = rng.random()
                if r < drop:
                    stats["dropped"] += 1
                    continue
                if r < drop + delay and len(delayed) < 1000:
                    stats["delayed"] += 1
                    seq += 1
                    heapq.heappush(delayed, (time.monotonic() + rng.uniform(0.005, 0.040), seq, out, bytes(buf)))
                    continue
                send(out, buf)
                stats["forwarded"] += 1
                if r < drop + delay + duplicate:
                    stats["duplicated"] += 1
                    send(out, buf)
        now = time.monotonic()
        while delayed and delayed[0][0] <= now:
            _, _, out, frame = heapq.heappop(delayed)
            send(out, frame)
    with open(args.stats_file, "w") as f:
        json.dump(stats, f)


if __name__ == "__main__":
    main()
