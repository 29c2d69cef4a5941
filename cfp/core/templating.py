"""Jinja filters and globals: instants in several zones, amounts, numbers and days in
the current language (cfp.core.languages), states."""
from __future__ import annotations

from flask import Flask
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from cfp.core import languages
from cfp.core.countries import country_name
from cfp.core.exports import export_url
from cfp.core.listing import page_url
from cfp.core.roles import Role
from cfp.core.timezones import format_instant, viewer_timezone
from cfp.core.urls import external_url


def instant_in_zones(instant, zones) -> list[tuple[str, str]]:
    """[(zone, formatted)] for each distinct zone, plus the viewer's own."""
    seen: list[str] = []
    for z in list(zones) + [viewer_timezone()]:
        if z and z not in seen:
            seen.append(z)
    return [(z, format_instant(instant, z)) for z in seen]


def register(app: Flask) -> None:
    languages.install_gettext(app.jinja_env)
    app.jinja_env.filters["instant"] = format_instant
    app.jinja_env.filters["money"] = languages.money
    app.jinja_env.filters["number"] = languages.number
    app.jinja_env.filters["day"] = languages.day
    app.jinja_env.filters["items"] = languages.items
    app.jinja_env.filters["country"] = country_name
    app.jinja_env.globals["html_lang"] = languages.html_lang
    app.jinja_env.globals["language_choices"] = languages.language_choices
    app.jinja_env.globals["instant_in_zones"] = instant_in_zones
    app.jinja_env.globals["Role"] = Role
    app.jinja_env.globals["viewer_timezone"] = viewer_timezone
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["external_url"] = external_url
    app.jinja_env.globals["page_url"] = page_url
    app.jinja_env.globals["export_url"] = export_url

    @app.context_processor
    def navigation():
        return {"nav_items": _nav_items()}


def _nav_items() -> list[tuple[str, str]]:
    """(endpoint, label) per role of the current user; the server checks access anyway."""
    items = [("calls.index", _("Calls")), ("projects.adopted_projects", _("Adopted projects"))]
    if not current_user.is_authenticated:
        return items
    if current_user.has_role(Role.researcher):
        items.append(("proposals.mine", _("My proposals")))
    if current_user.has_role(Role.reviewer):
        items.append(("reviews.mine", _("My reviews")))
    if current_user.has_role(Role.staff):
        items.append(("proposals.staff_index", _("Proposals")))
        items.append(("reviews.staff_index", _("Reviews & ranking")))
    joint = current_user.is_secretariat or current_user.has_role(Role.cochair) or current_user.is_admin
    if joint:
        items.append(("selection.joint_ranking_index", _("Joint ranking")))
    if joint or current_user.has_role(Role.staff):
        items.append(("meetings.index", _("Committee")))
        items.append(("projects.dashboard", _("Projects")))
    items.append(("core.outbox", _("Mail")))
    if current_user.is_admin or current_user.is_secretariat:
        items.append(("core.audit", _("Audit log")))
    if current_user.is_admin:
        items.append(("admin.index", _("Administration")))
    return items
