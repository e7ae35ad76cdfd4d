"""Which exceptions mean 'a dependency is down' (503 for the API, retry for tasks)."""

import asyncpg
import botocore.exceptions
import kombu.exceptions
import redis.exceptions

DEPENDENCY_ERRORS: dict[type[BaseException], str] = {
    asyncpg.PostgresConnectionError: "database",
    asyncpg.InterfaceError: "database",
    asyncpg.exceptions.OperatorInterventionError: "database",
    asyncpg.exceptions.InsufficientResourcesError: "database",
    # Reached a server that is not (or no longer) the primary: a failover is under way.
    asyncpg.exceptions.ReadOnlySQLTransactionError: "database",
    asyncpg.exceptions.TargetServerAttributeNotMatched: "database",
    redis.exceptions.ConnectionError: "redis",
    redis.exceptions.TimeoutError: "redis",
    botocore.exceptions.EndpointConnectionError: "object_storage",
    botocore.exceptions.ConnectionClosedError: "object_storage",
    botocore.exceptions.ReadTimeoutError: "object_storage",
    botocore.exceptions.ConnectTimeoutError: "object_storage",
    kombu.exceptions.OperationalError: "broker",
}

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (*DEPENDENCY_ERRORS, OSError, TimeoutError)


class DependencyUnavailable(Exception):
    """A backing service did not answer in time; the caller should retry later."""

    def __init__(self, dependency: str):
        super().__init__(f"{dependency} unavailable")
        self.dependency = dependency
