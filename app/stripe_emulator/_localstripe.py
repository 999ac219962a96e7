"""The one place importing localstripe.

localstripe's ``server`` module registers plain (non-async) handlers on its module-level
aiohttp app when imported, which makes aiohttp emit dozens of ``DeprecationWarning``\\ s;
they are about localstripe's code, not ours, so they are silenced for that import only.
Importing localstripe has no other side effect (no file is read or written).
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from localstripe import resources, server
    from localstripe.errors import UserError

__all__ = ["UserError", "resources", "server"]
