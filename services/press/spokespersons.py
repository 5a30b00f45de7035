"""Who may speak for an agency to the press (Art. 7.6.d).

Each agency keeps spokesperson discipline: only the spokespersons it names
in the agency registry approve what it tells the press. The gateway passes
the caller as ``{"agency", "officer"}``; the officer is matched against the
registry's name or e-mail of each spokesperson, whatever the Unicode form
or letter case of the Vietnamese name. A registry row still marked
``placeholder`` names nobody, so it approves nothing.
"""

import unicodedata

from phoihop.errors import Forbidden
from phoihop.i18n import t


def _normal(text):
    return unicodedata.normalize("NFC", " ".join((text or "").split())).casefold()


def is_same_person(officer, person):
    wanted = _normal(officer)
    return bool(wanted) and wanted in (_normal(person.name), _normal(person.email))


def find_spokesperson(registry, agency, officer):
    """The registry's spokesperson of ``agency`` named ``officer``; Forbidden
    when there is none."""
    for person in registry.spokespersons(agency):
        if not is_same_person(officer, person):
            continue
        if person.placeholder:
            raise Forbidden(
                t(
                    f"{agency} chưa cập nhật người phát ngôn thật trong danh mục "
                    "cơ quan (Điều 7.6.d)",
                    f"{agency} has not named a real spokesperson in the agency "
                    "registry yet (Art. 7.6.d)",
                ),
                {"actor.officer": "a placeholder entry of the registry"},
            )
        return person

    raise Forbidden(
        t(
            f"chỉ người phát ngôn của {agency} được duyệt thông cáo (Điều 7.6.d)",
            f"only a spokesperson of {agency} may approve its statement (Art. 7.6.d)",
        ),
        {"actor.officer": f"not a spokesperson of {agency} in the registry"},
    )
