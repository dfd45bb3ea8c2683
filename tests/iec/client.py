"""libiec61850 MMS client worker (runs in its own process).

``python -m iec.client`` (``tests/`` on ``sys.path``) reads JSON-line
commands on stdin and answers one JSON line per command on stdout.  Every
MMS confirmed service is issued through the *asynchronous* libiec61850 API so
the invokeID the library put on the wire is known and can be part of the
ground truth.  Each ``op`` command answers with one truth record::

    {"op": "read", "invoke_id": 7, "args": {"domain": "DEMOLD0", "item": "GGIO1$ST$Ind1$stVal"},
     "ok": true, "error": null, "error_kind": null, "value": false,
     "t_request": 1700000000.123, "t_response": 1700000000.124}

Connection-level commands: ``connect``, ``conclude``, ``abort``, ``fin``
(close the TCP connection without MMS conclude), ``rst`` (reset the TCP
connection: SO_LINGER 0 then hard process exit), ``info_reports`` (the
unconfirmed InformationReports received so far), ``exit``.
"""
from __future__ import annotations

import ctypes
import json
import os
import socket
import struct
import sys
import threading
import time
from ctypes import byref, c_int, c_uint32

from . import lib as L

TIMEOUT = 10.0


class ClientWorker:
    def __init__(self):
        # Non-threaded connection + our own tick thread: MmsConnection_connect() of the
        # threaded variant races on fast links (connectAsync sets CONNECTING *after* the
        # background thread may already have reached CONNECTED -> state stuck at CONNECTING
        # and every later request fails with "connection lost").  Starting the tick thread
        # only after connectAsync() returned avoids that.
        self.con = L.MmsConnection_createNonThreaded(None)
        self._keep = []
        self.lock = threading.Lock()
        self.info_reports: list[dict] = []
        self.connection_lost = None
        self.peer = None
        self.state = L.MMS_CONNECTION_STATE_CLOSED
        self.state_changed = threading.Condition()
        self._ticking = False

        h = L.InformationReportHandler(self._on_info_report)
        self._keep.append(h)
        L.MmsConnection_setInformationReportHandler(self.con, h, None)
        h = L.ConnectionLostHandler(self._on_lost)
        self._keep.append(h)
        L.MmsConnection_setConnectionLostHandler(self.con, h, None)
        h = L.MmsConnectionStateChangedHandler(self._on_state)
        self._keep.append(h)
        L.MmsConnection_setConnectionStateChangedHandler(self.con, h, None)

    def _on_state(self, con, param, state):
        with self.state_changed:
            self.state = state
            self.state_changed.notify_all()

    def _tick_loop(self):
        while self._ticking:
            if L.MmsConnection_tick(self.con):   # True: nothing to do right now
                time.sleep(0.002)

    # ------------------------------------------------------- unconfirmed
    def _on_lost(self, con, param):
        self.connection_lost = time.time()

    def _on_info_report(self, param, domain, name, value, is_list):
        rec = {"t": time.time(), "domain": domain.decode() if domain else None,
               "name": name.decode() if name else None, "is_list": bool(is_list)}
        try:
            v = L.mms_value_to_py(value)
            if is_list and rec["name"] == "RPT" and isinstance(v, list):
                rec.update(kind="report", **parse_report(v))
            elif rec["name"] and rec["name"].endswith("$Oper"):
                rec.update(kind="command-termination", value=v)
            elif rec["name"] == "LastApplError":
                rec.update(kind="last-appl-error", value=v)
                if isinstance(v, list) and len(v) >= 5:
                    rec.update(cntrl_obj=v[0], appl_error=v[1], ctl_num=v[3], add_cause=v[4])
            else:
                rec.update(kind="other", value=v)
        except Exception as e:  # never let an exception escape into C
            rec.update(kind="unparsed", error=repr(e))
        with self.lock:
            self.info_reports.append(rec)
        if value:
            L.MmsValue_delete(value)

    # ------------------------------------------------------------ async
    def _async(self, htype, start, n_results=None, multi=False):
        """Run one async MMS request; returns (invoke_id, err, callback args, t0, t1)."""
        ev = threading.Event()
        box: dict = {"calls": []}

        def cb(*args):
            box["calls"].append(args)
            box["t1"] = time.time()
            if not multi or args[3] is None or args[2] != 0:
                ev.set()

        h = htype(cb)
        self._keep.append(h)
        inv, err = c_uint32(0), c_int(0)
        t0 = time.time()
        start(byref(inv), byref(err), h)
        if err.value != 0:
            return inv.value, err.value, None, t0, t0
        if not ev.wait(TIMEOUT):
            return inv.value, 3, None, t0, time.time()
        args = box["calls"] if multi else box["calls"][0]
        mms_err = (box["calls"][-1][2])
        return inv.value, mms_err, args, t0, box["t1"]

    @staticmethod
    def _rec(op, inv, err, t0, t1, args, **kw):
        kind, name = L.mms_error(err)
        rec = {"op": op, "invoke_id": inv, "args": args, "ok": err == 0,
               "error": name, "error_kind": kind, "mms_error_code": err,
               "t_request": t0, "t_response": t1}
        rec.update(kw)
        rec["response_pdu"] = expected_response_pdu(rec)
        return rec

    @staticmethod
    def _b(s):
        return s.encode() if isinstance(s, str) else s

    # ------------------------------------------------------------ connection
    def connect(self, host, port, local_detail=None, request_timeout=8000, password=None, local_ip=None):
        iso = L.MmsConnection_getIsoConnectionParameters(self.con)
        if password is not None:              # ACSE password authentication (mechanism 2.2.3.1)
            auth = L.AcseAuthenticationParameter_create()
            L.AcseAuthenticationParameter_setAuthMechanism(auth, L.ACSE_AUTH_PASSWORD)
            self._password_b = password.encode()
            L.AcseAuthenticationParameter_setPassword(auth, self._password_b)
            L.IsoConnectionParameters_setAcseAuthenticationParameter(iso, auth)
        if local_ip is not None:              # bind the client socket to this source address
            self._local_ip_b = local_ip.encode()
            L.IsoConnectionParameters_setLocalTcpParameters(iso, self._local_ip_b, 0)
        L.MmsConnection_setConnectTimeout(self.con, 5000)
        L.MmsConnection_setRequestTimeout(self.con, request_timeout)
        if local_detail:
            L.MmsConnection_setLocalDetail(self.con, int(local_detail))
        err = c_int(0)
        self._host_b = host.encode()   # libiec61850 keeps the pointer (IsoConnectionParameters)
        t0 = time.time()
        L.MmsConnection_connectAsync(self.con, byref(err), self._host_b, int(port))
        ok = False
        if err.value == 0:
            if not self._ticking:
                self._ticking = True
                threading.Thread(target=self._tick_loop, daemon=True).start()
            with self.state_changed:
                self.state_changed.wait_for(
                    lambda: self.state in (L.MMS_CONNECTION_STATE_CONNECTED, L.MMS_CONNECTION_STATE_CLOSED,
                                           L.MMS_CONNECTION_STATE_CLOSING), timeout=10)
                ok = self.state == L.MMS_CONNECTION_STATE_CONNECTED
        t1 = time.time()
        self.peer = (host, int(port))
        params = {}
        if ok:
            p = L.MmsConnection_getMmsConnectionParameters(self.con)
            params = {"maxServOutstandingCalling": p.maxServOutstandingCalling,
                      "maxServOutstandingCalled": p.maxServOutstandingCalled,
                      "dataStructureNestingLevel": p.dataStructureNestingLevel,
                      "maxPduSize": p.maxPduSize,
                      "servicesSupported": bytes(p.servicesSupported).hex()}
        rec = self._rec("initiate", None, 0 if ok else (err.value or 1), t0, t1,
                        {"host": host, "port": int(port), "local_detail": local_detail,
                         "authentication": "password" if password is not None else "none",
                         "local_ip": local_ip},
                        negotiated=params)
        rec["local_port"] = self._local_port()
        return rec

    def _socket_fd(self):
        """(fd, local_port) of the library's TCP socket to the server.

        Found without touching any descriptor: socket inodes from
        /proc/self/fd/* are matched against /proc/self/net/tcp{,6}."""
        host, port = self.peer
        inodes = {}
        for fd in os.listdir("/proc/self/fd"):
            try:
                link = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes[link[8:-1]] = int(fd)
        for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
            try:
                lines = open(table).read().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                f = line.split()
                lport = int(f[1].rsplit(":", 1)[1], 16)
                rport = int(f[2].rsplit(":", 1)[1], 16)
                if rport == port and f[3] == "01" and f[9] in inodes:   # 01 = ESTABLISHED
                    return inodes[f[9]], lport
        return None, None

    def _local_port(self):
        return self._socket_fd()[1]

    def conclude(self):
        err = c_int(0)
        t0 = time.time()
        L.MmsConnection_conclude(self.con, byref(err))
        return self._rec("conclude", None, err.value, t0, time.time(), {},
                         note="libiec61850 follows the MMS conclude with an ACSE release (RLRQ/RLRE), "
                              "then the server closes TCP (FIN)")

    def abort(self):
        err = c_int(0)
        t0 = time.time()
        L.MmsConnection_abort(self.con, byref(err))
        # libiec61850 reports a timeout/connection-lost when the server just drops the
        # connection after the abort; the abort itself went out either way.
        rec = self._rec("abort", None, 0, t0, time.time(), {}, library_error=L.mms_error(err.value)[1])
        return rec

    def fin(self):
        t0 = time.time()
        L.MmsConnection_close(self.con)
        return self._rec("close-tcp", None, 0, t0, time.time(), {}, tcp="FIN")

    def rst(self):
        """Reset the TCP connection: SO_LINGER{1,0} on the library's socket, then _exit."""
        fd, _ = self._socket_fd()
        if fd is None:
            return self._rec("reset-tcp", None, 9, time.time(), time.time(), {}, tcp="RST")
        s = socket.socket(fileno=os.dup(fd))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._rst_sock = s      # keep the dup open until the process exits
        return self._rec("reset-tcp", None, 0, time.time(), time.time(), {}, tcp="RST",
                         note="process exits with SO_LINGER=0 -> kernel sends RST")

    # ------------------------------------------------------------ services
    def op(self, op, **a):
        fn = getattr(self, "op_" + op)
        return fn(**a)

    def op_identify(self):
        c = self.con
        inv, err, res, t0, t1 = self._async(
            L.IdentifyHandler, lambda i, e, h: L.MmsConnection_identifyAsync(c, i, e, h, None))
        val = None
        if res and err == 0:
            val = {"vendor": (res[3] or b"").decode(), "model": (res[4] or b"").decode(),
                   "revision": (res[5] or b"").decode()}
        return self._rec("identify", inv, err, t0, t1, {}, value=val)

    def op_status(self, extended=False):
        c = self.con
        inv, err, res, t0, t1 = self._async(
            L.GetServerStatusHandler,
            lambda i, e, h: L.MmsConnection_getServerStatusAsync(c, i, e, bool(extended), h, None))
        val = {"vmdLogicalStatus": res[3], "vmdPhysicalStatus": res[4]} if res and err == 0 else None
        return self._rec("status", inv, err, t0, t1, {"extended": extended}, value=val)

    def op_getNameList(self, object_class, scope, domain=None, continue_after=None, follow=True):
        """object_class: 'domain' | 'namedVariable' | 'namedVariableList';
        scope: 'vmd' | 'domain' | 'aa'.  Returns a list of records (one per request)."""
        c = self.con
        recs = []
        names_all = []
        ca = continue_after
        while True:
            cab = self._b(ca) if ca else None
            d = self._b(domain) if domain else None
            if object_class == "domain":
                st = lambda i, e, h: L.MmsConnection_getDomainNamesAsync(c, i, e, cab, None, h, None)
            elif object_class == "namedVariable":
                st = lambda i, e, h: L.MmsConnection_getDomainVariableNamesAsync(c, i, e, d, cab, None, h, None)
            elif object_class == "namedVariableList" and scope == "aa":
                st = lambda i, e, h: L.MmsConnection_getVariableListNamesAssociationSpecificAsync(
                    c, i, e, cab, h, None)
            elif object_class == "namedVariableList":
                st = lambda i, e, h: L.MmsConnection_getDomainVariableListNamesAsync(c, i, e, d, cab, None, h, None)
            else:
                raise ValueError(object_class)
            inv, err, res, t0, t1 = self._async(L.GetNameListHandler, st)
            names, more = [], False
            if res and err == 0:
                names = L.string_list(res[3])
                more = bool(res[4])
            recs.append(self._rec("getNameList", inv, err, t0, t1,
                                  {"objectClass": object_class, "scope": scope, "domain": domain,
                                   "continueAfter": ca},
                                  value=names, moreFollows=more))
            names_all += names
            if not (follow and more and names):
                break
            ca = names[-1]
        return recs

    def op_read(self, domain, item):
        c = self.con
        inv, err, res, t0, t1 = self._async(
            L.ReadVariableHandler,
            lambda i, e, h: L.MmsConnection_readVariableAsync(c, i, e, self._b(domain), self._b(item), h, None))
        return self._read_rec("read", inv, err, res, t0, t1, {"domain": domain, "item": item})

    def _read_rec(self, op, inv, err, res, t0, t1, args, multi=False):
        val = L.mms_value_to_py(res[3]) if res and err == 0 else None
        ok, e, kind = err == 0, None, None
        results = None
        if multi and isinstance(val, list):
            results = []
            for v in val:
                if isinstance(v, dict) and "DataAccessError" in v:
                    results.append({"ok": False, "error": v["DataAccessError"]})
                else:
                    results.append({"ok": True, "value": v})
        elif isinstance(val, dict) and "DataAccessError" in val:
            ok, e, kind = False, val["DataAccessError"], "DataAccessError"
        rec = self._rec(op, inv, err, t0, t1, args, value=val)
        if err == 0:
            rec.update(ok=ok, error=e, error_kind=kind)
        if results is not None:
            rec["results"] = results
            rec["ok"] = all(r["ok"] for r in results)
            if not rec["ok"]:
                rec["error_kind"] = "DataAccessError"
                rec["error"] = [r.get("error") for r in results]
        return rec

    def op_readMultiple(self, domain, items):
        c = self.con
        sl = L.StrList(items)
        self._keep.append(sl)
        inv, err, res, t0, t1 = self._async(
            L.ReadVariableHandler,
            lambda i, e, h: L.MmsConnection_readMultipleVariablesAsync(c, i, e, self._b(domain), sl.ptr, h, None))
        rec = self._read_rec("read", inv, err, res, t0, t1, {"domain": domain, "items": list(items)}, multi=True)
        return rec

    def op_readDataSet(self, domain, name, spec_with_result=True):
        c = self.con
        if domain is None:
            st = lambda i, e, h: L.MmsConnection_readNamedVariableListValuesAssociationSpecificAsync(
                c, i, e, self._b(name), bool(spec_with_result), h, None)
        else:
            st = lambda i, e, h: L.MmsConnection_readNamedVariableListValuesAsync(
                c, i, e, self._b(domain), self._b(name), bool(spec_with_result), h, None)
        inv, err, res, t0, t1 = self._async(L.ReadVariableHandler, st)
        return self._read_rec("read", inv, err, res, t0, t1,
                              {"domain": domain, "variableListName": name,
                               "specificationWithResult": bool(spec_with_result)}, multi=True)

    def op_write(self, domain, item, value, type=None):
        c = self.con
        mv = L.py_to_mms_value(value, type)
        inv, err, res, t0, t1 = self._async(
            L.WriteVariableHandler,
            lambda i, e, h: L.MmsConnection_writeVariableAsync(c, i, e, self._b(domain), self._b(item), mv, h, None))
        rec = self._rec("write", inv, err, t0, t1,
                        {"domain": domain, "item": item, "value": value, "type": type or type_name(value)})
        return self._write_result(rec, err, res)

    def op_writeStruct(self, domain, item, spec_item=None, fields=None, label=None):
        """Write a structured value (e.g. a control Oper/SBOw/Cancel).

        The type comes from a getVariableAccessAttributes made earlier on
        ``spec_item`` (kept in self.specs); fields maps component name ->
        (python value, kind) with kinds bool/int/uint/utc/octets/bits."""
        c = self.con
        spec = self.specs[(domain, spec_item or item)]
        mv = L.MmsValue_newDefaultValue(spec)
        for name, (val, kind) in (fields or {}).items():
            comp = mv
            cspec = spec
            for part in name.split("."):
                comp = L.MmsVariableSpecification_getChildValue(cspec, comp, part.encode())
                cspec = _child_spec(cspec, part)
                if not comp:
                    raise KeyError(name)
            if kind == "bool":
                L.MmsValue_setBoolean(comp, bool(val))
            elif kind == "int":
                L.MmsValue_setInt32(comp, int(val))
            elif kind == "uint":
                L.MmsValue_setUint32(comp, int(val))
            elif kind == "utc":
                L.MmsValue_setUtcTimeMs(comp, int(val))
            elif kind == "octets":
                b = bytes.fromhex(val) if isinstance(val, str) else bytes(val)
                L.MmsValue_setOctetString(comp, b, len(b))
            elif kind == "bits":
                for i, ch in enumerate(val):
                    L.MmsValue_setBitStringBit(comp, i, ch == "1")
            else:
                raise ValueError(kind)
        value_py = L.mms_value_to_py(mv)
        inv, err, res, t0, t1 = self._async(
            L.WriteVariableHandler,
            lambda i, e, h: L.MmsConnection_writeVariableAsync(c, i, e, self._b(domain), self._b(item), mv, h, None))
        rec = self._rec("write", inv, err, t0, t1, {"domain": domain, "item": item, "value": value_py,
                                                     "type": "structure"})
        if label:
            rec["acsi"] = label
        return self._write_result(rec, err, res)

    @staticmethod
    def _write_result(rec, err, res):
        """A write answered with a Write-Response 'failure' carries a DataAccessError;
        libiec61850 also maps it onto the MmsError, so prefer the DataAccessError."""
        if res is None:
            return rec
        dae = res[3]
        rec["data_access_error_code"] = dae
        if 0 <= dae <= 11:
            rec.update(ok=False, error=L.DATA_ACCESS_ERRORS[dae], error_kind="DataAccessError")
        elif dae == L.DATA_ACCESS_ERROR_SUCCESS and err == 0:
            rec.update(ok=True, error=None, error_kind=None)
        rec["response_pdu"] = expected_response_pdu(rec)
        return rec

    def op_writeMultiple(self, domain, items, values, types=None):
        c = self.con
        sl = L.StrList(items)
        vl = L.LinkedList_create()
        types = types or [None] * len(values)
        for v, t in zip(values, types):
            L.LinkedList_add(vl, L.py_to_mms_value(v, t))
        self._keep.append(sl)
        inv, err, res, t0, t1 = self._async(
            L.WriteMultipleVariablesHandler,
            lambda i, e, h: L.MmsConnection_writeMultipleVariablesAsync(c, i, e, self._b(domain), sl.ptr, vl, h, None))
        rec = self._rec("write", inv, err, t0, t1,
                        {"domain": domain, "items": list(items), "values": list(values)})
        if res and err == 0:
            results = []
            for d in L.iter_linked_list(res[3]):
                v = L.mms_value_to_py(d)
                if isinstance(v, dict) and v.get("DataAccessError"):
                    results.append({"ok": False, "error": v["DataAccessError"]})
                else:
                    results.append({"ok": True})
            rec["results"] = results
            rec["ok"] = all(r["ok"] for r in results)
            if not rec["ok"]:
                rec.update(error_kind="DataAccessError", error=[r.get("error") for r in results])
            rec["response_pdu"] = expected_response_pdu(rec)
        return rec

    def op_getVariableAccessAttributes(self, domain, item):
        c = self.con
        inv, err, res, t0, t1 = self._async(
            L.GetVariableAccessAttributesHandler,
            lambda i, e, h: L.MmsConnection_getVariableAccessAttributesAsync(
                c, i, e, self._b(domain), self._b(item), h, None))
        val = None
        if res and err == 0 and res[3]:
            if not hasattr(self, "specs"):
                self.specs = {}
            self.specs[(domain, item)] = res[3]
            val = describe_spec(res[3])
        return self._rec("getVariableAccessAttributes", inv, err, t0, t1,
                         {"domain": domain, "item": item}, value=val)

    def op_getNamedVariableListAttributes(self, domain, name):
        c = self.con
        if domain is None:
            st = lambda i, e, h: L.MmsConnection_readNamedVariableListDirectoryAssociationSpecificAsync(
                c, i, e, self._b(name), h, None)
        else:
            st = lambda i, e, h: L.MmsConnection_readNamedVariableListDirectoryAsync(
                c, i, e, self._b(domain), self._b(name), h, None)
        inv, err, res, t0, t1 = self._async(L.ReadNVLDirectoryHandler, st)
        val, deletable = None, None
        if res and err == 0:
            val = [spec_to_ref(d) for d in L.iter_linked_list(res[3])]
            deletable = bool(res[4])
        return self._rec("getNamedVariableListAttributes", inv, err, t0, t1,
                         {"domain": domain, "name": name}, value=val, mmsDeletable=deletable)

    def op_defineNamedVariableList(self, domain, name, entries):
        """entries: list of [domain, item]; domain None = association specific list."""
        c = self.con
        lst = L.LinkedList_create()
        bufs = []
        for d, it in entries:
            bd, bi = ctypes.create_string_buffer(d.encode()), ctypes.create_string_buffer(it.encode())
            bufs += [bd, bi]
            L.LinkedList_add(lst, L.MmsVariableAccessSpecification_create(bd, bi))
        self._keep.append(bufs)
        if domain is None:
            st = lambda i, e, h: L.MmsConnection_defineNamedVariableListAssociationSpecificAsync(
                c, i, e, self._b(name), lst, h, None)
        else:
            st = lambda i, e, h: L.MmsConnection_defineNamedVariableListAsync(
                c, i, e, self._b(domain), self._b(name), lst, h, None)
        inv, err, res, t0, t1 = self._async(L.GenericServiceHandler, st)
        return self._rec("defineNamedVariableList", inv, err, t0, t1,
                         {"domain": domain, "name": name, "entries": [list(x) for x in entries]})

    def op_deleteNamedVariableList(self, domain, name):
        c = self.con
        if domain is None:
            st = lambda i, e, h: L.MmsConnection_deleteAssociationSpecificNamedVariableListAsync(
                c, i, e, self._b(name), h, None)
        else:
            st = lambda i, e, h: L.MmsConnection_deleteNamedVariableListAsync(
                c, i, e, self._b(domain), self._b(name), h, None)
        inv, err, res, t0, t1 = self._async(L.GenericServiceHandler, st)
        rec = self._rec("deleteNamedVariableList", inv, err, t0, t1, {"domain": domain, "name": name})
        # libiec61850 turns a DeleteNamedVariableList-Response with numberMatched = 0 into
        # MMS_ERROR_ACCESS_OBJECT_NON_EXISTENT and numberDeleted = 0 into ..._ACCESS_DENIED;
        # on the wire both are normal responses.
        if err == 81:
            rec.update(ok=False, error="numberMatched=0", error_kind="Result",
                       numberMatched=0, numberDeleted=0, response_pdu="confirmed-ResponsePDU")
        elif err == 83:
            rec.update(ok=False, error="numberDeleted=0", error_kind="Result",
                       numberMatched=1, numberDeleted=0, response_pdu="confirmed-ResponsePDU")
        elif err == 0:
            rec.update(numberMatched=1, numberDeleted=1)
        return rec

    # --- files
    def op_fileDirectory(self, spec=None, continue_after=None):
        c = self.con
        inv, err, res, t0, t1 = self._async(
            L.FileDirectoryHandler,
            lambda i, e, h: L.MmsConnection_getFileDirectoryAsync(
                c, i, e, self._b(spec) if spec else None,
                self._b(continue_after) if continue_after else None, h, None),
            multi=True)
        entries, more = [], False
        if res and err == 0:
            for call in res:
                if call[3] is not None:
                    entries.append({"name": call[3].decode(), "size": call[4], "lastModified": call[5]})
                else:
                    more = bool(call[6])
        return self._rec("fileDirectory", inv, err, t0, t1,
                         {"fileSpecification": spec, "continueAfter": continue_after},
                         value=entries, moreFollows=more)

    def op_fileOpen(self, name, position=0):
        c = self.con
        inv, err, res, t0, t1 = self._async(
            L.FileOpenHandler,
            lambda i, e, h: L.MmsConnection_fileOpenAsync(c, i, e, self._b(name), position, h, None))
        val = {"frsmId": res[3], "fileSize": res[4], "lastModified": res[5]} if res and err == 0 else None
        return self._rec("fileOpen", inv, err, t0, t1, {"fileName": name, "initialPosition": position},
                         value=val)

    def op_fileRead(self, frsm):
        c = self.con
        inv, err, res, t0, t1 = self._async(
            L.FileReadHandler,
            lambda i, e, h: L.MmsConnection_fileReadAsync(c, i, e, int(frsm), h, None))
        # the buffer is only valid inside the callback -> copy happens in the callback
        return inv, err, res, t0, t1

    def op_fileClose(self, frsm):
        c = self.con
        inv, err, res, t0, t1 = self._async(
            L.GenericServiceHandler,
            lambda i, e, h: L.MmsConnection_fileCloseAsync(c, i, e, int(frsm), h, None))
        return self._rec("fileClose", inv, err, t0, t1, {"frsmId": int(frsm)})

    def op_getFile(self, name):
        """fileOpen + fileRead* + fileClose; returns a list of records."""
        import hashlib
        recs = [self.op_fileOpen(name)]
        if not recs[0]["ok"]:
            return recs
        frsm = recs[0]["value"]["frsmId"]
        data = bytearray()
        while True:
            c = self.con
            ev = threading.Event()
            box = {}

            def cb(inv, param, err, fid, buf, n, more):
                box.update(err=err, more=bool(more), t1=time.time(),
                           data=ctypes.string_at(buf, n) if buf and n else b"")
                ev.set()
            h = L.FileReadHandler(cb)
            self._keep.append(h)
            inv, e = c_uint32(0), c_int(0)
            t0 = time.time()
            L.MmsConnection_fileReadAsync(c, byref(inv), byref(e), int(frsm), h, None)
            if e.value or not ev.wait(TIMEOUT):
                recs.append(self._rec("fileRead", inv.value, e.value or 3, t0, time.time(), {"frsmId": frsm}))
                break
            data += box["data"]
            recs.append(self._rec("fileRead", inv.value, box["err"], t0, box["t1"], {"frsmId": frsm},
                                  bytes=len(box["data"]), moreFollows=box["more"]))
            if box["err"] or not box["more"]:
                break
        recs.append(self.op_fileClose(frsm))
        recs[0]["download"] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        return recs

    def op_fileDelete(self, name):
        c = self.con
        inv, err, res, t0, t1 = self._async(
            L.GenericServiceHandler,
            lambda i, e, h: L.MmsConnection_fileDeleteAsync(c, i, e, self._b(name), h, None))
        return self._rec("fileDelete", inv, err, t0, t1, {"fileName": name})

    def op_fileRename(self, current, new):
        c = self.con
        inv, err, res, t0, t1 = self._async(
            L.GenericServiceHandler,
            lambda i, e, h: L.MmsConnection_fileRenameAsync(c, i, e, self._b(current), self._b(new), h, None))
        return self._rec("fileRename", inv, err, t0, t1, {"currentFileName": current, "newFileName": new})

    def op_obtainFile(self, source, destination, filestore=None):
        c = self.con
        if filestore:
            L.MmsConnection_setFilestoreBasepath(c, self._b(os.path.join(filestore, "")))
        inv, err, res, t0, t1 = self._async(
            L.GenericServiceHandler,
            lambda i, e, h: L.MmsConnection_obtainFileAsync(c, i, e, self._b(source), self._b(destination), h, None))
        return self._rec("obtainFile", inv, err, t0, t1, {"sourceFile": source, "destinationFile": destination})


# ---------------------------------------------------------------- helpers

_UNCONFIRMED_OPS = {"initiate": "initiate-ResponsePDU", "conclude": "conclude-ResponsePDU",
                    "abort": None, "close-tcp": None, "reset-tcp": None}


def expected_response_pdu(rec):
    """Which MMS PDU answers this request on the wire (None: no answer expected).

    DataAccessErrors of read/write travel inside a normal confirmed-ResponsePDU;
    other service errors are confirmed-ErrorPDUs; libiec61850 reject codes are
    RejectPDUs; timeouts/lost connections have no answer."""
    op, kind = rec["op"], rec.get("error_kind")
    if op in _UNCONFIRMED_OPS:
        if op in ("initiate", "conclude") and not rec["ok"]:
            return op + "-ErrorPDU" if kind == "ServiceError" else None
        return _UNCONFIRMED_OPS[op]
    if rec["ok"] or kind in ("DataAccessError", "Result"):
        return "confirmed-ResponsePDU"
    if kind == "ServiceError":
        return "confirmed-ErrorPDU"
    if kind == "Reject":
        return "rejectPDU"
    return None


def type_name(v):
    return {bool: "bool", int: "int", float: "float", str: "str"}.get(type(v), "?")


def _child_spec(spec, name):
    n = L.MmsVariableSpecification_getSize(spec)
    for i in range(n):
        ch = L.MmsVariableSpecification_getChildSpecificationByIndex(spec, i)
        if ch and (L.MmsVariableSpecification_getName(ch) or b"").decode() == name:
            return ch
    return None


_TYPE_NAMES = {0: "array", 1: "structure", 2: "boolean", 3: "bit-string", 4: "integer",
               5: "unsigned", 6: "floating-point", 7: "octet-string", 8: "visible-string",
               9: "generalized-time", 10: "binary-time", 11: "bcd", 12: "objId",
               13: "mms-string", 14: "utc-time"}


def describe_spec(spec, depth=0):
    """Compact description of an MmsVariableSpecification (type tree)."""
    t = L.MmsVariableSpecification_getType(spec)
    name = (L.MmsVariableSpecification_getName(spec) or b"").decode() or None
    d = {"name": name, "type": _TYPE_NAMES.get(t, str(t))}
    if t == L.MMS_STRUCTURE and depth < 6:
        n = L.MmsVariableSpecification_getSize(spec)
        d["components"] = [describe_spec(L.MmsVariableSpecification_getChildSpecificationByIndex(spec, i), depth + 1)
                           for i in range(n)]
    elif t != L.MMS_STRUCTURE:
        d["size"] = L.MmsVariableSpecification_getSize(spec)
    return d


class _MVAS(ctypes.Structure):
    _fields_ = [("domainId", ctypes.c_char_p), ("itemId", ctypes.c_char_p),
                ("arrayIndex", ctypes.c_int32), ("componentName", ctypes.c_char_p)]


def spec_to_ref(ptr):
    s = ctypes.cast(ptr, ctypes.POINTER(_MVAS)).contents
    return [s.domainId.decode() if s.domainId else None, s.itemId.decode() if s.itemId else None]


OPTFLDS = ["reserved", "sequence-number", "report-time-stamp", "reason-for-inclusion",
           "data-set-name", "data-reference", "buffer-overflow", "entryID", "conf-revision",
           "segmentation"]


def parse_report(v):
    """Pick apart an IEC 61850 report (InformationReport 'RPT' access results)."""
    out = {"rpt_id": v[0] if v and isinstance(v[0], str) else None}
    if len(v) < 2 or not isinstance(v[1], dict):
        return out
    bits = v[1]["bits"]
    out["optflds"] = [OPTFLDS[i] for i, b in enumerate(bits) if b == "1" and i < len(OPTFLDS)]
    i = 2

    def has(n):
        return len(bits) > n and bits[n] == "1"
    if has(1):
        out["seq_num"] = v[i]
        i += 1
    if has(2):
        out["time_of_entry"] = v[i]
        i += 1
    if has(4):
        out["data_set"] = v[i]
        i += 1
    if has(6):
        out["buf_ovfl"] = v[i]
        i += 1
    if has(7):
        out["entry_id"] = v[i]
        i += 1
    if has(8):
        out["conf_rev"] = v[i]
        i += 1
    if has(9):
        out["sub_seq_num"], out["more_segments_follow"] = v[i], v[i + 1]
        i += 2
    if i < len(v) and isinstance(v[i], dict) and "bits" in v[i]:
        incl = v[i]["bits"]
        out["inclusion"] = incl
        n = incl.count("1")
        i += 1
        if has(5):
            out["data_refs"] = v[i:i + n]
            i += n
        out["values"] = v[i:i + n]
        i += n
        if has(3):
            out["reasons"] = [reason_names(r) for r in v[i:i + n]]
    return out


REASONS = ["reserved", "data-change", "quality-change", "data-update", "integrity",
           "general-interrogation", "application-trigger"]


def reason_names(r):
    bits = r["bits"] if isinstance(r, dict) else str(r)
    return [REASONS[i] for i, b in enumerate(bits) if b == "1" and i < len(REASONS)]


def main():
    w = ClientWorker()
    out = sys.stdout

    def reply(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()

    reply({"ready": True, "pid": os.getpid()})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            cmd = req.pop("cmd")
            if cmd == "op":
                res = w.op(req.pop("op"), **req)
            elif cmd == "connect":
                res = w.connect(**req)
            elif cmd == "conclude":
                res = w.conclude()
            elif cmd == "abort":
                res = w.abort()
            elif cmd == "fin":
                res = w.fin()
            elif cmd == "rst":
                res = w.rst()
                reply({"ok": True, "result": res})
                os._exit(0)
            elif cmd == "info_reports":
                with w.lock:
                    res = list(w.info_reports)
            elif cmd == "sleep":
                time.sleep(float(req.get("seconds", 0)))
                res = None
            elif cmd == "exit":
                reply({"ok": True, "result": {"connection_lost": w.connection_lost}})
                os._exit(0)
            else:
                raise ValueError(f"unknown command {cmd!r}")
            reply({"ok": True, "result": res})
        except Exception as e:
            import traceback
            reply({"ok": False, "error": repr(e), "tb": traceback.format_exc()})
    os._exit(0)


if __name__ == "__main__":
    main()
