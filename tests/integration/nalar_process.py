"""Shared by the integration tests: free loopback ports, and a `nalar serve` process that is
started, polled until a readiness probe answers, and stopped with SIGTERM."""
import signal
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ServeProcess:
    """Runs `argv` with its output in a temp file (printed by dump_log when a test fails) and
    polls `ready()` until it returns True; exceptions in `probe_errors` mean "not yet"."""

    def __init__(self, argv, ready, timeout=120, probe_errors=(OSError,)):
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline and self.proc.poll() is None:
            try:
                if ready():
                    return
            except probe_errors:
                pass
            time.sleep(0.1)
        self.dump_log()
        raise SystemExit("server did not become ready")

    def dump_log(self, tail=20000):
        self.log.seek(0)
        sys.stdout.write(self.log.read().decode(errors="replace")[-tail:])

    def stop(self, timeout=60):
        """SIGTERM, then the exit status (-9 when it had to be killed after `timeout`)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9
