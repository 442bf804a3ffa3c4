"""`/v1/customers/{id}`: a customer's identity status and status events (`workers.identity`), for the
client that owns the customer; anyone else's answers 404."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request

from workers import identity

from ..clients import Client
from ..problems import NotFound
from ..state import config_of, connection_of
from .auth import signed_read
from .cases import PROBLEMS
from .models import CustomerEvents, CustomerView
from .ownership import Ownership

router = APIRouter(tags=["customers"])
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _owned(request: Request, client: Client, customer_id: str) -> None:
    if not _ID.match(customer_id):
        raise NotFound(f"no customer {customer_id!r}")
    Ownership(connection_of(request), config_of(request).worker.key_prefix).check_customer(client.name, customer_id)


@router.get("/customers/{customer_id}", response_model=CustomerView, responses=PROBLEMS,
            summary="A customer's identity status")
def get_customer(request: Request, customer_id: str, client: Client = Depends(signed_read)) -> CustomerView:
    """The status, what the customer must do next, and every attempt of their cases."""
    _owned(request, client, customer_id)
    try:
        shown = identity.show(config_of(request).worker, connection_of(request), customer_id)
    except identity.UnknownCustomer:  # submitted, not yet taken by a worker
        raise NotFound(f"no status yet for customer {customer_id!r}: its first case is queued") from None
    record = shown["customer"]
    return CustomerView(customer_id=customer_id, status=record.get("status"), record=record,
                        next_action=shown["next_action"], attempts=shown["attempts"])


@router.get("/customers/{customer_id}/events", response_model=CustomerEvents, responses=PROBLEMS,
            summary="A customer's status events")
def get_customer_events(request: Request, customer_id: str, client: Client = Depends(signed_read)) -> CustomerEvents:
    """The numbered `customer.status_changed` events, oldest first, each with its delivery's state."""
    _owned(request, client, customer_id)
    return CustomerEvents(customer_id=customer_id,
                          events=identity.events(config_of(request).worker, connection_of(request), customer_id))
