"""Each violation kind on hand-made broken circuits: exact messages, fields, and the printer."""

from __future__ import annotations

import json

from pcc.analysis import (check, decomposability, format_report, format_scope, normalization,
                          smoothness, structured)
from pcc.ir import Vtree, vars_to_mask
from tests import analysis_circuits as make
from tests.golden_files import assert_golden


def messages(report) -> list[str]:
    return [v.message for v in report.violations]


def test_format_scope_shows_runs_and_cuts_long_scopes():
    assert format_scope(vars_to_mask([3, 7])) == "{3,7}"
    assert format_scope(vars_to_mask([0, 1, 2, 5, 6, 9, 10, 11, 12])) == "{0..2,5,6,9..12}"
    assert format_scope(0) == "{}"
    long = format_scope(vars_to_mask(range(0, 200, 2)))
    assert long.startswith("{0,2,4,") and long.endswith(",... (100 variables)}")


def test_every_non_smooth_sum_is_named_with_children_and_scopes():
    report = smoothness(make.not_smooth())
    assert report.smooth is False
    assert messages(report) == [
        "sum #5 is not smooth: child #4 has scope {0,1}, child #2 has scope {0}",
        "sum #7 is not smooth: child #5 has scope {0,1}, child #6 has scope {1,2}, "
        "child #2 has scope {0}, child #3 has scope {2}",
    ]
    first = report.violations[0]
    assert (first.property, first.node, first.kind, first.children) == ("smoothness", 5, "sum",
                                                                        (4, 2))
    assert first.scopes == (0b011, 0b001)


def test_children_sharing_a_scope_are_listed_together():
    from pcc.ir import BINARY, CircuitBuilder

    b = CircuitBuilder([BINARY] * 2)
    x0 = [b.bernoulli(0, p=0.5) for _ in range(3)]
    both = b.product([b.bernoulli(0, p=0.5), b.bernoulli(1, p=0.5)])
    root = b.sum(x0 + [both], weights=[0.25] * 4)
    b.product([root, b.bernoulli(1, p=0.5)])
    assert messages(smoothness(b.build())) == [
        "sum #6 is not smooth: children #0, #1, #2 have scope {0}, child #5 has scope {0,1}"]


def test_every_non_decomposable_product_is_named_with_shared_variables():
    report = decomposability(make.not_decomposable())
    assert report.decomposable is False
    assert messages(report) == [
        "product #3 is not decomposable: children #0, #1 have scope {0}; shared: {0}",
        "product #7 is not decomposable: child #5 has scope {0,1}, child #6 has scope {1,2}; "
        "shared: {1}",
    ]
    assert [v.node for v in report.violations] == [3, 7]
    assert report.violations[1].children == (5, 6)


def test_every_unnormalized_group_is_named_with_its_unit():
    report = normalization(make.not_normalized())
    assert report.normalized is False
    assert messages(report) == [
        "input #1 (categorical) is not normalized: unit 0: probs sum to 0.7999999999999999",
        "input #2 (histogram) is not normalized: unit 0: densities x bin widths sum to 2.0",
        "sum #4 is not normalized: unit 1: weights sum to 0.9",
    ]
    assert [(v.node, v.kind) for v in report.violations] == [(1, "input"), (2, "input"),
                                                              (4, "sum")]


def test_normalization_counts_the_bad_units_and_honours_the_tolerance():
    from pcc.ir import BINARY, CircuitBuilder

    b = CircuitBuilder([BINARY])
    x = b.bernoulli(0, p=[0.5, 0.5, 0.5])
    b.sum([x], weights=[[0.5, 0.5, 0.0], [0.2, 0.2, 0.2], [0.0, 0.0, 1.0 + 1e-9]])
    circuit = b.build()
    total = repr(0.2 + 0.2 + 0.2)
    assert messages(normalization(circuit, tolerance=1e-12)) == [
        f"sum #1 is not normalized: unit 1: weights sum to {total} (2 of 3 units are off)"]
    # the default tolerance (1e-6) accepts unit 2
    assert messages(normalization(circuit)) == [
        f"sum #1 is not normalized: unit 1: weights sum to {total}"]


def test_no_implied_vtree_names_the_products_that_force_it():
    report = structured(make.not_structured())
    assert report.structured_decomposable is False and report.vtree is None
    assert messages(report) == [
        "product #4 is not structured-decomposable: no vtree splits {0..2} in two, since "
        "product #6 keeps {1,2} on one side; product #4 keeps {0,1} on one side"]
    violation = report.violations[0]
    assert violation.children == (3, 2) and violation.scopes == (0b011, 0b100)


def test_a_given_vtree_names_each_product_that_does_not_respect_it():
    circuit = make.not_structured()
    report = structured(circuit, Vtree.from_nested(((0, 1), 2)))
    assert report.structured_decomposable is False and report.vtree_source == "given"
    assert messages(report) == [
        "product #6 does not respect the vtree: child #0 has scope {0}, child #5 has scope "
        "{1,2}, but the vtree splits {0..2} into {0,1} and {2}, which #5 straddles"]
    missing = structured(circuit, Vtree.from_nested((0, 1)))
    assert messages(missing)[0] == "sum #7: the vtree lacks the variables {2}"


def test_the_printed_report_and_json_are_stable():
    """Golden: the printed report and the JSON object of every broken circuit."""
    for name in ("not_smooth", "not_decomposable", "not_normalized", "not_structured",
                 "sdd_like"):
        report = check(getattr(make, name)())
        assert_golden(f"analysis/{name}.txt", format_report(report) + "\n")
        assert_golden(f"analysis/{name}.json", json.dumps(report.to_json(), indent=1) + "\n")


def test_check_reports_all_violations_and_never_raises():
    report = check(make.not_smooth())
    assert [v.property for v in report.violations] == ["smoothness", "smoothness",
                                                       "decomposability"]
    assert report.valid is False and report.structured_decomposable is False
    assert check(make.not_normalized()).valid is True
