"""Reference data: the THCS subject plan used by the demo and the tests.

The subject list follows TT 22/2021 Điều 5 [P] (which subjects are assessed by
comment only) and CTGDPT 2018 (TT 32/2018) for grade 6 [S]. The periods per
year are approximate [U] (DOMAIN.md §8): a school sets its own plan with
``plan_subjects``; nothing here is a rule.
"""

from __future__ import annotations

from ledger.domain import COMMENTED, SCORED

#: subject -> (periods per year, how it is assessed), THCS grade 6.
THCS_PLAN: dict[str, tuple[int, str]] = {
    "Ngữ văn": (140, SCORED),
    "Toán": (140, SCORED),
    "Ngoại ngữ 1": (105, SCORED),
    "Giáo dục công dân": (35, SCORED),
    "Lịch sử và Địa lí": (105, SCORED),
    "Khoa học tự nhiên": (140, SCORED),
    "Công nghệ": (35, SCORED),
    "Tin học": (35, SCORED),
    "Giáo dục thể chất": (70, COMMENTED),
    "Nghệ thuật": (70, COMMENTED),
    "Hoạt động trải nghiệm, hướng nghiệp": (105, COMMENTED),
    "Nội dung giáo dục của địa phương": (35, COMMENTED),
}
