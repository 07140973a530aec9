"""Menus: the condition language, its error messages, thresholds in fixed point."""

import tomllib

import numpy as np
import pytest
import yaml
from trigger_helpers import MENU_TOML, make_events

from trigc.errors import ConfigError
from trigc.trigger import MenuError, load_menu
from trigc.trigger.conditions import exact_decimal
from trigc.trigger.menu import Prescaler

OUTPUTS = {"score": {"tensor": 0, "elements": ["g", "q", "W", "Z", "t"]}}


def menu_with(project, condition, **bit):
    return load_menu({"outputs": OUTPUTS, "bits": {"b": {"condition": condition, **bit}}},
                     project.graph)


def test_output_type_is_what_the_thresholds_are_checked_against(project):
    t = project.graph.outputs[0].type
    assert str(t) == "fixed<10,7,RND_CONV,SAT>" and t.lsb == 0.125


def test_menu_parses_and_resolves_every_threshold_exactly(project):
    menu = load_menu(tomllib.loads(MENU_TOML), project.graph)
    assert menu.bit_names == ("top_tag", "w_like", "window", "sum_hi")
    resolved = {b.name: b.resolved for b in menu.bits}
    assert resolved == {"top_tag": 'argmax(score) == 4 and score["t"] >= 0.25',
                        "w_like": "score[2] > 0", "window": "-0.25 < score[0] <= 0.5",
                        "sum_hi": "score[1] + score[3] >= 0.375"}
    assert menu.bits[1].prescale == 3
    assert menu.accept_text == "top_tag or (w_like and not window) or sum_hi"
    assert menu.labels.background == (0, 1)
    assert menu.bunches.effective_hz == pytest.approx(31.58e6, rel=1e-3)


def test_yaml_and_toml_menus_are_the_same(project, tmp_path):
    data = tomllib.loads(MENU_TOML)
    path = tmp_path / "menu.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    toml_path = tmp_path / "menu.toml"
    toml_path.write_text(MENU_TOML)
    a, b = load_menu(path, project.graph), load_menu(toml_path, project.graph)
    assert [x.resolved for x in a.bits] == [x.resolved for x in b.bits]
    assert a.accept_text == b.accept_text


def test_conditions_agree_with_float_reference(project):
    """Raw-integer evaluation must equal the same comparisons on the exact float values."""
    menu = load_menu(tomllib.loads(MENU_TOML), project.graph)
    x, _ = make_events(3000, seed=5)
    raw = project.emulate(x, raw=True)
    y = project.emulate(x)  # exact: raw * 2**-3
    bits = menu.evaluate([raw])
    expected = np.stack([(y.argmax(1) == 4) & (y[:, 4] >= 0.25), y[:, 2] > 0,
                         (-0.25 < y[:, 0]) & (y[:, 0] <= 0.5), y[:, 1] + y[:, 3] >= 0.375], 1)
    np.testing.assert_array_equal(bits, expected)
    assert all(0 < s < len(x) for s in bits.sum(0))  # every bit is actually exercised
    l1a = menu.l1_accept(bits)
    np.testing.assert_array_equal(l1a, expected[:, 0] | (expected[:, 1] & ~expected[:, 2])
                                  | expected[:, 3])


@pytest.mark.parametrize("condition, fragment", [
    ("score[0] >> 0.5", "unexpected '>'"),
    ("score[0] > 0.5 &&  score[1] > 0", "write 'and' instead of '&&'"),
    ("score[0] = 0.5", "write '==' to compare"),
    ("(score[0] > 0.5", "expected ')', found the end"),
    ("score[0] > 0.5 and", "the condition ends too early"),
    ("score[0] * 2 > 1", "only + and - arithmetic"),
    ("__import__('os')", "unknown function '__import__'"),
    ("open('x').read()", "there is no attribute access"),
    ("score.__class__", "there is no attribute access"),
    ("score[0]", "'score[0]' is not a condition"),
    ("score > 0.5", "score has 5 elements"),
    ("score[7] > 0", "index 7 is out of range"),
    ("argmax(score) == 5", "index 0..4, so 5 can never match"),
    ("argmax(score) > score[0]", "cannot compare an index"),
    ("0.5 < 1", "compares two constants"),
    ("", "the condition is empty"),
])
def test_bad_expressions_point_at_the_problem(project, condition, fragment):
    with pytest.raises(MenuError, match="bit 'b'") as info:
        menu_with(project, condition)
    message = str(info.value)
    assert fragment in message
    assert f"    {condition}\n" in message and "^" in message  # quotes it with a caret


def test_unknown_output_lists_the_outputs_and_suggests(project):
    with pytest.raises(MenuError, match=r"unknown output 'scor'") as info:
        menu_with(project, "scor[0] > 0.5")
    assert "did you mean 'score'?" in str(info.value)
    assert "the model's outputs are score (5 elements, fixed<10,7,RND_CONV,SAT>)" in \
        str(info.value)
    with pytest.raises(MenuError, match=r"outputs.prob = 'logits' is not an output of model "
                                        r".*its outputs are quant_\d+ \(index 0, shape \(5,\)"):
        load_menu({"outputs": {"prob": "logits"}, "bits": {"b": "prob[0] > 0"}},
                  project.graph)
    with pytest.raises(MenuError, match=r"(?s)score has no element 'X'.*elements are \['g'"):
        menu_with(project, 'score["X"] > 0')


def test_unrepresentable_threshold_is_an_error_naming_type_neighbours_and_fix(project):
    with pytest.raises(MenuError) as info:
        menu_with(project, "score[2] > 0.85")
    message = str(info.value)
    assert "threshold 0.85 is not representable in score[2] (fixed<10,7,RND_CONV,SAT>: " \
           "step 0.125, range [-64, 63.875]); it falls between 0.75 and 0.875" in message
    assert 'round = "nearest" | "down" | "up"' in message
    assert isinstance(info.value, ConfigError)  # a TrigcError: the CLI exits 2 with it


def test_out_of_range_threshold_is_an_error_even_when_rounding(project):
    with pytest.raises(MenuError, match=r"threshold 64 is outside the range of score\[0\]"):
        menu_with(project, "score[0] < 64", round="nearest")
    with pytest.raises(MenuError, match=r"threshold -64.5 is outside the range"):
        menu_with(project, "score[0] > -64.5")


@pytest.mark.parametrize("mode, resolved", [("down", "0.75"), ("up", "0.875"),
                                            ("nearest", "0.875")])
def test_explicit_rounding_of_thresholds(project, mode, resolved):
    menu = menu_with(project, "score[2] > 0.85", round=mode)
    assert menu.bits[0].resolved == f"score[2] > {resolved}"
    assert menu.bits[0].text == "score[2] > 0.85"  # the written text is kept
    whole = load_menu({"outputs": OUTPUTS, "round_thresholds": mode,
                       "bits": {"b": "score[2] > 0.85"}}, project.graph)
    assert whole.bits[0].resolved == f"score[2] > {resolved}"


def test_derived_quantities_have_exact_types(project):
    menu = menu_with(project, "score[1] - score[3] >= 0.125 and max(score) - min(score) > 1"
                              " and sum(score) < 10")
    assert menu.bits[0].resolved == ("score[1] - score[3] >= 0.125 and max(score) - "
                                     "min(score) > 1 and sum(score) < 10")
    with pytest.raises(MenuError, match=r"sum\(score\) \(exact sum: step 0.125, range "
                                        r"\[-320, 319.375\]\)"):
        menu_with(project, "sum(score) > 0.3")


def test_menu_structure_errors(project):
    with pytest.raises(MenuError, match=r"unknown menu key\(s\) \['bitz'\]"):
        load_menu({"bitz": {}}, project.graph)
    with pytest.raises(MenuError, match="the menu has no \\[bits\\]"):
        load_menu({"outputs": OUTPUTS}, project.graph)
    with pytest.raises(MenuError, match="prescale must be a whole number >= 0"):
        menu_with(project, "score[0] > 0", prescale=1.5)
    with pytest.raises(MenuError, match=r"unknown key\(s\) \['prescal'\] in \[bits.b\]"):
        menu_with(project, "score[0] > 0", prescal=2)
    with pytest.raises(MenuError, match=r"l1.accept: unknown trigger bit 'c'"):
        load_menu({"outputs": OUTPUTS, "bits": {"b": "score[0] > 0"},
                   "l1": {"accept": "b or c"}}, project.graph)
    with pytest.raises(MenuError, match="round must be one of exact, nearest, down, up"):
        menu_with(project, "score[0] > 0", round="truncate")


def test_menu_file_errors(project, tmp_path):
    bad = tmp_path / "menu.toml"
    bad.write_text("[bits]\nb = 'score[0] > 0\n")
    with pytest.raises(MenuError, match="invalid TOML"):
        load_menu(bad, project.graph)
    with pytest.raises(MenuError, match="must be a .toml, .yaml or .yml file"):
        load_menu(tmp_path / "menu.json", project.graph)
    with pytest.raises(MenuError, match="Cannot read menu"):
        load_menu(tmp_path / "missing.toml", project.graph)


def test_default_output_alias_for_a_single_output_model(project):
    menu = load_menu({"bits": {"hi": "argmax == 1 and out[1] >= 1"}}, project.graph)
    assert menu.bits[0].resolved == "argmax(out) == 1 and out[1] >= 1"


def test_prescaler_counts_firings_across_chunks():
    fires = np.array([1, 1, 0, 1, 1, 1, 0, 1, 1, 1], dtype=bool)[:, None]
    whole = Prescaler([3]).apply(fires)
    chunked = Prescaler([3])
    parts = np.concatenate([chunked.apply(fires[:4]), chunked.apply(fires[4:5]),
                            chunked.apply(fires[5:])])
    np.testing.assert_array_equal(whole, parts)
    assert np.nonzero(whole[:, 0])[0].tolist() == [3, 7]  # 3rd and 6th firing
    assert not Prescaler([0]).apply(fires).any()


def test_exact_decimal():
    assert exact_decimal(-3, 3) == "-0.375"
    assert exact_decimal(1, 30) == "0.000000000931322574615478515625"
    assert exact_decimal(5, -2) == "20"
