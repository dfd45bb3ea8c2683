"""Benchmark of the GOOSE / SV path: decode and analyse a large synthetic capture.

Replicates the 12,000 frames of the public 9-2LE capture
``sv_seapath_92le_50hz_fault_z1.pcap`` (3 s of one merging unit at 4000 frames/s;
smpCnt runs on seamlessly from one copy to the next) to ``--frames`` frames and
measures, for SV:

* ``add``      SvCollector.add() per frame, as the pipeline calls it;
* ``table``    building the one-row-per-ASDU DataFrame (numpy over packed slices);
* ``samples``  decoding every 9-2LE block (np.frombuffer, '>i4', reshape (-1, 16));
* ``streams``  the per-stream analysis (losses, duplicates, order, jitter);

and, with ``--pcap``, the same end to end from a pcap file written here (project
reader + link parser + collector).  A GOOSE figure (GooseCollector.add + table +
streams) uses the QUT substation capture replicated to ``--goose-frames``.

Usage: python bench/bench_l2.py [--frames 1000000] [--pcap] [--goose-frames 100000]
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from mmsanalyze.goose import GooseCollector  # noqa: E402
from mmsanalyze.io import open_capture  # noqa: E402
from mmsanalyze.net.link import parse_link  # noqa: E402
from mmsanalyze.sv import SvCollector  # noqa: E402

PUBLIC = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "shared",
                                       "captures", "public"))
SV_CAPTURE = os.path.join(PUBLIC, "sv_seapath_92le_50hz_fault_z1.pcap")
GOOSE_CAPTURE = os.path.join(PUBLIC, "goose_sv_qutzss_fdi_attack_8232a.pcapng")


def load(path, ethertype):
    out = []
    for fr in open_capture(path):
        et, off, src, dst, vlans, prio = parse_link(fr.linktype, fr.data)
        if et == ethertype:
            out.append((fr.ts, fr.data, off, src, dst, vlans, prio))
    return out


def replicate(frames, n):
    """n frames cycling through ``frames``, each copy shifted by the capture's duration."""
    span = frames[-1][0] - frames[0][0] + (frames[1][0] - frames[0][0])
    k = len(frames)
    for i in range(n):
        ts, data, off, src, dst, vlans, prio = frames[i % k]
        yield i + 1, ts + (i // k) * span, data, off, src, dst, vlans, prio


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def bench_sv(n):
    frames = load(SV_CAPTURE, 0x88BA)
    work = list(replicate(frames, n))       # built before timing: the pipeline's job
    sv = SvCollector()
    add = sv.add

    def feed():
        for w in work:
            add(*w)
    _, t_add = timed(feed)
    table, t_table = timed(sv.table)
    samples, t_samples = timed(sv.samples)
    streams, t_streams = timed(lambda: sv.streams())
    assert len(table) == n and len(samples) == n
    st = streams.iloc[0]
    assert st.lost_samples == 0 and st.out_of_order == 0 and not st.suspicious
    total = t_add + t_table + t_samples + t_streams
    print(f"SV, {n:,} frames (9-2LE, 1 ASDU each):")
    print(f"  add      {t_add:7.3f} s   {t_add / n * 1e6:5.2f} us/frame   {n / t_add:12,.0f} frames/s")
    print(f"  table    {t_table:7.3f} s")
    print(f"  samples  {t_samples:7.3f} s   ({n * 8:,} values)")
    print(f"  streams  {t_streams:7.3f} s")
    print(f"  total    {total:7.3f} s   {n / total:12,.0f} frames/s decoded + analysed")
    return frames


def write_pcap(path, frames, n):
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        rec = struct.Struct("<IIII")
        for _, ts, data, *_ in replicate(frames, n):
            sec = int(ts)
            fh.write(rec.pack(sec, int(round((ts - sec) * 1e6)), len(data), len(data)))
            fh.write(data)


def bench_pcap(frames, n):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "sv_big.pcap")
        _, t_write = timed(lambda: write_pcap(path, frames, n))
        size = os.path.getsize(path)

        def run():
            sv = SvCollector()
            add = sv.add
            for fr in open_capture(path):
                et, off, src, dst, vlans, prio = parse_link(fr.linktype, fr.data)
                if et == 0x88BA:
                    add(fr.number, fr.ts, fr.data, off, src, dst, vlans, prio)
            sv.table()
            sv.samples()
            return sv.streams()
        streams, t = timed(run)
        assert streams.iloc[0].asdus == n
    print(f"SV end to end from a {size / 1e6:.0f} MB pcap (written in {t_write:.1f} s): "
          f"{t:.2f} s, {n / t:,.0f} frames/s (reader + link parser + collector + analysis)")


def bench_goose(n):
    frames = load(GOOSE_CAPTURE, 0x88B8)
    work = list(replicate(frames, n))
    g = GooseCollector()
    add = g.add

    def feed():
        for w in work:
            add(*w)
    _, t_add = timed(feed)
    _, t_table = timed(g.table)
    _, t_streams = timed(g.streams)
    total = t_add + t_table + t_streams
    print(f"GOOSE, {n:,} messages: add {t_add:.3f} s ({t_add / n * 1e6:.2f} us/msg), "
          f"table {t_table:.3f} s, streams {t_streams:.3f} s; "
          f"{n / total:,.0f} messages/s decoded + analysed")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--goose-frames", type=int, default=100_000)
    ap.add_argument("--pcap", action="store_true", help="also run end to end from a pcap file")
    args = ap.parse_args(argv)
    if not os.path.exists(SV_CAPTURE):
        sys.exit(f"public capture not found: {SV_CAPTURE}")
    frames = bench_sv(args.frames)
    if args.pcap:
        bench_pcap(frames, args.frames)
    if args.goose_frames:
        bench_goose(args.goose_frames)


if __name__ == "__main__":
    main()
