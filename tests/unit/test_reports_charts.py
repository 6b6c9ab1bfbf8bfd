"""Charts are SVG with presentation attributes only (the CSP forbids inline styles), escaped labels, whole-number
axes and dashed target lines."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from lms import charts


def test_bar_chart_with_targets_is_plain_svg():
    svg = str(charts.bar_chart("c1", "聘任率<目标>", ["启东市", "如皋&海安"], [("聘任率", [0.5, None])], percent=True,
                               targets=[0.8, 1.0], target_label="目标"))
    root = ET.fromstring(svg)  # well-formed, labels escaped
    assert root.get("role") == "img" and root.find("{http://www.w3.org/2000/svg}title").text == "聘任率<目标>"
    assert "style" not in svg and "<script" not in svg
    assert svg.count('stroke-dasharray="6 3"') >= 2  # one target line per group (and the legend's)
    assert "如皋&amp;海安" in svg


def test_count_axes_use_whole_numbers():
    svg = str(charts.bar_chart("c2", "人数", ["a"], [("基础", [9])]))
    ticks = re.findall(r'text-anchor="end" fill="#555">([^<]+)<', svg)
    assert ticks == ["0", "5", "10", "15", "20"]
    line = str(charts.line_chart("c3", "趋势", ["2025", "2026"], [("基础", [3, 7])], targets=[None, None]))
    ET.fromstring(line)
    assert "polyline" in line
