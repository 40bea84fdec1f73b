"""The two-factor rules without pages: one code or recovery code accepted once even when requests race."""
import pytest

from leads.domain import services, two_factor
from leads.domain.exceptions import CodeUsed, InvalidCode, TwoFactorAlreadyOn
from leads.storage.models import Staff
from tests.helpers import PASSWORD
from tests.two_factor_helpers import clock, code_at  # noqa: F401  (clock is a fixture)


@pytest.fixture
def enrolled(clock):
    services.staff_create(email="ann@example.com", password=PASSWORD)
    secret = two_factor.new_secret()
    codes = two_factor.two_factor_enable(email="ann@example.com", secret=secret, code=code_at(secret, clock.step),
                                         access=None)
    clock.tick()
    return secret, codes


def test_two_requests_racing_with_one_code_get_it_accepted_once(enrolled, clock):
    secret, _ = enrolled
    first, second = Staff.get("ann@example.com"), Staff.get("ann@example.com")  # both read before either writes
    code = code_at(secret, clock.step)
    assert two_factor.two_factor_verify(staff=first, code=code) == "app"
    with pytest.raises(CodeUsed):
        two_factor.two_factor_verify(staff=second, code=code)


@pytest.mark.parametrize("kind", ["app", "recovery"])
def test_an_attempt_sent_again_after_its_answer_was_lost_is_let_through_and_no_other(enrolled, clock, kind):
    secret, codes = enrolled
    code = code_at(secret, clock.step) if kind == "app" else codes[0]
    assert two_factor.two_factor_verify(staff=Staff.get("ann@example.com"), code=code, attempt="attempt-1") == kind
    # The same half-signed-in session sends the same code again (the first answer never reached it).
    assert two_factor.two_factor_verify(staff=Staff.get("ann@example.com"), code=code, attempt="attempt-1") == kind
    for other in ["attempt-2", ""]:
        with pytest.raises(InvalidCode):  # anyone else: used
            two_factor.two_factor_verify(staff=Staff.get("ann@example.com"), code=code, attempt=other)
    assert len(Staff.get("ann@example.com").recovery_codes) == (10 if kind == "app" else 9)


def test_an_enrolment_sent_again_gets_recovery_codes_that_work(clock):
    services.staff_create(email="ann@example.com", password=PASSWORD)
    secret = two_factor.new_secret()
    code = code_at(secret, clock.step)
    first = two_factor.two_factor_enable(email="ann@example.com", secret=secret, code=code, access=None)
    again = two_factor.two_factor_enable(email="ann@example.com", secret=secret, code=code, access=None)
    assert len(again) == 10 and not set(first) & set(again)  # the first were never shown: they no longer work
    staff = Staff.get("ann@example.com")
    with pytest.raises(InvalidCode):
        two_factor.two_factor_verify(staff=staff, code=first[0])
    assert two_factor.two_factor_verify(staff=staff, code=again[0]) == "recovery"


def test_two_requests_racing_with_one_recovery_code_get_it_accepted_once(enrolled):
    _, codes = enrolled
    first, second = Staff.get("ann@example.com"), Staff.get("ann@example.com")
    assert two_factor.two_factor_verify(staff=first, code=codes[0]) == "recovery"
    with pytest.raises(InvalidCode):
        two_factor.two_factor_verify(staff=second, code=codes[0])
    assert len(Staff.get("ann@example.com").recovery_codes) == 9


def test_a_code_read_for_a_secret_that_was_reset_and_enrolled_again_is_refused(enrolled, clock):
    secret, _ = enrolled
    stale = Staff.get("ann@example.com")
    two_factor.two_factor_reset(email="ann@example.com", actor="boss@example.com")
    fresh = Staff.get("ann@example.com")
    two_factor.two_factor_enable(email="ann@example.com", secret=secret, code=code_at(secret, clock.step - 1),
                                 access=fresh.access)
    with pytest.raises(CodeUsed):  # the condition holds the secret as read: the new enrolment is another one
        two_factor.two_factor_verify(staff=stale, code=code_at(secret, clock.step))


def test_enrolling_twice_keeps_the_first(enrolled, clock):
    other = two_factor.new_secret()
    with pytest.raises(TwoFactorAlreadyOn):
        two_factor.two_factor_enable(email="ann@example.com", secret=other, code=code_at(other, clock.step), access=None)


def test_only_recovery_codes_and_six_digits_are_tried_and_none_match_an_account_without_two_factor(clock):
    services.staff_create(email="bob@example.com", password=PASSWORD)
    with pytest.raises(InvalidCode):
        two_factor.two_factor_verify(staff=Staff.get("bob@example.com"), code="123456")


@pytest.mark.parametrize("policy, role, required", [
    ("off", "admin", False), ("admins", "sales", False), ("admins", "admin", True), ("everyone", "sales", True),
])
def test_who_must_use_two_factor(settings, policy, role, required):
    settings.LEADS_REQUIRE_2FA = policy
    assert two_factor.is_required(role) is required
