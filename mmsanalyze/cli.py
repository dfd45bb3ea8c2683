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

#: Highest TCP port number.
MAX_PORT = 65535


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (``-c``: tshark refuses 0 and negative counts)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v} is not a positive integer (use 1 or more)")
    return v


def port_number(text: str) -> int:
    """argparse type: a TCP port number 1..65535."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 1 <= v <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"{v} is not a TCP port number (1..{MAX_PORT})")
    return v


class _Parser(argparse.ArgumentParser):
    """Bad options give one line (``mmsanalyze CMD: ...``) and exit status 2, like unusable input;
    unrecognized arguments are reported by the subcommand they were given to."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")

    def parse_args(self, args=None, namespace=None):
        args, extra = self.parse_known_args(args, namespace)
        if extra:
            sub = getattr(self, "_commands", {}).get(getattr(args, "command", None), self)
            sub.error(f"unrecognized arguments: {' '.join(extra)}")
        return args


class _Captures(argparse.Action):
    """Positional captures: ``args.captures`` (the list) and ``args.capture`` (the one
    capture as before, a list when several are given, None when none)."""

    def __call__(self, parser, namespace, values, option_string=None):
        values = list(values or [])
        setattr(namespace, "captures", values)
        setattr(namespace, "capture", values[0] if len(values) == 1 else (values or None))


def _add_source(p: argparse.ArgumentParser) -> None:
    p.set_defaults(capture=None)
    p.add_argument("captures", nargs="*", metavar="CAPTURE", action=_Captures,
                   help="capture file(s) (pcap, pcapng, gzip-compressed); several are merged in time order")
    p.add_argument("-r", dest="read_file", metavar="FILE", help="capture file (tshark style; - for standard input)")
    p.add_argument("-i", dest="interface", metavar="IFACE", help="capture live on this interface (root)")
    p.add_argument("-c", dest="count", type=positive_int, metavar="N", help="stop after N frames")
    p.add_argument("-f", dest="capture_filter", metavar="BPF",
                   help="live capture filter (tcpdump syntax), e.g. 'tcp port 102 or ether proto 0x88b8'")
    p.add_argument("-a", dest="autostop", metavar="duration:SEC",
                   help="live capture: stop after SEC seconds (tshark's -a duration:SEC)")
    p.add_argument("-B", dest="buffer_mb", type=float, metavar="MB",
                   help="live capture: kernel ring buffer size in MiB (dumpcap's -B; default 64)")
    p.add_argument("--backend", choices=("ring", "socket", "scapy"),
                   help="live capture backend: ring (TPACKET_V3, Linux default), socket "
                        "(recvmsg per frame), scapy (libpcap; the default where AF_PACKET is missing)")
    p.add_argument("--port", type=port_number, action="append", default=[], metavar="N",
                   help="also decode TPKT/ISO on TCP port N (repeatable), like tshark -d tcp.port==N,tpkt")
    p.add_argument("-d", dest="decode_as", action="append", default=[], metavar="tcp.port==N,tpkt",
                   help="tshark-style decode-as for extra TPKT ports")
    p.add_argument("--scl", metavar="FILE",
                   help="SCL file (.scd .icd .cid .iid .ssd .sed): name IEDs, data set members, SV channels")


def _add_format(p: argparse.ArgumentParser, formats=("table", "jsonl", "csv", "json")) -> None:
    p.add_argument("--format", "-T", dest="format", choices=formats, default="table",
                   help="output format (default: table)")


#: Subcommands, in help order: each is a module of mmsanalyze.commands with
#: ``HELP`` (one line), ``register(parser)`` (its options) and ``run(args) -> int``.
COMMANDS = ("pdus", "summary", "latency", "transactions", "reports", "errors", "associations", "files",
            "traffic", "goose", "sv", "controls", "verify", "modes", "scl", "scl-check", "security", "split",
            "batch", "query", "monitor")


#: Commands that do not use ``--scl`` (every command accepts the option): giving it to
#: them is one line and status 2 rather than silently ignored.  ``pdus -w`` refuses it too.
SCL_UNUSED = ("split", "batch", "query", "verify", "monitor")


def _command_module(name: str):
    import importlib
    try:
        return importlib.import_module(f".commands.{name.replace('-', '_')}", __package__)
    except ModuleNotFoundError as err:
        if err.name and err.name.endswith(f"commands.{name.replace('-', '_')}"):
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="mmsanalyze", description="IEC 61850 MMS / GOOSE / SV capture analyzer",
                 epilog=MAIN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version", version=f"mmsanalyze {_version()}")
    ap.add_argument("-D", dest="list_interfaces", action="store_true",
                    help="list the interfaces live capture (-i) can use, and exit (tshark's -D)")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    ap._commands = sub.choices
    for name in COMMANDS:
        mod = _command_module(name)
        if mod is None:
            continue
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        _add_source(p)
        mod.register(p)
        if not p.epilog:
            p.epilog = getattr(mod, "EXAMPLES", None) or _default_examples(name)
        p.set_defaults(run=mod.run)
    return ap


MAIN_EXAMPLES = """examples:
  mmsanalyze summary station.pcapng
  mmsanalyze pdus station.pcapng -Y 'service == read && variables ~ MMXU1'
  mmsanalyze transactions station.pcapng --failed --format csv
  mmsanalyze summary day1.pcapng day2.pcapng       (merged in time order)
  tcpdump -w - -i eth0 | mmsanalyze pdus -r -
  mmsanalyze goose -i eth0 -a duration:60            (live, as root)
  mmsanalyze COMMAND --help                          (options and examples of one command)"""


def _default_examples(name: str) -> str:
    from .commands._examples import EXAMPLES
    if name in EXAMPLES:
        return EXAMPLES[name]
    return (f"examples:\n  mmsanalyze {name} station.pcapng\n"
            f"  mmsanalyze {name} -r station.pcapng -c 10000 --format json")


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("mmsanalyze")
    except Exception:                # not installed (run from a checkout)
        return "0.1.0 (source)"


def list_interfaces() -> list[str]:
    """Interfaces for ``-i``, numbered like tshark -D (``any`` = all of them)."""
    import os
    try:
        names = sorted(os.listdir("/sys/class/net"))
    except OSError:
        names = []
    return names + ["any"]


add_source = _add_source
add_format = _add_format


def ports_of(args) -> tuple:
    ports = [102] + list(args.port)
    for spec in args.decode_as:
        s = spec.replace(" ", "")
        if s.startswith("tcp.port==") and "," in s:
            try:
                ports.append(port_number(s[len("tcp.port=="):s.index(",")]))
                continue
            except argparse.ArgumentTypeError:
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
    """The frame source named by the arguments: ``(reader, frames)`` (see commands._common.open_reader)."""
    from .commands._common import open_reader
    reader = open_reader(args)
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
    from .commands._common import check_args, safe_streams
    safe_streams()
    ap = build_parser()
    try:
        args = ap.parse_args(argv)
    except SystemExit as stop:          # --help, --version, or a bad option (one line, status 2)
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    if getattr(args, "list_interfaces", False):
        for i, name in enumerate(list_interfaces(), 1):
            print(f"{i}. {name}" + (" (all interfaces, Linux cooked headers)" if name == "any" else ""))
        return 0
    if not args.command:
        ap.print_help()
        return EXIT_USAGE
    try:
        if getattr(args, "scl", None) and args.command in SCL_UNUSED:
            raise CaptureError(f"{args.command} does not use --scl (drop it)")
        check_args(args)
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
    except OSError as err:            # e.g. an output file that cannot be written
        where = f"{err.filename}: " if err.filename else ""
        print(f"mmsanalyze: {where}{err.strerror or err}", file=sys.stderr)
        return EXIT_USAGE


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
