"""Security posture (``Capture.security()``, ``mmsanalyze security``) against independent truth.

* libiec61850 scenarios (tests/iec): what the client did (password or not, which
  source address, every request with its invokeID) is the truth; the frame of each
  request comes from tshark (TCP source port + invokeID), never from mmsanalyze.
* public captures: the GOOSE attacks and their injection frames (MANIFEST), the MMS
  peer with a public address, an ISO stack on port 10002; the source MACs of the
  evidence frames come from tshark.
* a real TLS 1.2 / 1.3 session (OpenSSL) on 3782: versions, cipher suite and
  certificate subject as tshark decodes them.
* the nftables export is loaded by nft itself (``nft -c -f``, then into a scratch
  network namespace and listed back as JSON) and must allow exactly the observed flows.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import public  # noqa: E402

from mmsanalyze.analysis import security as S  # noqa: E402
from mmsanalyze.api import read_capture  # noqa: E402

TSHARK = shutil.which("tshark")
NFT = shutil.which("nft")
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
need_public = pytest.mark.skipif(not public.available(), reason="public captures not present (../shared)")
need_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark not installed")


def _cli(*args, check=True):
    r = subprocess.run([sys.executable, "-m", "mmsanalyze", *args], capture_output=True, text=True,
                       cwd=str(Path(__file__).resolve().parent.parent))
    if check:
        assert r.returncode == 0, r.stderr
    return r


def _fields(pcap, display_filter, *fields, extra=()):
    cmd = [TSHARK, "-n", "-r", str(pcap), *extra, "-Y", display_filter, "-T", "fields", "-E", "occurrence=f"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def _of(findings, code):
    return findings[findings["code"] == code]


# -- unit level ----------------------------------------------------------------------------

def test_mask_never_shows_the_whole_password():
    for pw in ("a", "ab", "secret", "harness-Pa55word"):
        m = S.mask(pw)
        assert pw not in m and len(m) == len(pw)
    assert S.mask("secret").startswith("s") and set(S.mask("secret")[1:]) == {"*"}


def test_allowlist_csv_round_trip_and_errors():
    rules = S.parse_allowlist("client,server,port,comment\n10.0.0.11,10.0.0.2,102,SCADA -> IED1\n"
                              "# a comment\n10.0.1.0/24,10.0.0.3,,engineering LAN\n")
    assert len(rules) == 2
    assert rules[0].matches("10.0.0.11", "10.0.0.2", 102) and not rules[0].matches("10.0.0.12", "10.0.0.2", 102)
    assert not rules[0].matches("10.0.0.11", "10.0.0.2", 3782)
    assert rules[1].matches("10.0.1.77", "10.0.0.3", 102) and rules[1].matches("10.0.1.77", "10.0.0.3", 3782)
    assert not rules[1].matches("10.0.2.1", "10.0.0.3", 102)
    for bad in ("10.0.0.1\n", "nonsense,10.0.0.2,102\n", "10.0.0.1,10.0.0.2,99999\n"):
        with pytest.raises(ValueError, match="row 1"):
            S.parse_allowlist(bad)


def test_cli_bad_allowlist_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "allow.csv"
    bad.write_text("client,server,port\nnot-an-address,10.0.0.2,102\n")
    r = _cli("security", "--allow", str(bad), str(tmp_path / "missing.pcap"), check=False)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


# -- TLS on 3782 ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tls_pcaps(tmp_path_factory):
    import tls_session
    if not tls_session.available():
        pytest.skip("openssl CLI not installed")
    d = tmp_path_factory.mktemp("tls")
    cert, key = tls_session.make_cert(d)
    out = {}
    for name, v in (("1.2", ssl.TLSVersion.TLSv1_2), ("1.3", ssl.TLSVersion.TLSv1_3)):
        path = d / f"tls{name}.pcap"
        tls_session.write_pcap(path, tls_session.tls_flights(cert, key, v))
        out[name] = path
    return out


@need_tshark
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_tls_handshake_metadata_as_tshark_reads_it(tls_pcaps, version):
    pcap = tls_pcaps[version]
    findings, matrix = read_capture(pcap).security()
    assert list(matrix["transport"]) == ["tls"] and matrix.loc[0, "port"] == 3782
    assert matrix.loc[0, "tls_version"] == f"TLS {version}"
    tls = _of(findings, "authentication.tls")
    assert len(tls) == 1
    msg = tls.iloc[0]["message"]
    dec = ["-d", "tcp.port==3782,tls"]
    ch = _fields(pcap, "tls.handshake.type == 1", "frame.number", extra=dec)
    sh = _fields(pcap, "tls.handshake.type == 2", "frame.number", "tls.handshake.ciphersuite", extra=dec)
    assert [int(ch[0][0]), int(sh[0][0])] == tls.iloc[0]["frames"][:2]
    assert f"cipher suite 0x{int(sh[0][1], 16):04x}" in msg
    assert f"negotiated TLS {version}" in msg
    certs = _fields(pcap, "tls.handshake.type == 11", "frame.number", "x509sat.uTF8String", extra=dec)
    if version == "1.2":
        assert certs, "tshark sees the certificate of a TLS 1.2 handshake"
        cn = certs[0][1]                   # first uTF8String of the subject/issuer: the CN
        assert f"certificate subject 'CN={cn}, O=Example Utility'" in msg
    else:
        assert not certs and "certificate encrypted" in msg
    assert not len(findings[findings["severity"] != "info"]), findings


@need_public
def test_iso_in_clear_on_the_tls_port(tmp_path):
    """A real MMS session with its server port rewritten to 3782 (written to a file only)."""
    from scapy.all import TCP, rdpcap, wrpcap
    pkts = rdpcap(public.path("mms_iti_iec61850_read.pcap"))
    for p in pkts:
        if TCP in p:
            for f in ("sport", "dport"):
                if getattr(p[TCP], f) == 102:
                    setattr(p[TCP], f, 3782)
            del p[TCP].chksum
    path = tmp_path / "mms_on_3782.pcap"
    wrpcap(str(path), pkts)
    findings, matrix = read_capture(path).security()
    row = _of(findings, "exposure.clear_on_tls_port")
    assert len(row) == 1 and row.iloc[0]["subject"].endswith(":3782")
    assert list(matrix["transport"]) == ["iso-tcp"]
    # decoded as ISO-on-TCP it is MMS in clear on 3782 all the same
    findings, matrix = read_capture(path, ports=(3782,)).security()
    assert list(matrix["transport"]) == ["mms"] and len(_of(findings, "exposure.clear_on_tls_port")) == 1


# -- public captures ----------------------------------------------------------------------------

@need_public
def test_public_address_peer():
    """The one public capture with a globally routable MMS peer (MANIFEST: robidev, server side)."""
    name = "mms_robidev_server_to_client_only_midassoc.pcap"
    findings, matrix = read_capture(public.path(name)).security()
    pub = _of(findings, "exposure.public_address")
    assert len(pub) == 1 and "204.254.125.152" in pub.iloc[0]["message"]
    assert pub.iloc[0]["severity"] == "high" and pub.iloc[0]["frames"] == [1]
    assert matrix["public"].tolist() == [True]
    # mid-association: the authentication is unknown, so nothing is claimed about it
    assert matrix.loc[0, "auth"] == ["unknown"] and not len(_of(findings, "authentication.none"))


@need_public
def test_private_peers_are_not_public():
    findings, matrix = read_capture(public.path("mms_goose_sv_robidev_sll_control_reports_dups.pcapng")).security()
    assert not matrix["public"].any() and not len(_of(findings, "exposure.public_address"))


#: MANIFEST: frame of the first injected message (attack2: the injected new state follows at 22).
ATTACKS = {"goose_brogoose_attack1_poison.pcapng": 6, "goose_brogoose_attack2_poison_statechange.pcapng": 22,
           "goose_brogoose_attack3_poison_newstate.pcapng": 6, "goose_brogoose_attack4_poison_race.pcapng": 21}


@need_public
@need_tshark
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_goose_attacks_attributed_to_the_injecting_mac(name):
    findings, _ = read_capture(public.path(name)).security()
    bad = findings[findings["group"] == "process-bus"]
    bad = bad[bad["severity"] != "info"]
    assert list(bad["code"]) == ["process-bus.goose_anomaly"]
    row = bad.iloc[0]
    frames = row["frames"]
    assert ATTACKS[name] in frames and min(frames) >= ATTACKS[name]
    rows = _fields(public.path(name), "goose", "frame.number", "eth.src")
    macs = {m for f, m in rows if int(f) in frames}
    assert len(frames) == len([f for f, _ in rows if int(f) in frames])
    assert macs == {row["subject"]}          # the injector spoofs the publisher's MAC: it is the one seen


@need_public
@need_tshark
def test_fdi_attack_attributed_to_the_attacked_feeder_publisher():
    name = "goose_sv_qutzss_fdi_attack_8232a.pcapng"
    findings, _ = read_capture(public.path(name)).security()
    bad = _of(findings, "process-bus.goose_anomaly")
    assert len(bad) == 1
    rows = _fields(public.path(name), 'goose.gocbRef == "QUTZS_FDRPIOC/LLN0$GO$gcb_1"', "frame.number", "eth.src",
                   "goose.stNum")
    assert {r[1] for r in rows} == {bad.iloc[0]["subject"]}
    # evidence: the injected state changes and their withdrawals = the frames where stNum changes
    changes = [int(r[0]) for a, r in zip(rows, rows[1:]) if r[2] != a[2]]
    assert bad.iloc[0]["frames"] == changes


@need_public
@pytest.mark.parametrize("name", ["sv_goose_qutzss_sv_injection_9111a.pcapng",
                                  "sv_goose_qutzss_sv_deletion_971a.pcapng"])
def test_sv_attacks_attributed_to_the_merging_unit(name):
    findings, _ = read_capture(public.path(name)).security()
    bad = findings[(findings["group"] == "process-bus") & (findings["severity"] != "info")]
    assert list(bad["code"]) == ["process-bus.sv_anomaly"]
    assert bad.iloc[0]["subject"] == "20:17:01:16:f2:54" and "APPID 0x4001" in bad.iloc[0]["message"]
    assert bad.iloc[0]["frames"]


@need_public
@pytest.mark.parametrize("name", ["goose_brogoose_normal1.pcapng", "goose_brogoose_normal2_statechange.pcapng",
                                  "goose_brogoose_normal3_manychanges.pcapng", "sv_dina_92le_60hz_normal.pcap"])
def test_normal_process_bus_not_flagged(name):
    findings, _ = read_capture(public.path(name)).security()
    assert not len(findings[findings["severity"] != "info"]), findings


@need_public
def test_rgoose_without_hmac():
    findings, _ = read_capture(public.path("rgoose_ctsamples_ge_ur_routable_goose.pcap")).security()
    r = _of(findings, "process-bus.routable_no_hmac")
    assert len(r) == 1 and r.iloc[0]["count"] == 11          # MANIFEST: 11 R-GOOSE frames, key id 0


@need_public
def test_iso_tsap_on_another_port():
    name = "iccp_rustyiccp_sll2_port10002.pcap"
    findings, matrix = read_capture(public.path(name)).security()
    r = _of(findings, "exposure.iso_tsap_port")
    assert len(r) == 1 and r.iloc[0]["count"] == 2 and "--port 10002" in r.iloc[0]["message"]
    findings, matrix = read_capture(public.path(name), ports=(10002,)).security()
    assert len(_of(findings, "exposure.nonstandard_port")) == 1 and not len(_of(findings, "exposure.iso_tsap_port"))


@need_public
@need_tshark
@pytest.mark.parametrize("name,code,service", [
    ("iso9506_iti_mms-deleteProgramInvocation.pcap", "operations.program_invocation", "deleteProgramInvocation"),
    ("iso9506_iti_mms-killRequest.pcap", "operations.program_invocation", "kill"),
    ("iso9506_iti_mms-initiateDownloadSequence.pcap", "operations.domain_change", "initiateDownloadSequence"),
    ("mms_adsc_libiec61850_fileRename.pcap", "operations.file_change", "fileRename")])
def test_dangerous_services_in_public_captures(name, code, service):
    findings, _ = read_capture(public.path(name)).security()
    r = _of(findings, code)
    assert len(r) == 1 and service in r.iloc[0]["message"]
    # tshark: ConfirmedServiceRequest CHOICE numbers (ISO 9506-2)
    number = {"deleteProgramInvocation": "39", "kill": "44", "initiateDownloadSequence": "26", "fileRename": "75"}
    frames = [int(f) for f, n in _fields(public.path(name), "mms.confirmedServiceRequest", "frame.number",
                                         "mms.confirmedServiceRequest") if n == number[service]]
    assert frames and r.iloc[0]["frames"] == frames


# -- nftables / iptables export ---------------------------------------------------------------------

def _nft_rules_back(path):
    """Load the ruleset into a scratch network namespace and list it back as nft JSON."""
    ns = f"mmsa-nft-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", str(path)], check=True, capture_output=True)
        out = subprocess.run(["ip", "netns", "exec", ns, "nft", "-j", "list", "ruleset"], check=True,
                             capture_output=True, text=True).stdout
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    accepts, drops = set(), []
    for item in json.loads(out)["nftables"]:
        rule = item.get("rule")
        if not rule:
            continue
        got = {}
        verdict = None
        for e in rule["expr"]:
            m = e.get("match")
            if m:
                left = m["left"].get("payload", {})
                got[(left.get("protocol"), left.get("field"))] = m["right"]
            elif "accept" in e:
                verdict = "accept"
            elif "drop" in e:
                verdict = "drop"
        if verdict == "accept":
            fam = "ip6" if ("ip6", "saddr") in got else "ip"
            if ("tcp", "dport") in got:
                accepts.add(("request", got[(fam, "saddr")], got[(fam, "daddr")], got[("tcp", "dport")]))
            else:
                accepts.add(("reply", got[(fam, "daddr")], got[(fam, "saddr")], got[("tcp", "sport")]))
        else:
            drops.append(got)
    return accepts, drops


def _observed_flows(cap):
    """(client ip, server ip, server port) of every association, straight from associations()."""
    a = cap.associations()
    out = set()
    for c, s in zip(a["client"], a["server"]):
        ci = c.rsplit(":", 1)[0]
        si, sp = s.rsplit(":", 1)
        out.add((ci, si, int(sp)))
    return out


@need_public
@pytest.mark.skipif(NFT is None, reason="nft not installed")
def test_nft_export_checks_and_allows_exactly_the_observed_flows(tmp_path):
    name = public.path("mms_goose_sv_robidev_sll_control_reports_dups.pcapng")
    cap = read_capture(name)
    text = S.allowlist_nft(cap.security()[1])
    path = tmp_path / "mms.nft"
    path.write_text(text)
    r = subprocess.run([NFT, "-c", "-f", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    flows = _observed_flows(cap)
    assert len(flows) == 4
    if not ROOT:
        pytest.skip("loading the ruleset into a namespace needs root")
    accepts, drops = _nft_rules_back(path)
    assert {(c, s, p) for kind, c, s, p in accepts if kind == "request"} == flows
    assert {(c, s, p) for kind, c, s, p in accepts if kind == "reply"} == flows
    assert len(drops) == 2 and {tuple(sorted(k for k in d)) for d in drops} == {(("tcp", "dport"),), (("tcp", "sport"),)}
    # every rule carries a comment naming client and server
    for line in text.splitlines():
        if line.strip().endswith(("accept", "drop")) or " accept comment" in line:
            assert 'comment "' in line or "policy" in line


@need_public
def test_cli_exports_and_reads_back_the_allowlist(tmp_path):
    name = public.path("mms_goose_sv_robidev_sll_control_reports_dups.pcapng")
    csv_text = _cli("security", name, "--export-allowlist", "csv").stdout
    rules = S.parse_allowlist(csv_text)
    assert {(str(r.client.network_address), str(r.server.network_address), r.port) for r in rules} == \
        _observed_flows(read_capture(name))
    allow = tmp_path / "allow.csv"
    allow.write_text(csv_text)
    out = json.loads(_cli("security", name, "--allow", str(allow), "--format", "json").stdout)
    assert all(m["allowed"] for m in out["matrix"])
    assert not [f for f in out["findings"] if f["code"] == "exposure.not_allowlisted"]
    # drop one flow from the allowlist: exactly that one is flagged
    allow.write_text("\n".join(line for line in csv_text.splitlines() if "10.0.0.5," not in line) + "\n")
    out = json.loads(_cli("security", name, "--allow", str(allow), "--format", "json").stdout)
    flagged = [f for f in out["findings"] if f["code"] == "exposure.not_allowlisted"]
    assert [f["subject"] for f in flagged] == ["10.0.0.11 -> 10.0.0.5:102"]
    ipt = _cli("security", name, "--export-allowlist", "iptables").stdout
    assert ipt.count("-j ACCEPT") == 8 and ipt.rstrip().endswith("COMMIT")


# -- libiec61850 scenarios ------------------------------------------------------------------------

def _request_frames(pcap):
    """(tcp source port, invokeID) -> frame of each confirmed request, from tshark."""
    return {(int(p), int(i)): int(f) for f, p, i in _fields(pcap, "mms.confirmedServiceRequest", "frame.number",
                                                               "tcp.srcport", "mms.invokeID")}


def _aarq_frames(pcap):
    """tcp source port -> (frame, password or '') of each AARQ, from tshark."""
    return {int(p): (int(f), pw) for f, p, pw in _fields(pcap, "acse.aarq_element", "frame.number", "tcp.srcport",
                                                          "acse.charstring")}


@pytest.fixture(scope="module")
def sec(iec_scenario):
    if TSHARK is None:
        pytest.skip("tshark not installed")
    pcap, truth = iec_scenario("security")
    return pcap, truth, read_capture(pcap)


def _ops(truth, conn, label=None, op=None):
    return [o for o in truth["operations"] if o["conn"] == conn and (op is None or o["op"] == op)
            and (label is None or (o.get("args") or {}).get("label") == label or o.get("label") == label)]


def test_scenario_authentication(sec):
    pcap, truth, cap = sec
    findings, matrix = cap.security()
    aarq = _aarq_frames(pcap)
    ports = {c["id"]: c["client_port"] for c in truth["connections"]}
    pw = truth["security"]["password"]
    # the server accepted 'auth' and refused 'wrongpw' (truth from the server's authenticator)
    assert [a["accepted"] for a in truth["security"]["auth_attempts"] if a["mechanism"] == "password"] == [True, False]
    wrong_port = next(p for p, (f, v) in aarq.items() if v and v != pw)
    clear = _of(findings, "authentication.password_in_clear")
    assert sorted(clear["frames"].map(tuple)) == sorted([(aarq[ports["auth"]][0],), (aarq[wrong_port][0],)])
    assert set(clear["severity"]) == {"high"}
    rejected = _of(findings, "authentication.rejected")
    assert len(rejected) == 1 and rejected.iloc[0]["frames"][0] == aarq[wrong_port][0]
    none = _of(findings, "authentication.none")
    assert sorted(f for fr in none["frames"] for f in fr) == sorted([aarq[ports["anon"]][0], aarq[ports["outsider"]][0]])
    # the password is never output whole: tables, text, json, csv
    assert pw not in findings.to_string() and pw not in matrix.to_string()
    assert pw not in json.dumps(findings["message"].tolist())
    for fmt in ("table", "json", "csv"):
        assert pw not in _cli("security", pcap, "--format", fmt).stdout
    assert pw not in _cli("summary", pcap).stdout


def test_scenario_writes_controls_from_unauthenticated(sec):
    pcap, truth, cap = sec
    findings, _ = cap.security()
    req = _request_frames(pcap)
    ports = {c["id"]: c["client_port"] for c in truth["connections"]}

    def frames(conn, pred):
        return sorted(req[(ports[conn], o["invoke_id"])] for o in truth["operations"]
                      if o["conn"] == conn and o["invoke_id"] is not None and pred(o))

    # the harness records control writes (writeStruct) as op 'write' of a '$CO$' item
    is_write = lambda o: o["op"] == "write" and "$CO$" not in o["args"]["item"]   # noqa: E731
    is_ctl = lambda o: o["op"] == "write" and "$CO$" in o["args"]["item"]         # noqa: E731
    w = _of(findings, "operations.write_unauthenticated")
    assert [list(x) for x in w["frames"]] == [frames("anon", is_write)]
    c = _of(findings, "operations.control_unauthenticated")
    assert [list(x) for x in c["frames"]] == [frames("anon", is_ctl)]
    # the authenticated client wrote and operated too: none of its frames is flagged
    mine = set(frames("auth", lambda o: True))
    flagged = {f for fr in findings["frames"] for f in fr}
    assert frames("auth", is_write) and frames("auth", is_ctl) and not (mine & flagged)


def test_scenario_direct_operate_on_sbo_and_file_delete(sec):
    pcap, truth, cap = sec
    findings, _ = cap.security()
    req = _request_frames(pcap)
    ports = {c["id"]: c["client_port"] for c in truth["connections"]}
    oper = [o for o in truth["operations"] if o["conn"] == "anon" and o["op"] == "write"
            and o["args"]["item"] == "CSWI1$CO$Pos$Oper"]
    assert len(oper) == 1 and not oper[0]["ok"]               # the server refused it (not selected)
    d = _of(findings, "operations.direct_operate_sbo")
    assert [list(x) for x in d["frames"]] == [[req[(ports["anon"], oper[0]["invoke_id"])]]]
    assert "CSWI1$CO$Pos" in d.iloc[0]["message"]
    # the direct-with-enhanced-security CSWI2 operate and the auth client's SBOw+Oper are not flagged
    dele = [o for o in truth["operations"] if o["op"] == "fileDelete"]
    f = _of(findings, "operations.file_change")
    assert [list(x) for x in f["frames"]] == [[req[(ports["anon"], dele[0]["invoke_id"])]]]
    assert f.iloc[0]["severity"] == "medium"


def test_scenario_client_outside_the_allowlist(sec, tmp_path):
    pcap, truth, cap = sec
    allow = tmp_path / "allow.csv"
    allow.write_text("client,server,port,comment\n127.0.0.1,127.0.0.1,102,SCADA -> DEMO\n")
    findings, matrix = cap.security(allow=S.read_allowlist(allow))
    out = _of(findings, "exposure.not_allowlisted")
    syn = {int(p): int(f) for f, p in _fields(pcap, "tcp.flags.syn == 1 && tcp.flags.ack == 0", "frame.number",
                                               "tcp.srcport")}
    port = next(c["client_port"] for c in truth["connections"] if c["id"] == "outsider")
    assert len(out) == 1 and out.iloc[0]["subject"].startswith(truth["security"]["outsider_ip"] + " ")
    assert out.iloc[0]["frames"] == [syn[port]]
    assert matrix.set_index("client").loc[truth["security"]["outsider_ip"], "allowed"] is False or \
        not matrix.set_index("client").loc[truth["security"]["outsider_ip"], "allowed"]
    # same through the CLI
    r = _cli("security", pcap, "--allow", str(allow), "--min-severity", "high")
    assert "exposure.not_allowlisted" in r.stdout and truth["security"]["outsider_ip"] in r.stdout


def test_scenario_clean_has_nothing_flagged(iec_scenario, tmp_path):
    pcap, truth = iec_scenario("security_clean")
    cap = read_capture(pcap)
    allow = tmp_path / "allow.csv"
    allow.write_text("client,server,port\n127.0.0.1,127.0.0.1,102\n")
    findings, matrix = cap.security(allow=S.read_allowlist(allow))
    assert len(matrix) == 1 and bool(matrix.loc[0, "allowed"])
    assert not len(findings[findings["severity"] != "info"]), findings[["code", "message"]]
    assert "Security" not in _cli("summary", pcap).stdout


def test_scenario_declared_addresses_and_scl_ctl_models(sec):
    """The SCL hook inputs: declared addresses ({ip: IED}) and ctlModels (IEC 61850 reading)."""
    pcap, truth, cap = sec
    req = _request_frames(pcap)
    ports = {c["id"]: c["client_port"] for c in truth["connections"]}
    findings, matrix = cap.security(allowed_addresses={"127.0.0.1": "DEMO"},
                                    ctl_models={"DEMOCTRL/CSWI2.Pos": "sbo-with-enhanced-security"})
    assert set(matrix["ied"]) == {"DEMO"}
    unknown = _of(findings, "exposure.unknown_address")
    assert len(unknown) == 1 and unknown.iloc[0]["message"].startswith(truth["security"]["outsider_ip"] + " ")
    # CSWI2 is direct-with-enhanced-security in the server; declared SBO, its direct operate is flagged too
    oper2 = next(o for o in truth["operations"] if o["conn"] == "anon" and o["op"] == "write"
                 and o["args"]["item"] == "CSWI2$CO$Pos$Oper")
    d = _of(findings, "operations.direct_operate_sbo")
    f2 = req[(ports["anon"], oper2["invoke_id"])]
    assert f2 in [f for fr in d["frames"] for f in fr]
    assert "SCL ctlModel" in d[d["frames"].map(lambda x: f2 in x)].iloc[0]["message"]


def test_controls_scenario_operate_after_cancel(iec_scenario):
    """controls scenario: SBOw, Oper; SBOw, Cancel, then an Oper without a new select -> flagged.
    CSWI1 is known as SBO from the ctlModel the client read first (4, sbo-with-enhanced-security)."""
    if TSHARK is None:
        pytest.skip("tshark not installed")
    pcap, truth = iec_scenario("controls")
    findings, _ = read_capture(pcap).security()
    req = _request_frames(pcap)
    port = truth["connections"][0]["client_port"]
    opers = [o for o in truth["operations"] if o["op"] == "write" and o["args"]["item"] == "CSWI1$CO$Pos$Oper"]
    assert len(opers) == 2 and opers[0]["ok"] and not opers[1]["ok"]     # the server refused the second
    d = _of(findings, "operations.direct_operate_sbo")
    assert [list(x) for x in d["frames"]] == [[req[(port, opers[1]["invoke_id"])]]]
    read = next(o for o in truth["operations"] if o["op"] == "read" and o["args"].get("item") == "CSWI1$CF$Pos$ctlModel")
    assert read["value"] == 4
    rsp = {(int(p_), int(i)): int(f) for f, p_, i in _fields(pcap, "mms.confirmedServiceResponse", "frame.number",
                                                            "tcp.dstport", "mms.invokeID")}
    assert f"sbo-with-enhanced-security read in frame {rsp[(port, read['invoke_id'])]}" in d.iloc[0]["message"]


# -- bad input ---------------------------------------------------------------------------------------

def test_tcp_watcher_never_raises_on_garbage():
    """Random bytes and cut/mutated TLS records on 3782, random TPKTs elsewhere: no exception."""
    import random

    from mmsanalyze.analysis.tls import TcpWatcher
    rnd = random.Random(1606)
    hello = bytes.fromhex("16030100") + bytes([0x40]) + bytes([1, 0, 0, 0x3c, 3, 3]) + bytes(32) + b"\x00\x00\x02"
    w = TcpWatcher()
    for stream in range(400):
        base = hello if stream % 2 else bytes([0x03, 0x00, 0x00, 0x16, 0x11, 0xE0]) + bytes(16)
        for seg in range(rnd.randint(1, 6)):
            b = bytearray(base if seg == 0 else rnd.randbytes(rnd.randint(0, 80)))
            for _ in range(rnd.randint(0, 6)):
                if b:
                    b[rnd.randrange(len(b))] = rnd.randrange(256)
            b = bytes(b[:rnd.randint(0, len(b))])
            port = 3782 if stream % 3 else 4000 + stream
            w.add(stream * 10 + seg, 0.0, stream, rnd.randint(0, 1), ("10.0.0.1", 50000 + stream),
                  ("10.0.0.2", port), b)
    t = w.table()
    assert len(t) and set(t["kind"]) <= {"tls", "iso-clear", "iso-tsap", "unknown"}
