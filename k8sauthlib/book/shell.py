"""Run the notebooks' ``!`` lines so that none of their output is lost.

IPython runs a ``!`` line in a pseudo-terminal with pexpect and prints what it reads until pexpect
reports end of file. pexpect reports it as soon as the child has exited and a select() with a zero
timeout finds nothing to read (pexpect 4.9, ``spawn.read_nonblocking``: "If isalive() is false,
then I pretend that this is the same as EOF"). On Linux, what the child wrote just before it exited
may at that moment still be on its way to the master side of the terminal (the pty's flip buffer
is pushed by a work queue); select() does not wait for it, but read() does (``n_tty_read`` flushes
the buffer work before it answers). On a busy machine IPython then prints nothing for the line:
measured on 2 busy cores, a command that prints one line and exits lost it in 6 of 300 runs under
IPython's runner (IPython 9.19, ``IPython/utils/_process_posix.py``), and one non-blocking read
after the end of file recovered every lost line.

:func:`install` makes the running IPython (a Jupyter kernel's shell included) use :func:`system` for ``!`` lines: the same
pseudo-terminal (commands see a terminal, as under IPython's runner), the same exit code in
``_exit_code``, then one more non-blocking read after the end of file. It also decodes UTF-8 across
read boundaries, so a Korean character split between two reads is not printed as two U+FFFD.
``out = !command`` has the same race (IPython's ``getoutput`` reads with ``pexpect.run``), so
:func:`install` gives it :func:`capture`, the same runner returning the text instead of printing it.
"""

from __future__ import annotations

import codecs
import errno
import fcntl
import os
import sys

#: How long one wait for output lasts before what arrived so far is printed (seconds).
READ_INTERVAL = 0.05


def system(cmd: str) -> int:
    """Run ``cmd`` with ``$SHELL -c`` (``/bin/sh`` when unset) in a pseudo-terminal, printing its
    output (stdout and stderr together, as a terminal shows them) to ``sys.stdout`` as it comes.

    Returns:
        The exit status; minus the signal number if a signal ended the command (IPython's
        convention for ``_exit_code``).
    """

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    return _run(cmd, write)


def capture(cmd: str) -> str:
    """Run ``cmd`` as :func:`system` does and return its output instead of printing it (stdout
    and stderr together, ``\\r\\n`` turned back into ``\\n``), for ``out = !command``; the
    exit status goes to IPython's ``_exit_code`` when IPython is running."""
    parts: list[str] = []
    status = _run(cmd, parts.append)
    _set_exit_code(status)
    return "".join(parts).replace("\r\n", "\n")


def _set_exit_code(status: int) -> None:
    ip = None
    if "IPython" in sys.modules:
        from IPython import get_ipython

        ip = get_ipython()
    if ip is not None:
        ip.user_ns["_exit_code"] = status


def _run(cmd: str, write) -> int:
    import pexpect

    shell = os.environ.get("SHELL") or "/bin/sh"
    child = pexpect.spawn(shell, ["-c", cmd])
    decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def show(data: bytes, final: bool = False) -> None:
        text = decoder.decode(data, final)
        if text:
            write(text)

    printed = 0
    try:
        while child.expect_list([pexpect.TIMEOUT, pexpect.EOF], READ_INTERVAL) == 0:
            show(child.before[printed:])
            printed = len(child.before)
        show(child.before[printed:])
        show(_drain(child.child_fd), final=True)
    except KeyboardInterrupt:
        child.sendintr()
        try:
            printed = len(child.before or b"")
            child.expect_list([pexpect.TIMEOUT, pexpect.EOF], 0.2)
            show(child.before[printed:], final=True)
        finally:
            child.terminate(force=True)
    child.close()
    if child.exitstatus is None:
        return -(child.signalstatus or 0)
    # sh reports a child killed by signal N as 128+N
    return -(child.exitstatus - 128) if child.exitstatus > 128 else child.exitstatus


def _drain(fd: int) -> bytes:
    """What the terminal still holds after pexpect's end of file: read without blocking (a
    command may leave a background process holding the terminal) until the kernel says the other
    side is closed (EIO) or empty for now (EAGAIN)."""
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError as e:
            if e.errno in (errno.EIO, errno.EAGAIN):
                break
            raise
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def install() -> bool:
    """Make the running IPython run ``!`` lines with :func:`system` and ``out = !command`` with
    :func:`capture`. IPython's ``system_piped`` and ``getoutput`` (what they call) keep expanding
    ``{variables}``; only the runner they call changes. Returns False (and changes nothing)
    outside IPython or on another platform.

    The runner is replaced where the running shell's own methods look it up: a Jupyter kernel's
    shell (ipykernel 7, ``zmqshell.ZMQInteractiveShell.system_piped``) calls the ``system`` that
    ``ipykernel/zmqshell.py`` imported, not the one in ``IPython/core/interactiveshell.py``."""
    if os.name != "posix" or "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    ip = get_ipython()
    if ip is None:
        return False
    targets = []
    for method, name, runner in (("system_piped", "system", system), ("getoutput", "getoutput", capture)):
        namespace = getattr(getattr(type(ip), method, None), "__globals__", {})
        if not callable(namespace.get(name)):
            return False
        targets.append((namespace, name, runner))
    for namespace, name, runner in targets:
        namespace[name] = runner
    return True
