"""The web console and JSON API of ``ferry serve`` (issue 4)."""

from imageferry.web.app import ADMIN_USERNAME, create_app, ensure_admin

__all__ = ["ADMIN_USERNAME", "create_app", "ensure_admin"]
