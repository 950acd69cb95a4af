"""Every stored word the console shows has zh and en wording in one table (backend/web/console_words.py)."""

from __future__ import annotations

import re

import pytest

from backend import vocabulary
from backend.web import console_words

# The enums whose values reach a console page: states, categories, origins, actions, outcomes, roles.
SHOWN = (vocabulary.CaseStatus, vocabulary.CaseOrigin, vocabulary.ReportCategory, vocabulary.ModerationAction,
         vocabulary.AccountStatus, vocabulary.Role, vocabulary.LabelState, vocabulary.Verdict,
         vocabulary.DetectionVerdict, vocabulary.Signature, vocabulary.Tier, vocabulary.IssuerTrust,
         vocabulary.Integrity, vocabulary.ContentOrigin, vocabulary.AppealKind, vocabulary.AppealStatus,
         vocabulary.AppealOutcome, vocabulary.ReportStatus, vocabulary.DeliveryStatus, vocabulary.IdentityKind)
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("enum", SHOWN, ids=lambda e: e.__name__)
def test_every_member_has_zh_and_en_words(enum: type) -> None:
    table = console_words.WORDS[enum]
    assert set(table) == {m.value for m in enum}
    for member in enum:
        zh, en = console_words.word(enum.__name__, member, "zh"), console_words.word(enum.__name__, member, "en")
        assert CJK.search(zh), (member, zh)
        assert en and en != member.value and "_" not in en, (member, en)


def test_lookups_cover_the_console_kinds() -> None:
    assert console_words.word("Category", "detector_flag", "zh") == "检测模型标记，待人工复核"
    assert console_words.word("Action", "reversed", "en") == "Reversed"
    assert console_words.word("QueueFilter", "pending", "zh") == "待处理"
    assert console_words.word("CaseStatus", None, "zh") == "—"
    assert {"stop_until_labelled", "unlabelled_ai", "detector_flag"} <= console_words.raw_values()
