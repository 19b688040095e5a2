"""Ship the top-level ``migrations/`` and ``jobs/`` folders inside the wheel as ``dnactx.migrations`` and
``dnactx.jobs``; everything else about the package lives in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["dnactx", "dnactx.*"])
    + ["dnactx.migrations", "dnactx.migrations.versions", "dnactx.jobs"],
    package_dir={"dnactx.migrations": "migrations", "dnactx.jobs": "jobs"},
)
