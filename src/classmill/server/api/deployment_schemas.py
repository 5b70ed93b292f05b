"""Request and response shapes of published endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from classmill.server.api.numbers import DbId
from classmill.server.services.deployments import NAME_HELP, PublishedEndpoint, StatsDelta


class NewEndpoint(BaseModel):
    model_version_id: DbId = Field(description="the model version to serve (GET /api/v1/projects/{id}/models)")
    name: str = Field(max_length=1000, description=f"the URL's name, unique on the server: {NAME_HELP}")


class EndpointOut(BaseModel):
    id: int
    name: str
    url: str = Field(description="POST images here as multipart field 'files' (the same API as `classmill serve`)")
    curl: str = Field(description="a command to try it: replace <YOUR_TOKEN> with an API token (POST /api/v1/tokens)")
    model_version_id: int
    model_version_number: int
    project_id: int
    owner_id: int
    created_at: datetime
    request_count: int = Field(description="prediction requests answered (POST), since it was published")
    error_count: int = Field(description="of those, answered with a status of 400 or more")
    mean_latency_ms: float | None
    latency_p50_ms: float | None = Field(description="over the recent requests (up to 1,000)")
    latency_p99_ms: float | None = Field(description="over the recent requests (up to 1,000)")
    last_request_at: datetime | None

    @classmethod
    def of(cls, published: PublishedEndpoint, unflushed: StatsDelta | None, base_url: str) -> "EndpointOut":
        """The row's totals plus what this process counted and has not written yet, so the figures are current."""
        endpoint, version = published.endpoint, published.version
        requests, errors = endpoint.request_count or 0, endpoint.error_count or 0
        latency_sum = endpoint.latency_ms_sum or 0.0
        p50, p99, last = endpoint.latency_p50_ms, endpoint.latency_p99_ms, endpoint.last_request_at
        if unflushed is not None:
            requests, errors = requests + unflushed.requests, errors + unflushed.errors
            latency_sum += unflushed.latency_ms_sum
            if unflushed.latency_p50_ms is not None:
                p50, p99 = unflushed.latency_p50_ms, unflushed.latency_p99_ms
            last = unflushed.last_request_at or last
        url = f"{base_url.rstrip('/')}/serve/{endpoint.name}/predict"
        return cls(
            id=endpoint.id, name=endpoint.name, url=url,
            curl=f'curl -H "Authorization: Bearer <YOUR_TOKEN>" -F "files=@image.jpg" {url}',
            model_version_id=version.id, model_version_number=version.number, project_id=version.project_id,
            owner_id=endpoint.owner_id, created_at=endpoint.created_at, request_count=requests, error_count=errors,
            mean_latency_ms=round(latency_sum / requests, 3) if requests else None,
            latency_p50_ms=p50, latency_p99_ms=p99, last_request_at=last)
