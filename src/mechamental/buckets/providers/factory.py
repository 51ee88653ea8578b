"""Choosing the provider: apart from the protocol, which every provider imports."""

from __future__ import annotations

from mechamental.buckets.providers import Provider
from mechamental.config import Settings


def make_provider(settings: Settings) -> Provider:
    """The provider chosen by `BUCKET_PROVIDER`."""
    if settings.bucket_provider == "s3":
        from mechamental.buckets.providers.s3 import S3Provider

        return S3Provider(endpoint_url=settings.s3_endpoint_url)
    from mechamental.buckets.providers.local import LocalProvider

    return LocalProvider(settings.data_dir / "buckets")
