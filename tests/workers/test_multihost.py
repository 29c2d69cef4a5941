"""Several hosts: two web and two worker processes, each in a Linux network namespace of
its own (a host with its own address), reaching PostgreSQL, Redis and SMTP over veth
links to a bridge. Submissions go to both web hosts; one worker host is killed (kill -9
of every process in its namespace) while it is in the middle of delivering an email; the
surviving worker takes its work up after the leases. Nothing queued is lost, nothing is
sent twice.

PostgreSQL only (several hosts cannot share one SQLite file): `tests/run.sh` runs it in
its PostgreSQL run and deselects it (`-m 'not multihost'`) in the SQLite one. Needs root
(CAP_NET_ADMIN) and iproute2; skipped, with the reason, only where a namespace cannot be
made. Alone: `CFP_TEST_DB=postgresql .venv/bin/python -m pytest tests/workers/test_multihost.py`.
"""
from __future__ import annotations

import ipaddress
import os
import subprocess
import threading

import pytest
import sqlalchemy as sa
from celery import Celery

from cfp.core.outbox import MessageStatus
from tests.workers.hosts import (
    Browser,
    Forwarder,
    Inbox,
    RedisServer,
    app_env,
    assert_done_once,
    free_port,
    held_message,
    outcomes,
    prepared_proposals,
    smtp_server,
    start_web,
    start_worker,
    submit,
)
from tests.workers.test_faults import LEASE_SECONDS, MAIL_FROM, sweep_until_done

pytestmark = [pytest.mark.real_commits, pytest.mark.multihost]
HOSTS = ("web1", "web2", "worker1", "worker2")
WEB_PORT = 8000


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


class Network:
    """A bridge in this namespace (the gateway address, where the servers listen) and one
    namespace per host, linked to it by a veth pair, with lo up."""

    def __init__(self):
        tag = str(os.getpid() % 100000)
        self.subnet = self._free_subnet()
        self.gateway = str(self.subnet.network_address + 1)
        self.bridge = f"cfpbr{tag}"
        self.namespaces = {host: f"cfp{tag}-{host}" for host in HOSTS}
        self.addresses = {host: str(self.subnet.network_address + 10 + n) for n, host in enumerate(HOSTS)}
        self.veths = {host: f"cfv{tag}{n}" for n, host in enumerate(HOSTS)}
        self.made: list[tuple[str, str]] = []

    @staticmethod
    def _free_subnet() -> ipaddress.IPv4Network:
        """A /24 in 10.231/16 that no interface here uses."""
        taken = ip("-4", "-o", "addr").stdout
        for third in [os.getpid() % 200 + 20, *range(20, 250)]:
            subnet = ipaddress.ip_network(f"10.231.{third}.0/24")
            if f"10.231.{third}." not in taken:
                return subnet
        raise RuntimeError("no free subnet in 10.231.0.0/16")

    def build(self) -> None:
        first = next(iter(self.namespaces.values()))
        made = ip("netns", "add", first, check=False)
        if made.returncode != 0:
            pytest.skip(f"cannot make a network namespace (`ip netns add` needs root or CAP_NET_ADMIN): "
                        f"{made.stderr.strip()}")
        self.made.append(("netns", first))
        ip("link", "add", self.bridge, "type", "bridge")
        self.made.append(("link", self.bridge))
        ip("addr", "add", f"{self.gateway}/{self.subnet.prefixlen}", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for host, namespace in self.namespaces.items():
            if namespace != first:
                ip("netns", "add", namespace)
                self.made.append(("netns", namespace))
            outside, inside = self.veths[host], self.veths[host] + "p"
            ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            self.made.append(("link", outside))
            ip("link", "set", inside, "netns", namespace)
            ip("link", "set", outside, "master", self.bridge, "up")
            ip("-n", namespace, "link", "set", inside, "name", "eth0")
            ip("-n", namespace, "addr", "add", f"{self.addresses[host]}/{self.subnet.prefixlen}", "dev", "eth0")
            ip("-n", namespace, "link", "set", "eth0", "up")
            ip("-n", namespace, "link", "set", "lo", "up")

    def prefix(self, host: str) -> list[str]:
        return ["ip", "netns", "exec", self.namespaces[host]]

    def kill_host(self, host: str) -> list[int]:
        """kill -9 of every process of the host, at once; their ids."""
        pids = [int(pid) for pid in ip("netns", "pids", self.namespaces[host]).stdout.split()]
        if pids:
            subprocess.run(["kill", "-9", *map(str, pids)], check=False)
        return pids

    def tear_down(self) -> None:
        for kind, name in reversed(self.made):
            if kind == "netns":
                self.kill_host(next(h for h, n in self.namespaces.items() if n == name))
                ip("netns", "del", name, check=False)
            else:
                ip("link", "del", name, check=False)


@pytest.fixture
def network():
    network = Network()
    try:
        network.build()
        yield network
    finally:
        network.tear_down()


@pytest.fixture
def servers(network, database_url, tmp_path):
    """PostgreSQL (forwarded), a private Redis and an SMTP server on the gateway address."""
    url = sa.engine.make_url(database_url)
    forwarder = Forwarder((network.gateway, 0), (url.host, url.port or 5432))
    db_port = forwarder.server.sockets[0].getsockname()[1]
    broker = RedisServer(network.gateway, free_port(network.gateway), tmp_path / "redis.log")
    inbox, smtp_port = Inbox(), free_port(network.gateway)
    controller = None
    try:
        broker.start()
        controller = smtp_server(inbox, network.gateway, smtp_port)
        yield url.set(host=network.gateway, port=db_port), broker, inbox, smtp_port
    finally:
        inbox.release()
        if controller is not None:
            controller.stop()
        broker.stop()
        forwarder.close()


def test_two_web_and_two_worker_hosts_lose_nothing_and_send_nothing_twice_when_a_worker_host_dies(
        app, database_url, network, servers, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("several hosts cannot share one SQLite file: run it with CFP_TEST_DB=postgresql")
    host_db_url, broker, inbox, smtp_port = servers
    env = {host: app_env(database_url=host_db_url.render_as_string(hide_password=False),
                         broker_url=broker.url, secret_key=app.secret_key,
                         instance=tmp_path / host, CFP_SMTP_HOST=network.gateway, CFP_SMTP_PORT=smtp_port,
                         CFP_MAIL_FROM=MAIL_FROM, CFP_CSRF_ENABLED="0",
                         CFP_TASK_LEASE_SECONDS=LEASE_SECONDS, CFP_MAIL_CLAIM_LEASE_SECONDS=LEASE_SECONDS)
           for host in HOSTS}
    # The first email either worker host sends stays mid-send; that host is the one killed
    # (which of the two takes the first delivery is the broker's choice).
    inbox.hold_from(network.addresses["worker1"], network.addresses["worker2"])
    processes = [start_web(host, env[host], tmp_path / f"{host}.log", "0.0.0.0", WEB_PORT, network.prefix(host))
                 for host in ("web1", "web2")]
    processes += [start_worker(host, env[host], tmp_path / f"{host}.log", network.prefix(host))
                  for host in ("worker1", "worker2")]
    web1, web2, worker1, worker2 = processes
    sweeper = Celery("beat", broker=broker.url, set_as_current=False)
    try:
        for process in processes:
            process.wait_ready()
        proposals = prepared_proposals(8)

        def burst(host, share):  # each web host gets its share, both at once
            for proposal_id, email in share:
                submit(Browser(network.addresses[host], WEB_PORT), email, proposal_id)

        errors = []
        threads = [threading.Thread(target=lambda h=h, s=s: _record(errors, burst, h, s))
                   for h, s in (("web1", proposals[0::2]), ("web2", proposals[1::2]))]
        for thread in threads:
            thread.start()
        assert inbox.holding.wait(45), worker1.output() + worker2.output()
        victim = "worker1" if inbox.held_peer == network.addresses["worker1"] else "worker2"
        dead, survivor = (worker1, worker2) if victim == "worker1" else (worker2, worker1)
        killed = network.kill_host(victim)  # the whole host, mid-delivery
        inbox.release()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        assert killed and dead.process.wait(10) is not None

        held = held_message(inbox, MAIL_FROM)
        assert held.status == MessageStatus.sending and held.attempts == 1  # the dead host's claim
        sweep_until_done(sweeper, dead, survivor)

        assert_done_once([pid for pid, _ in proposals], inbox, MAIL_FROM)
        held = held_message(inbox, MAIL_FROM)
        assert held.attempts == 2  # the dead host's attempt, then the survivor's
        sent = worker1.succeeded("mail.deliver_email") + worker2.succeeded("mail.deliver_email")
        # Each message is sent once (assert_done_once); a run whose message was sent by an
        # earlier run or by another's batch found it sent: skipped.
        assert "sent" in outcomes(sent) and set(outcomes(sent)) <= {"sent", "skipped"}
        assert survivor.process.poll() is None and web1.process.poll() is None and web2.process.poll() is None
    finally:
        sweeper.close()
        for process in processes:
            process.kill()


def _record(errors: list, function, *args) -> None:
    try:
        function(*args)
    except BaseException as exc:  # noqa: BLE001  (reported by the test's thread)
        errors.append(repr(exc))
