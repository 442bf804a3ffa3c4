"""The ASGI application around the engine: the bank API (`web.api`), the review console
(`web.review`) and operations endpoints. It reads and writes through `workers`' store and enqueues;
nothing verifies inside a web request (see docs/web.md)."""
