"""Test configuration: hypothesis profiles sized for a 2-core CI machine, and the shared data path.

HYPOTHESIS_PROFILE=thorough runs ten times more examples (for a local soak, not for CI).
"""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# the health checks about generation cost only (slow, large or much-filtered draws of recursive
# circuits) can trip on a loaded machine; they say nothing about the code under test
GENERATION_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large,
                     HealthCheck.large_base_example, HealthCheck.filter_too_much]
settings.register_profile("ci", max_examples=30, deadline=None, print_blob=True,
                          suppress_health_check=GENERATION_CHECKS)
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=GENERATION_CHECKS)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# ../shared/data beside the checkout, or PCC_SHARED_DATA (a copy carried to a GPU machine)
SHARED_DATA = Path(os.environ.get("PCC_SHARED_DATA") or
                   Path(__file__).resolve().parents[2] / "shared" / "data")


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or a clean skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA
