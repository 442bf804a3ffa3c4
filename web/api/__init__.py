"""The bank API under `/v1`: cases, attempts, verdicts, customers (see docs/web.md)."""

from fastapi import APIRouter

from . import capture_sessions, cases, customers

router = APIRouter(prefix="/v1")
router.include_router(cases.router)
router.include_router(customers.router)
router.include_router(capture_sessions.router)
