"""Writing captures back (``pdus -Y ... -w``, ``split``), checked by decoding the outputs
with our pipeline *and* with tshark, which sees only the output file."""

from __future__ import annotations

import collections
import os
import random
import shutil
import struct
import subprocess
import sys

import pytest

import public
from tshark_ref import TSHARK, tshark_args

from mmsanalyze import writeback
from mmsanalyze.api import read_capture
from mmsanalyze.cli import main
from mmsanalyze.writeback import safe_name, split_capture, write_filtered

needs_public = pytest.mark.skipif(not public.available(), reason="../shared/captures/public is absent")
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")


def _packet_ids(path) -> list:
    """epb_packetid of every EPB of one of our output files (little-endian, one section)."""
    data = open(path, "rb").read()
    pos, ids = 0, []
    while pos + 12 <= len(data):
        btype, tlen = struct.unpack_from("<II", data, pos)
        if btype == 6:
            caplen = struct.unpack_from("<I", data, pos + 20)[0]
            p, end, pid = pos + 28 + ((caplen + 3) & ~3), pos + tlen - 4, None
            while p + 4 <= end:
                code, ln = struct.unpack_from("<HH", data, p)
                if code == 0:
                    break
                if code == 5:
                    pid = struct.unpack_from("<Q", data, p + 4)[0]
                p += 4 + ((ln + 3) & ~3)
            ids.append(pid)
        pos += tlen
    return ids


def _key(r):
    return (r.time, r.src, r.sport, r.dst, r.dport, r.pdu, r.service, r.invoke_id, r.raw)


#: What tshark says of each MMS frame: PDU types, invokeIDs, services, names (lists when a
#: frame carries several PDUs).  Fields, not PDML: a tenth of the time on large captures.
MMS_FIELDS = ["mms.confirmed_RequestPDU_element", "mms.confirmed_ResponsePDU_element",
              "mms.confirmed_ErrorPDU_element", "mms.unconfirmed_PDU_element", "mms.rejectPDU_element",
              "mms.cancel_RequestPDU", "mms.cancel_ResponsePDU", "mms.cancel_ErrorPDU_element",
              "mms.initiate_RequestPDU_element", "mms.initiate_ResponsePDU_element",
              "mms.initiate_ErrorPDU_element", "mms.conclude_RequestPDU_element",
              "mms.conclude_ResponsePDU_element", "mms.conclude_ErrorPDU_element", "mms.invokeID",
              "mms.originalInvokeID", "mms.confirmedServiceRequest", "mms.confirmedServiceResponse",
              "mms.unconfirmedService", "mms.domainId", "mms.itemId"]


def _tshark_pdus(path, ports, preset, remap=None) -> list:
    """One row per frame tshark decodes MMS in: (source frame, MMS_FIELDS values)."""
    args = tshark_args(path, ports, preset) + ["-Y", "mms", "-T", "fields", "-E", "separator=|",
                                               "-E", "occurrence=a", "-e", "frame.number"]
    for f in MMS_FIELDS:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        number, *vals = line.split("|")
        rows.append((remap[int(number) - 1] if remap is not None else int(number), *vals))
    return sorted(rows)


def _tshark_default(path, remap=None) -> list:
    """tshark_mms with tshark's default preferences (a filtered file has sequence holes)."""
    from tshark_ref import parse_pdml
    proc = subprocess.Popen([TSHARK, "-n", "-r", str(path), "-Y", "mms", "-T", "pdml"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        pdus = parse_pdml(proc.stdout)
    finally:
        proc.stdout.close()
        proc.wait()
    return [(remap[p["frame"] - 1] if remap is not None else p["frame"], p["pdu"], p["service"],
             p["invoke_id"], tuple(p["variables"]), str(p["error"])) for p in pdus]


def _ports(name):
    return (102,) + public.ports(name)


MMS_CAPTURES = [n for n in public.captures() if n.startswith(("mms", "iso9506", "iccp"))]


@needs_public
@needs_tshark
@pytest.mark.parametrize("name", MMS_CAPTURES)
def test_split_by_association_keeps_every_pdu_and_decodes_alone(name, tmp_path):
    src = public.path(name)
    cap = read_capture(src, ports=_ports(name))
    if not cap.records:
        pytest.skip("no MMS PDU in this capture")
    files = split_capture(src, "association", tmp_path, _ports(name))
    assert files and all(os.path.dirname(f["path"]) == str(tmp_path) for f in files)
    # our decoder: the union of the outputs' PDUs is exactly the original's
    got = collections.Counter()
    for f in files:
        got.update(_key(r) for r in read_capture(f["path"], ports=_ports(name)).records)
    assert got == collections.Counter(_key(r) for r in cap.records)
    assert sum(f["pdus"] for f in files) == len(cap.records)
    # tshark, on each output alone (no users-context preset unless the original needed it:
    # a missing association set-up would leave tshark unable to find MMS)
    preset = public.midassoc(name)
    theirs = []
    for f in files:
        theirs += _tshark_pdus(f["path"], public.ports(name), preset, _packet_ids(f["path"]))
    expected = _tshark_pdus(src, public.ports(name), preset)
    assert expected or public.manifest_int(name, "mms") == 0
    assert sorted(theirs) == expected


def _tshark_rows(path, fields, preset=False):
    # tshark's default preferences (4.0: tcp.reassemble_out_of_order FALSE).  A filtered file
    # leaves out the segments of the other PDUs, so its sequence numbers have holes (as with
    # tshark -Y ... -w); with out-of-order reassembly on, tshark would wait for them.
    args = [TSHARK, "-n", "-2", "-r", str(path), "-T", "fields", "-E", "separator=|", "-E", "occurrence=a"]
    if preset:      # the capture starts after the association: tell tshark context 3 is MMS
        args += ["-o", 'uat:pres_context_list:"3","1.0.9506.2.1"']
    for f in fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [dict(zip(fields, line.split("|"))) for line in out.splitlines()]


#: Every public capture with write PDUs
WRITE_CAPTURES = ["mms_goose_sv_robidev_sll_control_reports_dups.pcapng",
                  "mms_goose_sv_robidev_sll_control_reports_dedup.pcapng",
                  "mms_iti_pcapr_reports_identify_write.pcap", "mms_iti_iec61850_write.pcap",
                  "mms_iti_iec_write_two_conns.pcap", "mms_adsc_midassoc_write.pcap",
                  "mms_robidev_sll_midassoc_malformed.pcapng"]
#: tshark's ConfirmedServiceRequest/Response value of write (ISO 9506-2: [5])
TSHARK_WRITE = "5"


@needs_public
@needs_tshark
@pytest.mark.parametrize("name", WRITE_CAPTURES)
def test_filter_write_keeps_every_write_and_only_what_decodes_them(name, tmp_path):
    src = public.path(name)
    out = tmp_path / "w.pcapng"
    assert main(["pdus", src, "-Y", "service == write", "-w", str(out)]) == 0
    # every write request/response tshark sees in the original is in the output, same frame
    fields = ["frame.number", "frame.packet_id", "tcp.len", "tcp.flags.syn", "cotp.type", "ses.type",
              "tcp.stream", "tcp.seq", "tcp.analysis.retransmission",
              "tcp.reassembled_in", "mms.confirmedServiceRequest", "mms.confirmedServiceResponse",
              "mms.initiate_RequestPDU_element", "mms.initiate_ResponsePDU_element", "frame.comment"]
    # with the users-context preset tshark finds every write, also in connections whose
    # association was not captured
    orig = _tshark_rows(src, fields, True)

    def is_write(r):
        return TSHARK_WRITE in (r["mms.confirmedServiceRequest"] + "," + r["mms.confirmedServiceResponse"]).split(",")

    def is_setup(r):
        # handshake, COTP CR/CC, session CONNECT/ACCEPT (AARQ/AARE + initiate)
        return (r["tcp.len"] == "0" or r["cotp.type"] in ("0x0e", "0x0d") or r["ses.type"] in ("13", "14")
                or r["mms.initiate_RequestPDU_element"] or r["mms.initiate_ResponsePDU_element"])

    writes = {r["frame.number"] for r in orig if is_write(r)}
    rows = _tshark_rows(out, fields, True)
    assert writes and writes <= {r["frame.packet_id"] for r in rows}
    # and nothing else: each frame is set-up or carries a write (itself, or as a segment
    # tshark reassembles into a write frame); retransmitted copies included
    by_number = {r["frame.number"]: r for r in rows}

    def needed(r):
        target = by_number.get(r["tcp.reassembled_in"]) if r["tcp.reassembled_in"] else None
        return is_write(r) or is_setup(r) or (target is not None and (is_write(target) or is_setup(target)))

    firsts = {(r["tcp.stream"], r["tcp.seq"]) for r in rows if needed(r)}
    for r in rows:
        assert needed(r) or (r["tcp.analysis.retransmission"] and (r["tcp.stream"], r["tcp.seq"]) in firsts), r
    # without the preset, the output alone decodes every write the original decodes:
    # the association set-up came along
    alone = {r["frame.number"] for r in _tshark_rows(src, fields) if is_write(r)}
    assert alone <= {r["frame.packet_id"] for r in _tshark_rows(out, fields) if is_write(r)}
    assert bool(alone) != public.midassoc(name)
    # the TCP handshake and COTP connection of every connection with a write came along
    streams = {r["tcp.stream"] for r in orig if is_write(r)}
    setup = {r["frame.number"] for r in orig if r["tcp.stream"] in streams and
             (r["tcp.flags.syn"] in ("1", "True") or r["cotp.type"] in ("0x0e", "0x0d"))}
    assert setup <= {r["frame.packet_id"] for r in rows}


@needs_public
@needs_tshark
def test_findings_become_comments_tshark_reads(tmp_path):
    name = "mms_robidev_sll_midassoc_malformed.pcapng"
    src = public.path(name)
    out = tmp_path / "w.pcapng"
    assert main(["pdus", src, "-Y", "service == write", "-w", str(out)]) == 0
    cap = read_capture(src)
    written = _packet_ids(out)
    expected = collections.defaultdict(list)
    for f in cap.findings().itertuples():
        if f.frame in written:
            expected[f.frame].append(f"mmsanalyze [{f.severity}] {f.code}: {f.message}")
    assert expected, "this capture has findings on write frames"
    comments = {int(r["frame.packet_id"]): r["frame.comment"] for r in _tshark_rows(out, ["frame.packet_id", "frame.comment"])}
    for frame, texts in expected.items():
        for t in texts:
            assert t in comments[frame]


@needs_public
def test_split_by_service_groups_responses_with_their_request(tmp_path):
    name = "mms_iti_pcapr_reports_identify_write.pcap"
    src = public.path(name)
    cap = read_capture(src)
    files = split_capture(src, "service", tmp_path)
    names = {f["group"] for f in files}
    req = {(r.stream, r.invoke_id): r.service for r in cap.records if r.pdu == "confirmed-RequestPDU"}
    want = {("service_" + (req.get((r.stream, r.invoke_id)) or r.service or r.pdu.split("-")[0]))
            for r in cap.records}
    assert names == want
    seen = collections.Counter()
    for f in files:
        service = f["group"][len("service_"):]
        recs = read_capture(f["path"]).records
        mine = [r for r in recs if r.pdu not in writeback._SETUP_PDUS or service == "initiate"]
        assert len(mine) == f["pdus"]
        for r in mine:
            assert (r.service or req.get((r.stream, r.invoke_id)) or r.pdu.split("-")[0]) == service
        seen.update(_key(r) for r in mine)
    assert seen == collections.Counter(_key(r) for r in cap.records)
    if shutil.which("tshark"):
        # tshark (default preferences) on each file alone: together they show every PDU
        # tshark finds in the original, at the same source frame
        theirs = set()
        for f in files:
            theirs |= set(_tshark_default(f["path"], _packet_ids(f["path"])))
        assert theirs == set(_tshark_default(src))


@needs_public
def test_split_by_ln_and_safe_names(tmp_path):
    name = "mms_goose_sv_robidev_sll_control_reports_dups.pcapng"
    files = split_capture(public.path(name), "ln", tmp_path)
    groups = {f["group"] for f in files}
    assert "ln_IED1_XCBRGenericIO/CSWI1" in groups
    for f in files:
        assert os.path.dirname(os.path.realpath(f["path"])) == os.path.realpath(tmp_path)
        assert "/" not in os.path.basename(f["path"]) and f["frames"] > 0
        recs = read_capture(f["path"]).records
        if f["group"].startswith("ln_IED1_XCBRGenericIO/"):
            ln = f["group"].split("/", 1)[1]
            names = [v for r in recs if r.decoded() is not None for v in r.decoded().variables]
            assert any(v.split("/", 1)[-1].split("$")[0] == ln for v in names)


@needs_public
@pytest.mark.parametrize("by", ["server", "client"])
def test_split_by_server_and_client_keeps_whole_connections(by, tmp_path):
    name = "mms_goose_iti_sample_mixed_lan.pcap"
    src = public.path(name)
    cap = read_capture(src)
    files = split_capture(src, by, tmp_path)
    side = {"server": lambda c: c.server, "client": lambda c: c.client}[by]
    want = {f"{by}_{side(c)[0]}" + (f"_{side(c)[1]}" if by == "server" else "")
            for s, c in cap.conns.items() if any(r.stream == s for r in cap.records)}
    assert {f["group"] for f in files} >= want
    got = collections.Counter()
    for f in files:
        sub = read_capture(f["path"])
        assert len({side(c)[0] for c in sub.conns.values()}) == 1
        got.update(_key(r) for r in sub.records)
    assert got == collections.Counter(_key(r) for r in cap.records)


def test_safe_name_never_leaves_the_directory():
    for hostile in ("../../etc/passwd", "..", ".", "/abs/path", "a/../../b", "", "\x00\n", "x" * 500):
        s = safe_name(hostile)
        assert s and "/" not in s and not s.startswith(".") and len(s) <= writeback.MAX_NAME
        assert os.path.dirname(os.path.join("/out", s + ".pcapng")) == "/out"


@needs_public
@pytest.mark.parametrize("kind,name", [("goose", "goose_iti_abb_interlocking_vlan.pcap"),
                                       ("goose", "goose_emre_ge_f650_gzip.pcap"),
                                       ("sv", "sv_emre_multistream_noasdu5.pcap")])
def test_split_by_publisher(kind, name, tmp_path):
    src = public.path(name)
    cap = read_capture(src)
    streams = cap.goose_streams() if kind == "goose" else cap.sv_streams()
    table = cap.goose() if kind == "goose" else cap.sv()
    files = split_capture(src, kind, tmp_path)
    assert len(files) == len(streams) > 0
    assert sum(f["frames"] for f in files) == table["frame"].nunique()
    for f in files:
        sub = read_capture(f["path"])
        t = sub.goose() if kind == "goose" else sub.sv()
        assert t["src_mac"].nunique() == 1 and t["appid"].nunique() == 1
        assert len(sub.goose_streams() if kind == "goose" else sub.sv_streams()) == 1


@needs_public
def test_few_open_files_gives_the_same_outputs(tmp_path, monkeypatch):
    name = "mms_goose_sv_robidev_sll_control_reports_dups.pcapng"
    a = split_capture(public.path(name), "association", tmp_path / "a")
    monkeypatch.setattr(writeback, "MAX_OPEN_FILES", 1)
    b = split_capture(public.path(name), "association", tmp_path / "b")
    assert len(a) > 1
    for x, y in zip(a, b):
        assert open(x["path"], "rb").read() == open(y["path"], "rb").read()


@needs_public
def test_cli_split_and_unusable_input(tmp_path, capsys):
    src = public.path("mms_iti_iec_write_two_conns.pcap")
    assert main(["split", src, "--by", "association", "-o", str(tmp_path / "o")]) == 0
    assert len(os.listdir(tmp_path / "o")) == 2
    assert main(["split", str(tmp_path / "missing.pcap"), "--by", "service", "-o", str(tmp_path)]) == 2
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["split", src, "--by", "association", "-o", str(blocker / "sub")]) == 2
    assert main(["pdus", src, "-w", str(tmp_path / "nodir" / "x.pcapng")]) == 2
    copy = tmp_path / "copy.pcap"
    copy.write_bytes(open(src, "rb").read())
    assert main(["pdus", str(copy), "-w", str(copy)]) == 2           # never overwrite the source
    assert open(copy, "rb").read() == open(src, "rb").read()
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("mmsanalyze:") >= 3


@needs_public
@pytest.mark.parametrize("name", ["mms_emre_abb_model_browse.pcapng", "mms_iti_pcapr_reports_identify_write.pcap",
                                  "mms_goose_sv_robidev_sll_control_reports_dups.pcapng"])
def test_exact_and_float_modes_agree_on_damaged_files(name, tmp_path):
    """Cut and bit-flipped files: both reader modes give the same frames (no exception),
    and splitting them never raises."""
    import random
    from mmsanalyze.io import open_capture
    rng = random.Random(17)
    data = open(public.path(name), "rb").read()
    for i in range(6):
        b = bytearray(data[:rng.randrange(len(data) // 3, len(data))])
        for _ in range(rng.randint(0, 40)):
            j = rng.randrange(64, len(b))
            b[j] ^= 1 << rng.randrange(8)
        p = tmp_path / f"d{i}.bin"
        p.write_bytes(bytes(b))
        with open_capture(p) as r1, open_capture(p, exact_ts=True) as r2:
            a, e = list(r1), list(r2)
            assert [(f.number, f.data, f.orig_len, f.linktype) for f in a] == \
                   [(f.number, f.data, f.orig_len, f.linktype) for f in e]
            assert all(abs(fa.ts - fe.ts / r2.interfaces[fe.interface][1]) < 1e-5 for fa, fe in zip(a, e))
        for by in ("association", "service"):
            files = split_capture(p, by, tmp_path / f"o{i}{by}")
            assert all(os.path.exists(f["path"]) for f in files)


# -- the frames of each PDU, against the byte offsets of crafted segments -------------------------

def _pdu_ranges(stream: bytes) -> list:
    """Byte ranges of the COTP SDUs of one direction that carry an MMS PDU.

    Walks the TPKT headers (RFC 1006) of the clean byte stream: an SDU is the DT TPDUs up to
    the one with EOT (ISO 8073 13.7); it carries MMS when its session SPDU is CONNECT (0x0D,
    with the initiate in the AARQ), ACCEPT (0x0E) or GIVE-TOKENS+DATA (0x01).
    """
    out, pos, start = [], 0, None
    while pos + 7 <= len(stream):
        end = pos + (stream[pos + 2] << 8 | stream[pos + 3])
        li, code = stream[pos + 4], stream[pos + 5] & 0xF0
        if code == 0xF0:
            if start is None:
                start, first = pos, stream[pos + 5 + li]
            if stream[pos + 6] & 0x80:
                if first in (0x0D, 0x0E, 0x01):
                    out.append((start, end))
                start = None
        pos = end
    return out


@pytest.mark.skipif(not public.available(), reason="../shared/captures/public is absent")
@pytest.mark.parametrize("variant", ["clean", "small_chunks", "reordered", "coalesced"])
def test_frames_of_each_pdu_are_exactly_its_segments(variant):
    pytest.importorskip("scapy.all")
    from test_stream_edges import build, original_segments, with_offsets
    from mmsanalyze.records import PduRecord
    from mmsanalyze.writeback import FramePipeline
    segs = with_offsets(original_segments())
    rnd = random.Random(5)
    if variant == "small_chunks":
        segs = [(d, off + i, data[i:i + k]) for d, off, data in segs
                for i, k in _cuts(len(data), rnd)]
    elif variant == "reordered":
        segs = list(segs)
        for i in range(0, len(segs) - 1, 3):
            if segs[i][0] == segs[i + 1][0]:
                segs[i], segs[i + 1] = segs[i + 1], segs[i]
    elif variant == "coalesced":
        out = []
        for d, off, data in segs:
            if out and out[-1][0] == d and rnd.random() < 0.7:
                out[-1] = (d, out[-1][1], out[-1][2] + data)
            else:
                out.append((d, off, data))
        segs = out
    frames = build(segs)
    first = len(frames) - len(segs) + 1          # frame number of segs[0] (after SYN, SYN/ACK)
    streams = [b"".join(data for d, _off, data in sorted((s for s in segs if s[0] == k), key=lambda s: s[1]))
               for k in (0, 1)]
    ranges = [_pdu_ranges(streams[0]), _pdu_ranges(streams[1])]
    pipe = FramePipeline()
    recs = []
    for fr in frames:
        recs += [(r, pipe.frames_of.pop(id(r), None)) for r in pipe.feed(fr)]
    recs += [(r, pipe.frames_of.pop(id(r), None)) for r in pipe.finish()]
    pdus = [(r, fs) for r, fs in recs if isinstance(r, PduRecord)]
    for k in (0, 1):
        mine = [(r, fs) for r, fs in pdus if r.direction == k]
        assert len(mine) == len(ranges[k]) > 10
        for (r, fs), (a, b) in zip(mine, ranges[k]):
            want = {first + i for i, (d, off, data) in enumerate(segs)
                    if d == k and off < b and off + len(data) > a}
            assert set(fs) == want, (variant, r.frame, r.service)
    if variant in ("small_chunks", "reordered"):
        assert any(len(fs) > 1 for _r, fs in pdus)


def _cuts(n, rnd):
    i = 0
    while i < n:
        k = rnd.randint(1, 60)
        yield i, k
        i += k


@pytest.mark.skipif(not public.available(), reason="../shared/captures/public is absent")
def test_retransmitted_copies_go_with_their_original():
    pytest.importorskip("scapy.all")
    from test_stream_edges import build, original_segments, with_offsets
    from mmsanalyze.writeback import FramePipeline
    segs = with_offsets(original_segments())
    dup = [s for s in segs for _ in (0, 1)]               # every segment sent twice in a row
    frames = build(dup)
    first = len(frames) - len(dup) + 1
    pipe = FramePipeline()
    for fr in frames:
        pipe.feed(fr)
        pipe.frames_of.clear()
    pipe.finish()
    assert pipe.copies == {first + 2 * i: [first + 2 * i + 1] for i in range(len(segs))}
