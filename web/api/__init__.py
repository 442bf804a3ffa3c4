"""The bank API under `/v1`: cases, attempts, verdicts, customers (see docs/web.md)."""

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
