"""The metagraph table: pure rendering and filtering, and the widget's controls (no kernel needed)."""

from types import SimpleNamespace

import numpy as np
import pytest

from tao_lab import InputError
from tao_lab.client.metagraph import AxonInfo
from tao_lab.widgets.table import COLUMNS, MetagraphTable, filter_frame, metagraph_frame, render_table


def _axon(port):
    return AxonInfo("127.0.0.1" if port else "0.0.0.0", port, 4 if port else 0, 4, 1, 0, "hk", "ck")


@pytest.fixture
def mg():
    n = 5
    return SimpleNamespace(
        uids=np.arange(n), hotkeys=[f"5Hotkey{i}xxxxxxxxxxxxxx{i}" for i in range(n)],
        S=np.array([10.0, 0, 0, 0, 900.0]), I=np.array([0, 0.5, 0.3, 0.2, 0]), D=np.array([0, 0, 0, 0, 1.0]),
        C=np.array([0, 0.5, 0.3, 0.2, 0]), E=np.array([0, 4.1, 2.2, 1.5, 8.2]), VT=np.array([0, 0, 0, 0, 1.0]),
        active=np.array([True] * n), validator_permit=np.array([True, False, False, False, True]),
        axons=[_axon(0), _axon(8001), _axon(8002), _axon(0), _axon(0)])


def test_frame_has_the_field_columns(mg):
    df = metagraph_frame(mg)
    assert list(df.columns) == COLUMNS
    assert df.loc[1, "axon"] == "127.0.0.1:8001" and df.loc[0, "axon"] == ""
    assert df["permit"].tolist() == [True, False, False, False, True]


def test_sorting_orders_rows_and_marks_the_column(mg):
    page = render_table(metagraph_frame(mg), sort_by="E", descending=True)
    order = [page.index(f">{u}</td>") for u in (4, 1, 2, 3, 0)]
    assert order == sorted(order) and "E ▼" in page


@pytest.mark.parametrize("query, uids", [
    ("I > 0.25", [1, 2]), ("uid == 3", [3]), ("permit", [0, 4]), ("not permit", [1, 2, 3]),
    ("serving", [1, 2]), ("8002", [2]), ("hotkey4", [4]), ("", [0, 1, 2, 3, 4]),
])
def test_filters(mg, query, uids):
    assert filter_frame(metagraph_frame(mg), query)["uid"].tolist() == uids


def test_highlight_and_empty_result(mg):
    df = metagraph_frame(mg)
    assert "background:#fff3c4" in render_table(df, highlight=2)
    assert "no neuron matches" in render_table(df, query="I > 5")
    with pytest.raises(InputError):
        render_table(df, sort_by="Q")


def test_widget_controls_redraw(mg):
    table = MetagraphTable(mg, sort_by="S", descending=True)
    assert table.rows["uid"].tolist()[0] == 4
    table.query.value = "not permit"
    assert table.rows["uid"].tolist() == [1, 2, 3] and "3 of 5 uids" in table.output.value
    table.descending.value = False
    assert table.descending.description == "ascending"
    table.query.value = "I > banana"  # not a comparison: taken as text, matches nothing
    assert "no neuron matches" in table.output.value
    bundle = table._repr_mimebundle_()
    assert "text/html" in bundle and "application/vnd.jupyter.widget-view+json" in bundle
