"""Under the production server, the answer to "Forgot your password?" leaves before its email does.

So a slow mail server cannot tell anyone that an address has an account. The mail server here takes
the message and then holds its answer until the test lets it go: if the app sent the email before
answering, the HTTP request would wait for that and time out.
"""
import re
import socket
import threading

import pytest
import requests

from tests.integration.servers import free_port
from tests.integration.test_gunicorn import HTTPS, Deployment

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"


class StallingMailServer:
    """Just enough SMTP on loopback: it reads a message, then answers its end only once released."""

    def __init__(self):
        self.port = free_port()
        self.received = threading.Event()
        self.release = threading.Event()
        self.messages: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self.converse, args=(connection,), daemon=True).start()

    def converse(self, connection):
        try:
            with connection, connection.makefile("rwb") as stream:
                def say(line: str):
                    stream.write(line.encode() + b"\r\n")
                    stream.flush()

                say("220 stalling.test ESMTP")
                self.answer(stream, say)
        except OSError:
            return  # the app's server was stopped mid-conversation

    def answer(self, stream, say):
        data = None
        for raw in stream:
            line = raw.decode("latin-1").rstrip("\r\n")
            if data is not None:
                if line == ".":
                    self.messages.append("\n".join(data))
                    self.received.set()
                    self.release.wait(60)
                    say("250 OK")
                    data = None
                else:
                    data.append(line[1:] if line.startswith("..") else line)
            elif line[:4].upper() == "DATA":
                say("354 End data with <CR><LF>.<CR><LF>")
                data = []
            elif line[:4].upper() == "QUIT":
                say("221 Bye")
                return
            else:  # EHLO, MAIL FROM, RCPT TO, RSET, NOOP
                say("250 stalling.test")

    def close(self):
        self.release.set()
        self.listener.close()


@pytest.mark.backend("moto", reason="which leaves first, the page or the email, does not depend on the store")
def test_the_answer_leaves_before_the_email(tmp_path):
    mail_server = StallingMailServer()
    deployment = Deployment(tmp_path)
    deployment.env.update(EMAIL_URL=f"smtp://127.0.0.1:{mail_server.port}", EMAIL_TIMEOUT="60",
                          LEADS_ADMIN_EMAIL="ann@example.com", LEADS_ADMIN_PASSWORD=PASSWORD)
    try:
        deployment.start()
        deployment.manage("createstaff", "--noinput")
        origin = deployment.url.replace("http://", "https://")
        page = requests.get(f"{deployment.url}/admin/password-reset/", headers=HTTPS, timeout=10)
        assert page.status_code == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        answer = requests.post(
            f"{deployment.url}/admin/password-reset/", data={"csrfmiddlewaretoken": token, "email": "ann@example.com"},
            cookies={"csrftoken": page.cookies["csrftoken"]}, allow_redirects=False, timeout=20,
            headers={**HTTPS, "Origin": origin, "Referer": f"{origin}/admin/password-reset/"},
        )
        assert answer.status_code == 200, answer.text[:500]
        assert "If an account exists for that address" in answer.text
        # The page is here; the email is with the mail server, which has not said it took it yet.
        assert mail_server.received.wait(20)
        assert not mail_server.release.is_set()
        mail_server.release.set()
        [message] = mail_server.messages
        assert "To: ann@example.com" in message and "/admin/password-reset/" in message
    finally:
        mail_server.close()
        deployment.stop()
