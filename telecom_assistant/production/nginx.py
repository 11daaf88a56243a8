"""nginx as the production profile's load balancer: its configuration, written from
nginx.conf.template, and the command that runs it in the foreground."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

TEMPLATE = Path(__file__).with_name("nginx.conf.template")


def nginx_binary() -> Optional[str]:
    """Debian installs nginx in /usr/sbin, which is not on every user's PATH."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def upstream_servers(ports: Sequence[int]) -> str:
    return "\n".join(f"        server 127.0.0.1:{port};" for port in ports)


@dataclass(frozen=True)
class LoadBalancer:
    """nginx's two doors: the public one to the Rasa servers, and the one through which the
    Rasa servers reach the action servers. A door is an nginx `listen` address: "5005" (every
    interface) or "127.0.0.1:5055"."""

    rasa_listen: str
    rasa_server_ports: Sequence[int]
    actions_listen: str
    action_server_ports: Sequence[int]

    def write_config(self, directory: Path) -> Path:
        """nginx.conf in `directory`, where nginx keeps its pid, log and temporary files."""
        (directory / "temp").mkdir(parents=True, exist_ok=True)
        config = TEMPLATE.read_text(encoding="utf-8")
        for placeholder, value in {
            "@RASA_LISTEN@": self.rasa_listen,
            "@RASA_SERVERS@": upstream_servers(self.rasa_server_ports),
            "@ACTIONS_LISTEN@": self.actions_listen,
            "@ACTION_SERVERS@": upstream_servers(self.action_server_ports),
        }.items():
            config = config.replace(placeholder, value)
        path = directory / "nginx.conf"
        path.write_text(config, encoding="utf-8")
        return path


def nginx_command(binary: str, config: Path) -> list[str]:
    """nginx in the foreground with `config`, its relative paths under the config's directory
    and its start-up errors on stderr (not in /var/log, which a user cannot write)."""
    return [binary, "-p", f"{config.parent}/", "-c", str(config), "-e", "stderr"]
