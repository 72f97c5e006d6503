"""The console's services on a throw-away demo registry, for the in-process benchmarks
(``python -m bench.<name>``): seeded in a temporary folder that is removed afterwards."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from cachelib import SimpleCache

from services.registry.demo import ensure_demo_models
from services.settings import embedded_tracking_uri
from services.wiring import ConsoleServices, build_services
from tests.conftest import settings_for

Register = Callable[[str, Path], object]


@contextlib.contextmanager
def demo_services(prefix: str, *more: Register) -> Iterator[ConsoleServices]:
    """Services on the demo models plus what each of ``more`` registers (called with the
    tracking URI and the folder); the folder is the services' ``app_data_dir``."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        folder = Path(tmp)
        ensure_demo_models(embedded_tracking_uri(folder), folder)
        for register in more:
            register(embedded_tracking_uri(folder), folder)
        services = build_services(settings_for(folder), SimpleCache())
        try:
            yield services
        finally:
            services.audit.close()  # its writer must not outlive the folder
