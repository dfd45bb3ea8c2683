"""Command line: ``mmsanalyze COMMAND CAPTURE [options]`` (also ``python -m mmsanalyze``).

Conventions follow tshark: ``-r FILE`` or a positional capture, ``-i IFACE`` for
live capture, ``-Y FILTER`` display filter, ``-V`` packet details, ``-c N`` stop
after N frames, ``-d tcp.port==N,tpkt`` / ``--port N`` for extra TPKT ports.
Unusable input gives one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

from .errors import CaptureError

EXIT_USAGE = 2


def _add_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("capture", nargs="?", help="capture file (pcap, pcapng, gzip-compressed)")
    p.add_argument("-r", dest="read_file", metavar="FILE", help="capture file (tshark style)")
    p.add_argument("-i", dest="interface", metavar="IFACE", help="capture live on this interface (root)")
    p.add_argument("-c", dest="count", type=int, metavar="N", help="stop after N frames")
    p.add_argument("-f", dest="capture_filter", metavar="BPF",
                   help="live capture filter (tcpdump syntax), e.g. 'tcp port 102 or ether proto 0x88b8'")
    p.add_argument("-a", dest="autostop", metavar="duration:SEC",
                   help="live capture: stop after SEC seconds (tshark's -a duration:SEC)")
    p.add_argument("-B", dest="buffer_mb", type=float, metavar="MB",
                   help="live capture: kernel ring buffer size in MiB (dumpcap's -B; default 64)")
    p.add_argument("--backend", choices=("ring", "socket", "scapy"),
                   help="live capture backend: ring (TPACKET_V3, Linux default), socket "
                        "(recvmsg per frame), scapy (libpcap; the default where AF_PACKET is missing)")
    p.add_argument("--port", type=int, action="append", default=[], metavar="N",
                   help="also decode TPKT/ISO on TCP port N (repeatable), like tshark -d tcp.port==N,tpkt")
    p.add_argument("-d", dest="decode_as", action="append", default=[], metavar="tcp.port==N,tpkt",
                   help="tshark-style decode-as for extra TPKT ports")


def _add_format(p: argparse.ArgumentParser, formats=("table", "jsonl", "csv", "json")) -> None:
    p.add_argument("--format", "-T", dest="format", choices=formats, default="table",
                   help="output format (default: table)")


#: Subcommands, in help order: each is a module of mmsanalyze.commands with
#: ``HELP`` (one line), ``register(parser)`` (its options) and ``run(args) -> int``.
COMMANDS = ("pdus", "summary", "latency", "transactions", "reports", "errors", "associations", "files",
            "traffic", "goose", "sv", "monitor")


def _command_module(name: str):
    import importlib
    try:
        return importlib.import_module(f".commands.{name}", __package__)
    except ModuleNotFoundError as err:
        if err.name and err.name.endswith(f"commands.{name}"):
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="mmsanalyze",
                                 description="IEC 61850 MMS / GOOSE / SV capture analyzer")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        mod = _command_module(name)
        if mod is None:
            continue
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        _add_source(p)
        mod.register(p)
        p.set_defaults(run=mod.run)
    return ap


add_source = _add_source
add_format = _add_format


def ports_of(args) -> tuple:
    ports = [102] + list(args.port)
    for spec in args.decode_as:
        s = spec.replace(" ", "")
        if s.startswith("tcp.port==") and "," in s:
            try:
                ports.append(int(s[len("tcp.port=="):s.index(",")]))
                continue
            except ValueError:
                pass
        raise CaptureError(f"unsupported decode-as '{spec}' (use tcp.port==N,tpkt)")
    return tuple(sorted(set(ports)))


def live_options(args) -> dict:
    """open_live() options from -f / -a (they apply to interfaces only)."""
    opts = {}
    if getattr(args, "capture_filter", None):
        opts["bpf_filter"] = args.capture_filter
    if getattr(args, "buffer_mb", None) is not None:
        opts["buffer_mb"] = args.buffer_mb
    if getattr(args, "backend", None):
        opts["backend"] = args.backend
    spec = getattr(args, "autostop", None)
    if spec:
        key, _, val = spec.partition(":")
        try:
            if key != "duration":
                raise ValueError
            opts["timeout"] = float(val)
        except ValueError:
            raise CaptureError(f"unsupported autostop '{spec}' (use -a duration:SECONDS)") from None
    return opts


def open_frames(args):
    """The frame source named by the arguments (file or interface)."""
    from .io import open_source
    src = args.interface or args.read_file or args.capture
    if not src:
        raise CaptureError("no capture given (a file, -r FILE or -i IFACE)")
    reader = open_source(src, **live_options(args))
    from .net.link import SUPPORTED_LINKTYPES, linktype_name
    kinds = getattr(reader, "linktypes", None)
    if kinds and not (set(kinds) & SUPPORTED_LINKTYPES):
        reader.close()
        names = ", ".join(f"{linktype_name(k)} ({k})" for k in sorted(kinds))
        raise CaptureError(f"{src}: unsupported link type {names}; supported: Ethernet, Linux cooked "
                           "v1/v2, raw IPv4/IPv6, BSD loopback/null")
    if args.count:
        import itertools
        return reader, itertools.islice(reader, args.count)
    return reader, reader


#: Decoded PDUs are many small acyclic containers; the default gen-0 threshold (700)
#: makes the cyclic collector rescan them constantly (measured: 3x slower decoding).
GC_THRESHOLD = (100_000, 50, 100)


def main(argv=None) -> int:
    import gc
    gc.set_threshold(*GC_THRESHOLD)
    ap = build_parser()
    args = ap.parse_args(argv)
    if not args.command:
        ap.print_help()
        return EXIT_USAGE
    try:
        return args.run(args)
    except CaptureError as err:
        print(f"mmsanalyze: {err}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        try:
            sys.stdout = None
        except Exception:
            pass
        return 0
    except KeyboardInterrupt:
        return 130


try:
    import orjson as _orjson
except ImportError:       # pragma: no cover - orjson is a declared dependency
    _orjson = None


def dumps(obj) -> str:
    """Compact JSON text of ``obj`` (bytes as hex, tuples/sets as lists, NaN as null)."""
    if _orjson is not None:
        try:
            return _orjson.dumps(obj, default=_json_default,
                                 option=_orjson.OPT_SERIALIZE_NUMPY | _orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:
            pass          # e.g. integers beyond 64 bits: the standard library handles them
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def dumpb(obj) -> bytes:
    """:func:`dumps` as UTF-8 bytes (orjson's native output: no str round trip)."""
    if _orjson is not None:
        try:
            return _orjson.dumps(obj, default=_json_default,
                                 option=_orjson.OPT_SERIALIZE_NUMPY | _orjson.OPT_NON_STR_KEYS)
        except TypeError:
            pass
    return dumps(obj).encode()


def _json_default(o):
    if isinstance(o, (bytes, bytearray, memoryview)):
        return bytes(o).hex()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    if isinstance(o, float):
        return None
    if hasattr(o, "item"):
        return o.item()
    return str(o)
