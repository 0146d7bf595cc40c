"""The web console and the API's reference pages, served by the API process itself.

The console is built from ``console/`` at the repository root (``make console``) into
``static/`` beside this file; nothing here runs Node.
"""

from ui_api.console.headers import SecurityHeaders
from ui_api.console.routes import STATIC, install_console

__all__ = ["STATIC", "SecurityHeaders", "install_console"]
