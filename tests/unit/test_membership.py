"""Membership rules without HTTP: phones and emails normalised, one way."""
from __future__ import annotations

import pytest

from erp_common.membership.contact import digest, normalise_email, normalise_phone
from erp_common.membership.models import member_code, member_id_from_code


@pytest.mark.parametrize("typed", ["+86 138 0013 8000", "13800138000", "86-13800138000", "0086 138-0013-8000",
                                   "(+86) 138.0013.8000", "+8613800138000"])
def test_every_spelling_of_a_chinese_mobile_is_one_phone(typed):
    assert normalise_phone(typed) == "13800138000"


@pytest.mark.parametrize("typed, stored", [("+44 20 7946 0958", "442079460958"), ("020-12345678", "02012345678"),
                                           ("8612345678", "8612345678")])  # 86 kept: no 11-digit mobile follows
def test_other_numbers_keep_their_digits(typed, stored):
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize("typed", ["12345", "1380013800a", "+", "１３８００１３８０００", "1" * 16])
def test_what_is_not_a_phone_is_refused(typed):
    with pytest.raises(ValueError):
        normalise_phone(typed)


def test_emails_and_digests():
    assert normalise_email("  Mei@Example.COM ") == "mei@example.com"
    assert digest("13800138000") == digest(normalise_phone("+86 138 0013 8000")) and len(digest("x")) == 64


def test_member_codes():
    assert member_code(12) == "M00000012" and member_id_from_code("m00000012") == 12
    assert member_id_from_code("M12") is None and member_id_from_code("X00000012") is None
