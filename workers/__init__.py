"""RQ workers for kycengine: queue protocol, worker entry point, signed delivery, review queue.

Only this package knows about Redis and queues (docs/workers.md). Entry points: `enqueue.submit`
(the bank side), `worker.run_worker` (`kyc worker`), `review` (`kyc review`), `cli.register`;
`connection.connect` creates the Redis clients (docs/operations.md).
"""
