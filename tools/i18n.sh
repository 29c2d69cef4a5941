#!/usr/bin/env bash
# The translation catalogs in one command (cfp/core/catalogs.py does the work):
#   bash tools/i18n.sh           extract the strings into cfp/translations/messages.pot,
#                                update every cfp/translations/<lang>/LC_MESSAGES/messages.po,
#                                compile each into the messages.mo that is committed with it
#   bash tools/i18n.sh compile   only compile (after editing a messages.po)
#   bash tools/i18n.sh check     list untranslated, fuzzy or placeholder-changed messages
#                                and .mo files that differ from their .po (what the tests check)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-.venv/bin/python}
[[ -x $PY ]] || PY=python3
exec "$PY" -m cfp.core.catalogs "$@"
