"""The review console under `/review`: people decide `manual_review` cases within 72 hours."""

from fastapi import APIRouter

from . import evidence, login, pages

router = APIRouter(prefix="/review")
router.include_router(login.router)
router.include_router(pages.router)
router.include_router(evidence.router)
