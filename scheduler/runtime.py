"""What the scheduler's services take from the application container."""

from __future__ import annotations

from accord.bootstrap import Container
from scheduler.config import SchedulerConfig, load_scheduler_config


def scheduler_config(container: Container) -> SchedulerConfig:
    """`config/scheduler.yaml`, loaded once per container (a test or benchmark may put its own in extras)."""
    config = container.extras.get("scheduler_config")
    if config is None:
        config = load_scheduler_config(container.settings.accord_config_dir)
        container.extras["scheduler_config"] = config
    return config
