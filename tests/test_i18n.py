"""The translation table: every label in both languages, the glossary's terms, matching template fields."""

from __future__ import annotations

import string

import pytest

from sim.errors import InputError
from sim.experiment.statistics import DERIVED
from sim.model.metrics import METRICS
from sim.model.schema import SECTORS, TIERS, TYPES
from sim.present.i18n import LANGS, TEXT, check_lang, t


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_every_metric_sector_tier_and_type_has_both_languages():
    keys = ([f"metric.{m.name}" for m in METRICS + DERIVED]
            + [f"sector.{s}" for s in SECTORS] + [f"tier.{k}" for k in TIERS] + [f"type.{k}" for k in TYPES]
            + [f"unit.{m.unit}" for m in METRICS + DERIVED])
    for key in keys:
        zh, en = TEXT[key]
        assert zh and en and zh != en, key
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh) or key.startswith("unit."), key


@pytest.mark.parametrize("key", sorted(TEXT))
def test_both_languages_of_a_template_name_the_same_fields(key):
    zh, en = TEXT[key]
    assert _fields(zh) == _fields(en)


def test_the_glossary_terms_are_the_chinese_vocabulary():
    zh = " ".join(v[0] for v in TEXT.values())
    for term in ("市场主体", "双随机", "抽查比例和频次", "红名单", "重点关注对象名单", "黑名单", "联合奖惩", "信用修复",
                 "异议申诉", "事前信用审查"):
        assert term in zh, term


def test_lookup_and_language_check():
    assert t("metric.compliance_rate", "zh") == "合规率"
    assert t("metric.compliance_rate", "en") == "Compliance rate"
    assert t("explore.seconds", "en", seconds=0.5) == "0.50 s"
    assert check_lang("en") == "en" and set(LANGS) == {"zh", "en"}
    with pytest.raises(InputError, match="lang: fr: one of: zh, en"):
        check_lang("fr")
    with pytest.raises(KeyError):
        t("metric.no_such_thing", "zh")
