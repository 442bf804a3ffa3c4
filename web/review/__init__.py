"""The review console under `/review`: people decide `manual_review` cases within 72 hours."""

from fastapi import APIRouter

router = APIRouter(prefix="/review")
