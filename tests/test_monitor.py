"""``mmsanalyze monitor``: rolling live health, checked against the offline analysis.

* Every public capture replayed frame by frame through :class:`Monitor` gives the same
  per-stream figures as ``read_capture`` on the whole file (SV ASDUs, lost samples,
  suspicious streams; GOOSE messages, state changes, suspicious publishers; MMS
  requests per server; reports): the monitor folds a second at a time with bounded
  state, so this proves the folding loses nothing.
* Live on a veth pair with replayed merging-unit traffic: periodic text snapshots, an
  alert log as JSON lines, Ctrl-C (SIGINT) prints the final state with exit 0, root is
  dropped before decoding, and the rich dashboard runs in a real terminal (tmux).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

import live_traffic as lt
import public
from mmsanalyze import read_capture
from mmsanalyze.io import open_capture
from mmsanalyze.monitor import MAX_ALERTS, Monitor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
needs_public = pytest.mark.skipif(not public.available(), reason="../shared/captures/public not present")


def replay(name) -> dict:
    m = Monitor(ports=(102,) + public.ports(name))
    with open_capture(public.path(name)) as rd:
        for fr in rd:
            m.feed(fr)
    snap = m.finish()
    snap["_states"] = {k: v[0] for k, v in m.states.items()}
    return snap


@needs_public
def test_simulated_goose_in_the_test_panel():
    snap = replay("mms_goose_emre_iedscout_midassoc.pcapng")
    assert [(t["attribute"], t["value"]) for t in snap["test"]] == [("GOOSE simulation", "63 messages")]
    assert not replay("goose_brogoose_normal1.pcapng")["test"]


@needs_public
@pytest.mark.parametrize("name", public.captures())
def test_replay_equals_offline_analysis(name):
    snap = replay(name)
    cap = read_capture(public.path(name), ports=public.ports(name))
    sv, gs, tx, rp = cap.sv_streams(), cap.goose_streams(), cap.transactions(), cap.reports()
    assert sorted((s["sv_id"], s["src_mac"], s["asdus"], s["lost_samples"], s["out_of_order"],
                   s["suspicious"]) for s in snap["sv"]) == \
        sorted(zip(sv.sv_id, sv.src_mac, sv.asdus, sv.lost_samples, sv.out_of_order,
                   sv.suspicious.astype(bool)))
    assert sorted((g["gocb_ref"], g["src_mac"], g["messages"], g["events"], g["suspicious"])
                  for g in snap["goose"]) == \
        sorted(zip(gs.gocb_ref, gs.src_mac, gs.messages, gs.events, gs.suspicious.astype(bool)))
    sent = Counter()
    for server, client, missing, who in zip(tx.server, tx.client, tx.request_frame.isna(), tx.requester):
        if not missing:
            sent[server if who == "client" else client] += 1
    assert {s["server"]: s["requests"] for s in snap["mms"] if s["requests"]} == dict(sent)
    assert sum(r["reports"] for r in snap["reports"]) == len(rp)
    assert len(snap["alerts"]) <= MAX_ALERTS
    # IED operating state: the latest Mod/Beh/Health/Sim read or reported per LN equals the
    # offline mode tracking's (issue 11); the panel shows those not in plain operation
    st = cap.ied_states()
    latest = {}
    if len(st):
        st = st[st["source"].isin(["read", "report"]) & st["attribute"].isin(["Mod", "Beh", "Health", "Sim"])]
        for r in st.itertuples():
            latest[(r.server, r.ld, r.ln, r.attribute)] = r.value
    assert snap["_states"] == latest


@needs_public
def test_replay_flags_the_attacks_it_should():
    """The deletion and injection captures raise error alerts naming the streams; a
    normal merging unit raises none."""
    deletion = replay("sv_goose_qutzss_sv_deletion_971a.pcapng")
    assert any(a["severity"] == "error" and "deletion" in a["message"] and "66kV1" in a["message"]
               for a in deletion["alerts"])
    injection = replay("sv_goose_qutzss_sv_injection_9111a.pcapng")
    assert any(a["severity"] == "error" and "injection" in a["message"] for a in injection["alerts"])
    normal = replay("sv_seapath_92le_50hz_fault_z1.pcap")
    assert not [a for a in normal["alerts"] if a["severity"] == "error"]


@needs_public
def test_monitor_command_on_a_file():
    r = subprocess.run([sys.executable, "-m", "mmsanalyze", "monitor",
                        public.path("mms_goose_sv_robidev_sll_control_reports_dedup.pcapng")],
                       capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stderr
    for section in ("final state at", "MMS servers", "Reports", "GOOSE publishers", "SV streams"):
        assert section in r.stdout
    assert "IED1_XCBRGenericIO/LLN0$GO$gcbEvents" in r.stdout and "Traceback" not in r.stderr


# -- live ------------------------------------------------------------------------------------

live_only = pytest.mark.skipif(not lt.can_replay(), reason="needs root, tcpreplay, ../shared")


def _frames_with_gap(tmp_path):
    """Three merging units for ~3 s at 4,000 frames/s each; stream 2 skips 30 samples."""
    tpl = lt.sv_template()
    per = 12000
    cols = [lt.stream_frames(k, range(per), tpl) for k in range(2)]
    cols.append(lt.stream_frames(2, [c for c in range(per) if not 6000 <= c < 6030], tpl))
    frames = [f for row in zip(*cols[:2]) for f in row] + cols[2]
    pcap = str(tmp_path / "mu.pcap")
    lt.write_pcap(pcap, frames)
    return pcap, len(frames), per


def _uid_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    raise AssertionError("no Uid line")


@pytest.mark.slow
@pytest.mark.root
@live_only
def test_live_text_snapshots_alerts_and_sigint(tmp_path):
    from l2_publish import veth_pair
    import tempfile
    pcap, total, per = _frames_with_gap(tmp_path)
    alerts = tmp_path / "alerts.jsonl"
    # -w with a ring of 3 files of 2 MB: the files after the first are created after root
    # was dropped, so the directory is one that nobody may write to
    ring = tempfile.mkdtemp(prefix="mmsa-ring-", dir="/tmp")
    os.chmod(ring, 0o777)
    with veth_pair("mo") as (tx, rx):
        proc = subprocess.Popen([sys.executable, "-m", "mmsanalyze", "monitor", "-i", rx,
                                 "-f", "ether proto 0x88ba", "--interval", "1", "--alerts", str(alerts),
                                 "-w", os.path.join(ring, "bay.pcapng"), "-b", "filesize:2000,files:3"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
        time.sleep(5)                         # imports, ring set-up
        uid = _uid_of(proc.pid)
        sent = lt.tcpreplay(tx, pcap, 12000)
        time.sleep(2.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert uid == 65534                       # root dropped once the ring was open
    assert sent["sent"] == total
    assert out.count("--- ") >= 2             # periodic snapshots while running
    final = out[out.index("final state at"):]
    assert "SV streams" in final
    assert "0 dropped by the kernel" in err
    # the final SV table: every ASDU sent was seen; the skipped samples are wire loss
    rows = [line.split() for line in final.splitlines() if line.strip().startswith("AA1J1Q01A1MU0102")]
    assert len(rows) == 3
    by_app = {r[2]: r for r in rows}
    assert by_app["0x4100"][4] == str(per) and by_app["0x4101"][4] == str(per)
    assert by_app["0x4102"][4] == str(per - 30) and by_app["0x4102"][5] == "30"
    assert all(r[6] == "0" for r in rows)         # nothing lost by the capture
    # the ring: at most 3 files kept, each a pcapng our reader and tshark's format accept;
    # every frame captured was written
    files = sorted(os.listdir(ring))
    assert 1 < len(files) <= 3 and all(f.startswith("bay_") and f.endswith(".pcapng") for f in files)
    assert f"wrote {total} frames" in err
    kept = 0
    for f in files:
        with open_capture(os.path.join(ring, f)) as rd:
            kept += sum(1 for _ in rd)
    assert 0 < kept <= total
    shutil.rmtree(ring)
    got = [json.loads(line) for line in alerts.read_text().splitlines()]
    assert any(a["what"] == "sv" and "30 samples lost" in a["message"] and "deletion" in a["message"]
               for a in got)


@pytest.mark.slow
@pytest.mark.root
@live_only
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed (scripts/test.sh installs it)")
def test_dashboard_in_a_real_terminal(tmp_path):
    from l2_publish import veth_pair
    pcap, total, per = _frames_with_gap(tmp_path)
    session = f"mmsa{os.getpid()}"
    with veth_pair("mt") as (tx, rx):
        # the shell stays after the monitor ends, so its last screen can be read
        cmd = (f"cd {REPO} && {sys.executable} -m mmsanalyze monitor -i {rx} -f 'ether proto 0x88ba'"
               "; sleep 60")
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "50", cmd], check=True)
        subprocess.run(["tmux", "resize-window", "-t", session, "-x", "120", "-y", "50"], capture_output=True)
        try:
            time.sleep(5)
            before = _pane(session)
            lt.tcpreplay(tx, pcap, 12000)
            time.sleep(3)
            during = _pane(session)
            (tmp_path / "dashboard.txt").write_text(during)
            subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
            time.sleep(3)
            after = _pane(session)
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    assert "no MMS, GOOSE or SV traffic yet" in before
    assert "SV streams" in during and "frames/s" in during
    assert all(app in during for app in ("0x4100", "0x4101", "0x4102"))
    assert "final state at" in after


def _pane(session) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True,
                          text=True).stdout
