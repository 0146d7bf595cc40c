"""Attacks on isolation from JavaScript: network, environment, the Docker socket, leftovers."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from sandbox.config import ENV_ALLOWLIST
from tests.sandbox.conftest import host_processes_with
from tests.sandbox.js_fixtures import RunJs


def test_fetch_net_connect_and_dns_all_fail(run_js: RunJs) -> None:
    result = run_js(
        """
        import net from "node:net";
        import dns from "node:dns/promises";
        import os from "node:os";
        const connect = (host, port) => new Promise((resolve) => {
          const socket = net.connect({ host, port, timeout: 3000 });
          socket.once("connect", () => { socket.destroy(); resolve("connected"); });
          socket.once("timeout", () => { socket.destroy(); resolve("timeout"); });
          socket.once("error", (error) => resolve(error.code));
        });
        export default async () => {
          const out = { fetch: {}, connect: {} };
          const urls = ["https://registry.npmjs.org/", "http://1.1.1.1/", "http://172.17.0.1:2375/"];
          for (const url of urls) {
            try {
              await fetch(url, { signal: AbortSignal.timeout(3000) });
              out.fetch[url] = "answered";
            } catch (error) {
              out.fetch[url] = String(error.cause?.code ?? error.name);
            }
          }
          for (const [host, port] of [["1.1.1.1", 443], ["8.8.8.8", 53], ["172.17.0.1", 8000]]) {
            out.connect[`${host}:${port}`] = await connect(host, port);
          }
          try { out.dns = await dns.lookup("registry.npmjs.org"); }
          catch (error) { out.dns = `failed: ${error.code}`; }
          out.interfaces = Object.keys(os.networkInterfaces());
          return out;
        };
        """
    )
    assert result.error is None, (result.error, result.logs)
    output = result.output
    assert "answered" not in output["fetch"].values(), output
    assert "connected" not in output["connect"].values(), output
    assert str(output["dns"]).startswith("failed"), output
    assert output["interfaces"] == ["lo"]


def test_no_docker_socket_is_reachable(run_js: RunJs) -> None:
    result = run_js(
        """
        import fs from "node:fs";
        import path from "node:path";
        const sockets = [];
        const walk = (dir, depth) => {
          if (depth > 6) return;
          let entries;
          try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
          for (const entry of entries) {
            const full = path.join(dir, entry.name);
            if (entry.isSocket()) sockets.push(full);
            else if (entry.isDirectory()) walk(full, depth + 1);
          }
        };
        export default async () => {
          for (const top of fs.readdirSync("/")) {
            if (!["proc", "sys"].includes(top)) walk(`/${top}`, 0);
          }
          const dockerEnv = Object.keys(process.env).filter((k) => k.includes("DOCKER"));
          return { sockets, dockerEnv };
        };
        """
    )
    assert result.output == {"sockets": [], "dockerEnv": []}


@pytest.fixture
def canary() -> Iterator[str]:
    value = "canary-" + os.urandom(8).hex()
    os.environ["STEPWELL_CANARY_SECRET"] = value
    os.environ["NPM_TOKEN"] = value
    yield value
    del os.environ["STEPWELL_CANARY_SECRET"], os.environ["NPM_TOKEN"]


def test_worker_environment_canaries_do_not_reach_the_step(run_js: RunJs, canary: str) -> None:
    result = run_js(
        """
        import fs from "node:fs";
        const read = (p) => {
          try { return fs.readFileSync(p, "latin1"); } catch (e) { return e.code; }
        };
        export default async () => ({
          env: { ...process.env },
          pid1: read("/proc/1/environ"),
          own: read("/proc/self/environ"),
          parent: read(`/proc/${process.ppid}/environ`),
        });
        """
    )
    assert result.error is None, result.error
    assert canary not in str(result.output)
    assert set(result.output["env"]) <= set(ENV_ALLOWLIST) | {"HOSTNAME"}


def test_a_detached_child_does_not_outlive_the_step(run_js: RunJs) -> None:
    marker = str(32_000 + os.getpid() % 1000)
    result = run_js(
        f"""
        import {{ spawn }} from "node:child_process";
        export default async () => {{
          const child = spawn("sh", ["-c", "sleep {marker} & sleep {marker}"],
                              {{ detached: true, stdio: "ignore" }});
          child.unref();
          await new Promise((resolve) => child.once("spawn", resolve));
          return "parent done";
        }};
        """
    )
    assert result.output == "parent done", (result.error, result.logs)
    # without pools the container is removed before run() returns; its processes went with it
    assert host_processes_with(f"sleep\x00{marker}") == []
