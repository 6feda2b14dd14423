"""Joining a Ray cluster or starting a fresh local Ray; an unreachable address fails fast."""

from __future__ import annotations

import os
import socket

from domaintune.errors import ConfigError

from domaintune.sweep._trial import WORKER_ENV


def probe_address(address: str, timeout: float = 5.0) -> None:
    """Fail fast when nothing listens at a Ray address: ``ray.init`` would retry for minutes.

    ``auto`` is resolved the way Ray does (``$RAY_ADDRESS``, else the cluster Ray's temp folder
    last named, which may be a dead one); ``ray://`` (Ray Client) is probed on its port too.
    """
    target = address
    if address == "auto":
        from ray._private.services import get_ray_address_from_environment

        try:
            target = get_ray_address_from_environment(address, None)
        except Exception as error:  # noqa: BLE001 - Ray raises several kinds for "no cluster"
            raise ConfigError(f"address: 'auto' names no running Ray cluster ({error})") from None
        if not target or target == "auto":
            raise ConfigError("address: 'auto' names no running Ray cluster; start one (ray start --head) or leave address unset")
    hostport = target.split("://", 1)[-1].rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"address: {address!r} is not host:port, ray://host:port or auto")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as error:
        raise ConfigError(
            f"address: the Ray cluster at {address!r} is unreachable ({host}:{port}: {error.strerror or error}); "
            "start it (ray start --head) or leave address unset for a local Ray"
        ) from None


def init_ray(address: str | None, worker_niceness: int | None = None) -> bool:
    """Join the configured cluster (``address``, else ``$RAY_ADDRESS``), else start a local Ray.

    With no address, ``address="local"`` always starts a fresh local Ray: a plain ``ray.init()``
    would try to join whatever cluster Ray's temp folder last named, even a dead one. A local
    Ray runs its trial processes at ``worker_niceness`` (Ray's own default, 15, makes a sweep
    crawl on a machine that other work shares). Returns whether this process started the Ray.
    """
    import ray

    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS")
    env = {"env_vars": WORKER_ENV}
    if not address or address == "local":
        if worker_niceness is not None:
            # The raylet reads its settings from RAY_<name> in the environment it inherits from here.
            os.environ.setdefault("RAY_worker_niceness", str(worker_niceness))
        for attempt in (1, 2):
            try:
                ray.init(address="local", include_dashboard=False, runtime_env=env, log_to_driver=False)
                return True
            except Exception as error:  # noqa: BLE001 - Ray raises a bare Exception for this
                # Ray gives its raylet a fixed 30 s to register; an overloaded machine can miss
                # that once. Start again rather than fail the sweep (its runs are already open).
                if attempt == 2 or "timed out during startup" not in str(error):
                    raise
                ray.shutdown()
    probe_address(address)
    try:
        ray.init(address=address, runtime_env=env, log_to_driver=False)
    except (ConnectionError, RuntimeError, TimeoutError, ValueError) as error:
        raise ConfigError(f"address: the Ray cluster at {address!r} is unreachable ({type(error).__name__}: {error})") from None
    return False


def ray_session_dir() -> str:
    """The session folder of the Ray this driver is connected to (where its processes keep logs)."""
    import ray

    node = ray._private.worker._global_node  # no public accessor for the session folder
    return str(node.get_session_dir_path()) if node is not None else ""
