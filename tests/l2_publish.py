"""Test helpers for the layer-2 process bus: libiec61850 publishers, a veth pair,
a tcpdump capture, and feeding a capture file to the GOOSE / SV / L2 collectors.

The publishers drive libiec61850 (pyiec61850-ng's SWIG module) directly, one
call per frame, so a test knows exactly what went on the wire.  Frames are
captured by tcpdump on the other end of a veth pair (independent of our own
live reader) and read back with the project's reader.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time

from mmsanalyze.io import open_capture
from mmsanalyze.net.ip import FragmentReassembler, parse_ipv4, parse_ipv6, parse_udp
from mmsanalyze.net.link import ETH_8023, parse_link

try:
    import pyiec61850.pyiec61850 as iec
except ImportError:  # pragma: no cover - the test extra installs it
    iec = None

TCPDUMP = shutil.which("tcpdump")
#: Pause after each SV frame: a veth pair drops frames sent back to back faster
#: than the capturing side drains them (measured: half lost without a pause).
PACE_S = 0.0005
IP = shutil.which("ip")


def can_publish() -> bool:
    """Root, ip(8), tcpdump and libiec61850 are all there."""
    return os.geteuid() == 0 and iec is not None and bool(TCPDUMP) and bool(IP)


# --- link and capture -------------------------------------------------------------------

@contextlib.contextmanager
def veth_pair(tag: str = "l2"):
    """Create ``(tx, rx)``, a fresh veth pair (names unique per process); deleted afterwards."""
    base = f"{tag}{os.getpid() % 100000}"
    tx, rx = base + "a", base + "b"
    subprocess.run([IP, "link", "add", tx, "type", "veth", "peer", "name", rx], check=True)
    try:
        for dev in (tx, rx):
            subprocess.run([IP, "link", "set", dev, "up"], check=True)
        yield tx, rx
    finally:
        subprocess.run([IP, "link", "del", tx], check=False, stderr=subprocess.DEVNULL)


@contextlib.contextmanager
def tcpdump(iface: str, path: str):
    """Capture everything on ``iface`` into ``path`` while the block runs.

    ``--immediate-mode`` so no frame waits in a TPACKET_V3 block when tcpdump is
    stopped, a 32 MiB buffer so bursts are not dropped; the block starts once
    tcpdump says it is listening.  Yields the process; ``proc.stats`` is set to
    tcpdump's closing statistics (captured / dropped) afterwards.
    """
    proc = subprocess.Popen([TCPDUMP, "-i", iface, "-w", path, "-U", "-n", "--immediate-mode",
                             "-B", "32768"], stderr=subprocess.PIPE)
    try:
        proc.stderr.readline()          # "listening on ..."
        time.sleep(0.3)
        yield proc
        time.sleep(0.3)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:   # pragma: no cover
            proc.kill()
            proc.wait()
        proc.stats = proc.stderr.read().decode(errors="replace")


def iface_mac(iface: str) -> str:
    with open(f"/sys/class/net/{iface}/address") as fh:
        return fh.read().strip()


# --- publishers ---------------------------------------------------------------------------

def _comm(appid: int, dst: bytes, vlan_id: int, vlan_priority: int):
    cp = iec.CommParameters()
    cp.appId = appid
    cp.vlanId = vlan_id
    cp.vlanPriority = vlan_priority
    iec.CommParameters_setDstAddress(cp, *dst)
    return cp


class GoosePub:
    """One libiec61850 GoosePublisher.  ``vlan`` = (id, priority) or None for untagged.

    libiec61850 behaviour the tests rely on: stNum starts at 1 and sqNum at 0;
    every publish sends sqNum then increments it; increaseStNum() sets t (ms
    resolution) and resets sqNum to 0; goID defaults to gocbRef.
    """

    def __init__(self, iface, appid, gocb_ref, dat_set, go_id=None, conf_rev=1, tal=1000,
                 dst=b"\x01\x0c\xcd\x01\x00\x01", vlan=None, simulation=False, nds_com=False):
        vid, prio = vlan if vlan is not None else (0, 4)
        self._cp = _comm(appid, dst, vid, prio)
        self.pub = iec.GoosePublisher_createEx(self._cp, iface, vlan is not None)
        if not self.pub:
            raise RuntimeError(f"GoosePublisher_createEx failed on {iface}")
        iec.GoosePublisher_setGoCbRef(self.pub, gocb_ref)
        iec.GoosePublisher_setDataSetRef(self.pub, dat_set)
        if go_id is not None:
            iec.GoosePublisher_setGoID(self.pub, go_id)
        iec.GoosePublisher_setConfRev(self.pub, conf_rev)
        iec.GoosePublisher_setTimeAllowedToLive(self.pub, tal)
        iec.GoosePublisher_setSimulation(self.pub, simulation)
        iec.GoosePublisher_setNeedsCommission(self.pub, nds_com)
        self._lists = []

    def publish(self, values) -> None:
        lst = iec.LinkedList_create()
        mvs = []
        for v in values:
            if isinstance(v, bool):
                mv = iec.MmsValue_newBoolean(v)
            elif isinstance(v, int):
                mv = iec.MmsValue_newIntegerFromInt32(v)
            elif isinstance(v, float):
                mv = iec.MmsValue_newFloat(v)
            else:
                mv = iec.MmsValue_newVisibleString(v)
            iec.LinkedList_add(lst, mv)
            mvs.append(mv)
        rc = iec.GoosePublisher_publish(self.pub, lst)
        self._lists.append((lst, mvs))     # freed in close()
        if rc != 0:
            raise RuntimeError(f"GoosePublisher_publish returned {rc}")

    def increase_st_num(self) -> None:
        iec.GoosePublisher_increaseStNum(self.pub)

    def set_st_num(self, st: int) -> None:
        iec.GoosePublisher_setStNum(self.pub, st)

    def set_sq_num(self, sq: int) -> None:
        iec.GoosePublisher_setSqNum(self.pub, sq)

    def close(self) -> None:
        # the SWIG binding cannot pass MmsValue_delete as a C callback to
        # LinkedList_destroyDeep: free the values we kept, then the lists
        for lst, mvs in self._lists:
            for mv in mvs:
                iec.MmsValue_delete(mv)
            iec.LinkedList_destroyStatic(lst)   # LinkedList_destroy would free() the values again
        self._lists.clear()
        if self.pub:
            iec.GoosePublisher_destroy(self.pub)
            self.pub = None


class SvPub:
    """One libiec61850 SVPublisher with ``len(sv_ids)`` 9-2LE ASDUs per frame.

    Each ASDU holds eight (INT32 value, 32-bit quality) pairs -- the 64-octet
    9-2LE seqData.  smpSynch is written after setupComplete (libiec61850 keeps a
    pointer into the frame buffer for it).
    """

    def __init__(self, iface, appid, sv_ids, conf_rev=1, smp_rate=None, smp_synch=None,
                 dst=b"\x01\x0c\xcd\x04\x00\x01", vlan=None, dat_set=None):
        vid, prio = vlan if vlan is not None else (0, 4)
        self._cp = _comm(appid, dst, vid, prio)
        self.pub = iec.SVPublisher_createEx(self._cp, iface, vlan is not None)
        if not self.pub:
            raise RuntimeError(f"SVPublisher_createEx failed on {iface}")
        self.asdus = []
        for sv_id in sv_ids:
            a = iec.SVPublisher_addASDU(self.pub, sv_id, dat_set, conf_rev)
            offs = [(iec.SVPublisher_ASDU_addINT32(a), iec.SVPublisher_ASDU_addQuality(a))
                    for _ in range(8)]
            if smp_rate is not None:
                iec.SVPublisher_ASDU_setSmpRate(a, smp_rate)
            self.asdus.append((a, offs))
        iec.SVPublisher_setupComplete(self.pub)
        if smp_synch is not None:
            for a, _ in self.asdus:
                iec.SVPublisher_ASDU_setSmpSynch(a, smp_synch)

    def publish(self, smp_cnts, values, qualities=None) -> None:
        """One frame: ASDU i gets smpCnt ``smp_cnts[i]`` and the 8 ints ``values[i]``."""
        for i, (a, offs) in enumerate(self.asdus):
            for k, (vo, qo) in enumerate(offs):
                iec.SVPublisher_ASDU_setINT32(a, vo, int(values[i][k]))
                iec.SVPublisher_ASDU_setQuality(a, qo, int(qualities[i][k]) if qualities else 0)
            iec.SVPublisher_ASDU_setSmpCnt(a, smp_cnts[i])
        iec.SVPublisher_publish(self.pub)
        time.sleep(PACE_S)

    def close(self) -> None:
        if self.pub:
            iec.SVPublisher_destroy(self.pub)
            self.pub = None


# --- reading a capture into the collectors -----------------------------------------------

def feed_capture(path, goose=None, sv=None, l2=None) -> int:
    """Feed every frame of ``path`` (project reader + link parser) to the collectors.

    GOOSE / SV frames go to ``goose.add`` / ``sv.add``; UDP datagrams (IPv4/IPv6,
    fragments reassembled) to ``l2.add_udp`` and 802.2 LLC frames to ``l2.add_llc``.
    Returns the number of frames read.
    """
    frag = FragmentReassembler()
    n = 0
    for fr in open_capture(path):
        n += 1
        data = fr.data
        try:
            et, off, smac, dmac, vlans, prio = parse_link(fr.linktype, data)
        except Exception:
            continue
        if et == 0x88B8:
            if goose is not None:
                goose.add(fr.number, fr.ts, data, off, smac, dmac, vlans, prio)
        elif et == 0x88BA:
            if sv is not None:
                sv.add(fr.number, fr.ts, data, off, smac, dmac, vlans, prio)
        elif l2 is None:
            continue
        elif et == ETH_8023:
            l2.add_llc(fr.number, fr.ts, data, off, fr.orig_len)
        elif et in (0x0800, 0x86DD):
            try:
                parse = parse_ipv4 if et == 0x0800 else parse_ipv6
                src, dst, proto, poff, pend, fi, _cut = parse(data, off)
                if fi is not None:
                    whole = frag.add((src, dst, proto, fi[0]), fi[1], fi[2], data[poff:pend],
                                     fr.ts, fr.number)
                    if whole is None:
                        continue
                    data, poff, pend = whole, 0, len(whole)
                if proto == 17:
                    sport, dport, uoff, uend = parse_udp(data, poff, pend)
                    l2.add_udp(fr.number, fr.ts, sport, dport, data[uoff:uend], smac, dmac,
                               vlans, prio, fr.orig_len)
            except Exception:
                continue
    return n


def capture_frames(paths, ethertype: int, per_file: int) -> list:
    """``(linktype, data)`` of the first ``per_file`` frames of ``ethertype`` in each capture."""
    out = []
    for path in paths:
        n = 0
        for fr in open_capture(path):
            try:
                et, _off, *_ = parse_link(fr.linktype, fr.data)
            except Exception:
                continue
            if et == ethertype:
                out.append((fr.linktype, fr.data))
                n += 1
                if n >= per_file:
                    break
    return out
