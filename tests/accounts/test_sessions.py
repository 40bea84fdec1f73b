"""The DynamoDB session engine against the checks Django's own session backend tests make."""
import pytest
from django.contrib.sessions.backends.base import UpdateError

from leads.storage.models import StaffSession
from leads.accounts.sessions import SessionStore


@pytest.mark.security(hole=9, title="SessionStore.exists(None) sends a malformed GetItem")
@pytest.mark.parametrize("key", [None, "", "x" * 4000, "UPPERCASE" * 4])
def test_exists_answers_false_for_keys_it_could_never_have_made(key):
    assert SessionStore().exists(key) is False


def test_exists_is_true_for_a_saved_session_and_false_once_deleted():
    store = SessionStore()
    store["a"] = 1
    store.save()
    assert store.exists(store.session_key)
    store.delete()
    assert not store.exists(store.session_key)


def test_load_of_an_unknown_key_is_empty_and_drops_the_key():
    store = SessionStore("0" * 32)
    assert store.load() == {}
    assert store.session_key is None


def test_new_session_is_empty_and_gets_a_key_on_save():
    store = SessionStore()
    assert store.is_empty()
    store["cat"] = "meow"
    store.save()
    assert len(store.session_key) == 32
    assert SessionStore(store.session_key)["cat"] == "meow"


def test_cycle_key_keeps_the_data_under_a_new_key_and_deletes_the_old_one():
    store = SessionStore()
    store["a"], store["b"] = "c", "d"
    store.save()
    old_key = store.session_key
    store.cycle_key()
    assert store.session_key != old_key
    assert not store.exists(old_key)
    assert SessionStore(store.session_key).load() == {"a": "c", "b": "d"}


def test_flush_deletes_the_item_and_forgets_the_key():
    store = SessionStore()
    store["foo"] = "bar"
    store.save()
    key = store.session_key
    store.flush()
    assert store.session_key is None
    assert not store.exists(key)
    assert store.load() == {}


def test_save_does_not_resurrect_a_session_deleted_meanwhile():
    store = SessionStore()
    store["a"] = 1
    store.save()
    SessionStore(store.session_key).delete()
    store["a"] = 2
    with pytest.raises(UpdateError):
        store.save()
    assert StaffSession.count(store.session_key) == 0


def test_delete_of_no_session_is_a_no_op():
    SessionStore().delete()
    SessionStore().delete(None)


def test_a_forged_key_never_reaches_dynamodb():
    store = SessionStore("../../etc/passwd")
    assert store.session_key is None
    assert store.load() == {}


def test_expiry_set_on_the_session_is_kept():
    store = SessionStore()
    store.set_expiry(600)
    store["a"] = 1
    store.save()
    again = SessionStore(store.session_key)
    assert 590 <= again.get_expiry_age() <= 600
