from tinybench.reports.steps import Point, regressions
from tinybench.reports.thresholds import parse_threshold

CYCLES = parse_threshold("cycles:+2%")
FLASH = parse_threshold("flash_bytes:+1024")


def points(*values, config="a"):
    return [Point(value, config) for value in values]


def test_a_point_worse_than_the_one_before_beyond_the_threshold_is_marked():
    assert regressions(points(100, 101, 104, 104, 103), CYCLES) == [2]


def test_slow_drift_within_the_threshold_is_not_marked():
    assert regressions(points(*(100 + 1.5 * i for i in range(20))), CYCLES) == []


def test_getting_better_is_not_marked():
    assert regressions(points(100, 80, 60), CYCLES) == []


def test_absolute_thresholds_are_in_the_metric_unit():
    assert regressions(points(40_000, 41_024, 42_049), FLASH) == [2]


def test_points_without_a_value_are_stepped_over():
    assert regressions(points(None, 100, None, None, 103, None), CYCLES) == [4]


def test_no_step_is_marked_across_a_configuration_change():
    series = [Point(100, "a"), Point(110, "b"), Point(120, "b"), Point(121, "b")]
    assert regressions(series, CYCLES) == [2]


def test_the_first_point_and_an_empty_series_have_nothing_to_compare_with():
    assert regressions(points(100), CYCLES) == []
    assert regressions([], CYCLES) == []
