"""Vega, Vega-Lite and vega-embed as one script, inlined in the page (no CDN, no network).

vl-convert builds the bundle in about 1.6 s, the same bytes every time for one vl-convert and one
Vega-Lite version, so it is kept on disk beside the .pyc files under a name holding both versions,
written under a temporary name and renamed (a reader never sees half of it). Where that folder cannot
be written the bundle is simply built each time.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import altair as alt
import vl_convert as vlc

CACHE_DIR = Path(__file__).with_name("__pycache__")
# Vega-Lite as Altair writes its specs: "v6.4.1" → "6.4" (vl-convert bundles one release per minor).
VEGA_LITE = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]


def cache_path() -> Path:
    return CACHE_DIR / f"vega-bundle-vlconvert-{vlc.__version__}-vegalite-{VEGA_LITE}.js"


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    path = cache_path()
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    # A literal "</script" inside would end the element early; the bundle has none, but make sure.
    bundle = vlc.javascript_bundle(vl_version=VEGA_LITE).replace("</script", "<\\/script")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(exist_ok=True)
        tmp.write_text(bundle, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
    return bundle
