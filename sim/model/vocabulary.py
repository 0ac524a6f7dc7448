"""The model's vocabulary, defined once: tiers, behavioural types, list states and sectors.

Each is an :class:`enum.IntEnum` whose values index the engines' arrays and the tables of
:mod:`sim.model.layout`; numba compiles the members as integer constants. The names are the
brief's glossary (credit tiers A-D, the red / key-attention / black lists, the plan's sectors).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["Tier", "MerchantType", "ListState", "Conduct", "Sector", "TIERS", "TYPES", "TYPE_LABELS", "SECTORS",
           "LIST_NAMES", "NEVER"]


class Tier(IntEnum):
    """Credit tier (信用等级), best first: A good credit, low risk ... D dishonest, high risk."""

    A = 0
    B = 1
    C = 2
    D = 3


class MerchantType(IntEnum):
    """Behavioural type after Bloomquist (2011): how a merchant weighs compliance."""

    HONEST = 0
    STRATEGIC = 1
    DEFIANT = 2
    CARELESS = 3


class ListState(IntEnum):
    """A merchant's list (mutually exclusive; the blacklist outranks key-attention outranks red)."""

    NONE = 0
    RED = 1            # 红名单
    KEY = 2            # 重点关注名单
    BLACK = 3          # 黑名单


class Conduct(IntEnum):
    """What a merchant's own month says to its integrity norm (S37): it kept the rules (an unintended slip
    included), it broke them on purpose and got away with it, or it was caught (or is under a market ban)."""

    GOT_AWAY = 0
    COMPLIED = 1
    CAUGHT = 2


class Sector(IntEnum):
    """Sectors of the seed plan: six consumer sectors (clause 6), e-commerce (7), foreign trade (10),
    service trade (11) and foreign-invested enterprises (12)."""

    household_services = 0
    catering_accommodation = 1
    retail = 2
    promotions = 3
    refined_oil = 4
    laundry_dyeing = 5
    ecommerce = 6
    foreign_trade = 7
    service_trade = 8
    foreign_invested = 9


TIERS = tuple(t.name for t in Tier)
"""Tier names as they appear in scenario files (``A``-``D``)."""

TYPES = tuple(t.name.lower() for t in MerchantType)
TYPE_LABELS = {"honest": ("诚信型", "Honest"), "strategic": ("策略型", "Strategic"), "defiant": ("对抗型", "Defiant"),
               "careless": ("疏忽型", "Careless")}
"""Each behavioural type's name in Chinese and English (the reports' labels and the metric names built on them)."""
"""Type names as they appear in scenario files and breakdowns."""

SECTORS = tuple(s.name for s in Sector)
"""Sector names as they appear in scenario files and breakdowns."""

LIST_NAMES = ("none", "red", "key_attention", "blacklist")
"""List-state names as they appear in outputs, by :class:`ListState` value."""

NEVER = -10_000
"""Month stamp meaning "never happened" (far enough in the past for any window)."""
