"""The request log line: what a request did to DynamoDB and what it cost, for an operator reading CloudWatch."""
import logging

import pytest

from tests.public.test_contact import form_data


@pytest.mark.backend("dynamodb-local", reason="moto reports no consumed capacity for TransactWriteItems")
def test_a_submission_logs_its_call_and_the_write_units_it_was_billed(client, caplog):
    data = form_data(client)
    with caplog.at_level(logging.INFO, logger="leads.request"):
        assert client.post("/", data).status_code == 302
    (line,) = [record for record in caplog.records if record.name == "leads.request"]
    assert line.dynamodb_operations == ["TransactWriteItems"]
    assert line.dynamodb_write_units > 0 and line.dynamodb_read_units == 0


def test_a_page_logs_the_read_units_of_its_calls(admin_client, caplog):
    with caplog.at_level(logging.INFO, logger="leads.request"):
        assert admin_client.get("/admin/leads/").status_code == 200
    (line,) = [record for record in caplog.records if record.name == "leads.request"]
    assert line.dynamodb_read_units > 0 and line.dynamodb_write_units == 0
