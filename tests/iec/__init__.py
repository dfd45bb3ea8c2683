"""IEC 61850 test-traffic harness: a real libiec61850 server and client, captured.

The harness runs a libiec61850 IED server and MMS client (the C library
bundled with the ``pyiec61850-ng`` wheel, driven through ctypes) in separate
worker processes inside a fresh network namespace, captures everything on
``lo`` with tcpdump, and returns the pcap together with the ground truth of
what the client did and what the server saw.

Usage (``tests/`` on ``sys.path``; needs root, tcpdump, ip, pyiec61850-ng)::

    from iec import scenarios
    pcap, truth = scenarios.basic_services(outdir="/tmp/x")
    for op in truth["operations"]:
        print(op["seq"], op["op"], op["invoke_id"], op["ok"], op["error"])

    from iec import verify                    # tshark-based honesty check
    assert verify.check(pcap, truth) == []

Scenario functions (each returns ``(pcap_path, truth)``): ``basic_services``,
``reports``, ``files``, ``controls``, ``abort``, ``fin``, ``rst``,
``connection_ends``, ``demo``.  The truth schema is documented in
:mod:`iec.scenarios`; the server data model in :mod:`iec.server`.
Build custom traffic with :class:`iec.capture.Session` and the ``steps_*``
helpers of :mod:`iec.scenarios`.

Modules: ``lib`` (ctypes bindings), ``server`` / ``client`` (worker
processes), ``capture`` (netns, tcpdump, Session), ``files`` (deterministic
file-store content), ``scenarios``, ``verify``.
"""

SCENARIO_NAMES = ("basic_services", "reports", "files", "controls", "abort", "fin", "rst",
                  "connection_ends", "demo")


def requirements_missing() -> list[str]:
    """What prevents running the harness here (empty list = ready)."""
    import os
    import shutil
    missing = []
    if not (hasattr(os, "geteuid") and os.geteuid() == 0):
        missing.append("root")
    for tool in ("tcpdump", "ip"):
        if shutil.which(tool) is None:
            missing.append(tool)
    try:
        from . import lib  # noqa: F401
    except (OSError, ImportError) as e:
        missing.append(f"libiec61850 ({e})")
    return missing
