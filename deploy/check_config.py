#!/usr/bin/env python3
"""Cross-checks of the deployment files against each other and the binary.

  check_config.py HELP.txt COMPOSE_CONFIG.yaml ENV_OUT RENDERED.yaml...

HELP.txt: `modelserver --help`; COMPOSE_CONFIG.yaml: `docker-compose config`
of deploy/compose.yaml; RENDERED.yaml: `kubectl kustomize` of each
deploy/k8s directory (the first one is the base).

- every MODELSERVER_* variable (compose environment, ConfigMaps that a
  Deployment takes with envFrom) is a flag of the binary: MODELSERVER_FOO_BAR
  is --foo-bar. When the binary's help mentions no MODELSERVER_* variable at
  all (a binary from before they existed) missing flags are only reported;
- shutdown timing: compose stop_grace_period, and a Deployment's
  terminationGracePeriodSeconds, cover preStop sleep + --drain-seconds + the
  server's 10 s grace for calls in flight;
- gRPC probes use the port of MODELSERVER_LISTEN; every Service targetPort
  name is a container port; every ServiceMonitor endpoint port is a Service
  port name.

Writes the base's MODELSERVER_* variables to ENV_OUT (KEY=VALUE lines), for
deploy/validate.sh to start the real binary with them. Exit status 1 with
the problems on stderr when something does not hold.
"""
import os
import re
import sys

import yaml

SHUTDOWN_GRACE_SECONDS = 10  # server/main.cc kShutdownGrace


def duration_seconds(text):
    """Compose durations: 1m30s, 20s, 1.5s, 500ms."""
    total = 0.0
    for value, unit in re.findall(r"([\d.]+)(us|ms|s|m|h)", str(text)):
        total += float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[unit]
    return total


def flag_of(var):
    return "--" + var[len("MODELSERVER_"):].lower().replace("_", "-")


class Checker:
    def __init__(self, help_text):
        self.flags = set(re.findall(r"(?m)^\s+(?:-\w,)?(--[a-z0-9-]+)", help_text))
        self.env_aware = "MODELSERVER_" in help_text
        self.problems = []
        self.notes = []

    def problem(self, msg):
        self.problems.append(msg)

    def check_env(self, where, env):
        for var in sorted(env):
            if not var.startswith("MODELSERVER_"):
                continue
            if flag_of(var) not in self.flags:
                msg = f"{where}: {var}: the binary has no flag {flag_of(var)}"
                (self.problems if self.env_aware else self.notes).append(msg)

    def check_compose(self, config):
        svc = config.get("services", {}).get("modelserver")
        if svc is None:
            self.problem("compose: no service modelserver")
            return
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) for e in env)
        self.check_env("compose", env)
        drain = float(env.get("MODELSERVER_DRAIN_SECONDS", 0))
        need = drain + SHUTDOWN_GRACE_SECONDS
        have = duration_seconds(svc.get("stop_grace_period", "10s"))
        if have < need:
            self.problem(f"compose: stop_grace_period {have:g} s < drain {drain:g} s + "
                         f"{SHUTDOWN_GRACE_SECONDS} s grace")

    def check_k8s(self, name, objects, env_out):
        by_kind = {}
        for o in objects:
            by_kind.setdefault(o.get("kind"), []).append(o)
        configmaps = {o["metadata"]["name"]: o.get("data") or {} for o in by_kind.get("ConfigMap", [])}
        services = by_kind.get("Service", [])
        for d in by_kind.get("Deployment", []):
            dname = d["metadata"]["name"]
            pod = d["spec"]["template"]["spec"]
            for c in pod.get("containers", []):
                where = f"{name}: Deployment {dname} container {c['name']}"
                env = {}
                for ef in c.get("envFrom", []):
                    ref = (ef.get("configMapRef") or {}).get("name")
                    if ref is not None:
                        if ref not in configmaps:
                            self.problem(f"{where}: envFrom ConfigMap {ref} is not in the render")
                        env.update(configmaps.get(ref, {}))
                for e in c.get("env", []):
                    if "value" in e:
                        env[e["name"]] = e["value"]
                self.check_env(where, env)
                if env_out is not None:
                    env_out.update({k: v for k, v in env.items() if k.startswith("MODELSERVER_")})
                # Shutdown: preStop sleep + drain + grace <= terminationGracePeriodSeconds.
                pre = ((c.get("lifecycle") or {}).get("preStop") or {})
                sleep = 0.0
                if "sleep" in pre:
                    sleep = float(pre["sleep"].get("seconds", 0))
                elif "exec" in pre:
                    cmd = pre["exec"].get("command", [])
                    if len(cmd) == 2 and cmd[0].endswith("sleep"):
                        sleep = float(cmd[1])
                drain = float(env.get("MODELSERVER_DRAIN_SECONDS", 0))
                need = sleep + drain + SHUTDOWN_GRACE_SECONDS
                have = float(pod.get("terminationGracePeriodSeconds", 30))
                if have < need:
                    self.problem(f"{where}: terminationGracePeriodSeconds {have:g} < preStop "
                                 f"{sleep:g} + drain {drain:g} + grace {SHUTDOWN_GRACE_SECONDS}")
                # gRPC probes on the gRPC port.
                listen = env.get("MODELSERVER_LISTEN", "")
                port = int(listen.rsplit(":", 1)[1]) if ":" in listen else None
                for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                    p = c.get(probe)
                    if p is None:
                        self.problem(f"{where}: no {probe}")
                    elif "grpc" in p and port is not None and p["grpc"].get("port") != port:
                        self.problem(f"{where}: {probe} port {p['grpc'].get('port')} is not "
                                     f"MODELSERVER_LISTEN's {port}")
                # Services point at named container ports.
                ports = {p.get("name") for p in c.get("ports", [])}
                labels = d["spec"]["template"]["metadata"].get("labels", {})
                for s in services:
                    sel = s["spec"].get("selector") or {}
                    if not sel or any(labels.get(k) != v for k, v in sel.items()):
                        continue
                    for sp in s["spec"].get("ports", []):
                        tp = sp.get("targetPort")
                        if isinstance(tp, str) and tp not in ports:
                            self.problem(f"{name}: Service {s['metadata']['name']} targetPort "
                                         f"{tp} is no port of {where}")
        for sm in by_kind.get("ServiceMonitor", []):
            want = sm["spec"].get("selector", {}).get("matchLabels", {})
            matched = [s for s in services
                       if all(s["metadata"].get("labels", {}).get(k) == v for k, v in want.items())]
            if not matched:
                self.problem(f"{name}: ServiceMonitor {sm['metadata']['name']} selects no Service")
            names = {p.get("name") for s in matched for p in s["spec"].get("ports", [])}
            for ep in sm["spec"].get("endpoints", []):
                if ep.get("port") not in names:
                    self.problem(f"{name}: ServiceMonitor endpoint port {ep.get('port')} "
                                 f"is no port name of the selected Services")


def main(argv):
    if len(argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    help_path, compose_path, env_path, renders = argv[1], argv[2], argv[3], argv[4:]
    with open(help_path, encoding="utf-8") as f:
        checker = Checker(f.read())
    if "--listen" not in checker.flags:
        print(f"{help_path}: no --listen flag: not modelserver's --help", file=sys.stderr)
        return 1
    with open(compose_path, encoding="utf-8") as f:
        checker.check_compose(yaml.safe_load(f))
    base_env = {}
    for i, path in enumerate(renders):
        with open(path, encoding="utf-8") as f:
            objects = [o for o in yaml.safe_load_all(f) if o]
        checker.check_k8s(os.path.basename(path), objects, base_env if i == 0 else None)
    with open(env_path, "w", encoding="utf-8") as f:
        for k in sorted(base_env):
            f.write(f"{k}={base_env[k]}\n")
    for n in checker.notes:
        print(f"note (binary without MODELSERVER_* variables, not an error): {n}")
    for p in checker.problems:
        print(p, file=sys.stderr)
    print(f"check_config: compose + {len(renders)} renders, {len(checker.problems)} problems")
    return 1 if checker.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
