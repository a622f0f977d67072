"""The web console and JSON API of ``ferry serve``."""

from imageferry.web.app import ADMIN_USERNAME, create_app, ensure_admin

__all__ = ["ADMIN_USERNAME", "create_app", "ensure_admin"]
