"""LaTeX tables must compile as written: special characters escaped, subgroup signs in math."""

import pandas as pd

from osteoscan.evaluation.report import to_latex


def test_latex_escapes_text_and_puts_subgroup_signs_in_math_mode():
    df = pd.DataFrame(
        {"group": ["<=3", ">6", "a_b & 50%"], "auc": [0.8, 0.9, 0.7], "delong_p": [0.01, 0.2, 0.3]}
    )
    tex = to_latex(df, "AUC by burden")
    assert r"$\leq$3 & 0.800" in tex
    assert r"$>$6 & 0.900" in tex
    assert r"a\_b \& 50\% & 0.700" in tex
    assert "<=3" not in tex and ">6 &" not in tex
    assert r"delong\_p" in tex
