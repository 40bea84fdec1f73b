"""The password rules every new password passes (leads.accounts.passwords), without any ORM behind them."""
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from leads.accounts.auth import CurrentStaff
from leads.accounts.passwords import PasswordOwner, help_texts, owner_of, validate_new_password
from leads.storage.models import Invitation, Staff

ANN = PasswordOwner(email="annabelle.quist@example.com", name="Annabelle Quist")


def messages(password, owner=ANN) -> list[str]:
    try:
        validate_new_password(password, owner)
    except ValidationError as error:
        return error.messages
    return []


def test_there_is_no_relational_database_behind_the_rules():
    # DATABASES = {}: Django fills in its dummy backend, which refuses every query.
    assert settings.DATABASES.get("default", {}).get("ENGINE", "django.db.backends.dummy") == "django.db.backends.dummy"


@pytest.mark.parametrize("password, expected", [
    ("elevenchars", ["This password is too short. It must contain at least 12 characters."]),
    ("password1234", ["This password is too common."]),
    ("qwertyuiop123", ["This password is too common."]),
    ("739204618273", ["This password is entirely numeric."]),
    ("1234", ["This password is too short. It must contain at least 12 characters.",
              "This password is too common.", "This password is entirely numeric."]),
    ("annabelle.quist", ["The password is too similar to the email address."]),  # the address's local part
    ("Annabelle Quist!", ["The password is too similar to the email address."]),  # its parts come first
    ("quist annabell", ["The password is too similar to the name."]),
    ("plum orchard by the river", []),
    ("correct horse battery staple", []),
])
def test_each_rule_refuses_with_its_own_message(password, expected):
    assert messages(password) == expected


def test_similarity_is_judged_against_the_name_too():
    owner = PasswordOwner(email="x7@example.com", name="Bartholomew Higginbottom")
    assert messages("higginbottom bartholomew", owner) == ["The password is too similar to the name."]
    assert messages("higginbottom bartholomew", PasswordOwner(email="x7@example.com")) == []


@pytest.mark.parametrize("owner", [
    Staff(email="annabelle.quist@example.com", name="Annabelle Quist", password="!"),
    CurrentStaff(email="annabelle.quist@example.com", role="sales", name="Annabelle Quist"),
    Invitation("0" * 32, email="annabelle.quist@example.com", name="Annabelle Quist"),
])
def test_any_staff_like_object_with_an_email_and_a_name_will_do(owner):
    assert owner_of(owner) == ANN
    assert messages("annabelle.quist", owner) == ["The password is too similar to the email address."]


def test_missing_attributes_are_no_obstacle():
    assert owner_of(object()) == PasswordOwner(email="", name="")
    assert owner_of(Staff(email="ann@example.com", password="!")).name == ""
    assert messages("plum orchard by the river", None) == []


def test_the_rules_can_be_shown_before_they_refuse_anything():
    assert help_texts() == [
        "Your password must contain at least 12 characters.",
        "Your password can’t be a commonly used password.",
        "Your password can’t be too similar to your other personal information.",
        "Your password can’t be entirely numeric.",
    ]
