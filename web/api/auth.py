"""Who is calling: `Authorization: Bearer <API key>` names the client (web.clients), and the requests
of a signing client without a body are checked here too (bodies are checked as they stream)."""

from __future__ import annotations

from fastapi import Depends, Request

from ..clients import Client, Clients
from ..problems import Unauthorized
from ..state import config_of, connection_of
from .signing import SignatureCheck


def clients_of(request: Request) -> Clients:
    return Clients(connection_of(request), config_of(request))


def authenticated(request: Request) -> Client:
    """The active client whose key the request carries; 401 otherwise."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("Authorization: Bearer <API key> is required")
    client = clients_of(request).authenticate(key.strip())
    request.state.client = client.name  # for the access log
    return client


def signed_read(request: Request, client: Client = Depends(authenticated)) -> Client:
    """`authenticated`, and for a signing client the signature of this bodiless request."""
    SignatureCheck(request, client, clients_of(request), config_of(request), connection_of(request)).verify()
    return client
