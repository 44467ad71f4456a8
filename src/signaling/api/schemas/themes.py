"""``/themes``: colours, brand text and the logo's URL."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from signaling.api.schemas.common import VISIBLE_TEXT, Input, Name

__all__ = ["Theme", "ThemeBase", "ThemeCreate", "ThemeList", "ThemeUpdate"]


Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
BrandText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=VISIBLE_TEXT)
]


class ThemeBase(StrEnum):
    LIGHT = "light"
    DARK = "dark"


class ThemeCreate(Input):
    name: Name
    base: ThemeBase = ThemeBase.DARK
    primary: Colour = Field("#3d7bfd", description="Buttons and links.")
    background: Colour = Field("#10131a", description="The page.")
    accent: Colour = Field("#35c27a", description="Highlights: the active speaker.")
    text: Colour = "#eef1f7"
    brand_text: BrandText | None = Field(None, description="Shown above the room name.")


class ThemeUpdate(Input):
    name: Name | None = None
    base: ThemeBase | None = None
    primary: Colour | None = None
    background: Colour | None = None
    accent: Colour | None = None
    text: Colour | None = None
    brand_text: BrandText | None = None


class Theme(BaseModel):
    id: str
    name: str
    base: ThemeBase
    primary: str
    background: str
    accent: str
    text: str
    brand_text: str | None
    logo_url: str | None = Field(description="Public: the join and meeting views load it.")
    created_at: datetime
    updated_at: datetime


class ThemeList(BaseModel):
    items: list[Theme]
    next_cursor: str | None
