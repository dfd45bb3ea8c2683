"""Least privilege for live capture, as dumpcap does it.

Opening a packet socket (and mapping its ring) needs root or ``CAP_NET_RAW``;
decoding what arrives does not.  Hostile traffic should never be parsed as root,
so once the capture is open the process gives root up for good:
:func:`drop_privileges` switches to the user who ran ``sudo`` (``SUDO_UID`` /
``SUDO_GID``) or else to ``nobody``, clears supplementary groups and keeps no
capabilities.  The open socket and ring keep working.

Without root at all: give the interpreter only ``CAP_NET_RAW`` (and nothing else),
e.g. ``setpriv --reuid=USER --regid=GROUP --init-groups --inh-caps=+net_raw
--ambient-caps=+net_raw mmsanalyze monitor -i eth1``, or a file capability on a
dedicated copy of the interpreter (``setcap cap_net_raw+ep``).  Then there is
nothing to drop.
"""

from __future__ import annotations

import os

__all__ = ["drop_privileges", "NOBODY"]

#: uid/gid of ``nobody``/``nogroup`` on Debian, used when no invoking user is known.
NOBODY = 65534


def drop_privileges() -> str | None:
    """Leave root for the invoking user (sudo) or nobody; returns ``"uid:gid"`` or None
    when the process was not root (nothing to do)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    try:
        uid = int(os.environ.get("SUDO_UID", NOBODY))
        gid = int(os.environ.get("SUDO_GID", NOBODY))
    except ValueError:
        uid = gid = NOBODY
    if uid == 0:
        uid = gid = NOBODY
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    # a process that changed uid keeps no capabilities, and cannot regain root
    try:
        os.setresuid(0, 0, 0)
    except PermissionError:
        return f"{uid}:{gid}"
    raise RuntimeError("could not drop root privileges")
