"""api/pages.py: one page of a list or of the entries feed, as the record and odd servers send it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from custom_components.salto_ks.api import Iq, Lock, Site, SiteUser
from custom_components.salto_ks.api.pages import list_page

from .helpers import FIXTURES, load

# §6 "List envelope", verbatim, with the record's own examples as items.
LIST_ENVELOPE = '{"items":[%s],"next_page_link":null,"count":null}'


@pytest.mark.parametrize(
    ("name", "model"),
    [("site", Site), ("lock", Lock), ("iq", Iq), ("site_user", SiteUser)],
)
def test_list_envelope_example(name: str, model: Any) -> None:
    item = (FIXTURES / f"{name}.json").read_text(encoding="utf-8")
    body = json.loads(LIST_ENVELOPE % item)
    items, next_link = list_page(body, model.from_dict, name)
    assert items == [model.from_dict(load(name))]
    assert items[0].id == load(name)["id"]
    assert next_link is None
