"""Ship the top-level ``migrations/``, ``jobs/`` and ``examples/`` folders inside the wheel as
``dnactx.migrations``, ``dnactx.jobs`` and ``dnactx.examples``; everything else lives in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["dnactx", "dnactx.*"])
    + ["dnactx.migrations", "dnactx.migrations.versions", "dnactx.jobs", "dnactx.examples"],
    package_dir={"dnactx.migrations": "migrations", "dnactx.jobs": "jobs", "dnactx.examples": "examples"},
)
