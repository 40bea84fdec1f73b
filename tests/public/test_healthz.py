"""/healthz tells a load balancer whether the lead table answers."""
from leads.storage.models import Lead
from tests.faults import dynamodb_fault


def test_healthy_when_the_lead_table_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_unavailable_when_dynamodb_does_not_answer(client):
    with dynamodb_fault(timeout=True):
        response = client.get("/healthz")
    assert response.status_code == 503 and response.json() == {"status": "unavailable"}


def test_unavailable_when_the_table_is_missing(client):
    Lead.delete_table()
    assert client.get("/healthz").status_code == 503


def test_answers_health_checks_by_ip_over_plain_http(client, settings):
    settings.ALLOWED_HOSTS = ["leads.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="10.0.3.7:8000")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert client.get("/", HTTP_HOST="10.0.3.7:8000").status_code == 400  # other pages still check the host
