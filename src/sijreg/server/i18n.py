"""Translatable wording of the patient's pages: Babel catalogues shipped in ``locale/``.

The catalogues are gettext ``.po`` files (``patient.pot`` is extracted from the
templates with ``pybabel extract``; see docs/follow-up.md). They are compiled in
memory when the server starts, so no build step or binary file is needed.
"""

from __future__ import annotations

import io
from functools import cache
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, PackageLoader, select_autoescape

DOMAIN = "patient"
SHIPPED_LANGUAGES = ("en",)


@cache
def translations(language: str) -> Translations:
    """The catalogue of ``language`` (English when there is none)."""
    if language not in SHIPPED_LANGUAGES:
        language = SHIPPED_LANGUAGES[0]
    po = resources.files("sijreg.server").joinpath(
        "locale", language, "LC_MESSAGES", f"{DOMAIN}.po"
    )
    catalog = read_po(io.BytesIO(po.read_bytes()), locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def environment(language: str = "en") -> Environment:
    """The templates, with ``_``/``{% trans %}`` bound to the language's catalogue."""
    env = Environment(
        loader=PackageLoader("sijreg.server", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env
