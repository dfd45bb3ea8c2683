"""``mmsanalyze files``: file transfers (FileOpen/Read/Close, ObtainFile); --extract writes them."""

from __future__ import annotations

import sys

from ..errors import CaptureError
from ._common import add_table_options, emit, load

HELP = "file transfers with size and SHA-256; --extract DIR writes the complete ones (never outside DIR)"

TABLE = ("open_frame", "stream", "kind", "name", "size", "bytes", "complete", "status", "reads", "sha256")
DIRECTORY = ("frame", "stream", "specification", "name", "size", "last_modified")


def register(p) -> None:
    add_table_options(p)
    p.add_argument("--extract", metavar="DIR", help="write the complete files under DIR")
    p.add_argument("--incomplete", action="store_true", help="with --extract: also write incomplete files")
    p.add_argument("--strip-root", action="store_true",
                   help="with --extract: write names starting with '/' under DIR instead of refusing them")
    p.add_argument("--force", action="store_true",
                   help="with --extract: overwrite files already in DIR (default: keep them, write a .N copy)")
    p.add_argument("--directory", action="store_true", help="list the FileDirectory entries seen instead")


def run(args) -> int:
    cap = load(args)
    if args.directory:
        emit(cap.file_directory(), args, cap, DIRECTORY)
        return 0
    emit(cap.files(), args, cap, TABLE)
    if args.extract:
        try:
            res = cap.extract_files(args.extract, complete_only=not args.incomplete, strip_root=args.strip_root,
                                    overwrite=args.force)
        except OSError as e:
            raise CaptureError(f"--extract {args.extract}: {e}") from None
        for name, path, note in res:
            print(f"{note}: {name!r}" + (f" -> {path}" if path else ""), file=sys.stderr)
    return 0
