"""nginx as the production profile's load balancer: its configuration, written from
nginx.conf.template, and the command that runs it in the foreground."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

TEMPLATE = Path(__file__).with_name("nginx.conf.template")


def nginx_binary() -> str | None:
    """Debian installs nginx in /usr/sbin, which is not on every user's PATH."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def upstream_servers(ports: Sequence[int]) -> str:
    return "\n".join(f"        server 127.0.0.1:{port};" for port in ports)


@dataclass(frozen=True)
class PublicDoor:
    """The only door customers reach: the web chat at `/`, and the Telegram bridge's webhook
    at its path when the bridge runs in webhook mode (`telegram_webhook`: path, local address).
    Rasa, the action servers and the console stay behind it (SECURITY.md)."""

    listen: str
    webchat: str
    telegram_webhook: tuple[str, str] | None = None

    def server_block(self) -> str:
        locations = [_location("/", self.webchat)]
        if self.telegram_webhook is not None:
            path, address = self.telegram_webhook
            locations.append(_location(f"= {path}", address))
        return f"    server {{\n        listen {self.listen};\n" + "".join(locations) + "    }\n"


def _location(match: str, address: str) -> str:
    # The programs behind it judge the scheme (Secure cookies) and the customer's address;
    # a location that sets headers loses the http block's, and the web chat compares the
    # browser's Origin with the Host as the browser sent it, port and all.
    return (
        f"        location {match} {{\n"
        f"            proxy_pass http://{address};\n"
        "            proxy_set_header Host $http_host;\n"
        "            proxy_set_header X-Forwarded-Proto $scheme;\n"
        "            proxy_set_header X-Real-IP $remote_addr;\n"
        "        }\n"
    )


@dataclass(frozen=True)
class LoadBalancer:
    """nginx's doors: the one to the Rasa servers (for the channel programs), the one through
    which the Rasa servers reach the action servers, and optionally the public door. A door is
    an nginx `listen` address: "127.0.0.1:5005", or "8080" for every interface."""

    rasa_listen: str
    rasa_server_ports: Sequence[int]
    actions_listen: str
    action_server_ports: Sequence[int]
    public: PublicDoor | None = None

    def write_config(self, directory: Path) -> Path:
        """nginx.conf in `directory`, where nginx keeps its pid, log and temporary files."""
        (directory / "temp").mkdir(parents=True, exist_ok=True)
        config = TEMPLATE.read_text(encoding="utf-8")
        for placeholder, value in {
            "@RASA_LISTEN@": self.rasa_listen,
            "@RASA_SERVERS@": upstream_servers(self.rasa_server_ports),
            "@ACTIONS_LISTEN@": self.actions_listen,
            "@ACTION_SERVERS@": upstream_servers(self.action_server_ports),
            "@PUBLIC_DOOR@": self.public.server_block() if self.public else "",
        }.items():
            config = config.replace(placeholder, value)
        path = directory / "nginx.conf"
        path.write_text(config, encoding="utf-8")
        return path


def nginx_command(binary: str, config: Path) -> list[str]:
    """nginx in the foreground with `config`, its relative paths under the config's directory
    and its start-up errors on stderr (not in /var/log, which a user cannot write)."""
    return [binary, "-p", f"{config.parent}/", "-c", str(config), "-e", "stderr"]
