from hypothesis import given, settings
from tests.strategies import circuits, data_for
from pcc.backends.reference import log_likelihood
import numpy as np
from hypothesis import strategies as st

@settings(max_examples=50, deadline=None)
@given(st.data())
def test_smoke(data):
    c = data.draw(circuits())
    x = data.draw(data_for(c))
    ll = log_likelihood(c, x)
    assert not np.isnan(ll).any()
