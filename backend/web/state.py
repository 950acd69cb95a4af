"""What the web pages prepare in the app's lifespan (their modules' setup): the built player plugin's
files and the demo media. Empty in the CLI and the job child, which serve no pages."""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.web.demo import Demo
from backend.web.plugin_assets import Asset


@dataclass
class WebState:
    plugin_assets: dict[str, Asset] = field(default_factory=dict)
    demo: Demo | None = None  # None: the demo page is off
