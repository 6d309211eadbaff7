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


#: subject -> (periods per year, how it is assessed), primary grade 4 (TT 27/2020). SCORED
#: marks the subjects with periodic tests (Điều 7 [P]); every subject also gets a level.
PRIMARY_PLAN: dict[str, tuple[int, str]] = {
    "Tiếng Việt": (245, SCORED),
    "Toán": (175, SCORED),
    "Ngoại ngữ 1": (140, SCORED),
    "Lịch sử và Địa lí": (70, SCORED),
    "Khoa học": (70, SCORED),
    "Tin học và Công nghệ": (70, SCORED),
    "Đạo đức": (35, COMMENTED),
    "Giáo dục thể chất": (70, COMMENTED),
    "Nghệ thuật": (70, COMMENTED),
    "Hoạt động trải nghiệm": (105, COMMENTED),
}

#: Phẩm chất and năng lực chung rated at primary (TT 27/2020, content [P], labels [S]).
PRIMARY_QUALITIES = (
    "Yêu nước",
    "Nhân ái",
    "Chăm chỉ",
    "Trung thực",
    "Trách nhiệm",
    "Tự chủ và tự học",
    "Giao tiếp và hợp tác",
    "Giải quyết vấn đề và sáng tạo",
)
