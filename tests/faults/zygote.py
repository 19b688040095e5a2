"""A process that imports dnactx and torch once, then forks one child per command it is sent: each fault case
starts a real process in milliseconds instead of paying the imports again (nothing here has started a thread pool
before forking, so the children are safe to use torch).

Protocol, one JSON line each way: ``{"args": [...], "out": DIR}`` → ``{"pid": N}``; the child runs ``dnactx ARGS``
with stdout/stderr in DIR/stdout, DIR/stderr, and its exit status (negative: the signal) lands in DIR/rc.
"""

from __future__ import annotations

import json
import os
import sys
import threading


def _child(args: list[str], out: str) -> None:
    os.setpgid(0, 0)
    for fd, name in ((1, "stdout"), (2, "stderr")):
        os.dup2(os.open(os.path.join(out, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    import signal

    signal.signal(signal.SIGINT, signal.default_int_handler)
    from dnactx.cli import main

    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _reap(pid: int, out: str) -> None:
    _, status = os.waitpid(pid, 0)
    rc = os.waitstatus_to_exitcode(status)
    with open(os.path.join(out, "rc.tmp"), "w") as fh:
        fh.write(str(rc))
    os.replace(os.path.join(out, "rc.tmp"), os.path.join(out, "rc"))


def serve() -> None:
    import torch  # noqa: F401 - imported once, before any fork

    import dnactx.cli  # noqa: F401
    import dnactx.registry  # noqa: F401
    import dnactx.train.run  # noqa: F401

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request["args"], request["out"])
        threading.Thread(target=_reap, args=(pid, request["out"]), daemon=True).start()
        print(json.dumps({"pid": pid}), flush=True)


if __name__ == "__main__":
    serve()
