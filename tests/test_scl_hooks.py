"""The SCL file feeds the other analyses: ``security --scl`` (declared addresses, ctlModels)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import public
from mmsanalyze.scl import load_scl, security_inputs

SCL = os.path.join(os.path.dirname(public.PUBLIC), "..", "scl")
ROBIDEV_SCD = os.path.normpath(os.path.join(SCL, "robidev-open-server__open_substation.scd"))
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(not os.path.exists(ROBIDEV_SCD), reason="../shared/scl not present")


def test_security_inputs_from_the_robidev_scd():
    addresses, ctl = security_inputs(ROBIDEV_SCD)
    model = load_scl(ROBIDEV_SCD)
    # every ConnectedAP address, named by its IED
    assert addresses == model.ip_map() and set(addresses.values()) >= {"IED1_XCBR", "IED2_PTOC"}
    # every controllable object with its ctlModel, read back one by one through the resolver
    assert ctl and all(model.ctl_model(ref) == cm for ref, cm in ctl.items())
    assert ctl["IED1_XCBRGenericIO/CSWI1.Pos"] == "sbo-with-enhanced-security"
    assert "status-only" not in ctl.values()


def test_security_command_takes_the_scl():
    cap = public.path("mms_goose_sv_robidev_sll_control_reports_dedup.pcapng")
    r = subprocess.run([sys.executable, "-m", "mmsanalyze", "security", cap, "--scl", ROBIDEV_SCD,
                        "--format", "json"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    findings = out["findings"] if isinstance(out, dict) else out
    unknown = [f for f in findings if f["code"] == "exposure.unknown_address"]
    # the MANIFEST: the client 10.0.0.11 is not in the SCL; the four IED servers are
    assert unknown and all("10.0.0.11" in f["message"] for f in unknown)
    assert not any(ip in f["message"] for f in unknown for ip in ("10.0.0.2 ", "10.0.0.3 "))


def test_modes_name_ieds_from_the_scl():
    """With ``scl=``, the IED operating-state rows of MMS servers carry the IED name the SCL
    gives the server's address (without it, ``ied`` stays empty)."""
    import mmsanalyze
    cap_path = public.path("mms_goose_sv_robidev_sll_control_reports_dedup.pcapng")
    named = mmsanalyze.read_capture(cap_path, scl=ROBIDEV_SCD).ied_states()
    plain = mmsanalyze.read_capture(cap_path).ied_states()
    assert len(named) == len(plain) > 0
    ips = load_scl(ROBIDEV_SCD).ip_map()
    mms = named[named["server"].str.endswith(":102")]
    assert len(mms) and all(r.ied == ips[r.server.rsplit(":", 1)[0]] for r in mms.itertuples())
    assert plain["ied"].isna().all()


def test_capture_security_uses_the_scl_given_to_read_capture():
    """``read_capture(..., scl=)``: ``security()`` (and so summary's Security section) checks
    the peers against the SCL's addresses without being told again."""
    import mmsanalyze
    cap_path = public.path("mms_goose_sv_robidev_sll_control_reports_dedup.pcapng")
    with_scl = mmsanalyze.read_capture(cap_path, scl=ROBIDEV_SCD).security()[0]
    without = mmsanalyze.read_capture(cap_path).security()[0]
    assert (with_scl["code"] == "exposure.unknown_address").sum() == 4
    assert (without["code"] == "exposure.unknown_address").sum() == 0
