"""The network attempts of a command and all its children, seen by the kernel's own record (strace).

An attempt is a connect() or a send to an IP address that is not loopback (nothing sent to loopback leaves the
machine), and any DNS query (port 53, loopback included: a local stub resolver forwards it). Creating a socket is not
an attempt; connecting one is, even a UDP socket that sends nothing yet. Needs strace (`apt-get install strace`;
.ci/run installs it when missing).
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

SYSCALLS = "connect,sendto,sendmsg,sendmmsg"
_ADDRESS = re.compile(r'sa_family=AF_INET6?, sin6?_port=htons\((\d+)\).*?'
                      r'(?:inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)")')


def strace() -> str:
    found = shutil.which("strace")
    assert found, "the network test needs strace: apt-get install strace (CI's .ci/run installs it)"
    return found


def traced(cmd: Sequence[str], log: Path, **kwargs) -> subprocess.CompletedProcess:
    """Run `cmd` (and every process it starts) with its network system calls written to `log`."""
    return subprocess.run([strace(), "-f", "-qq", "--seccomp-bpf", "-e", f"trace={SYSCALLS}", "-e", "signal=none",
                           "-o", str(log), *cmd], capture_output=True, text=True, **kwargs)


def prefix(log: Path) -> list[str]:
    """The command prefix that records into `log` (for harnesses that build the command themselves)."""
    return [strace(), "-f", "-qq", "--seccomp-bpf", "-e", f"trace={SYSCALLS}", "-e", "signal=none", "-o", str(log)]


def _leaves(host: str, port: int) -> bool:
    addr = ipaddress.ip_address(host)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return port == 53 or not addr.is_loopback


def attempts(log: Path) -> list[str]:
    """Every recorded connect or send that would reach the network, as '<host> port <port>: <the call>'."""
    found = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        for m in _ADDRESS.finditer(line):
            host, port = m[2] or m[3], int(m[1])
            if _leaves(host, port):
                found.append(f"{host} port {port}: {line.strip()[:160]}")
    return found
